// Mirroring on real OVS: both directions of a TCP exchange between two hosts reach the target
// host exactly once each, learnt forwarding keeps working, and the target still sends its own
// traffic. Removing the mirror stops the copies and keeps the learnt flows.
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../../topology/lab/exec.js';
import { createTestLab } from '../helpers/lab.js';
import { controllerFor, echoServer, sleep, startCapture } from './helpers.js';

const DPID = '00000000000000b1';

const tcpOf = (frames: Buffer[], port: number) =>
  frames.filter(
    (f) =>
      f.length >= 38 &&
      f.readUInt16BE(12) === 0x0800 &&
      f[23] === 6 &&
      (f.readUInt16BE(34) === port || f.readUInt16BE(36) === port),
  );

t.test('mirror a port to a target port', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: DPID });
  const client = await lab.addHost('cli', { sw, ofport: 1, ip: '10.0.0.1/24', mac: '02:00:00:00:01:01' });
  const service = await lab.addHost('svc', { sw, ofport: 2, ip: '10.0.0.2/24', mac: '02:00:00:00:01:02' });
  const standby = await lab.addHost('stb', { sw, ofport: 3, ip: '10.0.0.3/24', mac: '02:00:00:00:01:03' });
  const c = await controllerFor(sw, {}, t);

  // learn first, so the exchange below runs on learnt flows (the egress copy must be in them)
  await client.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', service.ip]);
  const mirror = await c.addMirror({ dpid: DPID, sourcePort: 2, targetPort: 3 });
  t.match(mirror, { id: /^m\d+$/, dpid: DPID, sourcePort: 2, targetPort: 3 });
  t.same(
    c.listMirrors().map((m) => m.id),
    [mirror.id],
  );
  const flows = await sw.dumpFlows('table=0');
  t.ok(
    flows.some((l) => /priority=200,in_port=2 actions=output:3,goto_table:1/.test(l)),
    'ingress mirror flow in table 0',
  );
  await t.rejects(c.addMirror({ dpid: DPID, sourcePort: 2, targetPort: 2 }), { name: 'InvalidRequestError' });
  await t.rejects(c.addMirror({ dpid: DPID, sourcePort: 2, targetPort: 9 }), { name: 'NotFoundError' });
  await t.rejects(c.addMirror({ dpid: 'ffffffffffffffff', sourcePort: 2, targetPort: 3 }), {
    name: 'NotFoundError',
  });

  const srv = echoServer(service, 7000);
  t.teardown(() => srv.stop());
  const onTarget = await startCapture(standby, join(lab.dir, 'target.pcap'), 'tcp port 7000');
  const onService = await startCapture(service, join(lab.dir, 'service.pcap'), 'tcp port 7000');
  const out = await client.exec('python3', [
    '-c',
    `
import socket, time
for i in range(50):
    try:
        s=socket.create_connection(('${service.ip}', 7000), timeout=5); break
    except OSError: time.sleep(0.1)
f=s.makefile('rb')
for i in range(20):
    s.sendall(b'line %d\\n' % i); f.readline()
s.close(); print('ok')
`,
  ]);
  t.equal(out.stdout.trim(), 'ok', 'the echo exchange worked with the mirror on');
  const seenByService = tcpOf(await onService.stop(), 7000);
  const seenByTarget = tcpOf(await onTarget.stop(), 7000);

  const key = (f: Buffer) => f.toString('hex');
  const count = new Map<string, number>();
  for (const f of seenByTarget) count.set(key(f), (count.get(key(f)) ?? 0) + 1);
  t.ok(seenByService.length >= 40, `service saw the exchange (${seenByService.length} segments)`);
  t.equal(seenByTarget.length, seenByService.length, 'target got as many segments as the service saw');
  t.ok(
    seenByService.every((f) => count.get(key(f)) === 1),
    'every segment the service sent or received reached the target exactly once',
  );
  const toService = seenByTarget.filter((f) => f.subarray(30, 34).equals(Buffer.from([10, 0, 0, 2])));
  const fromService = seenByTarget.filter((f) => f.subarray(26, 30).equals(Buffer.from([10, 0, 0, 2])));
  t.ok(toService.length > 0 && fromService.length > 0, 'both directions mirrored');

  const learnt = await sw.dumpFlows('table=1');
  t.ok(
    learnt.some((l) => /in_port=1,dl_dst=02:00:00:00:01:02 actions=output:2,output:3/.test(l)),
    'the learnt flow towards the mirrored port also copies to the target',
  );

  // the target keeps its own traffic
  await standby.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', client.ip]);
  t.pass('target host still sends and receives its own traffic');

  await c.removeMirror(mirror.id);
  t.same(c.listMirrors(), []);
  await t.rejects(c.removeMirror(mirror.id), { name: 'NotFoundError' });
  // rewritten in place, not deleted: a flush would send every frame to the controller at once
  t.ok(
    (await sw.dumpFlows('table=1')).some((l) =>
      /in_port=1,dl_dst=02:00:00:00:01:02 actions=output:2\s*$/.test(l),
    ),
    'the learnt flow stays installed, without the copy to the target',
  );
  const after = await startCapture(standby, join(lab.dir, 'after.pcap'), 'tcp port 7000');
  await client.exec('python3', [
    '-c',
    `
import socket
s=socket.create_connection(('${service.ip}', 7000), timeout=5); f=s.makefile('rb')
for i in range(5):
    s.sendall(b'x\\n'); f.readline()
s.close()
`,
  ]);
  await sleep(200);
  t.equal(tcpOf(await after.stop(), 7000).length, 0, 'no copies after the mirror is removed');
});

t.test('a fenced mirrored port: what hosts still send to it reaches the target, switched', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: '00000000000000b2' });
  const client = await lab.addHost('cli', { sw, ofport: 1, ip: '10.0.0.1/24', mac: '02:00:00:00:02:01' });
  const service = await lab.addHost('svc', { sw, ofport: 2, ip: '10.0.0.2/24', mac: '02:00:00:00:02:02' });
  const standby = await lab.addHost('stb', { sw, ofport: 3, ip: '10.0.0.3/24', mac: '02:00:00:00:02:03' });
  const c = await controllerFor(sw, {}, t);
  await client.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', service.ip]);
  const mirror = await c.addMirror({ dpid: '00000000000000b2', sourcePort: 2, targetPort: 3 });

  // the failover's fence: the service port goes down while the mirror is still on
  await c.setPortState('00000000000000b2', 2, 'down');
  await sleep(200); // the PORT_STATUS that follows the PORT_MOD
  t.ok(
    (await sw.dumpFlows('table=1')).some((l) =>
      /in_port=1,dl_dst=02:00:00:00:02:02 actions=output:2,output:3/.test(l),
    ),
    'the learnt flow towards the fenced port is kept, with its copy to the target',
  );
  // the standby may answer the service's peers before any redirect (a restored socket
  // retransmitting): its frames to known hosts are switched, not table misses
  const fromTarget = async () => {
    const l = (await sw.dumpFlows('table=1')).find((x) => /in_port=3,dl_dst=02:00:00:00:02:01 /.test(x));
    return l === undefined ? undefined : Number(/n_packets=(\d+)/.exec(l)?.[1] ?? Number.NaN);
  };
  const fromTargetBefore = await fromTarget();
  t.equal(
    fromTargetBefore,
    0,
    'a learnt flow from the target to the client is installed at the fence, unused',
  );
  await standby.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', client.ip]);
  // (flow counters reach OpenFlow with the revalidators' next pass)
  const used = await waitFor(
    'the flow from the target used',
    async () => ((await fromTarget()) ?? 0) >= 2,
    3000,
  ).catch(() => false);
  t.ok(used, "the target's frames to the client went by that flow");

  const fenced = await startCapture(standby, join(lab.dir, 'fenced.pcap'), 'tcp port 7000');
  const keptFlowPackets = async () => {
    const l = (await sw.dumpFlows('table=1')).find((x) => /in_port=1,dl_dst=02:00:00:00:02:02 /.test(x));
    return Number(/n_packets=(\d+)/.exec(l ?? '')?.[1] ?? Number.NaN);
  };
  const before = await keptFlowPackets();
  await client.exec('python3', [
    '-c',
    `
import socket
s=socket.socket(); s.settimeout(1.5)
try: s.connect(('${service.ip}', 7000))
except OSError: pass
`,
  ]);
  const toService = tcpOf(await fenced.stop(), 7000).filter((f) =>
    f.subarray(30, 34).equals(Buffer.from([10, 0, 0, 2])),
  );
  t.ok(
    toService.length >= 2,
    `the client's SYNs to the fenced port reached the target (${toService.length})`,
  );
  t.ok((await keptFlowPackets()) >= before + 2, 'switched by the kept flow, not through the controller');

  // once the mirror goes, so do the flows towards the down port (and the controller forgets it)
  await c.removeMirror(mirror.id);
  await sleep(100);
  t.notOk(
    (await sw.dumpFlows('table=1')).some((l) => /priority=100.*output:2/.test(l)),
    'no learnt flow outputs to the down port once it is no longer mirrored',
  );
});

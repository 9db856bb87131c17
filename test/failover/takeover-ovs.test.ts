// The takeover path on a real switch (userspace OVS), across hosts: the service host's socket
// vanishes silently, the standby host fences it, takes its address, re-creates the connection
// (TCP_REPAIR), redirects the traffic, and joins the connection to its own service instance.
// The client keeps its socket; the unanswered request is answered by the standby, once.
// Here the controller's operations are done with ovs-ofctl and the tracker's verdict comes from
// the vanished socket's own state; e2e-*.test.ts run the real controller and tracker.
import t from 'tap';
import { createTestLab } from '../helpers/lab.js';
import { startPeer } from '../restore/netns-peers.js';
import type { FailoverReport } from '../../standby-agent/failover/report.js';

interface Wait {
  received: string;
  errors: string[];
  closed: boolean;
}

const PORT = 7000;

t.test('a connection survives the takeover by another host through OVS', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('sw', { dpid: '0000000000000001' });
  const n = 1 + Math.floor(Math.random() * 250);
  const cli = await lab.addHost('cli', { sw, ofport: 1, ip: `10.214.${n}.10/24`, mac: '02:00:00:00:0e:0a' });
  const svc = await lab.addHost('svc', { sw, ofport: 2, ip: `10.214.${n}.1/24`, mac: '02:00:00:00:0e:01' });
  const stb = await lab.addHost('stb', { sw, ofport: 3, ip: `10.214.${n}.2/24`, mac: '02:00:00:00:0e:02' });
  await sw.addFlow('priority=0,actions=NORMAL');

  const service = startPeer(svc.ns);
  const standby = startPeer(stb.ns);
  const client = startPeer(cli.ns);
  t.teardown(() => {
    service.kill();
    standby.kill();
    client.kill();
  });
  await service.call({ op: 'listen', ip: svc.ip, port: PORT });
  // the standby's own instance of the service, on every address
  await standby.call({ op: 'listen', ip: '0.0.0.0', port: PORT });
  const c = await client.call<{ id: number; localPort: number }>({ op: 'connect', ip: svc.ip, port: PORT });
  const { ids } = await service.call<{ ids: number[] }>({ op: 'accepted', count: 1 });
  await client.call({ op: 'send', id: c.id, data: 'one\n' });
  await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:one\n' });

  // the service stops answering; the client's next request stays unanswered; the service dies
  // without a word (its socket closed in repair mode: no FIN, no RST)
  await service.call({ op: 'hold', id: ids[0] });
  await client.call({ op: 'send', id: c.id, data: 'two\n' });
  await new Promise((r) => setTimeout(r, 100));
  const state = await service.call<Record<string, unknown>>({ op: 'dump', id: ids[0] });
  await service.call({ op: 'exit' });
  await service.exited;

  const { report, calls } = await standby.call<{ report: FailoverReport; calls: string[] }>({
    op: 'takeover',
    mgmt: sw.ovs.mgmtSocket(sw.bridge),
    states: [state],
    elapsedMs: 150,
    servicePort: 2,
    standbyPort: 3,
    serviceIp: svc.ip,
    localPort: PORT,
  });
  t.equal(report.outcome, 'completed', `failover completed ${report.error ?? ''}`);
  t.same(
    calls.slice(0, 3),
    ['mirror', 'port 2 down', 'redirect ' + svc.ip + ' -> 3'],
    'fenced before the redirect',
  );
  t.match(report.connections, [
    { outcome: 'restored', client: `${cli.ip}:${c.localPort}`, recvQueueBytes: 4 },
  ]);
  t.comment(`steps: ${report.steps.map((x) => `${x.name} ${x.durationMs}ms`).join(', ')}`);

  const w = await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:two\n', timeoutMs: 5000 });
  t.same(w.errors, [], 'no error on the client');
  t.equal(w.received, 'echo:one\necho:two\n', 'the unanswered request is answered by the standby, once');
  await client.call({ op: 'send', id: c.id, data: 'three\n' });
  const w2 = await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:three\n' });
  t.equal(w2.received, 'echo:one\necho:two\necho:three\n', 'data both ways after the takeover');
  const info = await client.call<{ localPort: number; closed: boolean }>({ op: 'info', id: c.id });
  t.equal(info.localPort, c.localPort, 'same client socket, same local port');
  t.equal(info.closed, false, 'never closed');

  // new connections go to the standby (it owns the address now)
  const c2 = await client.call<{ id: number }>({ op: 'connect', ip: svc.ip, port: PORT });
  await client.call({ op: 'send', id: c2.id, data: 'new\n' });
  const w3 = await client.call<Wait>({ op: 'wait', id: c2.id, text: 'echo:new\n' });
  t.equal(w3.received, 'echo:new\n', 'a new connection is served by the standby');
});

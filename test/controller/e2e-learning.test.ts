// L2 learning on real OVS: ARP, ping and TCP between hosts through the controller's flows;
// learnt flows carry an idle timeout and the controller's cookie.
import t from 'tap';
import { encodeFlowMod, FLOW_CMD } from '../../controller/of-wire.js';
import { createTestLab } from '../helpers/lab.js';
import { controllerFor } from './helpers.js';

t.test('hosts reach each other through learnt flows', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('s1', { dpid: '00000000000000a1' });
  const h1 = await lab.addHost('h1', { sw, ofport: 1, ip: '10.0.0.1/24', mac: '02:00:00:00:00:01' });
  const h2 = await lab.addHost('h2', { sw, ofport: 2, ip: '10.0.0.2/24', mac: '02:00:00:00:00:02' });
  const h3 = await lab.addHost('h3', { sw, ofport: 3, ip: '10.0.0.3/24', mac: '02:00:00:00:00:03' });
  const c = await controllerFor(sw, {}, t);

  const info = c.getSwitch('00000000000000a1');
  t.same(
    info.ports.map((p) => p.portNo).filter((p) => p < 100),
    [1, 2, 3],
    'FEATURES + port-desc report the three host ports',
  );

  await h1.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', h2.ip]);
  await h3.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', h1.ip]);
  const arp = await h1.exec('ip', ['neigh', 'show', h2.ip]);
  t.match(arp.stdout, /02:00:00:00:00:02/, 'ARP resolved h2');

  const flows = await sw.dumpFlows('table=1');
  const learnt = flows.filter((l) => l.includes('priority=100'));
  t.ok(
    learnt.some((l) => /in_port=1,dl_dst=02:00:00:00:00:02 actions=output:2/.test(l)),
    'h1 -> h2 flow learnt',
  );
  t.ok(
    learnt.every((l) => l.includes('idle_timeout=60')),
    'learnt flows have an idle timeout',
  );
  t.ok(
    learnt.every((l) => l.includes('cookie=0x4e5302')),
    'learnt flows carry the learning cookie',
  );

  const stats = await c.getFlows('00000000000000a1');
  t.match(
    stats.find((f) => f.tableId === 1 && f.match.eth_dst === '02:00:00:00:00:02' && f.match.in_port === '1'),
    { priority: 100, idleTimeout: 60, actions: ['output:2'], cookie: /^0x4e5302/ },
    'getFlows reports the learnt flow with OXM names and action text',
  );
  t.match(
    stats.find((f) => f.tableId === 1 && f.priority === 0),
    { actions: ['output:CONTROLLER'], packetCount: /^[1-9]\d*$/ },
    'table-miss flow with its counters',
  );

  // TCP: a small server on h2, a client on h1
  const server = h2.spawn('python3', [
    '-c',
    `
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${h2.ip}', 5001)); s.listen(1)
c,_=s.accept(); d=b''
while len(d) < 100000:
    x=c.recv(65536)
    if not x: break
    d+=x
c.sendall(str(len(d)).encode()); c.close()
`,
  ]);
  t.teardown(() => server.stop());
  const client = await h1.exec('python3', [
    '-c',
    `
import socket, time
for i in range(50):
    try:
        s=socket.create_connection(('${h2.ip}', 5001), timeout=5); break
    except OSError: time.sleep(0.1)
s.sendall(b'x'*100000); s.shutdown(socket.SHUT_WR); print(s.recv(100).decode())
`,
  ]);
  t.equal(client.stdout.trim(), '100000', 'TCP transfer of 100 kB through the switch');

  // an ERROR from the real switch reaches the caller, named
  const bad = { tableId: 1, priority: 5, cookie: 0n, match: {}, apply: [], gotoTable: 0 };
  await t.rejects(
    c.session('00000000000000a1').batch([(xid) => encodeFlowMod(xid, bad, { command: FLOW_CMD.ADD })]),
    { name: 'SwitchError', ofError: { type: 'OFPET_BAD_INSTRUCTION' } },
    'goto_table backwards is rejected by OVS and surfaced as SwitchError',
  );
  await h1.exec('ping', ['-c', '1', '-W', '2', h2.ip]);
  t.pass('the session survives the error');
});

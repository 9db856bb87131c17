// The failover against the real controller core on a real switch: the agent (FailoverService,
// in the standby's namespace) mirrors the service port on start, then fences it, takes its
// address, restores the connection (TCP_REPAIR), has the controller redirect the service's
// traffic (barrier) and RST the connection it cannot restore, all through the controller's REST
// API. Stand-in: the tracker (the vanished socket's exact state stands in for its verdicts).
import { join } from 'node:path';
import t from 'tap';
import type { FailoverReport } from '../../standby-agent/failover/report.js';
import { createTestLab } from '../helpers/lab.js';
import { startPeer } from '../restore/netns-peers.js';
import { Registry } from 'prom-client';
import { buildApi } from '../../controller/api/server.js';
import { controllerFor, quietLogger } from '../controller/helpers.js';

interface Wait {
  received: string;
  errors: string[];
  closed: boolean;
}

const PORT = 7000;
const DPID = '00000000000000c1';

t.test('restore one connection and reset another through the real controller', async (t) => {
  const lab = await createTestLab(t);
  const sw = await lab.addSwitch('sw', { dpid: DPID });
  const n = 1 + Math.floor(Math.random() * 250);
  const cli = await lab.addHost('cli', { sw, ofport: 1, ip: `10.216.${n}.10/24`, mac: '02:00:00:00:0c:0a' });
  const svc = await lab.addHost('svc', { sw, ofport: 2, ip: `10.216.${n}.1/24`, mac: '02:00:00:00:0c:01' });
  const stb = await lab.addHost('stb', { sw, ofport: 3, ip: `10.216.${n}.2/24`, mac: '02:00:00:00:0c:02' });
  const controller = await controllerFor(sw, {}, t);
  const api = join(lab.dir, 'controller-api.sock');
  const rest = await buildApi({ controller, registry: new Registry(), token: 'tok', logger: quietLogger() });
  await rest.listen({ path: api });
  t.teardown(() => rest.close());

  const service = startPeer(svc.ns);
  const standby = startPeer(stb.ns);
  const client = startPeer(cli.ns);
  t.teardown(() => {
    service.kill();
    standby.kill();
    client.kill();
  });
  await service.call({ op: 'listen', ip: svc.ip, port: PORT });
  await standby.call({ op: 'listen', ip: '0.0.0.0', port: PORT });
  const started = await standby.call<{ mirrored: boolean }>({
    op: 'agent-start',
    controllerUrl: `unix:${api}`,
    token: 'tok',
    dpid: DPID,
    servicePort: 2,
    standbyPort: 3,
    serviceIp: svc.ip,
    localPort: PORT,
  });
  t.equal(started.mirrored, true, 'the agent had the service port mirrored to it');
  t.equal(controller.listMirrors().length, 1);

  const keep = await client.call<{ id: number; localPort: number }>({
    op: 'connect',
    ip: svc.ip,
    port: PORT,
  });
  const drop = await client.call<{ id: number; localPort: number }>({
    op: 'connect',
    ip: svc.ip,
    port: PORT,
  });
  const { ids } = await service.call<{ ids: number[] }>({ op: 'accepted', count: 2 });
  for (const c of [keep, drop]) {
    await client.call({ op: 'send', id: c.id, data: 'one\n' });
    await client.call<Wait>({ op: 'wait', id: c.id, text: 'echo:one\n' });
  }
  for (const id of ids) await service.call({ op: 'hold', id });
  await client.call({ op: 'send', id: keep.id, data: 'two\n' });
  await new Promise((r) => setTimeout(r, 100));
  const states: Array<Record<string, unknown>> = [];
  for (const id of ids) states.push(await service.call<Record<string, unknown>>({ op: 'dump', id }));
  const stateOf = (port: number) => states.find((s) => (s.remote as { port: number }).port === port);
  const keepState = stateOf(keep.localPort);
  const dropState = stateOf(drop.localPort);
  if (!keepState || !dropState) throw new Error('dump missing');
  // the service node dies: its link goes down, its sockets vanish silently
  await svc.exec('ip', ['link', 'set', svc.ifname, 'down']);
  await service.call({ op: 'exit' });

  const { report } = await standby.call<{ report: FailoverReport }>({
    op: 'agent-failover',
    elapsedMs: 150,
    verdicts: [
      { state: keepState },
      {
        reset: {
          restorable: false,
          code: 'handshake-not-seen',
          reason: 'first seen mid-stream',
          reset: {
            src: { ip: svc.ip, port: PORT },
            dst: { ip: cli.ip, port: drop.localPort },
            seq: dropState.sndNxt as number,
          },
        },
      },
    ],
  });
  t.equal(report.outcome, 'completed', `failover completed ${report.error ?? ''}`);
  t.comment(`steps: ${report.steps.map((x) => `${x.name} ${x.durationMs}ms`).join(', ')}`);
  t.match(
    report.steps.map((s) => `${s.name}:${s.ok}`),
    [
      'safety-check:true',
      'fence:true',
      'snapshot:true',
      'neighbours:true', // at the same time as take-address
      'take-address:true',
      'restore:true',
      'redirect:true', // asked first: the join runs while the switch works on it
      'join:true',
    ],
  );
  t.equal(
    controller.getSwitch(DPID).ports.find((p) => p.portNo === 2)?.adminDown,
    true,
    'service port fenced',
  );
  t.equal(controller.listRedirects().length, 1, 'redirect in force');
  t.equal(controller.listMirrors().length, 0, 'mirror removed');
  t.equal(report.connections.length, 2, 'every connection explained');
  t.match(
    report.connections.find((c) => c.client === `${cli.ip}:${keep.localPort}`),
    { outcome: 'restored' },
  );
  t.match(
    report.connections.find((c) => c.client === `${cli.ip}:${drop.localPort}`),
    {
      outcome: 'reset',
      code: 'handshake-not-seen',
      resetSent: true,
    },
  );

  const w = await client.call<Wait>({ op: 'wait', id: keep.id, text: 'echo:two\n', timeoutMs: 5000 });
  t.same(w.errors, [], 'restored connection: no error');
  t.equal(w.received, 'echo:one\necho:two\n', 'the unanswered request is answered by the standby, once');
  await client.call({ op: 'send', id: keep.id, data: 'three\n' });
  const w2 = await client.call<Wait>({ op: 'wait', id: keep.id, text: 'echo:three\n' });
  t.equal(w2.received, 'echo:one\necho:two\necho:three\n', 'both ways after the takeover');

  // the other one was reset by the switch while idle (nothing of ours could have answered it)
  const d = await client.call<Wait>({ op: 'wait', id: drop.id, text: 'never', timeoutMs: 3000 });
  t.same(d.errors, ['ECONNRESET'], 'the connection that could not be restored was reset');
  const again = await client.call<{ id: number }>({ op: 'connect', ip: svc.ip, port: PORT });
  await client.call({ op: 'send', id: again.id, data: 'back\n' });
  const w3 = await client.call<Wait>({ op: 'wait', id: again.id, text: 'echo:back\n' });
  t.equal(w3.received, 'echo:back\n', 'its reconnect is served by the standby');
});

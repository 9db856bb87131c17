// The agent's failover role without a switch: a fake controller and capture barrier.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import type { BarrierResult } from '../../standby-agent/capture/barrier.js';
import {
  type AgentController,
  FailoverService,
  type FailoverServiceOptions,
} from '../../standby-agent/failover/service.js';

function fakeController(): AgentController {
  return {
    addMirror: async () => ({ id: 'm1' }),
    followEvents: () => () => {},
    setPortState: async () => ({}),
    addRedirect: async () => ({ id: 'r1' }),
    removeMirror: async () => ({}),
    tcpReset: async () => ({}),
  };
}

/** a standby on the loopback, with no heartbeat and no restore, unless told otherwise */
function options(overrides: Partial<FailoverServiceOptions> = {}): FailoverServiceOptions {
  return {
    controller: fakeController(),
    tracker: { verdicts: () => [] },
    dpid: '0000000000000001',
    servicePort: 1,
    standbyPort: 2,
    serviceIp: '10.9.0.1',
    localService: { host: '127.0.0.1', port: 80 },
    iface: 'lo',
    standbyMac: '02:00:00:00:00:02',
    heartbeat: false,
    restoreEnabled: false,
    ...overrides,
  };
}

function service(drainCapture: () => Promise<BarrierResult>) {
  return new FailoverService(options({ drainCapture }));
}

t.test('a capture barrier lost at start-up is tried again a second later', async (t) => {
  let calls = 0;
  const s = service(async () => {
    calls++;
    return calls === 1 ? { ok: false, ms: 250, error: 'the marker was not captured' } : { ok: true, ms: 2 };
  });
  t.teardown(() => s.stop());
  await s.start();
  await new Promise((r) => setTimeout(r, 50));
  t.match(s.status().captureBarrier, { ok: false }, 'the first try failed');
  await new Promise((r) => setTimeout(r, 1200));
  t.equal(calls, 2, 'tried again');
  t.match(s.status().captureBarrier, { ok: true }, 'the snapshots will wait behind the barrier');
});

t.test('a barrier that never passes is given up after three tries', async (t) => {
  let calls = 0;
  const s = service(async () => {
    calls++;
    return { ok: false, ms: 1, error: 'the switch did not send the marker back' };
  });
  t.teardown(() => s.stop());
  await s.start();
  await new Promise((r) => setTimeout(r, 2500));
  t.equal(calls, 3, 'three tries');
  t.match(s.status().captureBarrier, { ok: false });
});

t.test('a manual failover waiting for a fresh heartbeat goes on when the port goes down', async (t) => {
  // the heartbeat target answers the first request (the service is alive), then never again
  let requests = 0;
  const hb = http.createServer((_req, res) => {
    if (++requests === 1) res.end('ok');
  });
  await new Promise<void>((r) => hb.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    hb.closeAllConnections();
    hb.close();
  });
  let emit: ((e: unknown) => void) | undefined;
  const s = new FailoverService(
    options({
      // the fence fails, so the failover ends there (this test changes no address of the host)
      controller: {
        ...fakeController(),
        followEvents: (on) => {
          emit = on;
          return () => {};
        },
        setPortState: async () => {
          throw new Error('no switch in this test');
        },
      },
      heartbeat: {
        target: { kind: 'http', url: `http://127.0.0.1:${(hb.address() as AddressInfo).port}/` },
        intervalMs: 60_000,
        timeoutMs: 3000,
      },
      mirror: false,
    }),
  );
  t.teardown(() => s.stop());
  await s.start();
  await new Promise((r) => setTimeout(r, 200));
  t.equal(s.liveness?.core.answering(), true, 'the service answered its first heartbeat');
  const started = performance.now();
  const report = s.failover({ kind: 'manual', reason: 'ops' });
  await new Promise((r) => setTimeout(r, 50));
  emit?.({
    type: 'port-status',
    dpid: '0000000000000001',
    at: new Date().toISOString(),
    reason: 'modify',
    port: { portNo: 1, name: 'svc', linkDown: true, adminDown: false },
  });
  const r = await report;
  const ms = performance.now() - started;
  t.ok(ms < 1000, `the failover did not wait for the heartbeat's 3 s timeout (${Math.round(ms)} ms)`);
  t.equal(r.outcome, 'aborted', 'past the safety check, to the fence');
  t.match(
    r.steps.find((x) => x.name === 'safety-check'),
    { ok: true },
    'the safety check let it through',
  );
});

t.test('the mirror asks the controller to fence on link down, unless failover is manual only', async (t) => {
  for (const autoFailover of [undefined, false]) {
    const asked: unknown[] = [];
    const controller = fakeController();
    controller.addMirror = async (m) => {
      asked.push(m);
      return { id: 'm1' };
    };
    const s = new FailoverService(options({ controller, autoFailover }));
    await s.start();
    s.stop();
    t.match(asked, [{ sourcePort: 1, targetPort: 2, fenceOnLinkDown: autoFailover !== false }]);
  }
});

t.test("a link-down failover goes on at the controller's port-fenced event", async (t) => {
  // the controller fences on its own and says so; its answer to the agent's request never comes
  let emit: (e: unknown) => void = () => {};
  const controller = fakeController();
  controller.followEvents = (onEvent) => {
    emit = onEvent;
    return () => {};
  };
  controller.setPortState = () => new Promise(() => {});
  const s = new FailoverService(
    options({
      controller,
      heartbeat: { target: { kind: 'tcp', host: '127.0.0.1', port: 9 }, intervalMs: 60_000 },
      // no such interface: the failover stops at taking the address (no address of the host changes)
      iface: 'nonstop-none0',
    }),
  );
  t.teardown(() => s.stop());
  await s.start();
  const port = (linkDown: boolean, adminDown: boolean) => ({ portNo: 1, name: 'svc', linkDown, adminDown });
  emit({ type: 'port-status', dpid: '0000000000000001', at: '', reason: 'modify', port: port(true, false) });
  emit({
    type: 'port-fenced',
    dpid: '0000000000000001',
    at: '',
    reason: 'link down',
    port: port(true, true),
  });
  for (let i = 0; i < 100 && !s.lastReport(); i++) await new Promise((r) => setTimeout(r, 20));
  const report = s.lastReport();
  t.equal(report?.trigger.kind, 'liveness', 'the link-down started it');
  t.match(
    report?.steps.find((x) => x.name === 'fence'),
    { ok: true, detail: /fenced by the controller on link down/ },
    'fenced without the answer to its request',
  );
  t.match(report?.error, /could not take the service address/, 'and went on to the next steps');
});

// The agent's failover role without a switch: a fake controller and capture barrier.
import t from 'tap';
import type { BarrierResult } from '../../standby-agent/capture/barrier.js';
import { type AgentController, FailoverService } from '../../standby-agent/failover/service.js';

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

function service(drainCapture: () => Promise<BarrierResult>) {
  return new FailoverService({
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
    drainCapture,
  });
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

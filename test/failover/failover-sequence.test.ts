// The failover sequence's order and safety rules, against a recording fake controller (the
// real controller and kernel are exercised by the e2e tests).
import t from 'tap';
import { ControllerError } from '../../standby-agent/failover/controller-client.js';
import {
  type FailoverController,
  type FailoverDeps,
  runFailover,
} from '../../standby-agent/failover/failover.js';
import type { RestoreFdOutcome } from '../../standby-agent/restore/repair-socket.js';
import type { RepairError } from '../../standby-agent/restore/repair-addon.js';
import type { RestoreParams, Verdict } from '../../standby-agent/tracking/verdict-types.js';

const SVC = '10.9.0.1';

function params(port: number): RestoreParams {
  return {
    family: 4,
    local: { ip: SVC, port: 80 },
    remote: { ip: '10.9.0.10', port },
    sndUna: 100,
    sndNxt: 100,
    rcvNxt: 200,
    sendQueue: Buffer.alloc(0),
    recvQueue: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
    mss: 1460,
    sndWscale: 7,
    rcvWscale: 7,
    sackPermitted: true,
    window: { sndWnd: 65535, rcvWnd: 65535 },
  };
}

function setup(
  opts: {
    unreachable?: boolean;
    alive?: boolean;
    failRestoreOf?: number;
    redirectFails?: boolean;
    joinFails?: boolean;
  } = {},
) {
  const calls: string[] = [];
  const controller: FailoverController = {
    async setPortState(dpid, port, state) {
      calls.push(`port ${dpid} ${port} ${state}`);
      if (opts.unreachable) throw new ControllerError('controller POST: ECONNREFUSED', 0);
      return {};
    },
    async addRedirect(r) {
      calls.push(`redirect ${r.ip} ${r.fromPort}->${r.toPort} ${r.toMac}`);
      if (opts.redirectFails)
        throw new ControllerError('controller POST /v1/redirects: 502 switch error', 502);
      return { id: 'r1' };
    },
    async removeMirror(id) {
      calls.push(`unmirror ${id}`);
      return {};
    },
    async tcpReset(_dpid, r) {
      calls.push(`rst ${r.dstIp}:${r.dstPort} seq ${r.seq}`);
      return {};
    },
  };
  const verdicts: Verdict[] = [
    { restorable: true, params: params(1001) },
    { restorable: true, params: params(1002) },
    {
      restorable: false,
      code: 'handshake-not-seen',
      reason: 'first seen mid-stream',
      reset: { src: { ip: SVC, port: 80 }, dst: { ip: '10.9.0.11', port: 2000 }, seq: 555 },
    },
    { restorable: false, code: 'not-analysable', reason: 'no state' },
    // the standby's own heartbeat connection to the service: never taken over
    { restorable: true, params: { ...params(3000), remote: { ip: '10.9.0.2', port: 3000 } } },
  ];
  const resumed: number[] = [];
  const deps: FailoverDeps = {
    controller,
    config: {
      dpid: '0000000000000001',
      servicePort: 1,
      standbyPort: 2,
      serviceIp: SVC,
      standbyMac: '02:00:00:00:00:02',
      settleMs: 0,
      ownIps: ['10.9.0.2'],
    },
    snapshot: () => {
      calls.push('snapshot');
      return verdicts;
    },
    takeAddress: async () => {
      calls.push('take-address');
    },
    restore: (list) => {
      calls.push(`restore ${list.length}`);
      return list.map((p): RestoreFdOutcome => {
        if (p.remote.port === opts.failRestoreOf) {
          const error = Object.assign(new Error('connect failed'), {
            errno: 99,
            code: 'EADDRNOTAVAIL',
            step: 'connect',
          }) as RepairError;
          return { ok: false, error, retried: true };
        }
        return { ok: true, fd: 3, retried: false };
      });
    },
    joiner: {
      prepareAll: (list) => {
        if (opts.joinFails) throw new Error('relay refused');
        for (const { params: p } of list) {
          resumed.push(p.remote.port);
          calls.push(`join ${p.remote.port}`);
        }
      },
      begin: () => calls.push('resume'),
      handOver: () => calls.push('hand over'),
      cancel: () => calls.push('cancel joins'),
      whilePaused: (fn) => {
        calls.push('paused');
        try {
          return fn();
        } finally {
          calls.push('unpaused');
        }
      },
    },
    topUp: (_fd, restored, later) => {
      calls.push(`top-up ${restored.remote.port}`);
      return later.recvQueue.length;
    },
    trackerDone: () => calls.push('tracker done'),
    mirrorId: () => 'm1',
    liveness: { answering: () => opts.alive === true, portUp: () => true },
  };
  return { deps, calls, resumed };
}

t.test('the steps run in the safe order and every connection is explained', async (t) => {
  const { deps, calls } = setup({ failRestoreOf: 1002 });
  const r = await runFailover(deps, { kind: 'manual', reason: 'test' });
  t.equal(r.outcome, 'completed');
  t.same(calls.slice(0, 13), [
    'port 0000000000000001 1 down',
    'snapshot',
    'take-address',
    'restore 2',
    'redirect 10.9.0.1 1->2 02:00:00:00:00:02',
    'join 1001',
    'snapshot',
    'paused',
    'top-up 1001',
    'unpaused',
    'tracker done',
    'resume',
    'hand over',
  ]);
  t.ok(calls.indexOf('unmirror m1') > calls.indexOf('resume'), 'unmirror after resuming');
  t.equal(r.connections.find((c) => c.outcome === 'restored')?.topUpBytes, 18, 'top-up reported');
  t.ok(
    calls.indexOf('redirect 10.9.0.1 1->2 02:00:00:00:00:02') > calls.indexOf('restore 2'),
    'redirect only after the sockets exist',
  );
  t.ok(
    calls.includes('rst 10.9.0.11:2000 seq 555'),
    'the mid-stream connection is reset with the tracker seq',
  );
  t.ok(calls.includes('rst 10.9.0.10:1002 seq 100'), 'the failed restore is reset');
  t.ok(
    calls.indexOf('rst 10.9.0.11:2000 seq 555') > calls.indexOf('redirect 10.9.0.1 1->2 02:00:00:00:00:02'),
    'RSTs only once reconnects reach the standby',
  );
  t.same(r.summary, { restored: 1, reset: 2, failed: 1, restoreRatePerSec: r.summary.restoreRatePerSec });
  const failed = r.connections.find((c) => c.outcome === 'failed');
  t.match(failed, { client: '10.9.0.10:1002', code: 'EADDRNOTAVAIL', step: 'connect', resetSent: true });
  const unknown = r.connections.find((c) => c.code === 'not-analysable');
  t.match(unknown, { outcome: 'reset', resetSent: false, resetError: /not known/ });
  t.same(
    r.steps.map((s) => s.name),
    [
      'safety-check',
      'fence',
      'snapshot',
      'take-address',
      'restore',
      'redirect',
      'join',
      'top-up',
      'resume',
      'unmirror',
      'reset',
    ],
  );
  t.ok(r.steps.every((s) => s.ok && s.durationMs >= 0));
  t.type(r.takeoverMs, 'number');
});

t.test('a live service is not taken over unless forced', async (t) => {
  const a = setup({ alive: true });
  const r = await runFailover(a.deps, { kind: 'manual', reason: 'test' });
  t.equal(r.outcome, 'refused');
  t.match(r.error, /answers heartbeats/);
  t.same(a.calls, [], 'nothing was done');
  const b = setup({ alive: true });
  const forced = await runFailover(b.deps, { kind: 'manual', reason: 'test', force: true });
  t.equal(forced.outcome, 'completed');
  t.equal(b.calls[0], 'port 0000000000000001 1 down');
});

t.test('controller unreachable: no takeover, and the report says so', async (t) => {
  const { deps, calls } = setup({ unreachable: true });
  const r = await runFailover(deps, { kind: 'liveness', reason: 'heartbeats' });
  t.equal(r.outcome, 'aborted');
  t.match(r.error, /controller unreachable.*not taking over/);
  t.same(calls, ['port 0000000000000001 1 down'], 'no snapshot, no address, no restore');
  t.match(r.steps.at(-1), { name: 'fence', ok: false });
});

t.test('the redirect fails: the prepared joins are dropped, nothing is resumed', async (t) => {
  const { deps, calls } = setup({ redirectFails: true });
  const r = await runFailover(deps, { kind: 'manual', reason: 'test' });
  t.equal(r.outcome, 'aborted');
  t.match(r.error, /redirect failed after restoring/);
  t.equal(calls.at(-1), 'cancel joins', 'the joins made while the redirect was under way are dropped');
  t.notOk(calls.includes('resume'), 'no bytes flow to the local service');
  t.match(
    r.connections.find((c) => c.client === '10.9.0.10:1001'),
    { outcome: 'failed', code: 'redirect-failed' },
    'the restored connection is still explained',
  );
  t.match(
    r.steps.find((x) => x.name === 'redirect'),
    { ok: false },
  );
  t.equal(
    r.steps.at(-1)?.name,
    'join',
    'the join that ran while the redirect was under way is the last step',
  );
});

t.test('the join fails: the failover goes on, the restored connections are closed and reset', async (t) => {
  const { deps, calls } = setup({ joinFails: true });
  const r = await runFailover(deps, { kind: 'manual', reason: 'test' });
  t.equal(r.outcome, 'completed', 'the redirect was asked: the standby serves new connections');
  t.ok(calls.includes('redirect 10.9.0.1 1->2 02:00:00:00:00:02'));
  t.ok(calls.includes('cancel joins'), 'the restored sockets are closed');
  t.notOk(
    calls.some((c) => c.startsWith('top-up')),
    'nothing is topped up',
  );
  t.match(
    r.connections.find((c) => c.client === '10.9.0.10:1001'),
    {
      outcome: 'failed',
      code: 'join-failed',
      reason: /relay refused/,
      resetSent: true,
    },
  );
  t.ok(calls.includes('rst 10.9.0.10:1001 seq 100'), 'its client is reset, so it reconnects at once');
});

t.test("the snapshot's barrier gets the service's frame count from before the fence", async (t) => {
  const { deps } = setup();
  let frames = 40;
  const fence = deps.controller.setPortState;
  deps.controller.setPortState = async (...a) => {
    frames += 7; // the service's last frames, forwarded while the switch fenced it
    return fence(...a);
  };
  deps.serviceFrames = () => frames;
  const asked: Array<number | undefined> = [];
  deps.drainCapture = async (quietSince) => {
    asked.push(quietSince);
    return quietSince === undefined
      ? { ok: true, ms: 1 }
      : { ok: true, ms: 3, rounds: 3, lateServiceFrames: 12 };
  };
  const r = await runFailover(deps, { kind: 'manual', reason: 'test' });
  t.equal(r.outcome, 'completed');
  t.same(asked, [40, undefined], 'the mark taken as the fence was asked; the top-up waits as before');
  t.match(
    r.steps.find((s) => s.name === 'snapshot')?.detail,
    /3 markers: the service's frames still came after the fence, 12 after the first marker/,
  );
  // they never stopped: the snapshot is taken anyway, and the report says so
  const again = setup();
  again.deps.serviceFrames = () => 0;
  again.deps.drainCapture = async (quietSince) =>
    quietSince === undefined
      ? { ok: true, ms: 1 }
      : { ok: true, ms: 50.2, rounds: 40, lateServiceFrames: 900, quiet: false };
  const r2 = await runFailover(again.deps, { kind: 'manual', reason: 'test' });
  t.equal(r2.outcome, 'completed');
  t.match(
    r2.steps.find((s) => s.name === 'snapshot')?.detail,
    /still coming after 40 markers \(900 after the first\): snapshot taken anyway/,
  );
});

t.test("the controller's own fence (seen in its events) ends the fence step", async (t) => {
  // the request hangs (a busy controller): the port-fenced event decides
  const { deps, calls } = setup();
  let answer: (() => void) | undefined;
  deps.controller.setPortState = (dpid, port, state) => {
    calls.push(`port ${dpid} ${port} ${state}`);
    return new Promise((resolve) => {
      answer = () => resolve({});
    });
  };
  deps.fenceSeen = () => Promise.resolve();
  const r = await runFailover(deps, { kind: 'liveness', reason: 'link down' });
  t.equal(r.outcome, 'completed');
  t.equal(calls[0], 'port 0000000000000001 1 down', 'the fence is still asked');
  t.equal(calls[1], 'snapshot', 'then the snapshot, without waiting for the answer');
  t.match(
    r.steps.find((s) => s.name === 'fence'),
    {
      ok: true,
      detail: 'port 1 down (fenced by the controller on link down)',
    },
  );
  answer?.();

  // no such event: the answer decides, as before
  const plain = setup();
  plain.deps.fenceSeen = () => new Promise(() => {});
  const r2 = await runFailover(plain.deps, { kind: 'liveness', reason: 'heartbeats' });
  t.equal(r2.outcome, 'completed');
  t.match(
    r2.steps.find((s) => s.name === 'fence'),
    { ok: true, detail: 'port 1 down' },
  );

  // the request fails before any event: no takeover
  const failing = setup({ unreachable: true });
  failing.deps.fenceSeen = () => new Promise(() => {});
  const r3 = await runFailover(failing.deps, { kind: 'liveness', reason: 'heartbeats' });
  t.equal(r3.outcome, 'aborted');
  t.same(failing.calls, ['port 0000000000000001 1 down'], 'nothing after the failed fence');
});

t.test(
  'the restore takes each connection as the tracker has it then, not as the snapshot had it',
  async (t) => {
    const { deps, calls } = setup();
    // after the snapshot, client 1001 sent a second request: the tracker has both
    const fresher = {
      ...params(1001),
      rcvNxt: 237,
      recvQueue: Buffer.from('GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n'),
    };
    const views: string[] = [];
    deps.laterSnapshot = () => {
      views.push(calls.at(-1) ?? '');
      return views.length === 1 ? [{ restorable: true, params: fresher }] : [];
    };
    const given: RestoreParams[] = [];
    const restore = deps.restore;
    deps.restore = (list) => {
      given.push(...list);
      return restore(list);
    };
    const r = await runFailover(deps, { kind: 'manual', reason: 'test' });
    t.equal(r.outcome, 'completed');
    t.equal(views[0], 'take-address', 'a later view, taken just before the restore');
    t.equal(given.find((p) => p.remote.port === 1001)?.recvQueue.length, 37, 'restored with both requests');
    t.equal(given.find((p) => p.remote.port === 1002)?.recvQueue.length, 18, 'the others as in the snapshot');
    t.notOk(
      calls.some((c) => c.startsWith('top-up')),
      'nothing left for the top-up: its view has no newer bytes',
    );
  },
);

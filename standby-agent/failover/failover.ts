// The failover sequence: fence -> final snapshot -> take the address -> restore -> redirect
// (asked; meanwhile the join: connect to the local service, requests go on) -> top-up (with the
// relay paused) -> resume (replies go out) -> unmirror and reset the rest. The order is the
// product: the service is fenced before anything else (no split brain), and no client segment can
// reach the standby's stack before its socket exists (the redirect comes after every restore).
// Each step is timed.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { BarrierResult } from '../capture/barrier.js';
import type { RestoreFdOutcome } from '../restore/repair-socket.js';
import type { ResetSpec, RestoreParams, Verdict } from '../tracking/verdict-types.js';
import { ControllerError, type RedirectRequest, type TcpResetRequest } from './controller-client.js';
import type { ConnectionReport, FailoverReport, StepName, StepReport } from './report.js';

/** Joins restored sockets to the standby's own service (ServiceJoiner, through the service). */
export interface FailoverJoiner {
  /** starts joining a restored socket: the connection to the local service is made now and the
   *  queued request passed on, but nothing is written to the client before begin(); the fd stays
   *  open, the caller's (the top-up uses it), until handOver() */
  prepareAll(list: ReadonlyArray<{ fd: number; params: RestoreParams }>): void;
  /** replies go to the clients */
  begin(): void;
  /** the failover is done with the fds: the joiner takes them over */
  handOver(): void;
  /** drops the prepared joins, closing their sockets */
  cancel(): void;
  /** runs fn while nothing reads from or writes to the sockets being joined */
  whilePaused<T>(fn: () => T): T;
}

/** What the failover needs from the controller (ControllerClient implements it). */
export interface FailoverController {
  setPortState(dpid: string, port: number, state: 'down' | 'up' | 'bounce'): Promise<unknown>;
  addRedirect(r: RedirectRequest): Promise<{ id: string }>;
  removeMirror(id: string): Promise<unknown>;
  tcpReset(dpid: string, r: TcpResetRequest): Promise<unknown>;
}

export interface FailoverConfig {
  dpid: string;
  /** switch port of the service node */
  servicePort: number;
  /** switch port of this standby */
  standbyPort: number;
  /** the address taken over */
  serviceIp: string;
  /** this standby's MAC on the switch-facing interface (the redirect rewrites to it) */
  standbyMac: string;
  /** ms to wait for mirrored packets still in the capture path, without a capture barrier
   *  (or when it fails) (default 30) */
  settleMs?: number;
  /** this standby's own addresses: its own connections to the service (heartbeats) are not taken over */
  ownIps?: string[];
}

export interface FailoverDeps {
  controller: FailoverController;
  config: FailoverConfig;
  /** the tracker's verdicts, taken after fencing (the final snapshot) */
  snapshot(): Verdict[];
  /** the verdicts of the connections whose client sent bytes since snapshot() (the top-up's
   *  view); without it the top-up takes a whole snapshot() again */
  laterSnapshot?(): Verdict[];
  /** resolves once the capture has tracked every frame received so far (the agent's capture
   *  barrier); without it the failover waits settleMs instead. `quietSince`: a serviceFrames()
   *  mark; if the service's frames kept coming after it, also until they stop */
  drainCapture?(quietSince?: number): Promise<BarrierResult>;
  /** frames from the service the tracker has seen so far (a mark taken as the fence is asked) */
  serviceFrames?(): number;
  /** resolves once the controller reports the service port fenced on its own (it does so on a
   *  link-down, see FenceWatch): the fence step then need not wait for its request's answer */
  fenceSeen?(): Promise<void>;
  /** makes the service address local (idempotent) */
  takeAddress(): Promise<void> | void;
  /** puts the clients' MACs (seen on the mirror) in the neighbour table; returns how many */
  warmNeighbours?(clientIps: string[]): Promise<number> | number;
  /** creates the kernel sockets (bare fds) */
  restore(list: RestoreParams[]): RestoreFdOutcome[];
  /** joins the restored sockets to the standby's own service */
  joiner: FailoverJoiner;
  /** appends client bytes seen after the snapshot (from a later view); returns bytes appended */
  topUp?(fd: number, restored: RestoreParams, later: RestoreParams): number;
  /** the tracker's last view was taken (after the top-up): the capture may stop, so the agent's
   *  thread serves the resumed connections instead of tracking its own traffic */
  trackerDone?(): void;
  /** the id of the mirror to remove once the redirect is in force */
  mirrorId?(): string | undefined;
  /** liveness, for the "never take over a live service" rule */
  liveness?: { answering(): boolean; portUp(): boolean | undefined };
  logger?: Logger;
}

export interface FailoverTrigger {
  kind: 'manual' | 'liveness';
  force?: boolean;
  reason: string;
  evidence?: unknown;
}

const endpoint = (e: { ip: string; port: number }) =>
  e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;

/** The RST a failed restore's client gets: from the service, at what the client expects next. */
export function resetForParams(p: RestoreParams): ResetSpec {
  return { src: p.local, dst: p.remote, seq: p.sndNxt >>> 0 };
}

let nextId = 1;

export async function runFailover(deps: FailoverDeps, trigger: FailoverTrigger): Promise<FailoverReport> {
  const { controller, config, logger } = deps;
  const t0 = performance.now();
  const report: FailoverReport = {
    id: nextId++,
    trigger: {
      kind: trigger.kind,
      forced: trigger.force === true,
      reason: trigger.reason,
      evidence: trigger.evidence,
    },
    startedAt: new Date().toISOString(),
    durationMs: 0,
    outcome: 'completed',
    steps: [],
    connections: [],
    summary: { restored: 0, reset: 0, failed: 0 },
  };
  const step = async <T>(name: StepName, fn: () => Promise<T> | T, detail?: (v: T) => string): Promise<T> => {
    const start = performance.now();
    const entry: StepReport = { name, ok: false, startMs: round(start - t0), durationMs: 0 };
    report.steps.push(entry);
    try {
      const v = await fn();
      entry.ok = true;
      if (detail) entry.detail = detail(v);
      return v;
    } catch (e) {
      entry.detail = (e as Error).message;
      throw e;
    } finally {
      entry.durationMs = round(performance.now() - start);
      logger?.info(
        { failover: report.id, step: entry },
        `failover step ${name}: ${entry.ok ? 'ok' : 'FAILED'} in ${entry.durationMs} ms`,
      );
    }
  };
  const finish = (outcome: FailoverReport['outcome'], error?: string) => {
    report.outcome = outcome;
    if (error) report.error = error;
    report.durationMs = round(performance.now() - t0);
    for (const c of report.connections) report.summary[c.outcome]++;
    logger?.[outcome === 'completed' ? 'info' : 'error'](
      { failover: report.id, summary: report.summary, durationMs: report.durationMs, error },
      `failover ${outcome}${error ? `: ${error}` : ''}`,
    );
    return report;
  };

  // 0. never take over a service that answers and whose port is up, unless forced
  try {
    await step(
      'safety-check',
      () => {
        const l = deps.liveness;
        if (trigger.force || !l) return 'skipped';
        if (l.answering() && l.portUp() !== false) {
          throw new Error(
            'the service answers heartbeats and its port is up: not taking over (use force to override)',
          );
        }
        return 'service not answering';
      },
      (v) => v,
    );
  } catch (e) {
    return finish('refused', (e as Error).message);
  }

  // 1. fence: no split brain. If the controller cannot fence, we do not take over.
  const beforeFence = deps.serviceFrames?.();
  try {
    await step(
      'fence',
      () => {
        const asked = controller.setPortState(config.dpid, config.servicePort, 'down').then(() => 'asked');
        const seen = deps.fenceSeen?.();
        if (!seen) return asked;
        asked.catch(() => {
          // the controller's own fence came first: the request's fate no longer matters
        });
        return Promise.race([asked, seen.then(() => 'seen')]);
      },
      (by) =>
        by === 'seen'
          ? `port ${config.servicePort} down (fenced by the controller on link down)`
          : `port ${config.servicePort} down`,
    );
  } catch (e) {
    const why =
      e instanceof ControllerError && e.status === 0
        ? `controller unreachable, cannot fence the service: not taking over (${e.message})`
        : `fencing failed: not taking over (${(e as Error).message})`;
    return finish('aborted', why);
  }

  // Mirrored packets still on their way to the tracker are waited for: behind the capture
  // barrier when there is one (as long as the capture's real lag), else settleMs.
  // `quietSince`: the snapshot's barrier also waits for the fenced service's last frames.
  const settle = async (quietSince?: number): Promise<string> => {
    const wait = config.settleMs ?? 30;
    if (!deps.drainCapture) {
      await sleep(wait);
      return `waited ${wait} ms for the capture`;
    }
    const r = await deps.drainCapture(quietSince);
    if (r.ok) {
      if (r.quiet === false) {
        logger?.warn({ barrier: r }, "the fenced service's frames were still coming: snapshot taken anyway");
        return `capture caught up in ${r.ms} ms, but the service's frames were still coming after ${r.rounds} markers (${r.lateServiceFrames} after the first): snapshot taken anyway`;
      }
      if ((r.rounds ?? 1) > 1)
        return `capture caught up in ${r.ms} ms (${r.rounds} markers: the service's frames still came after the fence, ${r.lateServiceFrames} after the first marker)`;
      return `capture caught up in ${r.ms} ms`;
    }
    logger?.warn({ barrier: r }, 'capture barrier not passed: waiting a fixed time instead');
    if (wait > r.ms) await sleep(wait - r.ms);
    return `capture barrier not passed (${r.error ?? `${r.ms} ms`}): waited ${Math.max(wait, r.ms)} ms`;
  };

  // 2. final snapshot, after mirrored packets still in flight have been captured
  const { verdicts } = await step(
    'snapshot',
    async () => {
      const settled = await settle(beforeFence);
      const viewAt = performance.now();
      const verdicts = deps.snapshot();
      return { verdicts, settled, viewMs: round(performance.now() - viewAt) };
    },
    (v) => `${v.verdicts.length} connections (their view: ${v.viewMs} ms); ${v.settled}`,
  );
  const restorable: RestoreParams[] = [];
  const resets: Array<{ report: ConnectionReport; reset?: ResetSpec }> = [];
  const own = new Set(config.ownIps ?? []);
  for (const v of verdicts) {
    if (v.restorable) {
      if (v.params.local.ip === config.serviceIp && !own.has(v.params.remote.ip)) restorable.push(v.params);
      continue;
    }
    if (v.reset && (v.reset.src.ip !== config.serviceIp || own.has(v.reset.dst.ip))) continue;
    const c: ConnectionReport = {
      client: v.reset ? endpoint(v.reset.dst) : '?',
      service: v.reset ? endpoint(v.reset.src) : '?',
      outcome: 'reset',
      code: v.code,
      reason: v.reason,
    };
    report.connections.push(c);
    resets.push({ report: c, reset: v.reset });
  }

  // Every restored socket sends at once; unresolved neighbours queue only 64 KiB each (the
  // rest is dropped and waits for a 1 s RTO), so the clients' MACs go in first. Independent of
  // the address, so both may run at once.
  const warm = deps.warmNeighbours;
  const neighbours =
    warm && restorable.length > 0
      ? step(
          'neighbours',
          () => warm([...new Set(restorable.map((p) => p.remote.ip))]),
          (n) => `${n} neighbour entries`,
        ).catch((e) => logger?.warn({ err: (e as Error).message }, 'neighbour entries not set'))
      : undefined;

  // 3. the address: from here the standby's stack answers for it (the switch still sends the
  // service's traffic to the fenced port, so nothing arrives yet)
  try {
    await step(
      'take-address',
      () => deps.takeAddress(),
      () => config.serviceIp,
    );
  } catch (e) {
    await neighbours;
    return finish('aborted', `could not take the service address: ${(e as Error).message}`);
  }
  await neighbours;

  // 4. restore, each connection as the tracker has it now: the client bytes seen since the
  // snapshot go into its receive queue at once, instead of waiting for the top-up
  /** the restored connections, by client endpoint (in restore order) */
  const restored = new Map<string, Restored>();
  const restoreStart = performance.now();
  const outcomes = await step(
    'restore',
    () => {
      if (deps.laterSnapshot && restorable.length > 0) {
        try {
          const at = new Map<string, number>();
          for (let i = 0; i < restorable.length; i++) at.set(endpoint(restorable[i].remote), i);
          for (const v of deps.laterSnapshot()) {
            const i = v.restorable ? at.get(endpoint(v.params.remote)) : undefined;
            if (i !== undefined && v.restorable) restorable[i] = v.params;
          }
        } catch (e) {
          // the snapshot's view is complete on its own: the top-up brings the rest
          logger?.warn({ err: (e as Error).message }, 'no later view before the restore');
        }
      }
      return deps.restore(restorable);
    },
    (o) => `${o.filter((x) => x.ok).length}/${o.length} restored`,
  );
  const restoreMs = performance.now() - restoreStart;
  if (restorable.length > 0 && restoreMs > 0)
    report.summary.restoreRatePerSec = Math.round((restorable.length / restoreMs) * 1000);
  // the restored connections' report lines are written once they are resumed: the clients wait
  outcomes.forEach((o, i) => {
    const p = restorable[i];
    if (o.ok) {
      const r: Restored = { fd: o.fd, params: p, client: endpoint(p.remote), retried: o.retried };
      restored.set(r.client, r);
    } else {
      const c = reportLine(p, endpoint(p.remote), 'failed', o.error.code, o.error.message);
      c.step = o.error.step;
      report.connections.push(c);
      resets.push({ report: c, reset: resetForParams(p) });
    }
  });

  /** gives up on the restored connections: their sockets are closed, each is reported failed */
  const closeRestored = (code: string, reason: string) => {
    deps.joiner.cancel();
    const closed = [...restored.values()].map((r) => {
      const line = reportLine(r.params, r.client, 'failed', code, reason);
      report.connections.push(line);
      return { line, params: r.params };
    });
    restored.clear();
    return closed;
  };

  // 5. redirect the service's traffic here (in force when the controller answers). Asked first:
  // while the controller and the switch work on it, this thread joins.
  const redirecting = step(
    'redirect',
    () =>
      controller.addRedirect({
        dpid: config.dpid,
        ip: config.serviceIp,
        fromPort: config.servicePort,
        toPort: config.standbyPort,
        toMac: config.standbyMac,
      }),
    (r) => `redirect ${r.id}`,
  );
  redirecting.catch(() => {
    // handled where it is awaited, below
  });
  // the request goes out now, not after the join's synchronous work
  await new Promise<void>((resolve) => setImmediate(resolve));

  // 6. the connections to the local service are made, and the queued requests go to it; replies
  // wait until the top-up is done (see ServiceJoiner.prepare)
  try {
    await step(
      'join',
      () => {
        deps.joiner.prepareAll([...restored.values()]);
        return restored.size;
      },
      (n) => `${n} connecting to the local service`,
    );
  } catch (e) {
    // The redirect is on its way, and the standby will serve new connections: the failover goes
    // on, and the restored connections, with nothing to serve them, are closed and reset (their
    // clients reconnect at once).
    const why = `restored, but not joined to the local service: ${(e as Error).message}`;
    for (const { line, params } of closeRestored('join-failed', why))
      resets.push({ report: line, reset: resetForParams(params) });
  }

  try {
    await redirecting;
    report.takeoverMs = round(performance.now() - t0);
  } catch (e) {
    // the restored sockets cannot be reached: they are closed (their clients reconnect)
    closeRestored('redirect-failed', 'restored, but the redirect failed: closed (its client reconnects)');
    return finish('aborted', `redirect failed after restoring: ${(e as Error).message}`);
  }
  // 7. client bytes sent after the snapshot and before the redirect reached the fenced port and
  // were lost; the mirror saw them: append them now so those clients need not retransmit
  if (deps.topUp && restored.size > 0) {
    const topUp = deps.topUp;
    // a failed top-up (recorded in its step) must not keep the connections from resuming
    await step(
      'top-up',
      async () => {
        const settled = await settle();
        let conns = 0;
        let bytes = 0;
        const viewAt = performance.now();
        const later = (deps.laterSnapshot?.() ?? deps.snapshot()).flatMap((v) => {
          const r = v.restorable ? restored.get(endpoint(v.params.remote)) : undefined;
          return r && v.restorable ? [{ r, params: v.params }] : [];
        });
        let pausedAt = 0;
        const appendAll = () => {
          pausedAt = performance.now();
          for (const { r, params } of later) {
            try {
              const n = topUp(r.fd, r.params, params);
              if (n > 0) {
                conns++;
                bytes += n;
                r.topUpBytes = n;
              }
            } catch (e) {
              logger?.warn({ connection: r.client, err: (e as Error).message }, 'top-up failed');
            }
          }
        };
        const appendAt = performance.now();
        if (later.length > 0) deps.joiner.whilePaused(appendAll);
        const ms = (a: number, b: number) => round(b - a);
        return {
          conns,
          bytes,
          settled,
          viewMs: ms(viewAt, appendAt),
          pauseMs: pausedAt > 0 ? ms(appendAt, pausedAt) : 0,
          appendMs: ms(pausedAt > 0 ? pausedAt : appendAt, performance.now()),
        };
      },
      (x) =>
        `${x.bytes} bytes appended to ${x.conns} connections in ${x.appendMs} ms (their view: ${x.viewMs} ms; the relay paused in ${x.pauseMs} ms); ${x.settled}`,
    ).catch(() => {
      // recorded (and logged) as the step's failure
    });
  }
  deps.trackerDone?.();

  // 8. the restored connections carry on against the local service: replies go out (first: they
  // are the point). Not before the top-up: with replies in flight, the top-up's repair-mode
  // round trip on a live socket lost connections (measured: 8, 226, 295 and 728 of 1,000 never
  // answered, in 4 of 18 runs)
  await step(
    'resume',
    () => {
      deps.joiner.begin();
      return restored.size;
    },
    (n) => `${n} joined to the local service`,
  );
  deps.joiner.handOver();
  for (const r of restored.values()) {
    const reason = r.retried ? 'restored after clearing a lingering socket' : 'restored';
    const c = reportLine(r.params, r.client, 'restored', 'restored', reason);
    if (r.topUpBytes) c.topUpBytes = r.topUpBytes;
    report.connections.push(c);
  }

  // 9. unmirror, and reset what could not be restored (so those clients reconnect at once, to
  // us), side by side
  const mirrorId = deps.mirrorId?.();
  const unmirrored = mirrorId
    ? step(
        'unmirror',
        () => controller.removeMirror(mirrorId),
        () => `mirror ${mirrorId} removed`,
      ).catch(() => {
        // not fatal: the mirrored copies carry the service's MAC and the standby's stack drops them
      })
    : Promise.resolve();
  const resetDone = step(
    'reset',
    async () => {
      await inBatches(resets, RESET_CONCURRENCY, async ({ report: c, reset }) => {
        if (!reset) {
          c.resetSent = false;
          c.resetError = 'the connection state is not known well enough to build a RST';
          return;
        }
        try {
          await controller.tcpReset(config.dpid, {
            srcIp: reset.src.ip,
            srcPort: reset.src.port,
            dstIp: reset.dst.ip,
            dstPort: reset.dst.port,
            seq: reset.seq >>> 0,
          });
          c.resetSent = true;
        } catch (e) {
          c.resetSent = false;
          c.resetError = (e as Error).message;
        }
      });
      return resets.filter((r) => r.report.resetSent).length;
    },
    (n) => `${n}/${resets.length} RSTs sent`,
  );
  await Promise.all([unmirrored, resetDone]);

  return finish('completed');
}

/** A restored connection on its way back to service. */
interface Restored {
  fd: number;
  params: RestoreParams;
  /** the client's endpoint, as the report writes it */
  client: string;
  retried: boolean;
  topUpBytes?: number;
}

/**
 * What the report says of any connection it tried to restore. One literal, optional fields added
 * after: the lines of a thousand restored connections are made while their replies drain, and
 * spreading partial objects into each took the agent's thread 7-11 ms there (runFailover runs
 * once, so this code is never optimised).
 */
function reportLine(
  p: RestoreParams,
  client: string,
  outcome: ConnectionReport['outcome'],
  code: string,
  reason: string,
): ConnectionReport {
  const c: ConnectionReport = {
    client,
    service: endpoint(p.local),
    outcome,
    code,
    reason,
    recvQueueBytes: p.recvQueue.length,
    sendQueueBytes: p.sendQueue.length,
  };
  if (p.replyPrefix) c.replyPrefixBytes = p.replyPrefix.length;
  if (p.replyExpected) c.replyGapFilled = true;
  return c;
}

/** RST requests in flight to the controller at once */
const RESET_CONCURRENCY = 32;

async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

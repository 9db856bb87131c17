// Re-creates connections observed on the mirror as live sockets of this host (TCP_REPAIR),
// from the tracker's RestoreParams. The service address must already be local (failover adds it).
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { RestoreParams } from '../tracking/verdict-types.js';
import { isRepairError, loadRepairAddon, type RepairError, type RepairSpec } from './repair-addon.js';

/**
 * How far ahead of the service's clock the restored socket's TSval starts. `seenAtMs` is when
 * the agent processed the segment, not when it was sent: under load the capture lags, so
 * "last TSval + elapsed" can fall below a TSval the client got later, and the client's PAWS
 * check then drops every segment until the clock catches up (a stall as long as the lag).
 * A TSval ahead is harmless: PAWS only refuses older values, and RTT samples use the echo.
 */
export const TSVAL_MARGIN_MS = 2000;

/** The TSval the restored socket must send now: the service's last one plus the time since
 *  (plus the margin above). */
export function currentTsVal(ts: NonNullable<RestoreParams['timestamps']>, nowMs: number): number {
  const elapsed = Math.max(0, Math.ceil(nowMs - ts.seenAtMs));
  return (ts.serviceTsVal + elapsed + TSVAL_MARGIN_MS) >>> 0;
}

/** RestoreParams -> the addon's spec (sequence arithmetic mod 2^32). */
export function toRepairSpec(p: RestoreParams, nowMs: number = performance.now()): RepairSpec {
  const recvSeq = (p.rcvNxt - p.recvQueue.length) >>> 0;
  const sndWnd = p.window.sndWnd >>> 0;
  return {
    family: p.family,
    localIp: p.local.ip,
    localPort: p.local.port,
    remoteIp: p.remote.ip,
    remotePort: p.remote.port,
    sendSeq: p.sndUna >>> 0,
    recvSeq,
    mss: p.mss,
    sndWscale: p.sndWscale,
    rcvWscale: p.rcvWscale,
    sack: p.sackPermitted,
    tsVal: p.timestamps ? currentTsVal(p.timestamps, nowMs) : undefined,
    window: {
      sndWl1: p.rcvNxt >>> 0,
      sndWnd,
      maxWindow: sndWnd,
      rcvWnd: p.window.rcvWnd >>> 0,
      rcvWup: p.rcvNxt >>> 0,
    },
    recvQueue: p.recvQueue,
    sendQueue: p.sendQueue,
  };
}

/** A restored kernel socket (fd) or why it failed. */
export type RestoreFdOutcome =
  | { ok: true; fd: number; retried: boolean }
  | { ok: false; error: RepairError; retried: boolean };

export type RestoreOutcome =
  | { ok: true; socket: net.Socket; fd: number; retried: boolean }
  | { ok: false; error: RepairError; retried: boolean };

/** Wraps a restored fd as a Node socket (starts reading it into the stream's buffer). */
export function socketFromFd(fd: number): net.Socket {
  return wrap(fd);
}

function wrap(fd: number): net.Socket {
  // half-open allowed: a client's FIN must not cut off the reply still on its way
  return new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
}

/** A bind/connect clash with a socket that still holds the same 4-tuple (a killed agent's). */
function isLingeringClash(e: RepairError): boolean {
  return (
    (e.step === 'bind' && e.code === 'EADDRINUSE') ||
    (e.step === 'connect' && (e.code === 'EADDRNOTAVAIL' || e.code === 'EADDRINUSE'))
  );
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Destroys sockets of this namespace that hold exactly this 4-tuple (SOCK_DESTROY via ss -K).
 * Such a socket is left over from an earlier agent (its repaired sockets outlive it in FIN-WAIT);
 * its reset carries its own, stale, sequence numbers, which the client ignores.
 */
export function destroyLingering(spec: RepairSpec): void {
  execFileSync(
    'ss',
    [
      '-K',
      '-t',
      '-n',
      'state',
      'all',
      'src',
      hostPort(spec.localIp, spec.localPort),
      'dst',
      hostPort(spec.remoteIp, spec.remotePort),
    ],
    { stdio: 'ignore', timeout: 5000 },
  );
}

/**
 * Creates one kernel socket per params, in order, and returns the fds (no Node wrapping: the
 * kernel socket is live and answers the client; wrapping can wait until after the redirect).
 * One failure does not stop the others; a clash with a lingering socket on the same 4-tuple
 * is cleared and retried once.
 */
export function restoreFds(list: readonly RestoreParams[]): RestoreFdOutcome[] {
  const addon = loadRepairAddon();
  const specs = list.map((p) => toRepairSpec(p));
  const first = addon.restore(specs);
  const outcomes: RestoreFdOutcome[] = [];
  const retry: number[] = [];
  first.forEach((r, i) => {
    if (typeof r === 'number') outcomes[i] = { ok: true, fd: r, retried: false };
    else if (isRepairError(r) && isLingeringClash(r)) retry.push(i);
    else outcomes[i] = { ok: false, error: r, retried: false };
  });
  for (const i of retry) {
    try {
      destroyLingering(specs[i]);
    } catch {
      // ss failing leaves the clash in place: the retry below reports it
    }
    // timestamps moved on while we cleared the clash: recompute the spec
    const again = addon.restore([toRepairSpec(list[i])])[0];
    outcomes[i] =
      typeof again === 'number'
        ? { ok: true, fd: again, retried: true }
        : { ok: false, error: again, retried: true };
  }
  return outcomes;
}

/** restoreFds, each fd wrapped as a net.Socket. */
export function restoreConnections(list: readonly RestoreParams[]): RestoreOutcome[] {
  return restoreFds(list).map((o) => (o.ok ? { ...o, socket: wrap(o.fd) } : o));
}

/** Restores one connection; throws the addon's error (with errno, code and step). */
export function restoreConnection(params: RestoreParams): net.Socket {
  const [outcome] = restoreConnections([params]);
  if (!outcome.ok) throw outcome.error;
  return outcome.socket;
}

/** descriptor table slots reserved at start (see the addon's reserveFds) */
export const RESERVED_FDS = 32768;

/** the descriptor limit the agent asks for: ~80,000 connections at three descriptors each */
export const FD_LIMIT = 262_144;

/** Raises this process's descriptor limit to FD_LIMIT (as far as allowed); returns it. */
export function raiseFdLimit(): number {
  return loadRepairAddon().raiseFdLimit(FD_LIMIT);
}

/**
 * Creates and silently drops `n` repaired sockets on the loopback, so the kernel's socket
 * caches are warm when a failover restores many connections at once (the first cold batch of
 * 1,000 takes about twice as long). Returns how many were created; never throws.
 */
export function warmUpRestore(n = 1024): number {
  try {
    const addon = loadRepairAddon();
    // a failover holds about three descriptors per connection for a moment (restored socket, the
    // relay's copy, the local service connection): the table is grown now, not then
    addon.reserveFds(RESERVED_FDS);
    const specs: RepairSpec[] = [];
    for (let i = 0; i < n; i++) {
      specs.push({
        localIp: '127.0.0.1',
        localPort: 9,
        remoteIp: '127.0.0.1',
        remotePort: 10_000 + i,
        sendSeq: 1,
        recvSeq: 1,
        mss: 1460,
        tsVal: 1,
        window: { sndWl1: 1, sndWnd: 65535, maxWindow: 65535, rcvWnd: 65535, rcvWup: 1 },
        recvQueue: Buffer.from('x'),
      });
    }
    let made = 0;
    for (const r of addon.restore(specs)) {
      if (typeof r !== 'number') continue;
      made++;
      addon.closeSilently(r);
    }
    return made;
  } catch {
    return 0;
  }
}

/**
 * Brings a restored socket up to date with a later view of the same connection: client bytes
 * the mirror saw after the snapshot (they reached the fenced service port and were lost) are
 * appended to the receive queue, so the client need not retransmit them (the socket's next
 * segment, the reply, acknowledges them: no window probe, see the addon's topUp). Call before
 * the fd is wrapped (the kernel does not signal these bytes as new data). Returns the number of
 * bytes appended.
 */
export function topUpReceive(fd: number, restored: RestoreParams, later: RestoreParams): number {
  if (((later.rcvNxt - restored.rcvNxt) | 0) <= 0) return 0;
  const start = (later.rcvNxt - later.recvQueue.length) >>> 0;
  return loadRepairAddon().topUp(fd, start, later.recvQueue);
}

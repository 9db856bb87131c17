// The capture barrier: proof that the capture has caught up. The agent sends a marker frame out
// of its capture interface (controller/packets/barrier-marker.ts); the switch's mirror flows send
// it straight back, behind every frame the switch had forwarded to this port, by the same path
// into the capture ring. Once the pipeline reports the echo, every one of those frames has been
// tracked. The failover takes its snapshots behind a barrier instead of sleeping a fixed time:
// the wait is as long as the capture's real lag, and a lagging capture is waited for rather
// than cut off. (The agent's own outgoing copy is not enough: it enters the ring at once, and
// can overtake frames still in the kernel's receive backlog, which a loaded machine drains late.)
import { parseMac } from '../../controller/packets/addresses.js';
import { BARRIER_ECHO_MAC, BARRIER_PORT, barrierFrame } from '../../controller/packets/barrier-marker.js';
import { TCP_RST, type TcpSegment } from '../decode/frame.js';

export { barrierFrame };

/** Whether a decoded segment is a barrier marker (no real connection uses port 9 to itself). */
export function isBarrier(seg: TcpSegment): boolean {
  return (
    seg.srcPort === BARRIER_PORT &&
    seg.dstPort === BARRIER_PORT &&
    (seg.flags & TCP_RST) !== 0 &&
    seg.src4 === seg.dst4 &&
    seg.src6 === seg.dst6
  );
}

const ECHO_MAC = parseMac(BARRIER_ECHO_MAC);

/** Whether a marker is the switch's echo (its destination rewritten), not the agent's own copy. */
export function isEcho(seg: TcpSegment): boolean {
  return seg.frame.compare(ECHO_MAC, 0, 6, seg.ethStart, seg.ethStart + 6) === 0;
}

export interface BarrierResult {
  /** false: the marker was not seen within the timeout (or could not be sent: see `error`) */
  ok: boolean;
  /** ms from the call until the marker was seen (or the timeout) */
  ms: number;
  error?: string;
  /** passUntilQuiet: the markers it took (1 when the service was already quiet) */
  rounds?: number;
  /** passUntilQuiet: the service's frames tracked between its first and its last marker */
  lateServiceFrames?: number;
  /** passUntilQuiet: false when it gave up with the service's frames still coming */
  quiet?: boolean;
}

/** ms since `start` (performance time), to 0.01 ms */
const msSince = (start: number) => Math.round((performance.now() - start) * 100) / 100;

/**
 * How long passUntilQuiet goes on sending markers while the fenced service's frames keep
 * coming. The switch forwards at least 32 of them per pass over its ports, so a queue drains in
 * a few ms (measured in 32 runs at 1,000 connections: 224 frames after the first marker in 6
 * markers and 7 ms, 526 in 19 markers and 15.9 ms, 1 or 2 markers in the other 30). 50 ms
 * bounds what a failover gives it.
 */
export const QUIET_MAX_MS = 50;

export class CaptureBarrier {
  private nextToken = (Math.random() * 0xffffffff) >>> 0;
  private readonly waiting = new Map<number, (count: number) => void>();
  /** tokens whose own copy went by (for the report of a barrier that was not echoed) */
  private readonly ownCopies = new Set<number>();

  constructor(
    /** puts one marker out (the addon's sendFrame on the capture interface) */
    private readonly send: (token: number) => void,
    /** the service's frames tracked so far (the pipeline's count), read as each echo goes by */
    private readonly serviceFrames: () => number = () => 0,
  ) {}

  /** The pipeline saw a marker: the agent's own copy, or the switch's echo. */
  seen(token: number, echoed: boolean): void {
    if (!echoed) {
      this.ownCopies.add(token >>> 0);
      return;
    }
    const done = this.waiting.get(token >>> 0);
    if (done) {
      this.waiting.delete(token >>> 0);
      done(this.serviceFrames());
    }
  }

  /**
   * pass(), then, while `stillSending()` says the service's frames kept coming after it was
   * fenced, more markers one after another until one comes back with no frame of the service
   * before it. Why: the switch reads each port's socket in turn, up to 32 frames at a time, so
   * frames the fenced service sent just before its link went down can still be queued there and
   * be forwarded after the first marker (seen on the wire, with a marker the controller sent with
   * the fence: the client got the service's last reply, the snapshot did not have it, and that
   * connection stalled 300 ms). A marker sent after the previous one came back, with nothing of
   * the service between them, means the switch polled the service's port in between and found it
   * empty. Gives up (ok, `quiet` false) once `maxMs` have gone by: the failover goes on with what
   * it has. A marker that does not come back fails it as pass() does (`quiet` unset).
   */
  async passUntilQuiet(
    stillSending: () => boolean,
    timeoutMs = 250,
    delayMs = 2,
    maxMs = QUIET_MAX_MS,
  ): Promise<BarrierResult> {
    const start = performance.now();
    const elapsed = () => msSince(start);
    const first = await this.passCounting(timeoutMs, delayMs);
    if (!first.ok) return { ...first.result, rounds: 1 };
    if (!stillSending()) return { ...first.result, rounds: 1, quiet: true };
    let count = first.count;
    let rounds = 1;
    let quiet = false;
    while (!quiet && elapsed() < maxMs) {
      const next = await this.passCounting(timeoutMs, 0);
      rounds++;
      if (!next.ok) return { ...next.result, ms: elapsed(), rounds, lateServiceFrames: count - first.count };
      quiet = next.count === count;
      count = next.count;
    }
    return { ok: true, ms: elapsed(), rounds, lateServiceFrames: count - first.count, quiet };
  }

  /**
   * Resolves once the capture has processed every frame the interface had received `delayMs`
   * after this call. The delay covers frames a switch sent just before it confirmed a change,
   * still in the kernel's receive backlog.
   */
  async pass(timeoutMs = 250, delayMs = 2): Promise<BarrierResult> {
    return (await this.passCounting(timeoutMs, delayMs)).result;
  }

  /** pass(), with the service's frame count as the echo went by */
  private async passCounting(
    timeoutMs: number,
    delayMs: number,
  ): Promise<{ ok: boolean; count: number; result: BarrierResult }> {
    const start = performance.now();
    const elapsed = () => msSince(start);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const token = this.nextToken;
    this.nextToken = (this.nextToken + 1) >>> 0;
    let timer: NodeJS.Timeout | undefined;
    let count = 0;
    const seen = new Promise<boolean>((resolve) => {
      this.waiting.set(token, (n) => {
        count = n;
        resolve(true);
      });
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      this.send(token);
    } catch (e) {
      this.waiting.delete(token);
      clearTimeout(timer);
      return { ok: false, count, result: { ok: false, ms: elapsed(), error: (e as Error).message } };
    }
    const ok = await seen;
    clearTimeout(timer);
    this.waiting.delete(token);
    const own = this.ownCopies.delete(token);
    if (ok) return { ok, count, result: { ok, ms: elapsed() } };
    const error = own
      ? 'the switch did not send the marker back (no echo flow for this port?)'
      : 'the marker was not captured';
    return { ok, count, result: { ok, ms: elapsed(), error } };
  }
}

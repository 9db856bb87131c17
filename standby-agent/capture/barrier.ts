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
}

export class CaptureBarrier {
  private nextToken = (Math.random() * 0xffffffff) >>> 0;
  private readonly waiting = new Map<number, () => void>();
  /** tokens whose own copy went by (for the report of a barrier that was not echoed) */
  private readonly ownCopies = new Set<number>();

  /** `send` puts one marker out (the addon's sendFrame on the capture interface) */
  constructor(private readonly send: (token: number) => void) {}

  /** The pipeline saw a marker: the agent's own copy, or the switch's echo. */
  seen(token: number, echoed: boolean): void {
    if (!echoed) {
      this.ownCopies.add(token >>> 0);
      return;
    }
    const done = this.waiting.get(token >>> 0);
    if (done) {
      this.waiting.delete(token >>> 0);
      done();
    }
  }

  /**
   * Resolves once the capture has processed every frame the interface had received `delayMs`
   * after this call. The delay covers frames a switch sent just before it confirmed a change,
   * still in the kernel's receive backlog.
   */
  async pass(timeoutMs = 250, delayMs = 2): Promise<BarrierResult> {
    const start = performance.now();
    const elapsed = () => Math.round((performance.now() - start) * 100) / 100;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const token = this.nextToken;
    this.nextToken = (this.nextToken + 1) >>> 0;
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<boolean>((resolve) => {
      this.waiting.set(token, () => resolve(true));
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      this.send(token);
    } catch (e) {
      this.waiting.delete(token);
      clearTimeout(timer);
      return { ok: false, ms: elapsed(), error: (e as Error).message };
    }
    const ok = await seen;
    clearTimeout(timer);
    this.waiting.delete(token);
    const own = this.ownCopies.delete(token);
    if (ok) return { ok, ms: elapsed() };
    return {
      ok,
      ms: elapsed(),
      error: own
        ? 'the switch did not send the marker back (no echo flow for this port?)'
        : 'the marker was not captured',
    };
  }
}

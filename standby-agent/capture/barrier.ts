// The capture barrier: proof that the capture has caught up. The agent sends a marker frame out
// of its capture interface; libpcap sees outgoing frames in the same ring as incoming ones, in
// order, so once the pipeline reports the marker, every frame the interface received before it
// was sent has been tracked. The failover takes its snapshots behind a barrier instead of
// sleeping a fixed time: the wait is as long as the capture's real lag, a few ms when it keeps
// up, and a lagging capture is waited for rather than silently cut off.
import { buildTcpRst } from '../../controller/packets/tcp-rst.js';
import { TCP_RST, type TcpSegment } from '../decode/frame.js';

/** The marker: a RST from the service address to itself, port 9 (discard) to port 9. */
export const BARRIER_PORT = 9;

/**
 * The marker frame, addressed to the interface's own MAC: a switch never sends a frame back
 * out of the port it came in by, so it goes no further. Its sequence number is the token.
 */
export function barrierFrame(mac: string, ip: string, token: number): Buffer {
  return buildTcpRst({
    srcMac: mac,
    dstMac: mac,
    srcIp: ip,
    dstIp: ip,
    srcPort: BARRIER_PORT,
    dstPort: BARRIER_PORT,
    seq: token >>> 0,
  });
}

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

  /** `send` puts one marker out (the addon's sendFrame on the capture interface) */
  constructor(private readonly send: (token: number) => void) {}

  /** The pipeline saw a marker. */
  seen(token: number): void {
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
    return { ok, ms: elapsed() };
  }
}

// Frames in, table updates out: decode each captured frame and feed the connection table,
// counting what could not be decoded by reason. The same path serves live capture and pcap
// files. One segment object is reused for every frame, so the steady state allocates nothing
// per packet; the table copies whatever it keeps.
import { performance } from 'node:perf_hooks';
import type { CapturedFrame } from './capture/pcap-file.js';
import { BARRIER_PORT } from '../controller/packets/barrier-marker.js';
import { isBarrier, isEcho } from './capture/barrier.js';
import { type DecodeReason, decodeInto, TcpSegment } from './decode/frame.js';
import type { ConnectionTable } from './tracking/connection-table.js';

export class Pipeline {
  frames = 0;
  readonly skipped: Partial<Record<DecodeReason, number>> = {};
  /** frames whose processing threw (a bug, counted rather than fatal) */
  agentErrors = 0;
  /** a capture barrier's marker went by (capture/barrier.ts): its token, and whether it is the
   *  switch's echo */
  onBarrier: ((token: number, echoed: boolean) => void) | undefined;
  private readonly seg = new TcpSegment();

  constructor(
    readonly table: ConnectionTable,
    /** the clock TSval ageing uses: performance time for live capture, capture time offline */
    private readonly clock: (captureTsMs: number) => number = () => performance.now(),
  ) {}

  onFrame(frame: CapturedFrame): void {
    this.onBytes(frame.data, 0, frame.data.length, frame.tsMs);
  }

  /** one frame: bytes [start, end) of `buf`, which the caller may reuse once this returns */
  onBytes(buf: Buffer, start: number, end: number, captureTsMs: number): void {
    this.frames++;
    const reason = decodeInto(this.seg, buf, start, end);
    if (reason !== undefined) {
      this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
      return;
    }
    if (this.seg.srcPort === BARRIER_PORT && isBarrier(this.seg)) {
      this.onBarrier?.(this.seg.seq, isEcho(this.seg));
      return;
    }
    try {
      this.table.onPacket(this.seg, this.clock(captureTsMs));
    } catch {
      this.agentErrors++;
    }
  }
}

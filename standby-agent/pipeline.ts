// Frames in, table updates out: decode each captured frame and feed the connection table,
// counting what could not be decoded by reason. The same path serves live capture and pcap files.
import { performance } from 'node:perf_hooks';
import type { CapturedFrame } from './capture/pcap-file.js';
import { type DecodeReason, decodeFrame } from './decode/frame.js';
import type { ConnectionTable } from './tracking/connection-table.js';

export class Pipeline {
  frames = 0;
  readonly skipped: Partial<Record<DecodeReason, number>> = {};
  /** frames whose processing threw (a bug, counted rather than fatal) */
  agentErrors = 0;

  constructor(
    readonly table: ConnectionTable,
    /** the clock TSval ageing uses: performance time for live capture, capture time offline */
    private readonly clock: (frame: CapturedFrame) => number = () => performance.now(),
  ) {}

  onFrame(frame: CapturedFrame): void {
    this.frames++;
    const seg = decodeFrame(frame.data);
    if (typeof seg === 'string') {
      this.skipped[seg] = (this.skipped[seg] ?? 0) + 1;
      return;
    }
    try {
      this.table.onPacket(seg, this.clock(frame));
    } catch {
      this.agentErrors++;
    }
  }
}

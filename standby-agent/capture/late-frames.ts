// Client segments the mirror still brings once the failover has taken its last view. The switch
// confirms a redirect when its OpenFlow tables have it, and goes on forwarding with the flows
// cached in its datapath until its revalidators catch up: measured, 32-41 client frames came
// 5.8-6.7 ms after the tracker stopped, in 2 of 4 runs at 1,000 connections (with a top-up that
// waited for a marker sent with the redirect, earlier than the agent's own barrier now). Those
// copies carry the service's MAC, so the standby's stack drops them, and the requests in them
// waited for the clients' retransmission (200 ms to 1 s). Each is handed to the local stack
// instead (the addon's injectIp): the restored socket gets it as a TCP segment, and TCP itself
// drops what it already has. Only segments to a service endpoint, never the barrier's markers.
import { isBarrier } from './barrier.js';
import { decodeInto, TcpSegment } from '../decode/frame.js';
import { isServiceEndpoint, type ServiceSpec } from '../tracking/connection-table.js';

export interface LateFrameCounts {
  /** segments handed to the local stack */
  passed: number;
  /** segments that could not be (the last reason in `lastError`) */
  failed: number;
  lastError?: string;
}

export class LateClientFrames {
  readonly counts: LateFrameCounts = { passed: 0, failed: 0 };
  private readonly seg = new TcpSegment();

  constructor(
    /** the tracker's (port 0: every port of the address) */
    private readonly services: readonly ServiceSpec[],
    /** hands one Ethernet frame's IP packet to the local stack (throws on failure) */
    private readonly inject: (frame: Buffer) => void,
  ) {}

  /** one captured frame: bytes [start, end) of `buf` */
  onFrame(buf: Buffer, start: number, end: number): void {
    const seg = this.seg;
    if (decodeInto(seg, buf, start, end) !== undefined || isBarrier(seg)) return;
    if (!isServiceEndpoint(this.services, seg.dst, seg.dstPort)) return;
    try {
      this.inject(buf.subarray(start, end));
      this.counts.passed++;
    } catch (e) {
      this.counts.failed++;
      this.counts.lastError = (e as Error).message;
    }
  }
}

// Generic mode: TCP state only. Without a framer there is no request boundary to resume from,
// so a connection is restorable only while no payload has flowed.
import type { AnalyzerView, Direction, StreamAnalyzer } from './types.js';

export class GenericAnalyzer implements StreamAnalyzer {
  readonly protocol = 'generic' as const;
  private bytesSeen = false;
  private serverEnd = 0;

  onData(dir: Direction, offset: number, data: Buffer): void {
    this.onLength(dir, offset, data.length);
  }

  /** the tracker's shortcut: generic mode needs only how many bytes went which way */
  onLength(dir: Direction, offset: number, length: number): void {
    if (length > 0) this.bytesSeen = true;
    if (dir === 'toServer') this.serverEnd = offset + length;
  }

  onClientAck(_offset: number): void {}

  view(): AnalyzerView {
    return {
      protocol: 'generic',
      analysable: !this.bytesSeen,
      reason: this.bytesSeen ? 'protocol not analysable (generic mode)' : undefined,
      exchanges: [],
      droppedExchanges: 0,
      replayFrom: this.serverEnd,
      replyBoundary: !this.bytesSeen,
      pendingRequestBytes: () => Buffer.alloc(0),
    };
  }
}

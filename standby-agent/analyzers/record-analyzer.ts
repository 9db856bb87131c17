// What the record-framed analyzers (ONC RPC, SMB2) share: one framer per direction, the
// exchange log, the mid-stream rule, and completing the requests and replies a record carried.
// Subclasses only parse record heads into requests and replies.
import { ExchangeLog } from './exchange-log.js';
import type { RecordFramer, RecordHandlers } from './record-framer.js';
import type {
  AnalyzerView,
  AppMessage,
  Direction,
  Exchange,
  FifoLimits,
  Protocol,
  StreamAnalyzer,
} from './types.js';

export abstract class RecordStreamAnalyzer implements StreamAnalyzer {
  abstract readonly protocol: Protocol;
  protected readonly log: ExchangeLog;
  protected error: string | undefined;
  private started = false;
  /** exchanges whose request record is being received */
  protected currentRequests: Exchange[] = [];
  /** replies in the record being received (ex undefined: no matching request seen) */
  protected currentReplies: { ex?: Exchange; msg: AppMessage }[] = [];
  private readonly requests: RecordFramer;
  private readonly replies: RecordFramer;

  constructor(
    limits: FifoLimits,
    private readonly midstreamReason: string,
    framer: (h: RecordHandlers, peek: number) => RecordFramer,
    peek: { request: number; reply: number },
  ) {
    this.log = new ExchangeLog(limits);
    const onError = (r: string) => {
      this.error ??= r;
    };
    this.requests = framer(
      {
        onRecord: (start, head) => this.onRequestRecord(start, head),
        onRecordEnd: (end) => {
          for (const ex of this.currentRequests) {
            ex.request.end = end;
            ex.request.complete = true;
          }
          this.currentRequests = [];
        },
        onError,
      },
      peek.request,
    );
    this.replies = framer(
      {
        onRecord: (start, head) => this.onReplyRecord(start, head),
        onRecordEnd: (end) => {
          for (const { ex, msg } of this.currentReplies) {
            msg.end = end;
            msg.complete = true;
            if (ex && !msg.interim) this.log.replyCompleted(ex);
          }
          this.currentReplies = [];
        },
        onError,
      },
      peek.reply,
    );
  }

  /** the first bytes of a client record: add its request(s) to the log and currentRequests */
  protected abstract onRequestRecord(start: number, head: Buffer): void;
  /** the first bytes of a service record: pair its reply(ies) and add them to currentReplies */
  protected abstract onReplyRecord(start: number, head: Buffer): void;

  onData(dir: Direction, offset: number, data: Buffer): void {
    if (dir === 'toServer') this.log.onRequestBytes(offset, data);
    if (this.error || data.length === 0) return;
    if (!this.started && offset > 0) {
      this.error = this.midstreamReason;
      return;
    }
    this.started = true;
    if (dir === 'toServer') this.requests.push(offset, data);
    else this.replies.push(offset, data);
  }

  onClientAck(offset: number): void {
    this.log.onClientAck(offset);
  }

  compact(): void {
    this.log.compact();
  }

  view(): AnalyzerView {
    return this.log.view(
      this.protocol,
      this.error === undefined,
      this.error,
      this.error === undefined && this.replies.atBoundary,
      this.requests.partialStart,
    );
  }
}

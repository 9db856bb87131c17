// The per-connection FIFO of request/reply exchanges every framer shares: bounded by count
// and bytes, keeps each request's bytes until its reply is fully acknowledged by the client,
// and answers the two questions a restore asks: where do unanswered requests start, and are
// they all still here?
import { RetainedBytes } from './retained-bytes.js';
import type { AnalyzerView, AppMessage, Exchange, FifoLimits, Protocol } from './types.js';

export class ExchangeLog {
  readonly exchanges: Exchange[] = [];
  dropped = 0;
  /** an exchange without a complete reply had to be dropped: replay is impossible */
  private lostUnanswered = false;
  private readonly requestBytes: RetainedBytes;
  /** toServer stream end */
  serverStreamEnd = 0;
  private clientAcked = 0;
  /** every exchange before this index has its reply acknowledged (acks are scanned from here) */
  private firstUnacked = 0;
  /** every exchange before this index has a complete final reply (replayFrom scans from here:
   *  a failover's snapshot asks every connection, and walking each one's whole FIFO, scattered
   *  over the heap, was most of the snapshot's time) */
  private firstUnanswered = 0;

  constructor(private readonly limits: FifoLimits) {
    this.requestBytes = new RetainedBytes(limits.maxBytes);
  }

  /** the connection is idle: storage kept for the next request goes (see ByteQueue.compact) */
  compact(): void {
    this.requestBytes.compact();
  }

  /** client bytes, in order: retained for a possible replay */
  onRequestBytes(offset: number, data: Buffer): void {
    if (this.serverStreamEnd === 0 && offset > 0) this.requestBytes.reset(offset);
    this.requestBytes.append(offset, data);
    this.serverStreamEnd = offset + data.length;
  }

  addRequest(request: AppMessage): Exchange {
    const ex: Exchange = { request, replyAcked: false };
    this.exchanges.push(ex);
    this.enforceBounds();
    return ex;
  }

  /** a final reply has started for `ex` */
  setReply(ex: Exchange, reply: AppMessage): void {
    ex.reply = reply;
  }

  onClientAck(offset: number): void {
    if (offset <= this.clientAcked) return;
    this.clientAcked = offset;
    const xs = this.exchanges;
    for (let j = this.firstUnacked; j < xs.length; j++) {
      const ex = xs[j];
      if (!ex.replyAcked && ex.reply?.complete && ex.reply.end <= offset) ex.replyAcked = true;
    }
    this.advanceFirstUnacked();
    this.trimRetained();
    this.enforceBounds();
  }

  /** after a reply completes, it may already be acknowledged */
  replyCompleted(ex: Exchange): void {
    if (ex.reply && ex.reply.end <= this.clientAcked) ex.replyAcked = true;
    this.advanceFirstUnanswered();
    this.advanceFirstUnacked();
    this.trimRetained();
  }

  private advanceFirstUnacked(): void {
    const xs = this.exchanges;
    while (this.firstUnacked < xs.length && xs[this.firstUnacked].replyAcked) this.firstUnacked++;
    // the acknowledged ones are at the front: beyond the history bound they go at once
    const keep = this.limits.maxAnswered ?? this.limits.maxExchanges;
    if (this.firstUnacked > keep) {
      const n = this.firstUnacked - keep;
      xs.splice(0, n);
      this.firstUnacked -= n;
      this.firstUnanswered = Math.max(0, this.firstUnanswered - n);
      this.dropped += n;
    }
  }

  private trimRetained(): void {
    const first = this.exchanges[this.firstUnacked];
    this.requestBytes.dropTo(first ? first.request.start : this.serverStreamEnd);
  }

  private enforceBounds(): void {
    const xs = this.exchanges;
    while (xs.length > this.limits.maxExchanges) {
      // the oldest answered-and-acknowledged one goes first, then an answered one
      let i = this.firstUnacked > 0 ? 0 : xs.findIndex((e) => e.replyAcked);
      if (i < 0) i = xs.findIndex((e) => e.reply?.complete);
      if (i < 0) {
        i = 0;
        this.lostUnanswered = true;
      }
      xs.splice(i, 1);
      if (i < this.firstUnacked) this.firstUnacked--;
      if (i < this.firstUnanswered) this.firstUnanswered--;
      this.dropped++;
    }
    this.advanceFirstUnacked();
  }

  /** start of the first request without a complete final reply, else the stream end */
  replayFrom(): number {
    this.advanceFirstUnanswered();
    const ex = this.exchanges[this.firstUnanswered];
    return ex ? ex.request.start : this.serverStreamEnd;
  }

  /** kept up as replies complete, so that a snapshot finds the index without a walk */
  private advanceFirstUnanswered(): void {
    const xs = this.exchanges;
    let i = this.firstUnanswered;
    // replies only ever complete, so the exchanges before the index stay answered
    while (i < xs.length && xs[i].reply?.complete && !xs[i].reply?.interim) i++;
    this.firstUnanswered = i;
  }

  view(
    protocol: Protocol,
    analysable: boolean,
    reason: string | undefined,
    replyBoundary: boolean,
    /** where a request still arriving (no exchange yet) began */
    partialStart?: number,
  ): AnalyzerView {
    const replayFrom = Math.min(this.replayFrom(), partialStart ?? Number.POSITIVE_INFINITY);
    return {
      protocol,
      analysable,
      reason,
      exchanges: this.exchanges,
      droppedExchanges: this.dropped,
      replayFrom,
      replyBoundary,
      pendingRequestBytes: () => (this.lostUnanswered ? undefined : this.requestBytes.slice(replayFrom)),
    };
  }
}

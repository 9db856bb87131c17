// Contract between the TCP tracker and the application analyzers.
// The tracker owns sequence numbers; analyzers only ever see in-order stream offsets
// (0 = first byte after the SYN of that direction), so they stay pure and easy to test.

export type Protocol = 'http' | 'oncrpc' | 'smb2' | 'generic';

/** toServer: bytes the client sent; toClient: bytes the service sent. */
export type Direction = 'toServer' | 'toClient';

/** One application message (request or reply) located on its direction's byte stream. */
export interface AppMessage {
  dir: Direction;
  /** stream offset of the first byte */
  start: number;
  /** stream offset after the last byte (exclusive); grows while incomplete */
  end: number;
  /** short human summary: "GET /index.html", "NFS3 READ", "SMB2 READ" */
  summary: string;
  /** what pairs a reply with its request: HTTP ordinal, RPC xid, SMB2 MessageId */
  key: string;
  complete: boolean;
  /** SMB2 async interim reply (STATUS_PENDING): not the final answer */
  interim?: boolean;
  /** protocol details worth showing (NFS file handle hex, SMB2 command, HTTP status) */
  details?: Record<string, string | number>;
}

export interface Exchange {
  request: AppMessage;
  /** final reply, once it has started */
  reply?: AppMessage;
  /** the client acknowledged every byte of the reply */
  replyAcked: boolean;
}

/** What a restore needs to know about the application state of one connection. */
export interface AnalyzerView {
  protocol: Protocol;
  /** false when the stream cannot be understood (encrypted SMB3, parse error, generic with data) */
  analysable: boolean;
  reason?: string;
  /** recent exchanges, oldest first, bounded by the FIFO limits */
  exchanges: readonly Exchange[];
  /** exchanges dropped from the FIFO because of its bounds */
  droppedExchanges: number;
  /** toServer offset where the unanswered requests start: every request before it has a
   *  complete reply; equals the toServer stream end when nothing is pending */
  replayFrom: number;
  /** every toClient byte seen so far belongs to a complete reply (no reply half sent) */
  replyBoundary: boolean;
  /** toServer bytes [replayFrom, stream end) when still retained, else undefined */
  pendingRequestBytes(): Buffer | undefined;
}

export interface StreamAnalyzer {
  readonly protocol: Protocol;
  /** in-order bytes of one direction; offset = stream offset of data[0] */
  onData(dir: Direction, offset: number, data: Buffer): void;
  /** the client acknowledged toClient bytes up to this stream offset (exclusive) */
  onClientAck(offset: number): void;
  view(): AnalyzerView;
}

export interface FifoLimits {
  /** exchanges kept per connection */
  maxExchanges: number;
  /** request/reply bytes retained per connection */
  maxBytes: number;
}

export const DEFAULT_FIFO_LIMITS: FifoLimits = { maxExchanges: 32, maxBytes: 256 * 1024 };

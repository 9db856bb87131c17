// HTTP/1.1 framing of both directions: request line + headers, Content-Length and chunked
// bodies (with trailers), keep-alive and pipelining (replies pair with requests in order),
// HEAD and 1xx/204/304 replies without a body, and replies delimited by the connection's close
// (never complete while it is open).
import { ExchangeLog } from './exchange-log.js';
import { RetainedBytes } from './retained-bytes.js';
import type { AnalyzerView, AppMessage, Direction, Exchange, FifoLimits, StreamAnalyzer } from './types.js';

const MAX_HEAD = 64 * 1024;
const CR = 0x0d;
const latin1 = (b: Buffer, start: number, end: number) => b.toString('latin1', start, end);
const LF = 0x0a;

/** How a message's body is delimited: a byte count (>= 0) or one of these. */
const BODY_NONE = -1;
const BODY_CHUNKED = -2;
const BODY_CLOSE = -3;
/** a body length, BODY_*, or an error text */
type BodyMode = number | string;

type FramerState = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'close';

/**
 * Cuts one direction's byte stream into messages; the analyzer decides each body's length.
 * A head that arrives whole in one segment is parsed in place from the bytes (the common case
 * costs no copies and no header strings); a head split across segments is copied until complete,
 * because the capture reuses its buffers.
 */
class MessageFramer {
  state: FramerState = 'head';
  /** bytes of a head still incomplete (copied) */
  private pending: Buffer | undefined;
  private remaining = 0;
  private line = '';
  /** stream offset where the current message began */
  msgStart = 0;
  /** no bytes of a message are pending */
  get atBoundary(): boolean {
    return this.state === 'head' && this.pending === undefined;
  }

  constructor(
    /** the head is bytes [hs, he) of buf, its final CRLFCRLF included */
    private readonly onHead: (start: number, buf: Buffer, hs: number, he: number) => BodyMode,
    private readonly onEnd: (end: number) => void,
    private readonly onError: (reason: string) => void,
  ) {}

  push(offset: number, data: Buffer): void {
    let i = 0;
    while (i < data.length) {
      switch (this.state) {
        case 'head': {
          let buf = data;
          let hs = i;
          let base = offset; // stream offset of buf[0]
          let searchFrom = i;
          if (this.pending === undefined) {
            // Empty lines before a message are allowed (RFC 9112 2.2): skip them.
            while (i < data.length && (data[i] === CR || data[i] === LF)) i++;
            if (i === data.length) return;
            hs = i;
            this.msgStart = offset + i;
          } else {
            // the terminator may straddle the old and new bytes: look from 3 bytes back
            searchFrom = Math.max(0, this.pending.length - 3);
            buf = Buffer.concat([this.pending, data.subarray(i)]);
            hs = 0;
            base = this.msgStart;
          }
          const idx = findHeadEnd(buf, searchFrom);
          if (idx < 0) {
            if (buf.length - hs > MAX_HEAD) {
              this.onError('HTTP header block larger than 64 KiB');
              this.state = 'close';
              return;
            }
            this.pending = Buffer.from(buf.subarray(hs));
            return;
          }
          const he = idx + 4;
          this.pending = undefined;
          // continue after the head, in `data` coordinates
          i = base + he - offset;
          const mode = this.onHead(this.msgStart, buf, hs, he);
          if (typeof mode === 'string') {
            this.onError(mode);
            this.state = 'close';
            return;
          }
          if (mode === BODY_NONE || mode === 0) this.onEnd(offset + i);
          else if (mode > 0) {
            this.remaining = mode;
            this.state = 'body';
          } else if (mode === BODY_CHUNKED) {
            this.state = 'chunk-size';
            this.line = '';
          } else this.state = 'close';
          break;
        }
        case 'body':
        case 'chunk-data': {
          const n = Math.min(this.remaining, data.length - i);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.state === 'body') {
              this.state = 'head';
              this.onEnd(offset + i);
            } else {
              this.state = 'chunk-crlf';
              this.remaining = 2;
            }
          }
          break;
        }
        case 'chunk-crlf': {
          const n = Math.min(this.remaining, data.length - i);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = 'chunk-size';
            this.line = '';
          }
          break;
        }
        case 'chunk-size':
        case 'trailer': {
          const nl = data.indexOf(LF, i);
          const end = nl < 0 ? data.length : nl + 1;
          this.line += latin1(data, i, end);
          i = end;
          if (this.line.length > 8192) {
            this.onError('HTTP chunk line too long');
            this.state = 'close';
            return;
          }
          if (nl < 0) break;
          const text = this.line.trim();
          this.line = '';
          if (this.state === 'chunk-size') {
            const size = Number.parseInt(text.split(';')[0], 16);
            if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+/.test(text)) {
              this.onError(`bad chunk size line "${text.slice(0, 40)}"`);
              this.state = 'close';
              return;
            }
            if (size === 0) this.state = 'trailer';
            else {
              this.state = 'chunk-data';
              this.remaining = size;
            }
          } else if (text === '') {
            this.state = 'head';
            this.onEnd(offset + i);
          }
          break;
        }
        case 'close':
          // Body runs until the connection closes (or the stream failed): nothing more to frame.
          return;
      }
    }
  }
}

/** index of the first CRLFCRLF at or after `from`, or -1 (a JS loop: heads are short, and
 *  a native indexOf call costs more than scanning them) */
function findHeadEnd(b: Buffer, from: number): number {
  const n = b.length;
  for (let k = from + 3; k < n; k++) {
    if (b[k] === LF && b[k - 1] === CR && b[k - 2] === LF && b[k - 3] === CR) return k - 3;
  }
  return -1;
}

/** are the bytes at `at` exactly the ASCII text `text`? */
function bytesAre(b: Buffer, at: number, text: string): boolean {
  if (at + text.length > b.length) return false;
  for (let k = 0; k < text.length; k++) if (b[at + k] !== text.charCodeAt(k)) return false;
  return true;
}

/** An HTTP message as the FIFO keeps it: key, summary and details are derived on demand,
 *  not built per message. `ordinal` numbers the request, and its reply carries the same. */
abstract class HttpMessage {
  end: number;
  complete = false;
  constructor(
    readonly start: number,
    readonly ordinal: number,
  ) {
    this.end = start;
  }
  get key(): string {
    return String(this.ordinal);
  }
}

class HttpRequest extends HttpMessage implements AppMessage {
  readonly dir = 'toServer' as const;
  constructor(
    start: number,
    /** "GET /index.html" */
    readonly summary: string,
    readonly method: string,
    ordinal: number,
  ) {
    super(start, ordinal);
  }
  get details(): Record<string, string | number> {
    return { method: this.method };
  }
}

class HttpReply extends HttpMessage implements AppMessage {
  readonly dir = 'toClient' as const;
  constructor(
    start: number,
    readonly status: number,
    readonly interim: boolean,
    ordinal: number,
  ) {
    super(start, ordinal);
  }
  /** "200 (2240 bytes)" once complete */
  get summary(): string {
    return this.complete ? `${this.status} (${this.end - this.start} bytes)` : String(this.status);
  }
  get details(): Record<string, string | number> {
    return { status: this.status };
  }
}

/** does the header line starting at `ls` have the (lower-case) name `name`, then a colon? */
function headerNameIs(b: Buffer, ls: number, le: number, name: string): boolean {
  const n = name.length;
  if (le - ls <= n || b[ls + n] !== 0x3a) return false;
  for (let k = 0; k < n; k++) if ((b[ls + k] | 0x20) !== name.charCodeAt(k)) return false;
  return true;
}

/** Body framing from the header lines in [ls, he): Transfer-Encoding chunked wins over
 *  Content-Length (RFC 9112 6.3); neither = BODY_NONE. */
function bodyModeFromHeaders(b: Buffer, ls: number, he: number): BodyMode {
  let contentLength: BodyMode = BODY_NONE;
  let seenLength = false;
  while (ls < he) {
    let le = b.indexOf(LF, ls);
    if (le < 0 || le > he) le = he;
    const first = b[ls] | 0x20;
    if (first === 0x74 /* t */ && headerNameIs(b, ls, le, 'transfer-encoding')) {
      // chunked must be the last coding
      let e = le;
      while (e > ls && (b[e - 1] === CR || b[e - 1] === LF || b[e - 1] === 0x20 || b[e - 1] === 0x09)) e--;
      if (e - ls >= 7 && latin1(b, e - 7, e).toLowerCase() === 'chunked') return BODY_CHUNKED;
    } else if (first === 0x63 /* c */ && !seenLength && headerNameIs(b, ls, le, 'content-length')) {
      seenLength = true;
      let v = ls + 15;
      let e = le;
      while (v < e && (b[v] === 0x20 || b[v] === 0x09)) v++;
      while (e > v && (b[e - 1] === CR || b[e - 1] === LF || b[e - 1] === 0x20 || b[e - 1] === 0x09)) e--;
      let n = 0;
      for (let k = v; k < e; k++) {
        const d = b[k] - 0x30;
        if (d < 0 || d > 9) {
          n = -1;
          break;
        }
        n = n * 10 + d;
      }
      contentLength = n < 0 || v === e ? `bad Content-Length "${latin1(b, v, e)}"` : n;
    }
    ls = le + 1;
  }
  return contentLength;
}

export class HttpAnalyzer implements StreamAnalyzer {
  readonly protocol = 'http' as const;
  private readonly log: ExchangeLog;
  private readonly requestFramer: MessageFramer;
  private readonly replyFramer: MessageFramer;
  /** request whose body is still arriving; reply (and its exchange) still arriving */
  private currentRequest: Exchange | undefined;
  private currentReply: HttpReply | undefined;
  private currentReplyExchange: Exchange | undefined;
  private error: string | undefined;
  private ordinal = 0;
  /** replies waiting for their request, in order */
  private awaiting: Exchange[] = [];
  private started = { toServer: false, toClient: false };
  /** bytes of the reply in progress (a copy, capped), dropped when it completes */
  private readonly replyBytes: RetainedBytes;

  constructor(limits: FifoLimits) {
    this.log = new ExchangeLog(limits);
    this.replyBytes = new RetainedBytes(limits.maxBytes);
    this.requestFramer = new MessageFramer(
      (start, b, hs, he) => this.onRequestHead(start, b, hs, he),
      (end) => this.onRequestEnd(end),
      (r) => this.fail(r),
    );
    this.replyFramer = new MessageFramer(
      (start, b, hs, he) => this.onReplyHead(start, b, hs, he),
      (end) => this.onReplyEnd(end),
      (r) => this.fail(r),
    );
  }

  private fail(reason: string): void {
    this.error ??= reason;
  }

  onData(dir: Direction, offset: number, data: Buffer): void {
    if (this.error || data.length === 0) {
      if (dir === 'toServer') this.log.onRequestBytes(offset, data);
      return;
    }
    if (!this.started[dir]) {
      this.started[dir] = true;
      if (offset > 0) {
        // Mid-stream: message boundaries unknown.
        this.fail('picked up mid-stream: HTTP message boundaries unknown');
      }
    }
    if (dir === 'toServer') {
      this.log.onRequestBytes(offset, data);
      if (!this.error) this.requestFramer.push(offset, data);
    } else if (!this.error) {
      this.replyFramer.push(offset, data);
      this.keepReplyBytes(offset, data);
    }
  }

  /** keep the bytes of an unfinished reply (only those: a finished one costs no copy) */
  private keepReplyBytes(offset: number, data: Buffer): void {
    const end = offset + data.length;
    const kept = this.replyBytes;
    if (this.replyFramer.atBoundary) {
      if (kept.start !== end || kept.end !== end) kept.reset(end);
      return;
    }
    const msgStart = this.replyFramer.msgStart;
    if (msgStart >= offset) {
      // the reply began in this chunk
      kept.reset(msgStart);
      kept.append(msgStart, data.subarray(msgStart - offset));
    } else kept.append(offset, data); // its earlier bytes are kept already
  }

  private onRequestHead(start: number, b: Buffer, hs: number, he: number): BodyMode {
    // request-line = method SP request-target SP HTTP-version CRLF
    let le = b.indexOf(LF, hs);
    if (le < 0 || le > he) le = he;
    const lineEnd = le > hs && b[le - 1] === CR ? le - 1 : le;
    let sp1 = hs;
    while (sp1 < lineEnd && b[sp1] >= 0x41 && b[sp1] <= 0x5a) sp1++;
    const sp2 = b.indexOf(0x20, sp1 + 1);
    if (
      sp1 === hs ||
      b[sp1] !== 0x20 ||
      sp2 < 0 ||
      sp2 === sp1 + 1 ||
      lineEnd - sp2 !== 9 ||
      !bytesAre(b, sp2 + 1, 'HTTP/1.') ||
      (b[lineEnd - 1] !== 0x30 && b[lineEnd - 1] !== 0x31)
    ) {
      return `not an HTTP/1.x request line: "${latin1(b, hs, Math.min(lineEnd, hs + 60))}"`;
    }
    const summary = latin1(b, hs, sp2);
    const method = summary.slice(0, sp1 - hs);
    const request = new HttpRequest(start, summary, method, ++this.ordinal);
    const ex = this.log.addRequest(request);
    this.currentRequest = ex;
    this.awaiting.push(ex);
    return bodyModeFromHeaders(b, le + 1, he);
  }

  private onRequestEnd(end: number): void {
    const ex = this.currentRequest;
    if (!ex) return;
    ex.request.end = end;
    ex.request.complete = true;
    this.currentRequest = undefined;
  }

  private onReplyHead(start: number, b: Buffer, hs: number, he: number): BodyMode {
    // status-line = HTTP-version SP 3DIGIT SP [reason] CRLF
    let le = b.indexOf(LF, hs);
    if (le < 0 || le > he) le = he;
    const d0 = b[hs + 9] - 0x30;
    const d1 = b[hs + 10] - 0x30;
    const d2 = b[hs + 11] - 0x30;
    if (
      le - hs < 12 ||
      !bytesAre(b, hs, 'HTTP/1.') ||
      (b[hs + 7] !== 0x30 && b[hs + 7] !== 0x31) ||
      b[hs + 8] !== 0x20 ||
      !(d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)
    ) {
      const lineEnd = le > hs && b[le - 1] === CR ? le - 1 : le;
      return `not an HTTP/1.x status line: "${latin1(b, hs, Math.min(lineEnd, hs + 60))}"`;
    }
    const status = d0 * 100 + d1 * 10 + d2;
    const ex = this.awaiting[0];
    if (!ex) return 'a reply without a request';
    const interim = status >= 100 && status < 200 && status !== 101;
    const request = ex.request as HttpRequest;
    const reply = new HttpReply(start, status, interim, request.ordinal);
    if (!interim) {
      this.log.setReply(ex, reply);
      this.awaiting.shift();
    }
    this.currentReply = reply;
    this.currentReplyExchange = interim ? undefined : ex;
    if (status === 101) return 'protocol switched (101): stream is no longer HTTP';
    if (interim || status === 204 || status === 304 || ex.request.details?.method === 'HEAD')
      return BODY_NONE;
    const mode = bodyModeFromHeaders(b, le + 1, he);
    return mode === BODY_NONE ? BODY_CLOSE : mode;
  }

  private onReplyEnd(end: number): void {
    const reply = this.currentReply;
    if (!reply) return;
    reply.end = end;
    reply.complete = true;
    this.currentReply = undefined;
    const ex = this.currentReplyExchange;
    this.currentReplyExchange = undefined;
    if (ex) this.log.replyCompleted(ex);
  }

  onClientAck(offset: number): void {
    this.log.onClientAck(offset);
  }

  compact(): void {
    this.log.compact();
    this.replyBytes.compact();
  }

  view(): AnalyzerView {
    const view = this.log.view(
      'http',
      this.error === undefined,
      this.error,
      this.error === undefined && this.replyFramer.atBoundary,
      this.requestFramer.atBoundary ? undefined : this.requestFramer.msgStart,
    );
    if (this.error === undefined && !this.replyFramer.atBoundary) {
      const start = this.replyFramer.msgStart;
      view.partialReply = { start, bytes: this.replyBytes.slice(start) };
    }
    return view;
  }
}

// HTTP/1.1 framing of both directions: request line + headers, Content-Length and chunked
// bodies (with trailers), keep-alive and pipelining (replies pair with requests in order),
// HEAD and 1xx/204/304 replies without a body, and replies delimited by the connection's close
// (never complete while it is open).
import { ExchangeLog } from './exchange-log.js';
import type { AnalyzerView, AppMessage, Direction, Exchange, FifoLimits, StreamAnalyzer } from './types.js';

const MAX_HEAD = 64 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

type BodyMode = { kind: 'none' } | { kind: 'length'; n: number } | { kind: 'chunked' } | { kind: 'close' };

type FramerState = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'close';

/** Cuts one direction's byte stream into messages; the analyzer decides each body's length. */
class MessageFramer {
  state: FramerState = 'head';
  private head: Buffer[] = [];
  private headLen = 0;
  private remaining = 0;
  private line = '';
  /** stream offset where the current message began */
  msgStart = 0;
  /** no bytes of a message are pending */
  get atBoundary(): boolean {
    return this.state === 'head' && this.headLen === 0;
  }

  constructor(
    private readonly onHead: (start: number, head: string) => BodyMode | string,
    private readonly onEnd: (end: number) => void,
    private readonly onError: (reason: string) => void,
  ) {}

  push(offset: number, data: Buffer): void {
    let i = 0;
    while (i < data.length) {
      const at = offset + i;
      switch (this.state) {
        case 'head': {
          if (this.headLen === 0) this.msgStart = at;
          // Look for the end of the head; across chunk boundaries only when a head is already
          // pending (keep its last 3 bytes in view), otherwise in place without copying.
          let take: number;
          if (this.headLen === 0) {
            const idx = data.indexOf(CRLFCRLF, i);
            if (idx < 0) {
              this.head.push(data.subarray(i));
              this.headLen += data.length - i;
              i = data.length;
              break;
            }
            take = idx + 4 - i;
          } else {
            const prev = Buffer.concat(this.head);
            const carried = Math.min(3, prev.length);
            const joined = Buffer.concat([prev.subarray(prev.length - carried), data.subarray(i)]);
            const idx = joined.indexOf(CRLFCRLF);
            if (idx < 0) {
              this.head.push(data.subarray(i));
              this.headLen += data.length - i;
              if (this.headLen > MAX_HEAD) {
                this.onError('HTTP header block larger than 64 KiB');
                return;
              }
              i = data.length;
              break;
            }
            take = idx + 4 - carried;
          }
          this.head.push(data.subarray(i, i + take));
          const headText = Buffer.concat(this.head).toString('latin1');
          this.head = [];
          this.headLen = 0;
          i += take;
          if (headText.trim() === '') {
            // Stray CRLFs between messages are allowed (RFC 9112 2.2); skip them.
            continue;
          }
          const mode = this.onHead(this.msgStart, headText);
          if (typeof mode === 'string') {
            this.onError(mode);
            return;
          }
          if (mode.kind === 'none') this.onEnd(offset + i);
          else if (mode.kind === 'length') {
            this.remaining = mode.n;
            this.state = 'body';
            if (mode.n === 0) {
              this.state = 'head';
              this.onEnd(offset + i);
            }
          } else if (mode.kind === 'chunked') {
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
          const nl = data.indexOf(0x0a, i);
          const end = nl < 0 ? data.length : nl + 1;
          this.line += data.subarray(i, end).toString('latin1');
          i = end;
          if (this.line.length > 8192) {
            this.onError('HTTP chunk line too long');
            return;
          }
          if (nl < 0) break;
          const text = this.line.trim();
          this.line = '';
          if (this.state === 'chunk-size') {
            const size = Number.parseInt(text.split(';')[0], 16);
            if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+/.test(text)) {
              this.onError(`bad chunk size line "${text.slice(0, 40)}"`);
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
          // Body runs until the connection closes: nothing more can be framed.
          i = data.length;
          break;
      }
    }
  }
}

const TRANSFER_ENCODING = /^transfer-encoding:[ \t]*(.*?)[ \t]*$/im;
const CONTENT_LENGTH = /^content-length:[ \t]*(.*?)[ \t]*$/im;

function headerValue(head: string, re: RegExp): string | undefined {
  return re.exec(head)?.[1];
}

function bodyModeFromHeaders(head: string): BodyMode | string {
  const te = headerValue(head, TRANSFER_ENCODING);
  if (te && /chunked\s*$/i.test(te)) return { kind: 'chunked' };
  const cl = headerValue(head, CONTENT_LENGTH);
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) return `bad Content-Length "${cl}"`;
    return { kind: 'length', n: Number(cl) };
  }
  return { kind: 'none' };
}

export class HttpAnalyzer implements StreamAnalyzer {
  readonly protocol = 'http' as const;
  private readonly log: ExchangeLog;
  private readonly requestFramer: MessageFramer;
  private readonly replyFramer: MessageFramer;
  private current: { request?: Exchange; reply?: AppMessage } = {};
  private error: string | undefined;
  private ordinal = 0;
  /** replies waiting for their request, in order */
  private awaiting: Exchange[] = [];
  private started = { toServer: false, toClient: false };

  constructor(limits: FifoLimits) {
    this.log = new ExchangeLog(limits);
    this.requestFramer = new MessageFramer(
      (start, head) => this.onRequestHead(start, head),
      (end) => this.onRequestEnd(end),
      (r) => this.fail(r),
    );
    this.replyFramer = new MessageFramer(
      (start, head) => this.onReplyHead(start, head),
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
    } else if (!this.error) this.replyFramer.push(offset, data);
  }

  private onRequestHead(start: number, head: string): BodyMode | string {
    const line = head.slice(0, head.indexOf('\r\n'));
    const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
    if (!m) return `not an HTTP/1.x request line: "${line.slice(0, 60)}"`;
    const request: AppMessage = {
      dir: 'toServer',
      start,
      end: start,
      summary: `${m[1]} ${m[2]}`,
      key: String(++this.ordinal),
      complete: false,
      details: { method: m[1] },
    };
    const ex = this.log.addRequest(request);
    this.current.request = ex;
    this.awaiting.push(ex);
    return bodyModeFromHeaders(head);
  }

  private onRequestEnd(end: number): void {
    const ex = this.current.request;
    if (!ex) return;
    ex.request.end = end;
    ex.request.complete = true;
    this.current.request = undefined;
  }

  private onReplyHead(start: number, head: string): BodyMode | string {
    const line = head.slice(0, head.indexOf('\r\n'));
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(line);
    if (!m) return `not an HTTP/1.x status line: "${line.slice(0, 60)}"`;
    const status = Number(m[1]);
    const ex = this.awaiting[0];
    if (!ex) return 'a reply without a request';
    const interim = status >= 100 && status < 200 && status !== 101;
    const reply: AppMessage = {
      dir: 'toClient',
      start,
      end: start,
      summary: String(status),
      key: ex.request.key,
      complete: false,
      interim,
      details: { status },
    };
    if (!interim) {
      this.log.setReply(ex, reply);
      this.awaiting.shift();
    }
    this.current.reply = reply;
    if (status === 101) return 'protocol switched (101): stream is no longer HTTP';
    if (interim || status === 204 || status === 304 || ex.request.details?.method === 'HEAD')
      return { kind: 'none' };
    const mode = bodyModeFromHeaders(head);
    if (typeof mode !== 'string' && mode.kind === 'none') return { kind: 'close' };
    return mode;
  }

  private onReplyEnd(end: number): void {
    const reply = this.current.reply;
    if (!reply) return;
    reply.end = end;
    reply.complete = true;
    reply.summary = `${reply.details?.status} (${end - reply.start} bytes)`;
    this.current.reply = undefined;
    const ex = this.log.exchanges.find((e) => e.reply === reply);
    if (ex) this.log.replyCompleted(ex);
  }

  onClientAck(offset: number): void {
    this.log.onClientAck(offset);
  }

  view(): AnalyzerView {
    return this.log.view(
      'http',
      this.error === undefined,
      this.error,
      this.error === undefined && this.replyFramer.atBoundary,
      this.requestFramer.atBoundary ? undefined : this.requestFramer.msgStart,
    );
  }
}

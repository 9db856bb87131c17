// One switch connection: HELLO (OpenFlow 1.3 only), FEATURES, port descriptions, ECHO keepalive
// both ways with a dead-peer timeout, xid-matched requests with timeouts, and batches of
// fire-and-forget messages closed by a BARRIER so an ERROR reaches the caller that caused it.
// A switch that sends anything malformed is disconnected; nothing here affects other sessions.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { SwitchError } from './facade.js';
import type { ControllerMetrics } from './metrics.js';
import {
  decodeMessage,
  encodeBarrierRequest,
  encodeEcho,
  encodeError,
  encodeFeaturesRequest,
  encodeHello,
  encodePortDescRequest,
  encodeSetConfig,
  errorName,
  OFP_VERSION,
  OFPT,
  TYPE_NAMES,
  WireDecodeError,
  WireFramer,
  type WireMessage,
  type WirePort,
} from './of-wire.js';

export interface SessionOptions {
  logger: Logger;
  metrics: ControllerMetrics;
  echoIntervalMs: number;
  deadPeerTimeoutMs: number;
  requestTimeoutMs: number;
}

export type MessageBuilder = (xid: number) => Buffer;

interface Pending {
  what: string;
  parts: WireMessage[];
  resolve: (parts: WireMessage[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface BatchSink {
  errors: SwitchError[];
}

export function formatDpid(dpid: bigint): string {
  return dpid.toString(16).padStart(16, '0');
}

export interface SessionEvents {
  ready: [];
  packet_in: [Extract<WireMessage, { type: 'packet_in' }>];
  port_status: [Extract<WireMessage, { type: 'port_status' }>];
  closed: [string];
}

export class SwitchSession extends EventEmitter<SessionEvents> {
  dpid = '';
  nBuffers = 0;
  nTables = 0;
  connectedAt = '';
  readonly ports = new Map<number, WirePort>();
  readonly address: string;
  private log: Logger;
  private readonly framer = new WireFramer();
  private state: 'hello' | 'handshake' | 'ready' | 'closed' = 'hello';
  private nextXid = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly sinks = new Map<number, BatchSink>();
  private lastRx = Date.now();
  private echoTimer: NodeJS.Timeout | undefined;
  private closeReason = '';

  constructor(
    private readonly socket: Socket,
    private readonly opts: SessionOptions,
    /** how to name the peer when the socket has no remote address (unix sockets) */
    fallbackAddress = 'unix',
  ) {
    super();
    this.address =
      socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${socket.remotePort}` : fallbackAddress;
    this.log = opts.logger.child({ switch: this.address });
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('connection closed by switch'));
    this.write(encodeHello(this.xid()));
    this.echoTimer = setInterval(() => this.keepalive(), opts.echoIntervalMs);
    this.echoTimer.unref();
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Why the session ended ('' while open). */
  get reason(): string {
    return this.closeReason;
  }

  xid(): number {
    const x = this.nextXid;
    this.nextXid = this.nextXid >= 0xfffffffe ? 1 : this.nextXid + 1;
    return x;
  }

  private write(buf: Buffer): void {
    if (this.state === 'closed') return;
    this.count(buf);
    this.socket.write(buf);
  }

  private count(buf: Buffer): void {
    const type = buf.readUInt8(1);
    this.opts.metrics.message(type, 'out');
    if (type === OFPT.FLOW_MOD) this.opts.metrics.flowMod(buf.readUInt8(25));
  }

  /** Sends a request and resolves with its reply (all parts of a multipart reply). */
  request(what: string, build: MessageBuilder): Promise<WireMessage[]> {
    if (this.state === 'closed')
      return Promise.reject(
        new SwitchError(`switch ${this.dpid || this.address} is disconnected`, this.dpid),
      );
    const xid = this.xid();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(
          new SwitchError(
            `switch ${this.dpid || this.address} did not answer ${what} within ${this.opts.requestTimeoutMs} ms`,
            this.dpid,
          ),
        );
      }, this.opts.requestTimeoutMs);
      this.pending.set(xid, { what, parts: [], resolve, reject, timer });
      this.write(build(xid));
    });
  }

  barrier(): Promise<void> {
    return this.request('barrier', encodeBarrierRequest).then(() => undefined);
  }

  /**
   * Sends the messages back to back (one socket write), then a BARRIER. Resolves once the switch
   * has processed them all; rejects with the first ERROR any of them caused.
   */
  async batch(builders: readonly MessageBuilder[]): Promise<void> {
    if (this.state === 'closed')
      throw new SwitchError(`switch ${this.dpid || this.address} is disconnected`, this.dpid);
    const sink: BatchSink = { errors: [] };
    const xids: number[] = [];
    const bufs: Buffer[] = [];
    for (const b of builders) {
      const xid = this.xid();
      xids.push(xid);
      this.sinks.set(xid, sink);
      const buf = b(xid);
      this.count(buf);
      bufs.push(buf);
    }
    this.socket.write(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs));
    try {
      await this.barrier();
    } finally {
      for (const x of xids) this.sinks.delete(x);
    }
    if (sink.errors.length) throw sink.errors[0];
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    this.closeReason = reason;
    clearInterval(this.echoTimer);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(
        new SwitchError(
          `switch ${this.dpid || this.address} disconnected (${reason}) before answering ${p.what}`,
          this.dpid,
        ),
      );
    }
    this.pending.clear();
    this.socket.destroy();
    (wasReady ? this.log.info.bind(this.log) : this.log.warn.bind(this.log))(
      { reason },
      'switch session closed',
    );
    this.emit('closed', reason);
  }

  private keepalive(): void {
    const silent = Date.now() - this.lastRx;
    if (silent > this.opts.deadPeerTimeoutMs) {
      this.close(`dead peer: nothing received for ${silent} ms`);
      return;
    }
    this.write(encodeEcho('request', this.xid()));
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastRx = Date.now();
    let msgs: Buffer[];
    try {
      msgs = this.framer.push(chunk);
    } catch (err) {
      this.close(`protocol error: ${(err as Error).message}`);
      return;
    }
    for (const raw of msgs) {
      if (this.closed) return;
      this.opts.metrics.message(raw.readUInt8(1), 'in');
      let msg: WireMessage;
      try {
        msg = decodeMessage(raw);
      } catch (err) {
        const what = err instanceof WireDecodeError ? err.message : String(err);
        this.close(
          `protocol error: undecodable ${TYPE_NAMES[raw.readUInt8(1)] ?? `type ${raw.readUInt8(1)}`}: ${what}`,
        );
        return;
      }
      try {
        this.handle(msg, raw);
      } catch (err) {
        this.log.error({ err }, 'message handler failed');
      }
    }
  }

  private handle(msg: WireMessage, raw: Buffer): void {
    if (this.state === 'hello') {
      if (msg.type !== 'hello') {
        this.close(`protocol error: expected HELLO, got ${TYPE_NAMES[raw.readUInt8(1)] ?? raw.readUInt8(1)}`);
        return;
      }
      this.negotiate(msg);
      return;
    }
    if (raw.readUInt8(0) !== OFP_VERSION) {
      this.close(`protocol error: message with version ${raw.readUInt8(0)} after negotiating OpenFlow 1.3`);
      return;
    }
    switch (msg.type) {
      case 'echo_request':
        this.write(encodeEcho('reply', msg.xid, msg.data));
        return;
      case 'echo_reply':
        return;
      case 'error':
        this.onError(msg);
        return;
      case 'packet_in':
        if (this.state === 'ready') this.emit('packet_in', msg);
        return;
      case 'port_status':
        if (msg.reason === 1) this.ports.delete(msg.port.portNo);
        else this.ports.set(msg.port.portNo, msg.port);
        if (this.state === 'ready') this.emit('port_status', msg);
        return;
      case 'hello':
        this.close('protocol error: second HELLO');
        return;
      default:
        this.onReply(msg);
    }
  }

  private onReply(msg: WireMessage): void {
    const p = this.pending.get(msg.xid);
    if (!p) return;
    p.parts.push(msg);
    if ((msg.type === 'port_desc_reply' || msg.type === 'flow_stats_reply') && msg.more) return;
    clearTimeout(p.timer);
    this.pending.delete(msg.xid);
    p.resolve(p.parts);
  }

  private onError(msg: Extract<WireMessage, { type: 'error' }>): void {
    const names = errorName(msg.errType, msg.errCode);
    this.opts.metrics.error(names.type, names.code);
    const offending =
      msg.data.length >= 2
        ? (TYPE_NAMES[msg.data.readUInt8(1)] ?? `type ${msg.data.readUInt8(1)}`)
        : 'unknown';
    this.log.warn(
      { xid: msg.xid, errType: names.type, errCode: names.code, offending },
      `switch error ${names.type}/${names.code} for ${offending}`,
    );
    const err = new SwitchError(
      `switch ${this.dpid || this.address} rejected ${offending}: ${names.type}/${names.code}`,
      this.dpid,
      names,
    );
    const p = this.pending.get(msg.xid);
    if (p) {
      clearTimeout(p.timer);
      this.pending.delete(msg.xid);
      p.reject(err);
      return;
    }
    this.sinks.get(msg.xid)?.errors.push(err);
  }

  private negotiate(hello: Extract<WireMessage, { type: 'hello' }>): void {
    const ok =
      hello.bitmap !== undefined ? (hello.bitmap & (1 << OFP_VERSION)) !== 0 : hello.version >= OFP_VERSION;
    if (!ok) {
      const offered =
        hello.bitmap !== undefined
          ? [...Array(32).keys()]
              .filter((v) => hello.bitmap !== undefined && hello.bitmap & (1 << v))
              .join(',')
          : String(hello.version);
      const text = `nonstop controller speaks OpenFlow 1.3 (wire version 4) only; switch offered version(s) ${offered}`;
      this.write(encodeError(hello.xid, 0, 0, Buffer.from(text)));
      this.socket.end();
      this.close(`HELLO_FAILED: ${text}`);
      return;
    }
    this.state = 'handshake';
    void this.handshake();
  }

  private async handshake(): Promise<void> {
    try {
      const [features] = await this.request('features_request', encodeFeaturesRequest);
      if (features.type !== 'features_reply')
        throw new Error(`expected FEATURES_REPLY, got ${features.type}`);
      if (features.auxiliaryId !== 0) throw new Error('auxiliary connections are not supported');
      this.dpid = formatDpid(features.datapathId);
      this.nBuffers = features.nBuffers;
      this.nTables = features.nTables;
      this.log = this.opts.logger.child({ dpid: this.dpid, switch: this.address });
      this.write(encodeSetConfig(this.xid()));
      await this.refreshPorts();
      this.connectedAt = new Date().toISOString();
      this.state = 'ready';
      this.log.info({ ports: this.ports.size }, 'switch connected (OpenFlow 1.3)');
      this.emit('ready');
    } catch (err) {
      this.close(`handshake failed: ${(err as Error).message}`);
    }
  }

  async refreshPorts(): Promise<void> {
    const parts = await this.request('port_desc_request', encodePortDescRequest);
    this.ports.clear();
    for (const p of parts)
      if (p.type === 'port_desc_reply') for (const port of p.ports) this.ports.set(port.portNo, port);
  }

  /** Sends one message without waiting (packet-outs of learnt traffic). */
  sendNow(build: MessageBuilder): void {
    this.write(build(this.xid()));
  }
}

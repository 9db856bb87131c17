// The connection-information table: one entry per TCP connection to a watched service, fed
// with every mirrored segment. It keeps exactly what a TCP_REPAIR restore needs (both sides'
// sequence state, windows and scales, MSS, SACK, timestamps), hands each direction's in-order
// bytes to the connection's application analyzer, and drops entries on close, RST, idleness
// or when the cap bites (half-open entries first, so a SYN flood cannot push out real ones).
import { createAnalyzer, protocolForPort } from '../analyzers/index.js';
import {
  DEFAULT_FIFO_LIMITS,
  type Direction,
  type FifoLimits,
  type Protocol,
  type StreamAnalyzer,
} from '../analyzers/types.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpSegment } from '../decode/frame.js';
import type { Endpoint, Verdict } from './verdict-types.js';
import { verdictFor } from './verdict.js';

export type TcpState =
  | 'SYN_SENT'
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'FIN_WAIT'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'CLOSED'
  | 'RESET';

/** One side of a connection, as seen on the mirror. Sequence numbers are u32 wire values. */
export class SideState {
  isn = 0;
  /** next sequence number after the highest in-order byte (incl. SYN/FIN) this side sent */
  nxt = 0;
  /** last acknowledgment number this side sent (its rcv_nxt) */
  ack = 0;
  ackSeen = false;
  /** last raw window field */
  window = 0;
  /** window scale from this side's SYN; -1 = not announced */
  wscale = -1;
  /** MSS from this side's SYN; 0 = unknown */
  mss = 0;
  sackPermitted = false;
  tsOk = false;
  tsVal = 0;
  tsEcr = 0;
  /** performance-clock ms when tsVal was seen */
  tsSeenAt = 0;
  /** stream offset of the byte at `nxt` (data bytes only) */
  streamEnd = 0;
  finSeen = false;
  bytes = 0;
  segments = 0;
  retransmissions = 0;
  outOfOrder = 0;
  /** out-of-order segments waiting for the gap before them (bounded) */
  held: { seq: number; data: Buffer; fin: boolean }[] | undefined;
  /** held segments dropped because the reassembly bound was hit: a gap no one will fill */
  gapLost = false;
}

export class TrackedConnection {
  readonly client: SideState = new SideState();
  readonly server: SideState = new SideState();
  state: TcpState = 'SYN_SENT';
  /** SYN from the client and SYN-ACK from the service were both seen */
  handshakeSeen = false;
  /** first seen after the handshake: window scales and MSS are unknown */
  midstream = false;
  firstSeenMs = 0;
  lastSeenMs = 0;
  /** listed in the table's half-open queue (the first to go when the cap bites) */
  halfOpenListed = false;
  private analyzerInstance: StreamAnalyzer | undefined;
  /** service bytes the client has not acknowledged yet, for the restored socket's send queue */
  unacked: { seq: number; data: Buffer }[] = [];
  unackedBytes = 0;
  unackedOverflow = false;

  constructor(
    readonly key: string,
    readonly family: 4 | 6,
    readonly clientEp: Endpoint,
    readonly serviceEp: Endpoint,
    readonly protocol: Protocol,
    private readonly limits: FifoLimits,
  ) {}

  /** created on first use: a SYN-flood entry never pays for one */
  get analyzer(): StreamAnalyzer {
    if (!this.analyzerInstance) this.analyzerInstance = createAnalyzer(this.protocol, this.limits);
    return this.analyzerInstance;
  }

  get hasAnalyzer(): boolean {
    return this.analyzerInstance !== undefined;
  }

  get established(): boolean {
    return this.state === 'ESTABLISHED';
  }
}

export interface ServiceSpec {
  ip: string;
  /** 0 = every port of that address */
  port: number;
}

export interface ConnectionTableOptions {
  services: ServiceSpec[];
  /** entries at most (default 200,000) */
  maxEntries?: number;
  /** drop an idle established entry after this long (default 15 min) */
  idleMs?: number;
  /** drop a half-open entry after this long (default 30 s) */
  halfOpenMs?: number;
  fifo?: FifoLimits;
  /** port -> protocol overrides */
  protocols?: Record<number, Protocol>;
  /** service bytes in flight kept per connection for the send queue (default 1 MiB) */
  maxUnackedBytes?: number;
  /** out-of-order segments held per direction (default 64) */
  maxHeldSegments?: number;
}

export interface TableCounters {
  packets: number;
  notWatched: number;
  created: number;
  removedClosed: number;
  removedReset: number;
  expiredIdle: number;
  expiredHalfOpen: number;
  evictedCap: number;
  refusedCap: number;
}

const seqLt = (a: number, b: number) => ((a - b) | 0) < 0;
const seqDiff = (a: number, b: number) => (a - b) | 0;
const u32 = (n: number) => n >>> 0;

export class ConnectionTable {
  private readonly map = new Map<string, TrackedConnection>();
  /** half-open entries, oldest first: eviction under a SYN flood is O(1), not a table scan */
  private readonly halfOpen = new Map<string, TrackedConnection>();
  private readonly watched: ServiceSpec[];
  private readonly maxEntries: number;
  private readonly idleMs: number;
  private readonly halfOpenMs: number;
  private readonly fifo: FifoLimits;
  private readonly maxUnacked: number;
  private readonly maxHeld: number;
  private lastSweep = 0;
  readonly counters: TableCounters = {
    packets: 0,
    notWatched: 0,
    created: 0,
    removedClosed: 0,
    removedReset: 0,
    expiredIdle: 0,
    expiredHalfOpen: 0,
    evictedCap: 0,
    refusedCap: 0,
  };

  constructor(private readonly opts: ConnectionTableOptions) {
    this.watched = opts.services;
    this.maxEntries = opts.maxEntries ?? 200_000;
    this.idleMs = opts.idleMs ?? 15 * 60_000;
    this.halfOpenMs = opts.halfOpenMs ?? 30_000;
    this.fifo = opts.fifo ?? DEFAULT_FIFO_LIMITS;
    this.maxUnacked = opts.maxUnackedBytes ?? 1024 * 1024;
    this.maxHeld = opts.maxHeldSegments ?? 64;
  }

  get size(): number {
    return this.map.size;
  }

  entries(): IterableIterator<TrackedConnection> {
    return this.map.values();
  }

  get(key: string): TrackedConnection | undefined {
    return this.map.get(key);
  }

  private isService(ip: string, port: number): boolean {
    for (const s of this.watched) if (s.ip === ip && (s.port === 0 || s.port === port)) return true;
    return false;
  }

  /** Feed one decoded segment. `nowMs` is the performance clock (TSval ageing uses it). */
  onPacket(seg: TcpSegment, nowMs: number): void {
    this.counters.packets++;
    let dir: Direction;
    let key: string;
    // The key is built from the segment directly: no endpoint objects on the per-packet path.
    if (this.isService(seg.dst, seg.dstPort)) {
      dir = 'toServer';
      key = `${seg.src}|${seg.srcPort}|${seg.dst}|${seg.dstPort}`;
    } else if (this.isService(seg.src, seg.srcPort)) {
      dir = 'toClient';
      key = `${seg.dst}|${seg.dstPort}|${seg.src}|${seg.srcPort}`;
    } else {
      this.counters.notWatched++;
      return;
    }
    let conn = this.map.get(key);
    if (!conn) {
      if (seg.flags & TCP_RST) return; // a RST for something we never tracked
      const toServer = dir === 'toServer';
      const client = toServer ? { ip: seg.src, port: seg.srcPort } : { ip: seg.dst, port: seg.dstPort };
      const service = toServer ? { ip: seg.dst, port: seg.dstPort } : { ip: seg.src, port: seg.srcPort };
      conn = this.create(key, seg, dir, client, service, nowMs);
      if (!conn) return;
    }
    conn.lastSeenMs = nowMs;
    this.apply(conn, seg, dir, nowMs);
    if (conn.halfOpenListed && conn.state !== 'SYN_SENT' && conn.state !== 'SYN_RECEIVED') {
      conn.halfOpenListed = false;
      this.halfOpen.delete(key);
    }
    if (conn.state === 'CLOSED' || conn.state === 'RESET') {
      this.remove(conn);
      if (conn.state === 'RESET') this.counters.removedReset++;
      else this.counters.removedClosed++;
    }
    if (nowMs - this.lastSweep > 1000) this.sweep(nowMs);
  }

  private create(
    key: string,
    seg: TcpSegment,
    dir: Direction,
    client: Endpoint,
    service: Endpoint,
    nowMs: number,
  ): TrackedConnection | undefined {
    if (this.map.size >= this.maxEntries && !this.evictOne()) {
      this.counters.refusedCap++;
      return undefined;
    }
    const protocol = protocolForPort(service.port, this.opts.protocols);
    const conn = new TrackedConnection(key, seg.family, client, service, protocol, this.fifo);
    conn.firstSeenMs = nowMs;
    const syn = (seg.flags & TCP_SYN) !== 0;
    const ack = (seg.flags & TCP_ACK) !== 0;
    if (syn && !ack && dir === 'toServer') {
      conn.state = 'SYN_SENT';
    } else if (syn && ack && dir === 'toClient') {
      // SYN-ACK without the SYN: the client's options are unknown, treat as mid-stream
      conn.state = 'SYN_RECEIVED';
      conn.midstream = true;
    } else {
      conn.state = 'ESTABLISHED';
      conn.midstream = true;
      // Stream offsets start at 1 for a pickup: the contract says "> 0" = not from the start.
      for (const side of [conn.client, conn.server]) side.streamEnd = 1;
      const from = dir === 'toServer' ? conn.client : conn.server;
      from.isn = u32(seg.seq - 1);
      from.nxt = seg.seq;
      if (ack) {
        const to = dir === 'toServer' ? conn.server : conn.client;
        to.isn = u32(seg.ack - 1);
        to.nxt = seg.ack;
      }
    }
    this.map.set(key, conn);
    if (conn.state === 'SYN_SENT' || conn.state === 'SYN_RECEIVED') {
      conn.halfOpenListed = true;
      this.halfOpen.set(key, conn);
    }
    this.counters.created++;
    return conn;
  }

  private remove(conn: TrackedConnection): void {
    this.map.delete(conn.key);
    if (conn.halfOpenListed) this.halfOpen.delete(conn.key);
  }

  /**
   * Make room for a new entry: evict the oldest half-open one (a SYN flood only displaces
   * itself). When every entry is established the new connection is refused (counted) rather
   * than dropping one that may be restorable; idle expiry frees room over time.
   */
  private evictOne(): boolean {
    const first = this.halfOpen.values().next();
    if (first.done) return false;
    this.remove(first.value);
    this.counters.evictedCap++;
    return true;
  }

  private apply(conn: TrackedConnection, seg: TcpSegment, dir: Direction, nowMs: number): void {
    const from = dir === 'toServer' ? conn.client : conn.server;
    const to = dir === 'toServer' ? conn.server : conn.client;
    const { flags } = seg;
    from.segments++;
    from.window = seg.window;

    if (flags & TCP_RST) {
      conn.state = 'RESET';
      return;
    }

    if (seg.options.tsVal !== undefined) {
      from.tsVal = seg.options.tsVal;
      from.tsEcr = seg.options.tsEcr ?? 0;
      from.tsSeenAt = nowMs;
    }

    if (flags & TCP_SYN) {
      this.onSyn(conn, seg, dir, from, to);
      return;
    }

    if (flags & TCP_ACK) this.onAck(conn, dir, from, seg.ack);

    const fin = (flags & TCP_FIN) !== 0;
    if (seg.payload.length > 0 || fin) this.onData(conn, dir, from, seg.seq, seg.payload, fin);
    if (dir === 'toServer' && flags & TCP_ACK) {
      if (conn.state === 'SYN_RECEIVED') conn.state = 'ESTABLISHED';
      else if (conn.state === 'SYN_SENT') {
        // The SYN-ACK never reached the mirror: data may flow, but the service's options are unknown.
        conn.state = 'ESTABLISHED';
        conn.midstream = true;
      }
    }
    this.updateCloseState(conn, to);
  }

  private onSyn(
    conn: TrackedConnection,
    seg: TcpSegment,
    dir: Direction,
    from: SideState,
    to: SideState,
  ): void {
    const o = seg.options;
    const isSynAck = (seg.flags & TCP_ACK) !== 0;
    if (dir === 'toServer' && !isSynAck) {
      // (Re)transmitted SYN from the client: (re)start the record.
      from.isn = seg.seq;
      from.nxt = u32(seg.seq + 1);
      from.mss = o.mss ?? 536;
      from.wscale = o.wscale ?? -1;
      from.sackPermitted = o.sackPermitted;
      from.tsOk = o.tsVal !== undefined;
      conn.state = 'SYN_SENT';
      return;
    }
    if (dir === 'toClient' && isSynAck) {
      from.isn = seg.seq;
      from.nxt = u32(seg.seq + 1);
      from.mss = o.mss ?? 536;
      from.wscale = o.wscale ?? -1;
      from.sackPermitted = o.sackPermitted;
      from.tsOk = o.tsVal !== undefined;
      from.ack = seg.ack;
      from.ackSeen = true;
      if (!conn.midstream && to.nxt === seg.ack) conn.handshakeSeen = true;
      if (conn.state === 'SYN_SENT') conn.state = 'SYN_RECEIVED';
    }
  }

  private onAck(conn: TrackedConnection, dir: Direction, from: SideState, ack: number): void {
    if (from.ackSeen && seqLt(ack, from.ack)) return; // an old ACK, reordered
    from.ack = ack;
    from.ackSeen = true;
    if (dir === 'toServer') {
      // The client acknowledged service bytes: they no longer need keeping for a restore.
      while (conn.unacked.length > 0) {
        const head = conn.unacked[0];
        const end = u32(head.seq + head.data.length);
        if (!seqLt(ack, end)) {
          conn.unacked.shift();
          conn.unackedBytes -= head.data.length;
        } else {
          const cut = seqDiff(ack, head.seq);
          if (cut > 0) {
            conn.unacked[0] = { seq: ack, data: head.data.subarray(cut) };
            conn.unackedBytes -= cut;
          }
          break;
        }
      }
      if (conn.hasAnalyzer) {
        const acked = conn.server.streamEnd - Math.max(0, seqDiff(conn.server.nxt, ack));
        if (acked >= 0) conn.analyzer.onClientAck(acked);
      }
    }
  }

  /** In-order delivery: the highest in-order data counts; overlaps are trimmed; gaps are held. */
  private onData(
    conn: TrackedConnection,
    dir: Direction,
    from: SideState,
    seq: number,
    payload: Buffer,
    fin: boolean,
  ): void {
    const ahead = seqDiff(seq, from.nxt);
    if (ahead > 0) {
      // A gap before this segment: hold it until the gap is filled.
      from.outOfOrder++;
      if (!from.held) from.held = [];
      const held = from.held;
      if (held.length >= this.maxHeld) {
        from.gapLost = true;
        return;
      }
      held.push({ seq, data: Buffer.from(payload), fin });
      return;
    }
    let data = payload;
    if (ahead < 0) {
      // Starts before nxt: a retransmission, maybe carrying some new bytes.
      const skip = -ahead;
      if (skip >= data.length && !(fin && skip === data.length)) {
        from.retransmissions++;
        return;
      }
      if (skip > 0) from.retransmissions++;
      data = data.subarray(Math.min(skip, data.length));
    }
    this.deliver(conn, dir, from, data, fin);
    // Drain held segments the new bytes made contiguous.
    while (from.held && from.held.length > 0) {
      const i = from.held.findIndex((h) => !seqLt(from.nxt, h.seq) && seqDiff(h.seq, from.nxt) <= 0);
      if (i < 0) break;
      const h = from.held.splice(i, 1)[0];
      const skip = seqDiff(from.nxt, h.seq);
      if (skip < h.data.length || (h.fin && skip === h.data.length)) {
        this.deliver(conn, dir, from, h.data.subarray(Math.min(skip, h.data.length)), h.fin);
      }
    }
    if (from.held && from.held.length === 0) from.held = undefined;
  }

  private deliver(
    conn: TrackedConnection,
    dir: Direction,
    from: SideState,
    data: Buffer,
    fin: boolean,
  ): void {
    if (data.length > 0) {
      if (dir === 'toClient') this.keepUnacked(conn, from.nxt, data);
      conn.analyzer.onData(dir, from.streamEnd, data);
      from.streamEnd += data.length;
      from.bytes += data.length;
      from.nxt = u32(from.nxt + data.length);
    }
    if (fin && !from.finSeen) {
      from.finSeen = true;
      from.nxt = u32(from.nxt + 1);
    }
  }

  private keepUnacked(conn: TrackedConnection, seq: number, data: Buffer): void {
    if (conn.unackedBytes + data.length > this.maxUnacked) {
      conn.unackedOverflow = true;
      return;
    }
    // Copy: live capture buffers are reused, and the restore may come minutes later.
    conn.unacked.push({ seq, data: Buffer.from(data) });
    conn.unackedBytes += data.length;
  }

  private updateCloseState(conn: TrackedConnection, to: SideState): void {
    const c = conn.client;
    const s = conn.server;
    if (c.finSeen && s.finSeen) {
      // Both FINs; closed once each FIN is acknowledged by the other side.
      const cAcked = s.ackSeen && !seqLt(s.ack, c.nxt);
      const sAcked = c.ackSeen && !seqLt(c.ack, s.nxt);
      conn.state = cAcked && sAcked ? 'CLOSED' : 'CLOSING';
    } else if (c.finSeen) {
      conn.state = 'FIN_WAIT';
    } else if (s.finSeen) {
      conn.state = 'CLOSE_WAIT';
    }
    void to;
  }

  /** Idle and half-open expiry; runs at most once a second from onPacket, or when called. */
  sweep(nowMs: number): void {
    this.lastSweep = nowMs;
    for (const c of this.map.values()) {
      const idle = nowMs - c.lastSeenMs;
      const halfOpen = c.state === 'SYN_SENT' || c.state === 'SYN_RECEIVED';
      if (halfOpen && idle > this.halfOpenMs) {
        this.remove(c);
        this.counters.expiredHalfOpen++;
      } else if (idle > this.idleMs) {
        this.remove(c);
        this.counters.expiredIdle++;
      }
    }
  }

  /** The final snapshot a failover restores from: one verdict per tracked connection. */
  verdicts(nowMs: number): Verdict[] {
    const out: Verdict[] = [];
    for (const c of this.map.values()) out.push(verdictFor(c, nowMs));
    return out;
  }
}

export function connectionKey(client: Endpoint, service: Endpoint): string {
  return `${client.ip}|${client.port}|${service.ip}|${service.port}`;
}

// The connection-information table: one entry per TCP connection to a watched service, fed
// with every mirrored segment. It keeps exactly what a TCP_REPAIR restore needs (both sides'
// sequence state, windows and scales, MSS, SACK, timestamps), hands each direction's in-order
// bytes to the connection's application analyzer, and drops entries on close, RST, idleness
// or when the cap bites (half-open entries first, so a SYN flood cannot push out real ones).
import { ByteQueue } from '../analyzers/byte-queue.js';
import { GenericAnalyzer } from '../analyzers/generic.js';
import { createAnalyzer, protocolForPort } from '../analyzers/index.js';
import {
  DEFAULT_FIFO_LIMITS,
  type Direction,
  type FifoLimits,
  type Protocol,
  type StreamAnalyzer,
} from '../analyzers/types.js';
import { ipv4Number, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpSegment } from '../decode/frame.js';
import { FlowIndex } from './flow-index.js';
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

/** Both sides have acknowledged everything the other sent: nothing is in flight either way. */
function idle(conn: TrackedConnection): boolean {
  const { client, server } = conn;
  return (
    conn.state === 'ESTABLISHED' &&
    client.ackSeen &&
    server.ackSeen &&
    client.ack === server.nxt &&
    server.ack === client.nxt
  );
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
  /** IPv4 client and service addresses as u32 (the table's numeric index key) */
  client4 = 0;
  service4 = 0;
  /** listed in the table's half-open queue (the first to go when the cap bites) */
  halfOpenListed = false;
  private analyzerInstance: StreamAnalyzer | undefined;
  /** service bytes the client has not acknowledged yet, for the restored socket's send queue;
   *  the first is at unackedSeq (made at the first service byte) */
  unacked: ByteQueue | undefined = undefined;
  unackedSeq = 0;
  unackedOverflow = false;
  get unackedBytes(): number {
    return this.unacked === undefined ? 0 : this.unacked.length;
  }
  /** idle: the byte storage kept for its next messages goes (see ByteQueue) */
  compact(): void {
    if (this.unacked?.length === 0) this.unacked = undefined;
    this.analyzerInstance?.compact?.();
  }
  /** the table's data mark when the client last sent bytes or acknowledged kept service bytes
   *  (see ConnectionTable.dataMark) */
  clientDataMark = 0;
  /**
   * The direction whose bytes the mirror lost (the receiver acknowledged bytes the capture never
   * had): until both sides are idle, only sequence numbers are followed, and the connection is
   * not restorable. At the idle point the analyzer starts afresh (see ConnectionTable.resync).
   */
  desynced: Direction | undefined;
  /** times the analyzer started afresh after lost bytes */
  resyncs = 0;
  /** since the last resync, the fresh analyzer has not yet shown it parses (checked at idle
   *  points until it has a whole exchange) */
  resyncUnproven = false;

  constructor(
    readonly family: 4 | 6,
    readonly clientEp: Endpoint,
    readonly serviceEp: Endpoint,
    readonly protocol: Protocol,
    private readonly limits: FifoLimits,
  ) {}

  /** "client-ip|port|service-ip|port": built when asked for, not stored (it would cost
   *  more memory than the rest of a half-open entry) */
  get key(): string {
    return connectionKey(this.clientEp, this.serviceEp);
  }

  /** created on first use: a SYN-flood entry never pays for one */
  get analyzer(): StreamAnalyzer {
    if (!this.analyzerInstance) this.analyzerInstance = createAnalyzer(this.protocol, this.limits);
    return this.analyzerInstance;
  }

  get hasAnalyzer(): boolean {
    return this.analyzerInstance !== undefined;
  }

  /** the next bytes go to a new analyzer, as at the start of the connection */
  resetAnalyzer(): void {
    this.analyzerInstance = undefined;
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

/** Whether ip:port is one of `services` (the address as the decoder writes it). */
export function isServiceEndpoint(services: readonly ServiceSpec[], ip: string, port: number): boolean {
  for (const s of services) if (s.ip === ip && (s.port === 0 || s.port === port)) return true;
  return false;
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
  /** connections whose mirror lost bytes (see TrackedConnection.desynced) */
  desynced: number;
  /** ... and that became restorable again at an idle point */
  resynced: number;
  /** frames from a service endpoint, any kind (a failover's snapshot waits until the fenced
   *  service's stop coming: CaptureBarrier.passUntilQuiet) */
  serviceFrames: number;
}

/** a copy of bytes [start, end) of buf (small copies come from Node's shared pool) */
function copyRange(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  buf.copy(out, 0, start, end);
  return out;
}
const macText = (b: Buffer, o: number) => {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + b[o + i].toString(16).padStart(2, '0');
  return s;
};
/** a connection with no frame for this long lets its kept byte storage go (sweep: every second) */
const COMPACT_IDLE_MS = 2000;
const seqLt = (a: number, b: number) => ((a - b) | 0) < 0;
const seqDiff = (a: number, b: number) => (a - b) | 0;
const u32 = (n: number) => n >>> 0;

export class ConnectionTable {
  /** every entry, oldest first */
  private readonly all = new Set<TrackedConnection>();
  /** the per-packet lookup for IPv4 (numbers, no key strings) */
  private readonly index4 = new FlowIndex<TrackedConnection>();
  /** the lookup for IPv6, by key string */
  private readonly index6 = new Map<string, TrackedConnection>();
  /** IPv4 services as numbers: [ip, port, ip, port, ...] (port 0 = every port) */
  private readonly watched4: number[] = [];
  /** half-open entries, oldest first: eviction under a SYN flood is O(1), not a table scan */
  private readonly halfOpen = new Set<TrackedConnection>();
  private readonly watched: ServiceSpec[];
  private readonly maxEntries: number;
  private readonly idleMs: number;
  private readonly halfOpenMs: number;
  private readonly fifo: FifoLimits;
  private readonly maxUnacked: number;
  private readonly maxHeld: number;
  private lastSweep = 0;
  /** counts deliveries of client bytes: a connection's clientDataMark is the count at its last */
  private dataCount = 0;
  /** when a service last sent new bytes to a client (the table's clock), for liveness */
  private serviceDataMs: number | undefined;
  /** client IP -> the source MAC its frames carried on the mirror (the client's, or its router's) */
  private readonly clientMacs = new Map<string, string>();
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
    desynced: 0,
    resynced: 0,
    serviceFrames: 0,
  };

  constructor(private readonly opts: ConnectionTableOptions) {
    this.watched = opts.services;
    for (const w of opts.services) {
      const n = ipv4Number(w.ip);
      if (n >= 0) this.watched4.push(n, w.port);
    }
    this.maxEntries = opts.maxEntries ?? 200_000;
    this.idleMs = opts.idleMs ?? 15 * 60_000;
    this.halfOpenMs = opts.halfOpenMs ?? 30_000;
    this.fifo = opts.fifo ?? DEFAULT_FIFO_LIMITS;
    this.maxUnacked = opts.maxUnackedBytes ?? 1024 * 1024;
    this.maxHeld = opts.maxHeldSegments ?? 64;
  }

  get size(): number {
    return this.all.size;
  }

  /** counters.serviceFrames (the failover's VerdictSource reads it) */
  get serviceFrames(): number {
    return this.counters.serviceFrames;
  }

  entries(): IterableIterator<TrackedConnection> {
    return this.all.values();
  }

  get(key: string): TrackedConnection | undefined {
    const [cip, cport, sip, sport] = key.split('|');
    const c4 = ipv4Number(cip);
    const s4 = ipv4Number(sip);
    if (c4 >= 0 && s4 >= 0) return this.index4.get(c4, s4, (Number(cport) << 16) | Number(sport));
    return this.index6.get(key);
  }

  private isService(ip: string, port: number): boolean {
    return isServiceEndpoint(this.watched, ip, port);
  }

  private isService4(ip: number, port: number): boolean {
    const w = this.watched4;
    for (let i = 0; i < w.length; i += 2)
      if (w[i] === ip && (w[i + 1] === 0 || w[i + 1] === port)) return true;
    return false;
  }

  /** Feed one decoded segment (it may be reused after the call: whatever is kept is copied).
   *  `nowMs` is the performance clock (TSval ageing uses it). */
  onPacket(seg: TcpSegment, nowMs: number): void {
    this.counters.packets++;
    let dir: Direction;
    let conn: TrackedConnection | undefined;
    let key: string | undefined;
    if (seg.family === 4) {
      // IPv4: numeric lookup, no key string at all.
      if (this.isService4(seg.dst4, seg.dstPort)) {
        dir = 'toServer';
        conn = this.index4.get(seg.src4, seg.dst4, (seg.srcPort << 16) | seg.dstPort);
      } else if (this.isService4(seg.src4, seg.srcPort)) {
        dir = 'toClient';
        this.counters.serviceFrames++;
        conn = this.index4.get(seg.dst4, seg.src4, (seg.dstPort << 16) | seg.srcPort);
      } else {
        this.counters.notWatched++;
        return;
      }
    } else if (this.isService(seg.dst6, seg.dstPort)) {
      dir = 'toServer';
      key = `${seg.src6}|${seg.srcPort}|${seg.dst6}|${seg.dstPort}`;
      conn = this.index6.get(key);
    } else if (this.isService(seg.src6, seg.srcPort)) {
      dir = 'toClient';
      this.counters.serviceFrames++;
      key = `${seg.dst6}|${seg.dstPort}|${seg.src6}|${seg.srcPort}`;
      conn = this.index6.get(key);
    } else {
      this.counters.notWatched++;
      return;
    }
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
      this.halfOpen.delete(conn);
    }
    if (conn.state === 'CLOSED' || conn.state === 'RESET') {
      this.remove(conn);
      if (conn.state === 'RESET') this.counters.removedReset++;
      else this.counters.removedClosed++;
    }
    if (nowMs - this.lastSweep > 1000) this.sweep(nowMs);
  }

  private create(
    /** the IPv6 lookup key (IPv4 entries have none) */
    key: string | undefined,
    seg: TcpSegment,
    dir: Direction,
    client: Endpoint,
    service: Endpoint,
    nowMs: number,
  ): TrackedConnection | undefined {
    if (this.all.size >= this.maxEntries && !this.evictOne()) {
      this.counters.refusedCap++;
      return undefined;
    }
    const protocol = protocolForPort(service.port, this.opts.protocols);
    const conn = new TrackedConnection(seg.family, client, service, protocol, this.fifo);
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
    this.all.add(conn);
    if (dir === 'toServer' && this.clientMacs.size < 65536 && !this.clientMacs.has(client.ip)) {
      this.clientMacs.set(client.ip, macText(seg.frame, seg.ethStart + 6));
    }
    if (seg.family === 4) {
      conn.client4 = dir === 'toServer' ? seg.src4 : seg.dst4;
      conn.service4 = dir === 'toServer' ? seg.dst4 : seg.src4;
      this.index4.set(conn.client4, conn.service4, (client.port << 16) | service.port, conn);
    } else this.index6.set(key ?? conn.key, conn);
    if (conn.state === 'SYN_SENT' || conn.state === 'SYN_RECEIVED') {
      conn.halfOpenListed = true;
      this.halfOpen.add(conn);
    }
    this.counters.created++;
    return conn;
  }

  private remove(conn: TrackedConnection): void {
    this.all.delete(conn);
    if (conn.family === 4) {
      this.index4.delete(conn.client4, conn.service4, (conn.clientEp.port << 16) | conn.serviceEp.port);
    } else this.index6.delete(conn.key);
    if (conn.halfOpenListed) this.halfOpen.delete(conn);
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

    if (seg.hasTs) {
      from.tsVal = seg.tsVal;
      from.tsEcr = seg.tsEcr;
      from.tsSeenAt = nowMs;
    }

    if (flags & TCP_SYN) {
      this.onSyn(conn, seg, dir, from, to);
      return;
    }

    if (flags & TCP_ACK) this.onAck(conn, dir, from, seg.ack);

    const fin = (flags & TCP_FIN) !== 0;
    if (seg.payloadEnd > seg.payloadStart || fin) {
      this.onData(conn, dir, from, seg.seq, seg.frame, seg.payloadStart, seg.payloadEnd, fin);
    }
    if (dir === 'toServer' && flags & TCP_ACK) {
      if (conn.state === 'SYN_RECEIVED') conn.state = 'ESTABLISHED';
      else if (conn.state === 'SYN_SENT') {
        // The SYN-ACK never reached the mirror: data may flow, but the service's options are unknown.
        conn.state = 'ESTABLISHED';
        conn.midstream = true;
      }
    }
    this.updateCloseState(conn, to);
    if (conn.desynced === undefined && !conn.resyncUnproven) return;
    if (!idle(conn)) return;
    if (conn.desynced !== undefined) {
      this.resync(conn);
    } else if (conn.hasAnalyzer) {
      // a resync that landed inside a message (a pause in a long upload, all of it acknowledged)
      // leaves an analyzer that cannot parse: the next idle point tries again
      const view = conn.analyzer.view();
      if (!view.analysable) this.resync(conn);
      else if (view.exchanges.length > 0) conn.resyncUnproven = false;
    }
  }

  /**
   * The mirror lost bytes of `dir` (the receiver acknowledged bytes the capture never had, or
   * too many segments waited behind a hole): they will never be seen, so the analyzer cannot
   * follow the exchange any more. Held segments go; sequence numbers are followed until both
   * sides are idle (resync).
   */
  private desync(conn: TrackedConnection, dir: Direction): void {
    if (conn.desynced !== undefined) return;
    conn.desynced = dir;
    this.counters.desynced++;
    for (const side of [conn.client, conn.server]) {
      for (const h of side.held ?? []) {
        const end = u32(h.seq + h.data.length + (h.fin ? 1 : 0));
        if (seqLt(side.nxt, end)) side.nxt = end;
        if (h.fin) side.finSeen = true;
      }
      side.held = undefined;
    }
    conn.unacked?.clear();
  }

  /**
   * Both sides are idle: nothing is in flight, so (for request/reply protocols) the client's next
   * byte starts a new request. The analyzer starts afresh there, at stream offset 0, and the
   * connection is restorable again once its exchanges are.
   */
  private resync(conn: TrackedConnection): void {
    if (conn.desynced !== undefined) this.counters.resynced++;
    conn.desynced = undefined;
    conn.resyncs++;
    conn.resyncUnproven = true;
    for (const side of [conn.client, conn.server]) {
      side.streamEnd = 0;
      side.held = undefined;
      side.gapLost = false;
    }
    conn.unacked?.clear();
    conn.unackedOverflow = false;
    conn.resetAnalyzer();
  }

  private onSyn(
    conn: TrackedConnection,
    seg: TcpSegment,
    dir: Direction,
    from: SideState,
    to: SideState,
  ): void {
    const isSynAck = (seg.flags & TCP_ACK) !== 0;
    if (dir === 'toServer' && !isSynAck) {
      // (Re)transmitted SYN from the client: (re)start the record.
      from.isn = seg.seq;
      from.nxt = u32(seg.seq + 1);
      from.mss = seg.mss >= 0 ? seg.mss : 536;
      from.wscale = seg.wscale;
      from.sackPermitted = seg.sackPermitted;
      from.tsOk = seg.hasTs;
      conn.state = 'SYN_SENT';
      return;
    }
    if (dir === 'toClient' && isSynAck) {
      from.isn = seg.seq;
      from.nxt = u32(seg.seq + 1);
      from.mss = seg.mss >= 0 ? seg.mss : 536;
      from.wscale = seg.wscale;
      from.sackPermitted = seg.sackPermitted;
      from.tsOk = seg.hasTs;
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
    const acked = dir === 'toServer' ? conn.server : conn.client;
    if (
      seqLt(acked.nxt, ack) &&
      acked.held &&
      acked.held.length > 0 &&
      conn.handshakeSeen &&
      !conn.midstream
    ) {
      // The receiver has the bytes of a hole the capture is waiting to fill: the mirror's copies
      // run ahead of the ACK, so they were lost on the way to the capture, and the sender will
      // never send them again. (An ACK ahead with nothing held may be a copy still on its way.)
      this.desync(conn, dir === 'toServer' ? 'toClient' : 'toServer');
    }
    if (conn.desynced !== undefined) {
      // desynced, the receiver's word counts: what it acknowledges was sent (a lost copy, too)
      if (seqLt(acked.nxt, ack)) acked.nxt = ack;
      return;
    }
    if (dir === 'toServer') {
      // The client acknowledged service bytes: they no longer need keeping for a restore.
      const kept = conn.unacked;
      const cut = kept === undefined ? 0 : Math.min(seqDiff(ack, conn.unackedSeq), kept.length);
      if (kept !== undefined && cut > 0) {
        kept.drop(cut);
        conn.unackedSeq = u32(conn.unackedSeq + cut);
        // A later view (verdictsSince) must see it: restored from the older one, the socket
        // would send those bytes again (the mirror brings the clients' ACKs late when the switch
        // is busy)
        conn.clientDataMark = ++this.dataCount;
      }
      if (conn.hasAnalyzer) {
        const acked = conn.server.streamEnd - Math.max(0, seqDiff(conn.server.nxt, ack));
        if (acked >= 0) conn.analyzer.onClientAck(acked);
      }
    }
  }

  /** In-order delivery: the highest in-order data counts; overlaps are trimmed; gaps are held.
   *  The payload is bytes [start, end) of the frame buffer, which the capture reuses. */
  private onData(
    conn: TrackedConnection,
    dir: Direction,
    from: SideState,
    seq: number,
    buf: Buffer,
    start: number,
    end: number,
    fin: boolean,
  ): void {
    if (conn.desynced !== undefined) {
      this.followDesynced(conn, dir, from, seq, end - start, fin);
      return;
    }
    const ahead = seqDiff(seq, from.nxt);
    if (ahead > 0) {
      // A gap before this segment: hold it until the gap is filled.
      from.outOfOrder++;
      if (!from.held) from.held = [];
      const held = from.held;
      if (held.length >= this.maxHeld) {
        from.gapLost = true;
        if (conn.handshakeSeen && !conn.midstream) {
          this.desync(conn, dir);
          this.followDesynced(conn, dir, from, seq, end - start, fin);
        }
        return;
      }
      held.push({ seq, data: copyRange(buf, start, end), fin });
      return;
    }
    if (ahead < 0) {
      // Starts before nxt: a retransmission, maybe carrying some new bytes.
      const skip = -ahead;
      const len = end - start;
      if (skip >= len && !(fin && skip === len)) {
        from.retransmissions++;
        return;
      }
      if (skip > 0) from.retransmissions++;
      start += Math.min(skip, len);
    }
    this.deliver(conn, dir, from, buf, start, end, fin);
    // Drain held segments the new bytes made contiguous.
    while (from.held && from.held.length > 0) {
      const i = from.held.findIndex((h) => !seqLt(from.nxt, h.seq) && seqDiff(h.seq, from.nxt) <= 0);
      if (i < 0) break;
      const h = from.held.splice(i, 1)[0];
      const skip = seqDiff(from.nxt, h.seq);
      if (skip < h.data.length || (h.fin && skip === h.data.length)) {
        this.deliver(conn, dir, from, h.data, Math.min(skip, h.data.length), h.data.length, h.fin);
      }
    }
    if (from.held && from.held.length === 0) from.held = undefined;
  }

  /** Desynced: only where each side's bytes end is followed (the analyzer waits for a resync). */
  private followDesynced(
    conn: TrackedConnection,
    dir: Direction,
    from: SideState,
    seq: number,
    len: number,
    fin: boolean,
  ): void {
    const end = u32(seq + len + (fin ? 1 : 0));
    if (seqLt(from.nxt, end)) {
      from.nxt = end;
      if (len > 0 && dir === 'toServer') conn.clientDataMark = ++this.dataCount;
    }
    if (fin) from.finSeen = true;
  }

  private deliver(
    conn: TrackedConnection,
    dir: Direction,
    from: SideState,
    buf: Buffer,
    start: number,
    end: number,
    fin: boolean,
  ): void {
    const len = end - start;
    if (len > 0) {
      if (dir === 'toClient') this.keepUnacked(conn, from.nxt, buf, start, end);
      const analyzer = conn.analyzer;
      // Generic mode needs only the lengths: no view of the bytes is made for it.
      if (analyzer instanceof GenericAnalyzer) analyzer.onLength(dir, from.streamEnd, len);
      else analyzer.onData(dir, from.streamEnd, buf.subarray(start, end));
      from.streamEnd += len;
      from.bytes += len;
      from.nxt = u32(from.nxt + len);
      if (dir === 'toServer') conn.clientDataMark = ++this.dataCount;
      else this.serviceDataMs = conn.lastSeenMs;
    }
    if (fin && !from.finSeen) {
      from.finSeen = true;
      from.nxt = u32(from.nxt + 1);
    }
  }

  private keepUnacked(conn: TrackedConnection, seq: number, buf: Buffer, start: number, end: number): void {
    if (conn.unackedBytes + end - start > this.maxUnacked) {
      conn.unackedOverflow = true;
      return;
    }
    // Copied (live capture buffers are reused, and the restore may come minutes later), after
    // the bytes kept so far: in-order delivery makes them contiguous; if not, the older ones go
    // and the verdict sees the send queue does not start at the client's ACK.
    conn.unacked ??= new ByteQueue();
    const kept = conn.unacked;
    if (kept.length > 0 && seq !== u32(conn.unackedSeq + kept.length)) kept.clear();
    if (kept.length === 0) conn.unackedSeq = seq;
    kept.push(buf, start, end);
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
    for (const c of this.all.values()) {
      const idle = nowMs - c.lastSeenMs;
      const halfOpen = c.state === 'SYN_SENT' || c.state === 'SYN_RECEIVED';
      if (halfOpen && idle > this.halfOpenMs) {
        this.remove(c);
        this.counters.expiredHalfOpen++;
      } else if (idle > this.idleMs) {
        this.remove(c);
        this.counters.expiredIdle++;
      } else if (idle > COMPACT_IDLE_MS) {
        c.compact();
      }
    }
  }

  /** The MAC the mirror saw a client's frames come from: at failover the standby's neighbour
   *  table gets it at once, instead of ARPing while every restored socket sends. */
  clientMac(ip: string): string | undefined {
    return this.clientMacs.get(ip);
  }

  /** The final snapshot a failover restores from: one verdict per tracked connection. */
  verdicts(nowMs: number): Verdict[] {
    const out: Verdict[] = [];
    for (const c of this.all.values()) out.push(verdictFor(c, nowMs));
    return out;
  }

  /** When a service last sent new bytes (not retransmissions) to a client: its application is
   *  alive then. The table's clock (performance time for a live capture). */
  lastServiceDataMs(): number | undefined {
    return this.serviceDataMs;
  }

  /** A mark to pass to verdictsSince: where the clients' progress (bytes sent, service bytes
   *  acknowledged) stands now. */
  dataMark(): number {
    return this.dataCount;
  }

  /**
   * Verdicts of the connections whose client sent bytes, or acknowledged kept service bytes,
   * since `mark` only: the failover's later views need just those, and a verdict of each of a
   * thousand connections took 10-15 ms.
   */
  verdictsSince(mark: number, nowMs: number): Verdict[] {
    const out: Verdict[] = [];
    for (const c of this.all.values()) if (c.clientDataMark > mark) out.push(verdictFor(c, nowMs));
    return out;
  }
}

export function connectionKey(client: Endpoint, service: Endpoint): string {
  return `${client.ip}|${client.port}|${service.ip}|${service.port}`;
}

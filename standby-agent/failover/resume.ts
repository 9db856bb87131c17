// Resuming: a restored client socket is joined to a fresh connection to the standby's own
// service instance. The unanswered request is in the restored socket's receive queue, so the
// first bytes the local service reads are that request, exactly once; then bytes flow both
// ways until either side closes. When the service died mid-reply, the local service's reply
// must begin with the bytes already sent (reply-prefix.ts) and only the rest goes to the client.
import { closeSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { LocalPoolStats } from '../restore/repair-addon.js';
import { socketFromFd } from '../restore/repair-socket.js';
import { fdOf, NativeRelay } from './native-relay.js';
import { type KnownBytes, ReplyPrefixCheck } from './reply-prefix.js';

/** One restored socket to join to the local service (ServiceJoiner.prepareAll). */
export interface JoinRequest {
  fd: number;
  /** the client, for the logs */
  label: string;
  /** an unfinished reply's bytes so far, checked against the local service's (reply-prefix.ts) */
  replyPrefix?: Buffer;
  later?: KnownBytes[];
}

export interface LocalService {
  host: string;
  port: number;
}

export function parseHostPort(text: string): LocalService {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new Error(`expected HOST:PORT, got "${text}"`);
  return { host: m[1], port };
}

export interface JoinStats {
  live: number;
  joined: number;
  failed: number;
  /** unfinished replies completed by the local service's reply */
  repliesCompleted: number;
  /** joins whose local connection was an idle one from the pool (made before the failover) */
  fromPool?: number;
  /** when the held replies were released (epoch ms), and how long the relay took to pass them on */
  releasedAt?: number;
  releaseMs?: number;
  /** the pool of idle connections to the local service, when one is kept (keepIdle) */
  pool?: LocalPoolStats & { size: number };
  /** wall-clock ms (epoch): the first join asked, the last local connect made, the last pair
   *  handed to the relay (how long joining a failover's connections took) */
  firstJoinAt?: number;
  lastConnectAt?: number;
  lastHandOverAt?: number;
}

const epochMs = () => Math.round((performance.timeOrigin + performance.now()) * 10) / 10;

/**
 * Connects in flight to the local service at once: a failover joins thousands of connections
 * together, and a burst beyond the service's listen backlog has SYNs dropped and retried a
 * second later. Loopback connects take tens of microseconds, so a queue costs little.
 */
const MAX_PENDING_CONNECTS = 64;

/** Idle connections to the local service kept for a failover's joins (see localPoolSize). */
export const LOCAL_POOL_DEFAULTS = {
  /** "auto": 10% more than the tracked connections, at most `autoMax` */
  autoMax: 4096,
  /** below the idle timeouts of common servers (Apache's first-byte timeout is 20 s) */
  maxAgeMs: 15_000,
  /** how often the size follows the tracked connections */
  resizeMs: 500,
};

/** The pool size for `tracked` connections; `setting`: "auto" or a fixed size (0 = no pool). */
export function localPoolSize(setting: number | 'auto', tracked: number): number {
  if (setting !== 'auto') return setting;
  return Math.min(LOCAL_POOL_DEFAULTS.autoMax, Math.ceil(tracked * 1.1));
}

/** Whether a new pool size differs enough from the current one to ask the relay for it. */
export function poolResizeNeeded(current: number, wanted: number): boolean {
  if (wanted === current) return false;
  if (wanted === 0 || current === 0) return true;
  return Math.abs(wanted - current) > Math.max(4, current * 0.05);
}

export class ServiceJoiner {
  /** joins made by JS (net.connect); the relay thread counts its own (relayJoinMany) */
  private readonly counts: JoinStats = { live: 0, joined: 0, failed: 0, repliesCompleted: 0 };
  private pending = 0;
  private readonly queue: Array<() => void> = [];
  /** the last few reasons a joined connection ended with an error (for status and tests) */
  readonly errors: string[] = [];

  private readonly relay: NativeRelay | undefined;
  /** prepared joins: their fd, and what handOver() does with it */
  private readonly prepared: Array<{ fd: number; takeOver: () => void }> = [];
  /** some prepared joins are held on the relay thread */
  private held = false;
  /** idle connections asked of the relay (keepIdle) */
  private idleWanted = 0;

  /** Joined pairs go to the addon's relay thread; without the addon, they stay on stream pipes. */
  constructor(
    private readonly service: LocalService,
    private readonly logger?: Logger,
  ) {
    try {
      this.relay = NativeRelay.shared();
    } catch (e) {
      logger?.warn(
        { err: (e as Error).message },
        'native relay unavailable: joined connections use JS pipes',
      );
    }
  }

  /** pairs on the native relay thread */
  get relayed(): number {
    return this.relay?.count ?? 0;
  }

  get stats(): JoinStats {
    const s = { ...this.counts };
    const r = this.relay?.stats();
    if (r) {
      s.joined += r.joined;
      s.failed += r.connectFailed;
      s.fromPool = r.fromPool;
      if (r.lastReleaseAt > 0) {
        s.releasedAt = r.lastReleaseAt;
        s.releaseMs = r.lastReleaseMs;
      }
      if (this.idleWanted > 0 || r.pool.ready > 0 || r.pool.opened > 0)
        s.pool = { size: this.idleWanted, ...r.pool };
      if (r.lastJoinedAt > 0) s.lastConnectAt = Math.max(s.lastConnectAt ?? 0, r.lastJoinedAt);
    }
    return s;
  }

  /**
   * Prepares joining restored sockets (bare fds) to the local service; begin() and
   * handOver() complete them. Most go to the relay thread, which connects to the local service at once and
   * passes the client's queued request on, so the local service works on it meanwhile; nothing
   * is written to the client before begin(), and the thread keeps off the socket during
   * whilePaused(). One whose unfinished reply must be checked against the local service's
   * (reply-prefix.ts) is wrapped and joined here at handOver(). The fd stays the caller's (open)
   * until handOver(). The relay's share goes in one call (a failover joins a thousand at once).
   */
  prepareAll(list: readonly JoinRequest[]): void {
    if (list.length === 0) return;
    const relay = this.relay;
    this.counts.firstJoinAt ??= epochMs();
    const relayable = relay !== undefined && net.isIP(this.service.host) !== 0;
    const viaRelay: JoinRequest[] = [];
    for (const j of list) {
      const checking =
        j.replyPrefix !== undefined && (j.replyPrefix.length > 0 || (j.later?.length ?? 0) > 0);
      if (relayable && !checking) viaRelay.push(j);
      else
        this.prepared.push({
          fd: j.fd,
          takeOver: () => this.join(socketFromFd(j.fd), j.label, j.replyPrefix, j.later),
        });
    }
    if (!relay || viaRelay.length === 0) return;
    this.counts.live += viaRelay.length;
    relay.joinMany(
      viaRelay.map((j) => j.fd),
      this.service.host,
      this.service.port,
      (i, o) => {
        const { label } = viaRelay[i];
        if (o.error) this.ended(label, o.joined ? 'relay' : 'local service error', new Error(o.error));
        else this.ended(label, 'closed');
      },
      true,
    );
    this.held = true;
    // the relay holds duplicates: ours go once the relay may use the sockets
    for (const j of viaRelay) this.prepared.push({ fd: j.fd, takeOver: () => closeSync(j.fd) });
  }

  /** Runs `fn` while the relay thread keeps off every socket it relays (the failover's top-up
   *  changes restored sockets in repair mode, where a relay write would land in the wrong queue). */
  whilePaused<T>(fn: () => T): T {
    return this.relay ? this.relay.paused(fn) : fn();
  }

  /**
   * Keeps `size` idle connections to the local service, replaced before they are `maxAgeMs` old,
   * so that a failover's joins need not wait for the service to accept a thousand connects
   * (native/src/pool.cc). False when there is no relay to keep them (the service is then
   * connected to at the join, as without a pool).
   */
  keepIdle(size: number, maxAgeMs: number): boolean {
    if (!this.relay || net.isIP(this.service.host) === 0) return false;
    this.relay.keepIdle(this.service.host, this.service.port, size, maxAgeMs);
    this.idleWanted = size;
    return true;
  }

  /** the idle connections last asked for (keepIdle) */
  get keptIdle(): number {
    return this.idleWanted;
  }

  /** Replies go to the clients of the prepared joins on the relay thread. */
  begin(): void {
    if (this.held) this.relay?.release();
    this.held = false;
  }

  /**
   * The caller is done with the prepared fds (the failover's top-up used them): the joiner takes
   * them over, and joins the ones it wraps. Until now they stayed open, so their numbers could
   * not be reused by another socket while the caller still used them.
   */
  handOver(): void {
    this.begin(); // if not already
    for (const p of this.prepared.splice(0)) p.takeOver();
    this.counts.lastHandOverAt = epochMs();
  }

  /** The prepared joins are dropped: their sockets are closed (the relay's, reset). */
  cancel(): void {
    if (this.held) this.relay?.cancel();
    this.held = false;
    for (const p of this.prepared.splice(0)) closeSync(p.fd);
  }

  /** A joined connection ended (why, and the error if it was one). */
  private ended(label: string, why: string, err?: Error): void {
    this.counts.live--;
    if (!err) return;
    if (this.errors.length < 20) this.errors.push(`${label}: ${why}: ${err.message}`);
    this.logger?.warn({ connection: label, err: err.message }, `resumed connection ended: ${why}`);
  }

  /** `replyPrefix`: the bytes of an unfinished reply the client already has; `later`: bytes
   *  it has further on in that reply (after a gap) */
  join(client: net.Socket, label: string, replyPrefix?: Buffer, later?: KnownBytes[]): void {
    // until the local connection is up, what the client sends stays buffered in `client`
    client.pause();
    this.counts.firstJoinAt ??= epochMs();
    if (this.pending >= MAX_PENDING_CONNECTS) {
      this.queue.push(() => this.connect(client, label, replyPrefix, later));
      return;
    }
    this.connect(client, label, replyPrefix, later);
  }

  private settled(): void {
    this.pending--;
    const next = this.queue.shift();
    if (next) next();
  }

  private connect(client: net.Socket, label: string, replyPrefix?: Buffer, later?: KnownBytes[]): void {
    if (client.destroyed) return;
    this.pending++;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.settled();
    };
    const local = net.connect({ host: this.service.host, port: this.service.port, allowHalfOpen: true });
    local.setNoDelay(true);
    client.setNoDelay(true);
    this.counts.live++;
    let closed = false;
    const close = (why: string, err?: Error) => {
      if (closed) return;
      closed = true;
      this.ended(label, why, err);
      if (err) {
        if (!client.destroyed) client.resetAndDestroy();
        if (!local.destroyed) local.destroy();
      }
    };
    let connected = false;
    const check =
      replyPrefix && (replyPrefix.length > 0 || (later?.length ?? 0) > 0)
        ? new ReplyPrefixCheck(replyPrefix, later)
        : undefined;
    let checking = check !== undefined;
    // from the JS pipes to the relay thread, once nothing is left for JS to write
    const handOver = (toClientFirst: Buffer) => {
      const relay = this.relay;
      if (!relay || closed || client.destroyed || local.destroyed || fdOf(client) < 0 || fdOf(local) < 0)
        return false;
      if (local.writableLength > 0) {
        setImmediate(() => handOver(toClientFirst) || fallBack(toClientFirst));
        return true;
      }
      relay.adopt(client, local, toClientFirst, (o) => {
        if (o.error) close('relay', new Error(o.error));
        else close('closed');
      });
      this.counts.lastHandOverAt = epochMs();
      return true;
    };
    const fallBack = (toClientFirst: Buffer) => {
      if (closed) return;
      if (toClientFirst.length > 0) client.write(toClientFirst);
      client.pipe(local);
      local.pipe(client);
      client.resume();
      local.resume();
    };
    local.once('connect', () => {
      settle();
      connected = true;
      this.counts.joined++;
      this.counts.lastConnectAt = epochMs();
      if (check) {
        // the client's bytes go on while the local reply is compared with what the client has
        client.pipe(local);
        const onData = (chunk: Buffer) => {
          const r = check.push(chunk);
          if (!r) return;
          local.pause();
          local.off('data', onData);
          checking = false;
          if ('mismatch' in r) {
            close('unfinished reply', new Error(r.mismatch));
            return;
          }
          this.counts.repliesCompleted++;
          client.pause();
          client.unpipe(local);
          if (!handOver(r.rest)) fallBack(r.rest);
        };
        local.on('data', onData);
        client.resume();
      } else if (!handOver(Buffer.alloc(0))) fallBack(Buffer.alloc(0));
    });
    local.once('error', (e) => {
      settle();
      if (!connected) this.counts.failed++;
      close('local service error', e);
    });
    client.once('error', (e) => close('client error', e));
    // both directions ended: tidy up
    let ends = 0;
    const ended = () => {
      if (++ends === 2) {
        close('closed');
        client.destroy();
        local.destroy();
      }
    };
    client.once('end', ended);
    local.once('end', () => {
      if (checking) close('local service', new Error('it closed before completing the unfinished reply'));
      else ended();
    });
    client.once('close', () => {
      if (!local.destroyed && !closed) local.end();
    });
    local.once('close', () => {
      if (!client.destroyed && !closed) client.end();
    });
  }
}

// Hands a joined pair of sockets (restored client, local service) to the addon's relay thread,
// so the bytes of resumed connections never pass through the JS thread (see native/src/relay.cc).
import type net from 'node:net';
import { loadRepairAddon, type RelayStats, type RepairAddon } from '../restore/repair-addon.js';

export interface RelayOutcome {
  toLocal: number;
  toClient: number;
  error?: string;
  /** the local connection was made (false: the join failed to connect, the client was reset) */
  joined: boolean;
}

interface StreamHandle {
  fd?: number;
  readStop?(): number;
}

/** The fd under a net.Socket, or -1 (the relay needs a real descriptor). */
export function fdOf(s: net.Socket): number {
  const h = (s as unknown as { _handle?: StreamHandle })._handle;
  return typeof h?.fd === 'number' ? h.fd : -1;
}

export class NativeRelay {
  private static instance: NativeRelay | undefined;
  private readonly addon: RepairAddon;
  private readonly waiting = new Map<number, (o: RelayOutcome) => void>();
  private nextId = 1;

  /** One relay thread per process, started on first use. */
  static shared(): NativeRelay {
    NativeRelay.instance ??= new NativeRelay(loadRepairAddon());
    return NativeRelay.instance;
  }

  private constructor(addon: RepairAddon) {
    this.addon = addon;
    addon.relayStart((id, toLocal, toClient, error, joined) => {
      const done = this.waiting.get(id);
      this.waiting.delete(id);
      done?.({ toLocal, toClient, error, joined: joined !== false });
    });
  }

  get count(): number {
    return this.waiting.size;
  }

  stats(): RelayStats {
    return this.addon.relayStats();
  }

  /**
   * Joins a connected socket's fd to a new connection to host:port that the relay thread
   * makes. The relay holds a duplicate: close `fd` once done with it (nothing is sent). `onEnded`
   * runs when the relay closes the pair, or when the connect failed (the client is then reset).
   * `hold`: the client's bytes go to the local service at once, but nothing is written to the
   * client before release() (or cancel()).
   */
  join(fd: number, host: string, port: number, onEnded: (o: RelayOutcome) => void, hold = false): void {
    const { first, refused } = this.addJoins([fd], host, port, hold);
    if (refused[0] !== undefined) throw new Error(refused[0]);
    this.waiting.set(first, onEnded);
  }

  /** join() for each of `fds` in one call to the relay; `onEnded(i, outcome)` for fds[i]. An fd
   *  that cannot be joined (its duplicate failed) ends at once, with the reason. */
  joinMany(
    fds: number[],
    host: string,
    port: number,
    onEnded: (i: number, o: RelayOutcome) => void,
    hold = false,
  ): void {
    const { first, refused } = this.addJoins(fds, host, port, hold);
    // a plain loop: the addon's array has holes where nothing was refused (forEach skips them)
    for (let i = 0; i < fds.length; i++) {
      const error = refused[i];
      if (error === undefined) this.waiting.set(first + i, (o) => onEnded(i, o));
      else onEnded(i, { toLocal: 0, toClient: 0, error, joined: false });
    }
  }

  /** Hands the fds to the relay under ids first, first + 1, ... (their outcomes arrive later,
   *  on this thread, so they are waited for once this returns); per fd, why it was refused. */
  private addJoins(fds: number[], host: string, port: number, hold: boolean) {
    const first = this.nextId;
    const refused = this.addon.relayJoinMany(first, fds, host, port, hold);
    this.nextId += fds.length;
    return { first, refused };
  }

  /**
   * Keeps `size` idle connections to host:port open on the relay thread (0 closes them); joins to
   * that address take one of them, already accepted by the service, instead of connecting.
   */
  keepIdle(host: string, port: number, size: number, maxAgeMs: number): void {
    this.addon.relayPool(host, port, size, maxAgeMs);
  }

  /** Held joins relay replies too. */
  release(): void {
    this.addon.relayRelease();
  }

  /** Runs `fn` while the relay thread keeps off every socket (it finishes what it is doing first). */
  paused<T>(fn: () => T): T {
    this.addon.relayPause();
    try {
      return fn();
    } finally {
      this.addon.relayUnpause();
    }
  }

  /** Held joins end, their clients reset (once the callers' fds are closed too). */
  cancel(): void {
    this.addon.relayCancel();
  }

  /**
   * Moves both sockets to the relay: stops their JS reading, takes what JS already read (it goes
   * first), passes duplicates of the fds and destroys the JS sockets. Both must have nothing
   * left to write (writableLength 0). `onEnded` runs when the relay closes the pair.
   */
  adopt(
    client: net.Socket,
    local: net.Socket,
    toClientFirst: Buffer,
    onEnded: (o: RelayOutcome) => void,
  ): void {
    const cfd = fdOf(client);
    const lfd = fdOf(local);
    if (cfd < 0 || lfd < 0) throw new Error('the relay needs sockets with file descriptors');
    if (client.writableLength > 0 || local.writableLength > 0)
      throw new Error('the relay takes sockets with nothing left to write');
    for (const s of [client, local]) {
      s.unpipe();
      s.removeAllListeners();
      s.on('error', () => {});
    }
    const fromClient = takeBuffered(client);
    const fromLocal = takeBuffered(local);
    const id = this.nextId++;
    this.addon.relayAdd(id, cfd, lfd, fromClient, Buffer.concat([toClientFirst, fromLocal]));
    this.waiting.set(id, onEnded);
    // the relay holds duplicates: closing ours sends nothing (the sockets stay open)
    client.destroy();
    local.destroy();
  }
}

/** Stops JS reading and returns what it had read but not delivered. */
function takeBuffered(s: net.Socket): Buffer {
  s.pause();
  (s as unknown as { _handle?: StreamHandle })._handle?.readStop?.();
  const chunks: Buffer[] = [];
  for (;;) {
    const c = s.read() as Buffer | null;
    if (c === null) break;
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

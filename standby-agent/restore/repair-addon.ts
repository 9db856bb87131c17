// Loads the TCP_REPAIR addon (standby-agent/native, built by node-gyp). The addon's own types:
// what restore() takes per socket and what readState() returns.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PackedRestorer, restoreBatch } from './restore-batch.js';

export interface RepairWindowSpec {
  sndWl1: number;
  sndWnd: number;
  maxWindow: number;
  rcvWnd: number;
  rcvWup: number;
}

/** One socket to create, in the addon's terms (u32 sequence numbers, host order). */
export interface RepairSpec {
  family?: 4 | 6;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** first byte of the send queue: the client's snd_una */
  sendSeq: number;
  /** first byte of the receive queue: rcv_nxt - recvQueue.length */
  recvSeq: number;
  /** the MSS the client announced (mss_clamp); set before connect, which sizes the segments */
  mss?: number;
  sndWscale?: number;
  rcvWscale?: number;
  sack?: boolean;
  /** the TSval the socket sends now; absent = no timestamps on this connection */
  tsVal?: number;
  window?: RepairWindowSpec;
  recvQueue?: Buffer;
  sendQueue?: Buffer;
  /** IP_TRANSPARENT: bind to an address that is not local */
  transparent?: boolean;
}

/** What readState() reads from a live socket (in the shape restore() takes). */
export interface RepairState {
  sendSeq: number;
  recvSeq: number;
  sndNxt: number;
  rcvNxt: number;
  sendQueue: Buffer;
  recvQueue: Buffer;
  sndWscale: number;
  rcvWscale: number;
  sack: boolean;
  timestamps: boolean;
  /** the MSS the peer announced (TCP_MAXSEG read in repair mode gives mss_clamp) */
  mss: number;
  /** the payload size of a full segment now (tcpi_snd_mss: mss less the options) */
  sendMss: number;
  tsVal: number;
  window: RepairWindowSpec;
}

/** Errors from the addon carry the failing step and the errno. */
export interface RepairError extends Error {
  errno: number;
  code: string;
  step: string;
}

export interface RepairAddon {
  /** per spec its fd or why it failed, in order; the sockets are made on `threads` threads
   *  (default: one per core, up to 4, for batches of 64 or more) */
  restore(specs: readonly RepairSpec[], threads?: number): Array<number | RepairError>;
  /** stayInRepair=true leaves the socket in repair mode (close it and it vanishes silently) */
  readState(fd: number, leaveRepair?: boolean): RepairState;
  closeSilently(fd: number): void;
  /** appends client bytes [startSeq, startSeq + bytes.length) the kernel lacks; returns how many */
  topUp(fd: number, startSeq: number, bytes: Buffer): number;
  /** starts the native relay thread (once per process); `onEnded` hears of every finished pair */
  relayStart(onEnded: RelayEnded): void;
  /** relays duplicates of both fds (close your own); the buffers go first, to local and to client */
  relayAdd(id: number, clientFd: number, localFd: number, toLocal?: Buffer, toClient?: Buffer): void;
  /** for each fd (ids firstId, firstId + 1, ...) the relay connects to host:port (an IP address)
   *  itself, then relays; it takes a duplicate of the fd (close your own); `hold`: nothing goes
   *  to the client before relayRelease(). One call, one wake-up. Per fd, undefined or why it
   *  was not joined */
  relayJoinMany(
    firstId: number,
    clientFds: number[],
    host: string,
    port: number,
    hold?: boolean,
  ): Array<string | undefined>;
  /** held joins begin relaying replies too (those still connecting, once connected) */
  relayRelease(): void;
  /** returns once the relay thread is off every socket, and keeps it off until relayUnpause() */
  relayPause(): void;
  relayUnpause(): void;
  /** held joins end instead: their clients are reset once the caller has closed its fds */
  relayCancel(): void;
  /** keeps `size` idle connections to host:port (an IP address), each replaced before it is
   *  maxAgeMs old; relayJoinMany to that address takes one instead of connecting (0: none) */
  relayPool(host: string, port: number, size: number, maxAgeMs: number): void;
  relayStats(): RelayStats;
  /** sends one raw Ethernet frame out of `ifname`; returns the bytes sent */
  sendFrame(ifname: string, frame: Buffer): number;
  /** hands the IP packet inside an Ethernet frame to this host's own stack (a raw IP socket; its
   *  TCP checksum made afresh); returns the bytes sent */
  injectIp(frame: Buffer): number;
  /** grows the process's descriptor table to n now (capped by RLIMIT_NOFILE); returns the size */
  reserveFds(n: number): number;
  /** raises RLIMIT_NOFILE to n (the hard limit too, when allowed); returns the soft limit now */
  raiseFdLimit(n: number): number;
  /** adds ip/prefixLen on ifname over rtnetlink: true if added, false if it was there already */
  addAddress(ifname: string, ip: string, prefixLen: number): boolean;
  /** neighbour entries [ip, mac] on ifname (NUD_STALE), over rtnetlink; returns how many */
  setNeighbours(ifname: string, entries: Array<[string, string]>): number;
  /** a promiscuous libpcap capture of `iface` through the BPF `filter`; `onBatch` gets `count`
   *  frames in `batch` (native/src/capture.cc has the layout), valid until it returns; the id */
  captureOpen(
    iface: string,
    filter: string,
    ringBytes: number,
    snaplen: number,
    batch: Buffer,
    onBatch: (count: number, bytes: number) => void,
  ): number;
  /** pcap's counters: received through the filter, dropped by the kernel, by the interface */
  captureStats(id: number): { received?: number; dropped?: number; ifaceDropped?: number };
  /** no batch comes after it */
  captureClose(id: number): void;
}

/** The relay thread's counters (relayJoinMany's local connections, made and failed). */
export interface RelayStats {
  pairs: number;
  joined: number;
  connectFailed: number;
  /** ms since the epoch when the last local connection was made; 0 = none yet */
  lastJoinedAt: number;
  /** joins whose local connection came from the pool */
  fromPool: number;
  /** the last relayRelease: when it began (ms since the epoch; 0 = none) and how long the
   *  relay thread took to pass the held replies on */
  lastReleaseAt: number;
  lastReleaseMs: number;
  pool: LocalPoolStats;
}

/** The relay's idle connections to the local service (relayPool). */
export interface LocalPoolStats {
  ready: number;
  connecting: number;
  /** taken by joins */
  taken: number;
  opened: number;
  connectFailed: number;
  /** idle connections the service closed (the pool then replaces them sooner: maxAgeMs) */
  closedByService: number;
  /** the age at which connections are replaced now */
  maxAgeMs: number;
  /** at most this many are kept: the service closed new connections at once (it is full) */
  limit?: number;
  lastError?: string;
  /** why the pool stopped for good (the service sent bytes unprompted) */
  disabled?: string;
}

/** A relayed pair ended: bytes each way, the error that ended it (the client was reset), and
 *  whether its local connection was ever made (relayJoinMany; always true for relayAdd). */
export type RelayEnded = (
  id: number,
  toLocal: number,
  toClient: number,
  error?: string,
  joined?: boolean,
) => void;

const ADDON = join('standby-agent', 'native', 'build', 'Release', 'nonstop_repair.node');

let cached: RepairAddon | undefined;

/** Finds the addon from the source tree or from dist/ (walks up to the package root). */
export function loadRepairAddon(): RepairAddon {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) {
      const native = createRequire(import.meta.url)(candidate) as Omit<RepairAddon, 'restore'> &
        PackedRestorer;
      // restore() checks and packs the specs here, in JS (restore-batch.ts)
      const addon: RepairAddon = {
        ...native,
        restore: (specs, threads) => restoreBatch(native, specs, threads),
      };
      cached = addon;
      return addon;
    }
    dir = dirname(dir);
  }
  throw new Error(
    `the TCP_REPAIR addon is not built (${ADDON} not found): run \`npx node-gyp rebuild -C standby-agent/native\` (or ./nonstop, which builds it)`,
  );
}

export function isRepairError(value: unknown): value is RepairError {
  return value instanceof Error && typeof (value as RepairError).step === 'string';
}

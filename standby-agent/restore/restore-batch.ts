// A batch of sockets to restore, checked and packed for the addon's restorePacked(): per socket
// PACKED_WORDS u32 words (the layout native/src/repair.cc reads; keep the two in step), a table of
// the addresses named, and one buffer holding every queue's bytes. N-API reads of twenty named
// properties per socket cost ~5 us (a third of a 1,000-socket batch); this packing costs well under
// one, and the addon can then create the sockets on several threads.
import type { RepairError, RepairSpec } from './repair-addon.js';

export const PACKED_WORDS = 18;
const W = {
  flags: 0,
  localIp: 1,
  remoteIp: 2,
  ports: 3,
  sendSeq: 4,
  recvSeq: 5,
  mss: 6,
  wscales: 7,
  tsVal: 8,
  window: 9,
  recvAt: 14,
  recvLen: 15,
  sendAt: 16,
  sendLen: 17,
} as const;
const FLAG = { v6: 1, sack: 2, timestamps: 4, window: 8, transparent: 16 } as const;

export interface PackedSpecs {
  words: Uint32Array;
  /** the addresses the words index */
  ips: string[];
  /** every queue's bytes, at the offsets the words give */
  bytes: Buffer;
  /** for each packed socket, its index in the specs */
  slots: number[];
  /** the specs that were not packed: index -> why */
  invalid: Map<number, string>;
}

/** The addon's native half: restorePacked(words, ips, bytes, threads?). */
export interface PackedRestorer {
  restorePacked(
    words: Uint32Array,
    ips: string[],
    bytes: Buffer,
    threads?: number,
  ): Array<number | RepairError>;
}

const isU32 = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

/** Why a u32 field is unusable (undefined: fine); `required`: absent is an error. */
function u32Problem(value: unknown, key: string, required: boolean): string | undefined {
  if (value === undefined) return required ? `${key} is required` : undefined;
  if (typeof value !== 'number') return `${key} must be a number`;
  return isU32(value) ? undefined : `${key} must be an integer in [0, 2^32)`;
}

/** Why the addon cannot take this spec (undefined: it can). The same checks, in the same order,
 *  as the addon made when it read the objects itself. */
export function specProblem(s: RepairSpec): string | undefined {
  if (typeof s !== 'object' || s === null) return 'each entry must be an object';
  const family = s.family ?? 4;
  if (family !== 4 && family !== 6) return 'family must be 4 or 6';
  if (typeof s.localIp !== 'string') return 'localIp must be a string';
  if (typeof s.remoteIp !== 'string') return 'remoteIp must be a string';
  const p =
    u32Problem(s.localPort, 'localPort', true) ??
    u32Problem(s.remotePort, 'remotePort', true) ??
    (s.localPort === 0 || s.localPort > 65535 || s.remotePort === 0 || s.remotePort > 65535
      ? 'ports must be in 1..65535'
      : undefined) ??
    u32Problem(s.sendSeq, 'sendSeq', true) ??
    u32Problem(s.recvSeq, 'recvSeq', true) ??
    u32Problem(s.mss, 'mss', false) ??
    u32Problem(s.sndWscale, 'sndWscale', false) ??
    u32Problem(s.rcvWscale, 'rcvWscale', false) ??
    ((s.sndWscale ?? 0) > 14 || (s.rcvWscale ?? 0) > 14 ? 'window scales must be in 0..14' : undefined) ??
    u32Problem(s.tsVal, 'tsVal', false);
  if (p) return p;
  const w = s.window;
  if (w !== undefined) {
    if (typeof w !== 'object' || w === null) return 'window must be an object';
    const wp =
      u32Problem(w.sndWl1, 'sndWl1', true) ??
      u32Problem(w.sndWnd, 'sndWnd', true) ??
      u32Problem(w.maxWindow, 'maxWindow', true) ??
      u32Problem(w.rcvWnd, 'rcvWnd', true) ??
      u32Problem(w.rcvWup, 'rcvWup', true);
    if (wp) return wp;
  }
  if (s.recvQueue !== undefined && !(s.recvQueue instanceof Uint8Array)) return 'recvQueue must be a Buffer';
  if (s.sendQueue !== undefined && !(s.sendQueue instanceof Uint8Array)) return 'sendQueue must be a Buffer';
  return undefined;
}

/** Checks and packs the specs (see the file's comment). */
export function packRestoreSpecs(specs: readonly RepairSpec[]): PackedSpecs {
  const invalid = new Map<number, string>();
  const slots: number[] = [];
  for (let i = 0; i < specs.length; i++) {
    const problem = specProblem(specs[i]);
    if (problem === undefined) slots.push(i);
    else invalid.set(i, problem);
  }
  const words = new Uint32Array(slots.length * PACKED_WORDS);
  const ips: string[] = [];
  const ipIndex = new Map<string, number>();
  const ipAt = (ip: string) => {
    let i = ipIndex.get(ip);
    if (i === undefined) {
      i = ips.length;
      ips.push(ip);
      ipIndex.set(ip, i);
    }
    return i;
  };
  const queues: Uint8Array[] = [];
  let queued = 0;
  const queue = (b: Uint8Array | undefined, at: number) => {
    if (b === undefined || b.length === 0) return;
    words[at] = queued;
    words[at + 1] = b.length;
    queues.push(b);
    queued += b.length;
  };
  for (let k = 0; k < slots.length; k++) {
    const s = specs[slots[k]];
    const o = k * PACKED_WORDS;
    let flags = 0;
    if (s.family === 6) flags |= FLAG.v6;
    if (s.sack) flags |= FLAG.sack;
    if (s.tsVal !== undefined) flags |= FLAG.timestamps;
    if (s.window !== undefined) flags |= FLAG.window;
    if (s.transparent) flags |= FLAG.transparent;
    words[o + W.flags] = flags;
    words[o + W.localIp] = ipAt(s.localIp);
    words[o + W.remoteIp] = ipAt(s.remoteIp);
    words[o + W.ports] = (s.localPort | (s.remotePort << 16)) >>> 0;
    words[o + W.sendSeq] = s.sendSeq;
    words[o + W.recvSeq] = s.recvSeq;
    words[o + W.mss] = s.mss ?? 0;
    words[o + W.wscales] = (s.sndWscale ?? 0) | ((s.rcvWscale ?? 0) << 8);
    words[o + W.tsVal] = s.tsVal ?? 0;
    const w = s.window;
    if (w !== undefined) {
      words[o + W.window] = w.sndWl1;
      words[o + W.window + 1] = w.sndWnd;
      words[o + W.window + 2] = w.maxWindow;
      words[o + W.window + 3] = w.rcvWnd;
      words[o + W.window + 4] = w.rcvWup;
    }
    queue(s.recvQueue, o + W.recvAt);
    queue(s.sendQueue, o + W.sendAt);
  }
  return { words, ips, bytes: Buffer.concat(queues, queued), slots, invalid };
}

/** The error a spec the addon cannot take gets (as the addon's own errors: errno, code, step). */
function invalidSpecError(problem: string): RepairError {
  return Object.assign(new TypeError(`invalid restore spec: ${problem}`), {
    errno: 22,
    code: 'EINVAL',
    step: 'validate',
  });
}

/** restore(specs, threads?) on the addon's native half: per spec its fd or why it failed. */
export function restoreBatch(
  native: PackedRestorer,
  specs: readonly RepairSpec[],
  threads?: number,
): Array<number | RepairError> {
  const packed = packRestoreSpecs(specs);
  const out: Array<number | RepairError> = new Array(specs.length);
  for (const [i, problem] of packed.invalid) out[i] = invalidSpecError(problem);
  if (packed.slots.length === 0) return out;
  const results = native.restorePacked(packed.words, packed.ips, packed.bytes, threads);
  for (let k = 0; k < packed.slots.length; k++) out[packed.slots[k]] = results[k];
  return out;
}

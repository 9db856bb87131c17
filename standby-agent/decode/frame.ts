// Ethernet (+802.1Q/QinQ) / IPv4 / IPv6 / TCP decoding, zero-copy and allocation-free on the
// hot path: decodeInto fills a reused TcpSegment with numbers (IPv4 addresses as u32, options
// as flat fields, the payload as a byte range of the frame). A frame that is not TCP, or is
// malformed, yields a reason instead, so the pipeline counts it and moves on; nothing here
// throws on bad input.

export interface TcpOptions {
  mss?: number;
  wscale?: number;
  sackPermitted: boolean;
  /** SACK blocks as [start, end, start, end, ...] */
  sack?: number[];
  tsVal?: number;
  tsEcr?: number;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** One decoded TCP segment. The fast path reuses a single instance for every frame, so a
 *  consumer copies whatever it keeps (payload bytes included: the frame buffer is reused too). */
export class TcpSegment {
  family: 4 | 6 = 4;
  /** IPv4 source/destination as u32 (0 for IPv6) */
  src4 = 0;
  dst4 = 0;
  /** IPv6 source/destination text ('' for IPv4) */
  src6 = '';
  dst6 = '';
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  /** raw advertised window (before scaling) */
  window = 0;
  /** MSS option, -1 = absent */
  mss = -1;
  /** window scale option (capped at 14), -1 = absent */
  wscale = -1;
  sackPermitted = false;
  /** SACK blocks as [start, end, ...], when present */
  sackBlocks: number[] | undefined = undefined;
  hasTs = false;
  tsVal = 0;
  tsEcr = 0;
  frame: Buffer = EMPTY;
  /** where the Ethernet header starts in `frame` (the source MAC is 6 bytes in) */
  ethStart = 0;
  payloadStart = 0;
  payloadEnd = 0;

  get payloadLength(): number {
    return this.payloadEnd - this.payloadStart;
  }

  /** a view of the payload in the frame (allocates a view: call it only when there is data) */
  get payload(): Buffer {
    return this.frame.subarray(this.payloadStart, this.payloadEnd);
  }

  get src(): string {
    return this.family === 4 ? ipv4Text(this.src4) : this.src6;
  }

  get dst(): string {
    return this.family === 4 ? ipv4Text(this.dst4) : this.dst6;
  }

  /** the options as one object (for display and tests; the tracker reads the flat fields) */
  get options(): TcpOptions {
    const o: TcpOptions = { sackPermitted: this.sackPermitted };
    if (this.mss >= 0) o.mss = this.mss;
    if (this.wscale >= 0) o.wscale = this.wscale;
    if (this.sackBlocks) o.sack = this.sackBlocks;
    if (this.hasTs) {
      o.tsVal = this.tsVal;
      o.tsEcr = this.tsEcr;
    }
    return o;
  }
}

const EMPTY = Buffer.alloc(0);

export type DecodeReason =
  | 'truncated-ethernet'
  | 'not-ip'
  | 'truncated-ip'
  | 'bad-ip-header'
  | 'ip-fragment'
  | 'not-tcp'
  | 'truncated-tcp'
  | 'bad-tcp-header'
  | 'bad-tcp-options';

export type DecodeResult = TcpSegment | DecodeReason;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const IPV6_FRAGMENT = 44;

// Formatting an address costs more than the rest of the decode: keep the recent ones.
const ipv4Cache = new Map<number, string>();

/** dotted text of a u32 IPv4 address */
export function ipv4Text(n: number): string {
  let text = ipv4Cache.get(n);
  if (text === undefined) {
    if (ipv4Cache.size >= 65536) ipv4Cache.clear();
    text = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    ipv4Cache.set(n, text);
  }
  return text;
}

/** u32 of a dotted IPv4 address, or -1 when the text is not one */
export function ipv4Number(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return -1;
  const parts = [m[1], m[2], m[3], m[4]].map(Number);
  if (parts.some((p) => p > 255)) return -1;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

function ipv6Text(b: Buffer, o: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[o + i] << 8) | b[o + i + 1]).toString(16));
  // Compress the longest run of zero groups (RFC 5952), so text equals what `ip` prints.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  const head = groups.slice(0, bestStart).join(':');
  const tail = groups.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

const be16 = (b: Buffer, o: number) => (b[o] << 8) | b[o + 1];
const be32 = (b: Buffer, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** Decodes a frame into a new segment (convenient; the pipeline uses decodeInto). */
export function decodeFrame(frame: Buffer): DecodeResult {
  const seg = new TcpSegment();
  return decodeInto(seg, frame, 0, frame.length) ?? seg;
}

/** Decodes frame bytes [start, end) of `b` into `seg`; returns a reason when it is not a TCP segment. */
export function decodeInto(seg: TcpSegment, b: Buffer, start: number, end: number): DecodeReason | undefined {
  if (end - start < 14) return 'truncated-ethernet';
  seg.ethStart = start;
  let o = start + 12;
  let etherType = be16(b, o);
  o += 2;
  while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
    if (end < o + 4) return 'truncated-ethernet';
    etherType = be16(b, o + 2);
    o += 4;
  }
  if (etherType === ETH_IPV4) return decodeIpv4(seg, b, o, end);
  if (etherType === ETH_IPV6) return decodeIpv6(seg, b, o, end);
  return 'not-ip';
}

function decodeIpv4(seg: TcpSegment, b: Buffer, o: number, end: number): DecodeReason | undefined {
  if (end < o + 20) return 'truncated-ip';
  const vihl = b[o];
  if (vihl >> 4 !== 4) return 'bad-ip-header';
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return 'bad-ip-header';
  const total = be16(b, o + 2);
  if (total < ihl) return 'bad-ip-header';
  if (end < o + total) return 'truncated-ip';
  if ((be16(b, o + 6) & 0x3fff) !== 0) return 'ip-fragment';
  if (b[o + 9] !== IPPROTO_TCP) return 'not-tcp';
  seg.family = 4;
  seg.src4 = be32(b, o + 12);
  seg.dst4 = be32(b, o + 16);
  seg.src6 = '';
  seg.dst6 = '';
  return decodeTcp(seg, b, o + ihl, o + total);
}

function decodeIpv6(seg: TcpSegment, b: Buffer, o: number, frameEnd: number): DecodeReason | undefined {
  if (frameEnd < o + 40) return 'truncated-ip';
  if (b[o] >> 4 !== 6) return 'bad-ip-header';
  const end = o + 40 + be16(b, o + 4);
  if (frameEnd < end) return 'truncated-ip';
  let next = b[o + 6];
  let p = o + 40;
  // extension headers we step over: hop-by-hop, routing, destination options
  while (next === 0 || next === 43 || next === 60) {
    if (end < p + 8) return 'truncated-ip';
    const len = (b[p + 1] + 1) * 8;
    next = b[p];
    p += len;
  }
  if (next === IPV6_FRAGMENT) return 'ip-fragment';
  if (next !== IPPROTO_TCP) return 'not-tcp';
  seg.family = 6;
  seg.src4 = 0;
  seg.dst4 = 0;
  seg.src6 = ipv6Text(b, o + 8);
  seg.dst6 = ipv6Text(b, o + 24);
  return decodeTcp(seg, b, p, end);
}

function decodeTcp(seg: TcpSegment, b: Buffer, o: number, end: number): DecodeReason | undefined {
  if (end < o + 20) return 'truncated-tcp';
  const dataOff = (b[o + 12] >> 4) * 4;
  if (dataOff < 20 || o + dataOff > end) return 'bad-tcp-header';
  seg.mss = -1;
  seg.wscale = -1;
  seg.sackPermitted = false;
  seg.sackBlocks = undefined;
  seg.hasTs = false;
  seg.tsVal = 0;
  seg.tsEcr = 0;
  if (dataOff > 20 && !parseOptions(seg, b, o + 20, o + dataOff)) return 'bad-tcp-options';
  seg.srcPort = be16(b, o);
  seg.dstPort = be16(b, o + 2);
  seg.seq = be32(b, o + 4);
  seg.ack = be32(b, o + 8);
  seg.flags = b[o + 13] & 0x3f;
  seg.window = be16(b, o + 14);
  seg.frame = b;
  seg.payloadStart = o + dataOff;
  seg.payloadEnd = end;
  return undefined;
}

function parseOptions(seg: TcpSegment, b: Buffer, o: number, end: number): boolean {
  while (o < end) {
    const kind = b[o];
    if (kind === 0) return true; // end of option list
    if (kind === 1) {
      o++;
      continue;
    }
    if (o + 1 >= end) return false;
    const len = b[o + 1];
    if (len < 2 || o + len > end) return false;
    switch (kind) {
      case 2:
        if (len !== 4) return false;
        seg.mss = be16(b, o + 2);
        break;
      case 3:
        if (len !== 3) return false;
        seg.wscale = Math.min(b[o + 2], 14);
        break;
      case 4:
        seg.sackPermitted = true;
        break;
      case 5: {
        if ((len - 2) % 8 !== 0) return false;
        const blocks: number[] = [];
        for (let i = o + 2; i < o + len; i += 4) blocks.push(be32(b, i));
        seg.sackBlocks = blocks;
        break;
      }
      case 8:
        if (len !== 10) return false;
        seg.hasTs = true;
        seg.tsVal = be32(b, o + 2);
        seg.tsEcr = be32(b, o + 6);
        break;
      default:
        break; // unknown options are legal; skip them
    }
    o += len;
  }
  return true;
}

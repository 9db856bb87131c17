// Ethernet (+802.1Q/QinQ) / IPv4 / IPv6 / TCP decoding, zero-copy: the payload is a view into
// the frame. A frame that is not TCP, or is malformed, yields a reason instead of a segment, so
// the pipeline counts it and moves on; nothing here throws on bad input.

export interface TcpOptions {
  mss?: number;
  wscale?: number;
  sackPermitted: boolean;
  /** SACK blocks as [start, end, start, end, ...] */
  sack?: number[];
  tsVal?: number;
  tsEcr?: number;
}

export interface TcpSegment {
  family: 4 | 6;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** raw advertised window (before scaling) */
  window: number;
  options: TcpOptions;
  payload: Buffer;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

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
/** VLAN tag TPIDs (802.1Q, 802.1ad, the old QinQ 0x9100) are tested inline in decodeFrame */
const IPPROTO_TCP = 6;
/** IPv6 extension headers we step over (hop-by-hop, routing, destination options) */
const IPV6_EXT = new Set([0, 43, 60]);
const IPV6_FRAGMENT = 44;

// Formatting an address costs more than the rest of the decode: keep the recent ones.
const ipv4Cache = new Map<number, string>();

function ipv4Text(b: Buffer, o: number): string {
  const n = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  let text = ipv4Cache.get(n);
  if (text === undefined) {
    if (ipv4Cache.size >= 65536) ipv4Cache.clear();
    text = `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
    ipv4Cache.set(n, text);
  }
  return text;
}

function ipv6Text(b: Buffer, o: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(o + i).toString(16));
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

export function decodeFrame(frame: Buffer): DecodeResult {
  if (frame.length < 14) return 'truncated-ethernet';
  let o = 12;
  let etherType = frame.readUInt16BE(o);
  o += 2;
  while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
    if (frame.length < o + 4) return 'truncated-ethernet';
    etherType = frame.readUInt16BE(o + 2);
    o += 4;
  }
  if (etherType === ETH_IPV4) return decodeIpv4(frame, o);
  if (etherType === ETH_IPV6) return decodeIpv6(frame, o);
  return 'not-ip';
}

function decodeIpv4(b: Buffer, o: number): DecodeResult {
  if (b.length < o + 20) return 'truncated-ip';
  const vihl = b[o];
  if (vihl >> 4 !== 4) return 'bad-ip-header';
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return 'bad-ip-header';
  const total = b.readUInt16BE(o + 2);
  if (total < ihl) return 'bad-ip-header';
  if (b.length < o + total) return 'truncated-ip';
  const frag = b.readUInt16BE(o + 6);
  if ((frag & 0x3fff) !== 0) return 'ip-fragment';
  if (b[o + 9] !== IPPROTO_TCP) return 'not-tcp';
  return decodeTcp(b, o + ihl, o + total, 4, ipv4Text(b, o + 12), ipv4Text(b, o + 16));
}

function decodeIpv6(b: Buffer, o: number): DecodeResult {
  if (b.length < o + 40) return 'truncated-ip';
  if (b[o] >> 4 !== 6) return 'bad-ip-header';
  const end = o + 40 + b.readUInt16BE(o + 4);
  if (b.length < end) return 'truncated-ip';
  let next = b[o + 6];
  let p = o + 40;
  while (IPV6_EXT.has(next)) {
    if (end < p + 8) return 'truncated-ip';
    const len = (b[p + 1] + 1) * 8;
    next = b[p];
    p += len;
  }
  if (next === IPV6_FRAGMENT) return 'ip-fragment';
  if (next !== IPPROTO_TCP) return 'not-tcp';
  return decodeTcp(b, p, end, 6, ipv6Text(b, o + 8), ipv6Text(b, o + 24));
}

function decodeTcp(b: Buffer, o: number, end: number, family: 4 | 6, src: string, dst: string): DecodeResult {
  if (end < o + 20) return 'truncated-tcp';
  const dataOff = (b[o + 12] >> 4) * 4;
  if (dataOff < 20 || o + dataOff > end) return 'bad-tcp-header';
  const options: TcpOptions = { sackPermitted: false };
  if (dataOff > 20 && !parseOptions(b, o + 20, o + dataOff, options)) return 'bad-tcp-options';
  return {
    family,
    src,
    dst,
    srcPort: b.readUInt16BE(o),
    dstPort: b.readUInt16BE(o + 2),
    seq: b.readUInt32BE(o + 4),
    ack: b.readUInt32BE(o + 8),
    flags: b[o + 13] & 0x3f,
    window: b.readUInt16BE(o + 14),
    options,
    payload: b.subarray(o + dataOff, end),
  };
}

function parseOptions(b: Buffer, o: number, end: number, out: TcpOptions): boolean {
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
        out.mss = b.readUInt16BE(o + 2);
        break;
      case 3:
        if (len !== 3) return false;
        out.wscale = Math.min(b[o + 2], 14);
        break;
      case 4:
        out.sackPermitted = true;
        break;
      case 5: {
        if ((len - 2) % 8 !== 0) return false;
        const blocks: number[] = [];
        for (let i = o + 2; i < o + len; i += 4) blocks.push(b.readUInt32BE(i));
        out.sack = blocks;
        break;
      }
      case 8:
        if (len !== 10) return false;
        out.tsVal = b.readUInt32BE(o + 2);
        out.tsEcr = b.readUInt32BE(o + 6);
        break;
      default:
        break; // unknown options are legal; skip them
    }
    o += len;
  }
  return true;
}

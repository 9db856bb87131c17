// OXM match fields (OpenFlow 1.3 section 7.2.3): every OpenFlow-basic field, the Nicira
// extension fields OVS uses most, and an opaque form for anything else that re-encodes
// byte for byte. Values: MACs and IPs as text, 64-bit fields as bigint, the rest as numbers.
import { isIPv4, isIPv6 } from 'node:net';
import { OfpEncodeError, type Reader, type Writer } from './wire.js';

type Kind = 'int' | 'u64' | 'mac' | 'ipv4' | 'ipv6';

interface FieldDef {
  name: string;
  cls: number;
  field: number;
  len: number;
  kind: Kind;
  /** experimenter id for class 0xffff fields */
  experimenter?: number;
  /** ONF extension fields carry a 16-bit exp_type after the experimenter id */
  expType?: number;
}

const B = 0x8000;
const NX1 = 0x0001;
const ONF = 0x4f4e4600;

const FIELDS: FieldDef[] = [
  { name: 'in_port', cls: B, field: 0, len: 4, kind: 'int' },
  { name: 'in_phy_port', cls: B, field: 1, len: 4, kind: 'int' },
  { name: 'metadata', cls: B, field: 2, len: 8, kind: 'u64' },
  { name: 'eth_dst', cls: B, field: 3, len: 6, kind: 'mac' },
  { name: 'eth_src', cls: B, field: 4, len: 6, kind: 'mac' },
  { name: 'eth_type', cls: B, field: 5, len: 2, kind: 'int' },
  { name: 'vlan_vid', cls: B, field: 6, len: 2, kind: 'int' },
  { name: 'vlan_pcp', cls: B, field: 7, len: 1, kind: 'int' },
  { name: 'ip_dscp', cls: B, field: 8, len: 1, kind: 'int' },
  { name: 'ip_ecn', cls: B, field: 9, len: 1, kind: 'int' },
  { name: 'ip_proto', cls: B, field: 10, len: 1, kind: 'int' },
  { name: 'ipv4_src', cls: B, field: 11, len: 4, kind: 'ipv4' },
  { name: 'ipv4_dst', cls: B, field: 12, len: 4, kind: 'ipv4' },
  { name: 'tcp_src', cls: B, field: 13, len: 2, kind: 'int' },
  { name: 'tcp_dst', cls: B, field: 14, len: 2, kind: 'int' },
  { name: 'udp_src', cls: B, field: 15, len: 2, kind: 'int' },
  { name: 'udp_dst', cls: B, field: 16, len: 2, kind: 'int' },
  { name: 'sctp_src', cls: B, field: 17, len: 2, kind: 'int' },
  { name: 'sctp_dst', cls: B, field: 18, len: 2, kind: 'int' },
  { name: 'icmpv4_type', cls: B, field: 19, len: 1, kind: 'int' },
  { name: 'icmpv4_code', cls: B, field: 20, len: 1, kind: 'int' },
  { name: 'arp_op', cls: B, field: 21, len: 2, kind: 'int' },
  { name: 'arp_spa', cls: B, field: 22, len: 4, kind: 'ipv4' },
  { name: 'arp_tpa', cls: B, field: 23, len: 4, kind: 'ipv4' },
  { name: 'arp_sha', cls: B, field: 24, len: 6, kind: 'mac' },
  { name: 'arp_tha', cls: B, field: 25, len: 6, kind: 'mac' },
  { name: 'ipv6_src', cls: B, field: 26, len: 16, kind: 'ipv6' },
  { name: 'ipv6_dst', cls: B, field: 27, len: 16, kind: 'ipv6' },
  { name: 'ipv6_flabel', cls: B, field: 28, len: 4, kind: 'int' },
  { name: 'icmpv6_type', cls: B, field: 29, len: 1, kind: 'int' },
  { name: 'icmpv6_code', cls: B, field: 30, len: 1, kind: 'int' },
  { name: 'ipv6_nd_target', cls: B, field: 31, len: 16, kind: 'ipv6' },
  { name: 'ipv6_nd_sll', cls: B, field: 32, len: 6, kind: 'mac' },
  { name: 'ipv6_nd_tll', cls: B, field: 33, len: 6, kind: 'mac' },
  { name: 'mpls_label', cls: B, field: 34, len: 4, kind: 'int' },
  { name: 'mpls_tc', cls: B, field: 35, len: 1, kind: 'int' },
  { name: 'mpls_bos', cls: B, field: 36, len: 1, kind: 'int' },
  { name: 'pbb_isid', cls: B, field: 37, len: 3, kind: 'int' },
  { name: 'tunnel_id', cls: B, field: 38, len: 8, kind: 'u64' },
  { name: 'ipv6_exthdr', cls: B, field: 39, len: 2, kind: 'int' },
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({
    name: `reg${i}`,
    cls: NX1,
    field: i,
    len: 4,
    kind: 'int' as Kind,
  })),
  { name: 'tun_ipv4_src', cls: NX1, field: 31, len: 4, kind: 'ipv4' },
  { name: 'tun_ipv4_dst', cls: NX1, field: 32, len: 4, kind: 'ipv4' },
  { name: 'pkt_mark', cls: NX1, field: 33, len: 4, kind: 'int' },
  { name: 'conj_id', cls: NX1, field: 37, len: 4, kind: 'int' },
  { name: 'ct_state', cls: NX1, field: 105, len: 4, kind: 'int' },
  { name: 'ct_zone', cls: NX1, field: 106, len: 2, kind: 'int' },
  { name: 'ct_mark', cls: NX1, field: 107, len: 4, kind: 'int' },
  { name: 'pbb_uca', cls: 0xffff, field: 0, len: 1, kind: 'int', experimenter: ONF, expType: 2560 },
];

const BY_NAME = new Map(FIELDS.map((f) => [f.name, f]));
/** non-experimenter fields by class * 128 + field: the hot path of every match */
const BY_CLASS_FIELD = new Map(FIELDS.filter((f) => f.cls !== 0xffff).map((f) => [f.cls * 128 + f.field, f]));
const BY_HEADER = new Map(
  FIELDS.map((f) => [`${f.cls}:${f.field}:${f.experimenter ?? 0}:${f.expType ?? 0}`, f]),
);

export type OxmValue = number | bigint | string;

/** A field we understand; `mask` present only for masked (hasmask) fields. */
export interface OxmBasic {
  field: string;
  value: OxmValue;
  mask?: OxmValue;
}

/** A field we do not model, kept whole (header + payload) so it re-encodes exactly. */
export interface OxmOpaque {
  field: 'unknown';
  oxmClass: number;
  oxmField: number;
  hasMask: boolean;
  raw: Buffer;
}

export type OxmField = OxmBasic | OxmOpaque;

export function isOpaqueOxm(f: OxmField): f is OxmOpaque {
  return f.field === 'unknown';
}

export function knownOxmFields(): string[] {
  return FIELDS.map((f) => f.name);
}

function readValue(r: Reader, def: FieldDef, len: number): OxmValue {
  switch (def.kind) {
    case 'mac':
      return r.mac();
    case 'ipv4': {
      const b = r.bytes(4);
      return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
    }
    case 'ipv6':
      return ipv6Text(r.bytes(16));
    case 'u64':
      return r.u64();
    case 'int': {
      if (len === 4) return r.u32();
      if (len === 2) return r.u16();
      if (len === 1) return r.u8();
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + r.u8();
      return v;
    }
  }
}

function badValue(def: FieldDef, v: OxmValue, what: string): never {
  throw new OfpEncodeError(`OXM ${def.name}: ${typeof v === 'string' ? `"${v}"` : String(v)} is not ${what}`);
}

function writeValue(w: Writer, def: FieldDef, v: OxmValue): void {
  switch (def.kind) {
    case 'mac':
      if (typeof v !== 'string') badValue(def, v, 'a MAC address string');
      w.mac(v as string);
      return;
    case 'ipv4':
      if (typeof v !== 'string' || !isIPv4(v)) badValue(def, v, 'an IPv4 address');
      w.bytes(Buffer.from((v as string).split('.').map(Number)));
      return;
    case 'ipv6':
      if (typeof v !== 'string' || !isIPv6(v)) badValue(def, v, 'an IPv6 address');
      w.bytes(ipv6Bytes(v as string));
      return;
    case 'u64':
      if (typeof v !== 'bigint') badValue(def, v, 'a bigint');
      w.u64(v as bigint);
      return;
    case 'int': {
      const n = v as number;
      if (typeof v !== 'number' || !(n >= 0 && n < 2 ** (8 * def.len) && n % 1 === 0))
        badValue(def, v, `an integer of ${def.len} byte(s)`);
      if (def.len === 4) w.u32(n);
      else if (def.len === 2) w.u16(n);
      else if (def.len === 1) w.u8(n);
      else for (let i = def.len - 1; i >= 0; i--) w.u8(Math.floor(n / 2 ** (8 * i)) & 0xff);
      return;
    }
  }
}

export function ipv6Text(b: Buffer): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return g.join(':');
  return `${g.slice(0, best).join(':')}::${g.slice(best + bestLen).join(':')}`;
}

export function ipv6Bytes(text: string): Buffer {
  // an embedded dotted quad (::ffff:10.0.0.1) is the last two groups
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number);
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((x, i) => {
    b.writeUInt16BE(Number.parseInt(x, 16) || 0, i * 2);
  });
  return b;
}

/** One OXM TLV at r.pos, ending at or before `end` (default: the reader's end). */
export function readOxm(r: Reader, end = r.end): OxmField {
  const start = r.pos;
  const header = r.u32();
  if (r.pos + (header & 0xff) > end) r.fail(`OXM field of ${header & 0xff} bytes overruns its match`, start);
  const cls = header >>> 16;
  const field = (header >>> 9) & 0x7f;
  const hasMask = (header & 0x100) !== 0;
  const len = header & 0xff;
  if (cls !== 0xffff) {
    // Fast path: a field we know, read in place.
    const def = BY_CLASS_FIELD.get(cls * 128 + field);
    if (def && len === (hasMask ? 2 * def.len : def.len)) {
      r.need(len);
      const value = readValue(r, def, def.len);
      if (!hasMask) return { field: def.name, value };
      return { field: def.name, value, mask: readValue(r, def, def.len) };
    }
  }
  const body = r.sub(len);
  let experimenter = 0;
  let expType = 0;
  if (cls === 0xffff && len >= 4) experimenter = body.u32();
  if (experimenter === ONF && body.left >= 2) expType = body.u16();
  const def = BY_HEADER.get(`${cls}:${field}:${experimenter}:${expType}`);
  const valueLen = (hasMask ? body.left / 2 : body.left) | 0;
  if (!def || valueLen !== def.len || (hasMask && body.left !== 2 * def.len)) {
    return {
      field: 'unknown',
      oxmClass: cls,
      oxmField: field,
      hasMask,
      raw: Buffer.from(r.buf.subarray(start, r.pos)),
    };
  }
  const value = readValue(body, def, def.len);
  if (!hasMask) return { field: def.name, value };
  return { field: def.name, value, mask: readValue(body, def, def.len) };
}

export function writeOxm(w: Writer, f: OxmField): void {
  if (isOpaqueOxm(f)) {
    w.bytes(f.raw);
    return;
  }
  const def = BY_NAME.get(f.field);
  if (!def) throw new OfpEncodeError(`unknown OXM field "${f.field}"`);
  const masked = f.mask !== undefined;
  const payload =
    (def.experimenter ? 4 : 0) + (def.expType !== undefined ? 2 : 0) + def.len * (masked ? 2 : 1);
  w.u32(((def.cls << 16) | (def.field << 9) | (masked ? 0x100 : 0) | payload) >>> 0);
  if (def.experimenter) w.u32(def.experimenter);
  if (def.expType !== undefined) w.u16(def.expType);
  writeValue(w, def, f.value);
  if (masked) writeValue(w, def, f.mask as OxmValue);
}

/** A match: type OXM (1), its fields, padded to 8 bytes. */
export interface Match {
  type: number;
  fields: OxmField[];
}

export function readMatch(r: Reader): Match {
  const start = r.pos;
  const type = r.u16();
  const length = r.u16();
  if (length < 4) r.fail(`match length ${length} < 4`, start);
  const end = start + length;
  if (end > r.end) r.fail(`match of ${length} bytes overruns its message`, start);
  const fields: OxmField[] = [];
  while (r.pos < end) fields.push(readOxm(r, end));
  r.skip((8 - (length % 8)) % 8);
  return { type, fields };
}

export function writeMatch(w: Writer, m: Match): void {
  const start = w.pos;
  w.u16(m.type).u16(0);
  for (const f of m.fields) writeOxm(w, f);
  w.patchU16(start + 2, w.pos - start);
  w.align(start, 8);
}

/** Convenience: { in_port: 1, eth_type: 0x800 } -> an OXM match. */
export function matchOf(fields: Record<string, OxmValue | [OxmValue, OxmValue]>): Match {
  return {
    type: 1,
    fields: Object.entries(fields).map(([field, v]) =>
      Array.isArray(v) ? { field, value: v[0], mask: v[1] } : { field, value: v },
    ),
  };
}

export function oxmFieldDef(name: string): { len: number } | undefined {
  return BY_NAME.get(name);
}

/** What a bare OXM header (as in table-feature properties) names. */
export function oxmHeaderInfo(header: number): { field: string; hasMask: boolean; length: number } {
  const cls = header >>> 16;
  const field = (header >>> 9) & 0x7f;
  const def = BY_HEADER.get(`${cls}:${field}:0:0`);
  return {
    field: def?.name ?? `oxm_${cls}_${field}`,
    hasMask: (header & 0x100) !== 0,
    length: header & 0xff,
  };
}

// The OpenFlow 1.3 messages the controller core sends and receives, encoded and decoded.
// Interim: the team codec (controller/openflow/) had not landed when the core was written, so
// the session speaks through this narrow layer; swapping to the codec touches only this file.
import type { Action, FlowMatch, FlowSpec } from './flows/flow-spec.js';

export const OFP_VERSION = 4;
export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  EXPERIMENTER: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  GROUP_MOD: 15,
  PORT_MOD: 16,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
} as const;

export const TYPE_NAMES: Record<number, string> = {
  0: 'hello',
  1: 'error',
  2: 'echo_request',
  3: 'echo_reply',
  4: 'experimenter',
  5: 'features_request',
  6: 'features_reply',
  7: 'get_config_request',
  8: 'get_config_reply',
  9: 'set_config',
  10: 'packet_in',
  11: 'flow_removed',
  12: 'port_status',
  13: 'packet_out',
  14: 'flow_mod',
  15: 'group_mod',
  16: 'port_mod',
  17: 'table_mod',
  18: 'multipart_request',
  19: 'multipart_reply',
  20: 'barrier_request',
  21: 'barrier_reply',
  24: 'role_request',
  25: 'role_reply',
  26: 'get_async_request',
  27: 'get_async_reply',
  28: 'set_async',
  29: 'meter_mod',
};

export const OFPP = {
  IN_PORT: 0xfffffff8,
  FLOOD: 0xfffffffb,
  ALL: 0xfffffffc,
  CONTROLLER: 0xfffffffd,
  LOCAL: 0xfffffffe,
  ANY: 0xffffffff,
} as const;
export const NO_BUFFER = 0xffffffff;
export const OFPCML_NO_BUFFER = 0xffff;
export const OFPPC_PORT_DOWN = 1;
export const OFPPS_LINK_DOWN = 1;
export const FLOW_CMD = { ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4 } as const;
const MP_FLOW = 1;
const MP_PORT_DESC = 13;

export const ERROR_TYPES: string[] = [
  'OFPET_HELLO_FAILED',
  'OFPET_BAD_REQUEST',
  'OFPET_BAD_ACTION',
  'OFPET_BAD_INSTRUCTION',
  'OFPET_BAD_MATCH',
  'OFPET_FLOW_MOD_FAILED',
  'OFPET_GROUP_MOD_FAILED',
  'OFPET_PORT_MOD_FAILED',
  'OFPET_TABLE_MOD_FAILED',
  'OFPET_QUEUE_OP_FAILED',
  'OFPET_SWITCH_CONFIG_FAILED',
  'OFPET_ROLE_REQUEST_FAILED',
  'OFPET_METER_MOD_FAILED',
  'OFPET_TABLE_FEATURES_FAILED',
];
const ERROR_CODES: Record<number, string[]> = {
  0: ['OFPHFC_INCOMPATIBLE', 'OFPHFC_EPERM'],
  1: [
    'OFPBRC_BAD_VERSION',
    'OFPBRC_BAD_TYPE',
    'OFPBRC_BAD_MULTIPART',
    'OFPBRC_BAD_EXPERIMENTER',
    'OFPBRC_BAD_EXP_TYPE',
    'OFPBRC_EPERM',
    'OFPBRC_BAD_LEN',
    'OFPBRC_BUFFER_EMPTY',
    'OFPBRC_BUFFER_UNKNOWN',
    'OFPBRC_BAD_TABLE_ID',
    'OFPBRC_IS_SLAVE',
    'OFPBRC_BAD_PORT',
    'OFPBRC_BAD_PACKET',
    'OFPBRC_MULTIPART_BUFFER_OVERFLOW',
  ],
  2: [
    'OFPBAC_BAD_TYPE',
    'OFPBAC_BAD_LEN',
    'OFPBAC_BAD_EXPERIMENTER',
    'OFPBAC_BAD_EXP_TYPE',
    'OFPBAC_BAD_OUT_PORT',
    'OFPBAC_BAD_ARGUMENT',
    'OFPBAC_EPERM',
    'OFPBAC_TOO_MANY',
    'OFPBAC_BAD_QUEUE',
    'OFPBAC_BAD_OUT_GROUP',
    'OFPBAC_MATCH_INCONSISTENT',
    'OFPBAC_UNSUPPORTED_ORDER',
    'OFPBAC_BAD_TAG',
    'OFPBAC_BAD_SET_TYPE',
    'OFPBAC_BAD_SET_LEN',
    'OFPBAC_BAD_SET_ARGUMENT',
  ],
  3: [
    'OFPBIC_UNKNOWN_INST',
    'OFPBIC_UNSUP_INST',
    'OFPBIC_BAD_TABLE_ID',
    'OFPBIC_UNSUP_METADATA',
    'OFPBIC_UNSUP_METADATA_MASK',
    'OFPBIC_BAD_EXPERIMENTER',
    'OFPBIC_BAD_EXP_TYPE',
    'OFPBIC_BAD_LEN',
    'OFPBIC_EPERM',
  ],
  4: [
    'OFPBMC_BAD_TYPE',
    'OFPBMC_BAD_LEN',
    'OFPBMC_BAD_TAG',
    'OFPBMC_BAD_DL_ADDR_MASK',
    'OFPBMC_BAD_NW_ADDR_MASK',
    'OFPBMC_BAD_WILDCARDS',
    'OFPBMC_BAD_FIELD',
    'OFPBMC_BAD_VALUE',
    'OFPBMC_BAD_MASK',
    'OFPBMC_BAD_PREREQ',
    'OFPBMC_DUP_FIELD',
    'OFPBMC_EPERM',
  ],
  5: [
    'OFPFMFC_UNKNOWN',
    'OFPFMFC_TABLE_FULL',
    'OFPFMFC_BAD_TABLE_ID',
    'OFPFMFC_OVERLAP',
    'OFPFMFC_EPERM',
    'OFPFMFC_BAD_TIMEOUT',
    'OFPFMFC_BAD_COMMAND',
    'OFPFMFC_BAD_FLAGS',
  ],
  7: [
    'OFPPMFC_BAD_PORT',
    'OFPPMFC_BAD_HW_ADDR',
    'OFPPMFC_BAD_CONFIG',
    'OFPPMFC_BAD_ADVERTISE',
    'OFPPMFC_EPERM',
  ],
};

export function errorName(type: number, code: number): { type: string; code: string } {
  return {
    type: ERROR_TYPES[type] ?? `OFPET_${type}`,
    code: ERROR_CODES[type]?.[code] ?? `code_${code}`,
  };
}

export interface WirePort {
  portNo: number;
  hwAddr: string;
  name: string;
  config: number;
  state: number;
  currSpeedKbps: number;
}

export interface WireFlowStats {
  tableId: number;
  durationSec: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  match: FlowMatch;
  /** OXM fields this layer does not model, as "oxm<field>" names; a flow with any is never ours */
  unknownFields: string[];
  apply: Action[];
  gotoTable?: number;
}

export type WireMessage =
  | { type: 'hello'; xid: number; version: number; bitmap?: number }
  | { type: 'error'; xid: number; errType: number; errCode: number; data: Buffer }
  | { type: 'echo_request'; xid: number; data: Buffer }
  | { type: 'echo_reply'; xid: number; data: Buffer }
  | {
      type: 'features_reply';
      xid: number;
      datapathId: bigint;
      nBuffers: number;
      nTables: number;
      auxiliaryId: number;
    }
  | {
      type: 'packet_in';
      xid: number;
      reason: number;
      tableId: number;
      cookie: bigint;
      inPort: number;
      data: Buffer;
    }
  | { type: 'port_status'; xid: number; reason: number; port: WirePort }
  | { type: 'port_desc_reply'; xid: number; more: boolean; ports: WirePort[] }
  | { type: 'flow_stats_reply'; xid: number; more: boolean; flows: WireFlowStats[] }
  | { type: 'barrier_reply'; xid: number }
  | { type: 'other'; xid: number; ofType: number; version: number };

export class WireDecodeError extends Error {
  override name = 'WireDecodeError';
}

/** Splits a byte stream into whole OpenFlow messages. */
export class WireFramer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt16BE(2);
      if (len < 8) throw new WireDecodeError(`message length ${len} < 8`);
      if (this.buf.length < len) break;
      out.push(this.buf.subarray(0, len));
      this.buf = this.buf.subarray(len);
    }
    return out;
  }
}

function header(type: number, length: number, xid: number): Buffer {
  const b = Buffer.alloc(length);
  b.writeUInt8(OFP_VERSION, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(xid >>> 0, 4);
  return b;
}

const pad8 = (n: number) => (n + 7) & ~7;

export function macToBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`bad MAC ${mac}`);
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

export function bytesToMac(b: Buffer): string {
  return [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function ipv4ToBytes(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`bad IPv4 ${ip}`);
  return Buffer.from(parts);
}

const bytesToIpv4 = (b: Buffer) => [...b.subarray(0, 4)].join('.');

// OXM basic fields used by the controller's flows.
const OXM = {
  IN_PORT: 0,
  ETH_DST: 3,
  ETH_SRC: 4,
  ETH_TYPE: 5,
  IP_PROTO: 10,
  IPV4_DST: 12,
  ARP_TPA: 23,
} as const;

function oxm(field: number, value: Buffer): Buffer {
  const b = Buffer.alloc(4 + value.length);
  b.writeUInt16BE(0x8000, 0);
  b.writeUInt8(field << 1, 2);
  b.writeUInt8(value.length, 3);
  value.copy(b, 4);
  return b;
}

const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};

/** ofp_match with OXM fields in prerequisite order, padded to 8 bytes. */
export function encodeMatch(m: FlowMatch): Buffer {
  const fields: Buffer[] = [];
  if (m.inPort !== undefined) fields.push(oxm(OXM.IN_PORT, u32(m.inPort)));
  if (m.ethDst !== undefined) fields.push(oxm(OXM.ETH_DST, macToBytes(m.ethDst)));
  if (m.ethSrc !== undefined) fields.push(oxm(OXM.ETH_SRC, macToBytes(m.ethSrc)));
  if (m.ethType !== undefined) fields.push(oxm(OXM.ETH_TYPE, u16(m.ethType)));
  if (m.ipProto !== undefined) fields.push(oxm(OXM.IP_PROTO, Buffer.from([m.ipProto])));
  if (m.ipv4Dst !== undefined) fields.push(oxm(OXM.IPV4_DST, ipv4ToBytes(m.ipv4Dst)));
  if (m.arpTpa !== undefined) fields.push(oxm(OXM.ARP_TPA, ipv4ToBytes(m.arpTpa)));
  const body = Buffer.concat(fields);
  const len = 4 + body.length;
  const b = Buffer.alloc(pad8(len));
  b.writeUInt16BE(1, 0);
  b.writeUInt16BE(len, 2);
  body.copy(b, 4);
  return b;
}

function decodeMatch(buf: Buffer, off: number): { match: FlowMatch; unknown: string[]; size: number } {
  const len = buf.readUInt16BE(off + 2);
  if (len < 4 || off + len > buf.length) throw new WireDecodeError(`bad match length ${len}`);
  const match: FlowMatch = {};
  const unknown: string[] = [];
  let p = off + 4;
  while (p + 4 <= off + len) {
    const cls = buf.readUInt16BE(p);
    const fh = buf.readUInt8(p + 2);
    const flen = buf.readUInt8(p + 3);
    const v = buf.subarray(p + 4, p + 4 + flen);
    const field = fh >> 1;
    if (cls !== 0x8000 || fh & 1) unknown.push(`oxm${cls.toString(16)}:${field}`);
    else if (field === OXM.IN_PORT) match.inPort = v.readUInt32BE(0);
    else if (field === OXM.ETH_DST) match.ethDst = bytesToMac(v);
    else if (field === OXM.ETH_SRC) match.ethSrc = bytesToMac(v);
    else if (field === OXM.ETH_TYPE) match.ethType = v.readUInt16BE(0);
    else if (field === OXM.IP_PROTO) match.ipProto = v.readUInt8(0);
    else if (field === OXM.IPV4_DST) match.ipv4Dst = bytesToIpv4(v);
    else if (field === OXM.ARP_TPA) match.arpTpa = bytesToIpv4(v);
    else unknown.push(`oxm${field}`);
    p += 4 + flen;
  }
  return { match, unknown, size: pad8(len) };
}

export function encodeActions(actions: readonly Action[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of actions) {
    if (a.type === 'output') {
      const b = Buffer.alloc(16);
      b.writeUInt16BE(0, 0);
      b.writeUInt16BE(16, 2);
      b.writeUInt32BE(a.port >>> 0, 4);
      b.writeUInt16BE(a.port === OFPP.CONTROLLER ? OFPCML_NO_BUFFER : 0, 8);
      parts.push(b);
    } else if (a.type === 'set_eth_dst') {
      const field = oxm(OXM.ETH_DST, macToBytes(a.mac));
      const len = pad8(4 + field.length);
      const b = Buffer.alloc(len);
      b.writeUInt16BE(25, 0);
      b.writeUInt16BE(len, 2);
      field.copy(b, 4);
      parts.push(b);
    } else {
      throw new Error(`cannot encode unknown action ${a.code}`);
    }
  }
  return Buffer.concat(parts);
}

function decodeActions(buf: Buffer, off: number, end: number): Action[] {
  const out: Action[] = [];
  let p = off;
  while (p + 4 <= end) {
    const t = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    if (len < 8) throw new WireDecodeError(`bad action length ${len}`);
    if (t === 0) out.push({ type: 'output', port: buf.readUInt32BE(p + 4) });
    else if (t === 25 && buf.readUInt8(p + 6) >> 1 === OXM.ETH_DST)
      out.push({ type: 'set_eth_dst', mac: bytesToMac(buf.subarray(p + 8, p + 14)) });
    else out.push({ type: 'unknown', code: t });
    p += len;
  }
  return out;
}

function encodeInstructions(spec: FlowSpec): Buffer {
  const parts: Buffer[] = [];
  if (spec.apply.length) {
    const acts = encodeActions(spec.apply);
    const b = Buffer.alloc(8 + acts.length);
    b.writeUInt16BE(4, 0);
    b.writeUInt16BE(8 + acts.length, 2);
    acts.copy(b, 8);
    parts.push(b);
  }
  if (spec.gotoTable !== undefined) {
    const b = Buffer.alloc(8);
    b.writeUInt16BE(1, 0);
    b.writeUInt16BE(8, 2);
    b.writeUInt8(spec.gotoTable, 4);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

export function encodeHello(xid: number): Buffer {
  const b = header(OFPT.HELLO, 16, xid);
  b.writeUInt16BE(1, 8); // OFPHET_VERSIONBITMAP
  b.writeUInt16BE(8, 10);
  b.writeUInt32BE(1 << OFP_VERSION, 12);
  return b;
}

export function encodeError(xid: number, errType: number, errCode: number, data: Buffer): Buffer {
  const b = header(OFPT.ERROR, 12 + data.length, xid);
  b.writeUInt16BE(errType, 8);
  b.writeUInt16BE(errCode, 10);
  data.copy(b, 12);
  return b;
}

export function encodeEcho(type: 'request' | 'reply', xid: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const b = header(type === 'request' ? OFPT.ECHO_REQUEST : OFPT.ECHO_REPLY, 8 + data.length, xid);
  data.copy(b, 8);
  return b;
}

export const encodeFeaturesRequest = (xid: number) => header(OFPT.FEATURES_REQUEST, 8, xid);
export const encodeBarrierRequest = (xid: number) => header(OFPT.BARRIER_REQUEST, 8, xid);

export function encodeSetConfig(xid: number): Buffer {
  const b = header(OFPT.SET_CONFIG, 12, xid);
  b.writeUInt16BE(0, 8);
  b.writeUInt16BE(OFPCML_NO_BUFFER, 10);
  return b;
}

function multipartRequest(xid: number, mpType: number, body: Buffer): Buffer {
  const b = header(OFPT.MULTIPART_REQUEST, 16 + body.length, xid);
  b.writeUInt16BE(mpType, 8);
  body.copy(b, 16);
  return b;
}

export const encodePortDescRequest = (xid: number) => multipartRequest(xid, MP_PORT_DESC, Buffer.alloc(0));

export function encodeFlowStatsRequest(xid: number, cookie = 0n, cookieMask = 0n): Buffer {
  const match = encodeMatch({});
  const body = Buffer.alloc(32 + match.length);
  body.writeUInt8(0xff, 0); // all tables
  body.writeUInt32BE(OFPP.ANY, 4);
  body.writeUInt32BE(OFPP.ANY, 8);
  body.writeBigUInt64BE(cookie, 16);
  body.writeBigUInt64BE(cookieMask, 24);
  match.copy(body, 32);
  return multipartRequest(xid, MP_FLOW, body);
}

export interface FlowModOptions {
  command: number;
  cookieMask?: bigint;
  outPort?: number;
}

export function encodeFlowMod(xid: number, spec: FlowSpec, opts: FlowModOptions): Buffer {
  const match = encodeMatch(spec.match);
  const isDelete = opts.command === FLOW_CMD.DELETE || opts.command === FLOW_CMD.DELETE_STRICT;
  const inst = isDelete ? Buffer.alloc(0) : encodeInstructions(spec);
  const b = header(OFPT.FLOW_MOD, 48 + match.length + inst.length, xid);
  b.writeBigUInt64BE(spec.cookie, 8);
  b.writeBigUInt64BE(opts.cookieMask ?? 0n, 16);
  b.writeUInt8(spec.tableId, 24);
  b.writeUInt8(opts.command, 25);
  b.writeUInt16BE(spec.idleTimeout ?? 0, 26);
  b.writeUInt16BE(spec.hardTimeout ?? 0, 28);
  b.writeUInt16BE(spec.priority, 30);
  b.writeUInt32BE(NO_BUFFER, 32);
  b.writeUInt32BE(opts.outPort ?? OFPP.ANY, 36);
  b.writeUInt32BE(OFPP.ANY, 40); // out_group
  b.writeUInt16BE(0, 44);
  match.copy(b, 48);
  inst.copy(b, 48 + match.length);
  return b;
}

export function encodePacketOut(
  xid: number,
  inPort: number,
  actions: readonly Action[],
  data: Buffer,
): Buffer {
  const acts = encodeActions(actions);
  const b = header(OFPT.PACKET_OUT, 24 + acts.length + data.length, xid);
  b.writeUInt32BE(NO_BUFFER, 8);
  b.writeUInt32BE(inPort >>> 0, 12);
  b.writeUInt16BE(acts.length, 16);
  acts.copy(b, 24);
  data.copy(b, 24 + acts.length);
  return b;
}

export function encodePortMod(xid: number, portNo: number, hwAddr: string, down: boolean): Buffer {
  const b = header(OFPT.PORT_MOD, 40, xid);
  b.writeUInt32BE(portNo >>> 0, 8);
  macToBytes(hwAddr).copy(b, 16);
  b.writeUInt32BE(down ? OFPPC_PORT_DOWN : 0, 24);
  b.writeUInt32BE(OFPPC_PORT_DOWN, 28);
  return b;
}

function decodePort(buf: Buffer, off: number): WirePort {
  if (off + 64 > buf.length) throw new WireDecodeError('truncated ofp_port');
  const nameRaw = buf.subarray(off + 16, off + 32);
  const nul = nameRaw.indexOf(0);
  return {
    portNo: buf.readUInt32BE(off),
    hwAddr: bytesToMac(buf.subarray(off + 8, off + 14)),
    name: nameRaw.subarray(0, nul < 0 ? 16 : nul).toString('latin1'),
    config: buf.readUInt32BE(off + 32),
    state: buf.readUInt32BE(off + 36),
    currSpeedKbps: buf.readUInt32BE(off + 56),
  };
}

function decodeFlowStats(buf: Buffer, off: number, end: number): WireFlowStats[] {
  const out: WireFlowStats[] = [];
  let p = off;
  while (p + 56 <= end) {
    const len = buf.readUInt16BE(p);
    if (len < 56 || p + len > end) throw new WireDecodeError(`bad flow stats length ${len}`);
    const { match, unknown, size } = decodeMatch(buf, p + 48);
    const fs: WireFlowStats = {
      tableId: buf.readUInt8(p + 2),
      durationSec: buf.readUInt32BE(p + 4),
      priority: buf.readUInt16BE(p + 12),
      idleTimeout: buf.readUInt16BE(p + 14),
      hardTimeout: buf.readUInt16BE(p + 16),
      cookie: buf.readBigUInt64BE(p + 24),
      packetCount: buf.readBigUInt64BE(p + 32),
      byteCount: buf.readBigUInt64BE(p + 40),
      match,
      unknownFields: unknown,
      apply: [],
    };
    let q = p + 48 + size;
    while (q + 4 <= p + len) {
      const it = buf.readUInt16BE(q);
      const ilen = buf.readUInt16BE(q + 2);
      if (ilen < 8) throw new WireDecodeError(`bad instruction length ${ilen}`);
      if (it === 1) fs.gotoTable = buf.readUInt8(q + 4);
      else if (it === 4) fs.apply.push(...decodeActions(buf, q + 8, q + ilen));
      else fs.apply.push({ type: 'unknown', code: 1000 + it });
      q += ilen;
    }
    out.push(fs);
    p += len;
  }
  return out;
}

/** Decodes one whole message (as split by WireFramer). Throws WireDecodeError on malformed input. */
export function decodeMessage(buf: Buffer): WireMessage {
  if (buf.length < 8) throw new WireDecodeError('short header');
  const version = buf.readUInt8(0);
  const type = buf.readUInt8(1);
  const len = buf.readUInt16BE(2);
  const xid = buf.readUInt32BE(4);
  if (len !== buf.length) throw new WireDecodeError(`length ${len} != ${buf.length}`);
  try {
    if (type === OFPT.HELLO) {
      let bitmap: number | undefined;
      let p = 8;
      while (p + 4 <= len) {
        const et = buf.readUInt16BE(p);
        const el = buf.readUInt16BE(p + 2);
        if (el < 4) break;
        if (et === 1 && el >= 8) bitmap = buf.readUInt32BE(p + 4);
        p += pad8(el);
      }
      return { type: 'hello', xid, version, bitmap };
    }
    if (version !== OFP_VERSION) return { type: 'other', xid, ofType: type, version };
    switch (type) {
      case OFPT.ERROR:
        return {
          type: 'error',
          xid,
          errType: buf.readUInt16BE(8),
          errCode: buf.readUInt16BE(10),
          data: buf.subarray(12),
        };
      case OFPT.ECHO_REQUEST:
        return { type: 'echo_request', xid, data: buf.subarray(8) };
      case OFPT.ECHO_REPLY:
        return { type: 'echo_reply', xid, data: buf.subarray(8) };
      case OFPT.FEATURES_REPLY:
        if (len < 32) throw new WireDecodeError('short features_reply');
        return {
          type: 'features_reply',
          xid,
          datapathId: buf.readBigUInt64BE(8),
          nBuffers: buf.readUInt32BE(16),
          nTables: buf.readUInt8(20),
          auxiliaryId: buf.readUInt8(21),
        };
      case OFPT.PACKET_IN: {
        const { match, size } = decodeMatch(buf, 24);
        return {
          type: 'packet_in',
          xid,
          reason: buf.readUInt8(14),
          tableId: buf.readUInt8(15),
          cookie: buf.readBigUInt64BE(16),
          inPort: match.inPort ?? 0,
          data: buf.subarray(24 + size + 2),
        };
      }
      case OFPT.PORT_STATUS:
        return { type: 'port_status', xid, reason: buf.readUInt8(8), port: decodePort(buf, 16) };
      case OFPT.MULTIPART_REPLY: {
        const mp = buf.readUInt16BE(8);
        const more = (buf.readUInt16BE(10) & 1) === 1;
        if (mp === MP_PORT_DESC) {
          const ports: WirePort[] = [];
          for (let p = 16; p + 64 <= len; p += 64) ports.push(decodePort(buf, p));
          return { type: 'port_desc_reply', xid, more, ports };
        }
        if (mp === MP_FLOW)
          return { type: 'flow_stats_reply', xid, more, flows: decodeFlowStats(buf, 16, len) };
        return { type: 'other', xid, ofType: type, version };
      }
      case OFPT.BARRIER_REPLY:
        return { type: 'barrier_reply', xid };
      default:
        return { type: 'other', xid, ofType: type, version };
    }
  } catch (err) {
    if (err instanceof WireDecodeError) throw err;
    throw new WireDecodeError(`malformed ${TYPE_NAMES[type] ?? type}: ${(err as Error).message}`);
  }
}

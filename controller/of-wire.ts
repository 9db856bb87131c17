// The OpenFlow 1.3 messages the controller core sends and receives, in the core's own small
// shapes (FlowSpec, WireMessage), encoded and decoded by the team codec (controller/openflow/).
// Only HELLOs of other versions are read here: version negotiation must understand a switch
// the 1.3 codec rejects.
import type { Action, FlowMatch, FlowSpec } from './flows/flow-spec.js';
import {
  type Action as OfpAction,
  decode,
  encode,
  type Instruction,
  isOpaqueOxm,
  type Match,
  matchOf,
  OfpDecodeError,
  OfpFramer,
  type OfpMessage,
  type OxmValue,
  output,
  type Port,
} from './openflow/index.js';

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

/** ERROR type/code names come from the codec's table. */
export { errorName } from './openflow/index.js';

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
  /** OXM fields the core does not model, by name; a flow with any is never ours */
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

const asWireError = (err: unknown): unknown =>
  err instanceof OfpDecodeError ? new WireDecodeError(err.message) : err;

/** Splits a byte stream into whole OpenFlow messages. */
export class WireFramer {
  private readonly framer = new OfpFramer();

  push(chunk: Buffer): Buffer[] {
    try {
      return this.framer.push(chunk);
    } catch (err) {
      throw asWireError(err);
    }
  }
}

export function macToBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`bad MAC ${mac}`);
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

// ---- core shapes <-> codec shapes ----

/** Match fields in prerequisite order (OVS rejects e.g. ipv4_dst before eth_type). */
const MATCH_FIELDS: [keyof FlowMatch, string][] = [
  ['inPort', 'in_port'],
  ['ethDst', 'eth_dst'],
  ['ethSrc', 'eth_src'],
  ['ethType', 'eth_type'],
  ['ipProto', 'ip_proto'],
  ['ipv4Dst', 'ipv4_dst'],
  ['tcpSrc', 'tcp_src'],
  ['tcpDst', 'tcp_dst'],
  ['arpTpa', 'arp_tpa'],
];

export function toMatch(m: FlowMatch): Match {
  const fields: Record<string, OxmValue> = {};
  for (const [k, name] of MATCH_FIELDS) {
    const v = m[k];
    if (v !== undefined) fields[name] = typeof v === 'string' ? v.toLowerCase() : v;
  }
  return matchOf(fields);
}

function fromMatch(match: Match): { match: FlowMatch; unknown: string[] } {
  const out: FlowMatch = {};
  const unknown: string[] = [];
  for (const f of match.fields) {
    if (isOpaqueOxm(f)) {
      unknown.push(`oxm${f.oxmClass.toString(16)}:${f.oxmField}`);
      continue;
    }
    const known = f.mask === undefined ? MATCH_FIELDS.find(([, n]) => n === f.field) : undefined;
    if (!known) {
      unknown.push(f.field);
      continue;
    }
    const [key] = known;
    const v = f.value;
    if (key === 'inPort' || key === 'ethType' || key === 'ipProto' || key === 'tcpSrc' || key === 'tcpDst')
      out[key] = Number(v);
    else out[key] = String(v).toLowerCase();
  }
  return { match: out, unknown };
}

export function toActions(actions: readonly Action[]): OfpAction[] {
  return actions.map((a): OfpAction => {
    if (a.type === 'output') return output(a.port);
    if (a.type === 'set_eth_dst')
      return { type: 'set_field', field: { field: 'eth_dst', value: a.mac.toLowerCase() } };
    throw new Error(`cannot encode unknown action ${a.code}`);
  });
}

const ACTION_CODE: Record<string, number> = {
  set_field: 25,
  group: 22,
  push_vlan: 17,
  pop_vlan: 18,
  experimenter: 0xffff,
};

function fromActions(actions: readonly OfpAction[]): Action[] {
  return actions.map((a): Action => {
    if (a.type === 'output') return { type: 'output', port: a.port };
    if (
      a.type === 'set_field' &&
      !isOpaqueOxm(a.field) &&
      a.field.field === 'eth_dst' &&
      a.field.mask === undefined
    )
      return { type: 'set_eth_dst', mac: String(a.field.value).toLowerCase() };
    return { type: 'unknown', code: ACTION_CODE[a.type] ?? 0xfffe };
  });
}

function toInstructions(spec: FlowSpec): Instruction[] {
  const out: Instruction[] = [];
  if (spec.apply.length) out.push({ type: 'apply_actions', actions: toActions(spec.apply) });
  if (spec.gotoTable !== undefined) out.push({ type: 'goto_table', table_id: spec.gotoTable });
  return out;
}

function fromPort(p: Port): WirePort {
  return {
    portNo: p.port_no,
    hwAddr: p.hw_addr.toLowerCase(),
    name: p.name,
    config: p.config,
    state: p.state,
    currSpeedKbps: p.curr_speed,
  };
}

// ---- encoders ----

export const encodeHello = (xid: number): Buffer =>
  encode({ type: 'hello', xid, elements: [{ type: 1, versions: [OFP_VERSION] }] });

export const encodeError = (xid: number, errType: number, errCode: number, data: Buffer): Buffer =>
  encode({ type: 'error', xid, err_type: errType, code: errCode, data });

export const encodeEcho = (kind: 'request' | 'reply', xid: number, data: Buffer = Buffer.alloc(0)): Buffer =>
  encode({ type: kind === 'request' ? 'echo_request' : 'echo_reply', xid, data });

export const encodeFeaturesRequest = (xid: number) => encode({ type: 'features_request', xid });
export const encodeBarrierRequest = (xid: number) => encode({ type: 'barrier_request', xid });
export const encodeSetConfig = (xid: number) =>
  encode({ type: 'set_config', xid, flags: 0, miss_send_len: OFPCML_NO_BUFFER });
export const encodePortDescRequest = (xid: number) =>
  encode({ type: 'multipart_request', xid, flags: 0, body: { kind: 'port_desc' } });

export function encodeFlowStatsRequest(xid: number, cookie = 0n, cookieMask = 0n): Buffer {
  return encode({
    type: 'multipart_request',
    xid,
    flags: 0,
    body: {
      kind: 'flow',
      table_id: 0xff,
      out_port: OFPP.ANY,
      out_group: OFPP.ANY,
      cookie,
      cookie_mask: cookieMask,
      match: toMatch({}),
    },
  });
}

export interface FlowModOptions {
  command: number;
  cookieMask?: bigint;
  outPort?: number;
}

export function encodeFlowMod(xid: number, spec: FlowSpec, opts: FlowModOptions): Buffer {
  const isDelete = opts.command === FLOW_CMD.DELETE || opts.command === FLOW_CMD.DELETE_STRICT;
  return encode({
    type: 'flow_mod',
    xid,
    cookie: spec.cookie,
    cookie_mask: opts.cookieMask ?? 0n,
    table_id: spec.tableId,
    command: opts.command,
    idle_timeout: spec.idleTimeout ?? 0,
    hard_timeout: spec.hardTimeout ?? 0,
    priority: spec.priority,
    buffer_id: NO_BUFFER,
    out_port: opts.outPort ?? OFPP.ANY,
    out_group: OFPP.ANY,
    flags: 0,
    match: toMatch(spec.match),
    instructions: isDelete ? [] : toInstructions(spec),
  });
}

export const encodePacketOut = (
  xid: number,
  inPort: number,
  actions: readonly Action[],
  data: Buffer,
): Buffer =>
  encode({
    type: 'packet_out',
    xid,
    buffer_id: NO_BUFFER,
    in_port: inPort,
    actions: toActions(actions),
    data,
  });

export const encodePortMod = (xid: number, portNo: number, hwAddr: string, down: boolean): Buffer =>
  encode({
    type: 'port_mod',
    xid,
    port_no: portNo,
    hw_addr: hwAddr,
    config: down ? OFPPC_PORT_DOWN : 0,
    mask: OFPPC_PORT_DOWN,
    advertise: 0,
  });

// ---- decoder ----

/** A HELLO of any version: its header version and VERSIONBITMAP, if any. */
function decodeForeignHello(buf: Buffer, xid: number): WireMessage {
  const version = buf.readUInt8(0);
  let bitmap: number | undefined;
  let p = 8;
  while (p + 4 <= buf.length) {
    const et = buf.readUInt16BE(p);
    const el = buf.readUInt16BE(p + 2);
    if (el < 4) break;
    if (et === 1 && el >= 8 && p + 8 <= buf.length) bitmap = buf.readUInt32BE(p + 4);
    p += (el + 7) & ~7;
  }
  return { type: 'hello', xid, version, bitmap };
}

function fromCodec(m: OfpMessage, ofType: number): WireMessage {
  const xid = m.xid;
  switch (m.type) {
    case 'hello': {
      const versions = m.elements.find((e) => e.type === 1)?.versions;
      const bitmap = versions?.reduce((acc, v) => (acc | (1 << v)) >>> 0, 0);
      return { type: 'hello', xid, version: OFP_VERSION, bitmap };
    }
    case 'error':
      return { type: 'error', xid, errType: m.err_type, errCode: m.code, data: m.data };
    case 'echo_request':
    case 'echo_reply':
      return { type: m.type, xid, data: m.data };
    case 'features_reply':
      return {
        type: 'features_reply',
        xid,
        datapathId: m.datapath_id,
        nBuffers: m.n_buffers,
        nTables: m.n_tables,
        auxiliaryId: m.auxiliary_id,
      };
    case 'packet_in':
      return {
        type: 'packet_in',
        xid,
        reason: m.reason,
        tableId: m.table_id,
        cookie: m.cookie,
        inPort: fromMatch(m.match).match.inPort ?? 0,
        data: m.data,
      };
    case 'port_status':
      return { type: 'port_status', xid, reason: m.reason, port: fromPort(m.desc) };
    case 'multipart_reply': {
      const more = (m.flags & 1) === 1;
      if (m.body.kind === 'port_desc')
        return { type: 'port_desc_reply', xid, more, ports: m.body.body.map(fromPort) };
      if (m.body.kind === 'flow') {
        const flows = m.body.body.map((f): WireFlowStats => {
          const { match, unknown } = fromMatch(f.match);
          const apply: Action[] = [];
          let gotoTable: number | undefined;
          for (const i of f.instructions) {
            if (i.type === 'apply_actions') apply.push(...fromActions(i.actions));
            else if (i.type === 'goto_table') gotoTable = i.table_id;
            else apply.push({ type: 'unknown', code: 1000 });
          }
          return {
            tableId: f.table_id,
            durationSec: f.duration_sec,
            priority: f.priority,
            idleTimeout: f.idle_timeout,
            hardTimeout: f.hard_timeout,
            cookie: f.cookie,
            packetCount: f.packet_count,
            byteCount: f.byte_count,
            match,
            unknownFields: unknown,
            apply,
            gotoTable,
          };
        });
        return { type: 'flow_stats_reply', xid, more, flows };
      }
      return { type: 'other', xid, ofType, version: OFP_VERSION };
    }
    case 'barrier_reply':
      return { type: 'barrier_reply', xid };
    default:
      return { type: 'other', xid, ofType, version: OFP_VERSION };
  }
}

/** Decodes one whole message (as split by WireFramer). Throws WireDecodeError on malformed input. */
export function decodeMessage(buf: Buffer): WireMessage {
  if (buf.length < 8) throw new WireDecodeError('short header');
  const version = buf.readUInt8(0);
  const ofType = buf.readUInt8(1);
  const xid = buf.readUInt32BE(4);
  if (buf.readUInt16BE(2) !== buf.length)
    throw new WireDecodeError(`length ${buf.readUInt16BE(2)} != ${buf.length}`);
  if (version !== OFP_VERSION) {
    if (ofType === OFPT.HELLO) return decodeForeignHello(buf, xid);
    return { type: 'other', xid, ofType, version };
  }
  let m: OfpMessage;
  try {
    m = decode(buf);
  } catch (err) {
    const e = asWireError(err);
    if (e instanceof WireDecodeError)
      throw new WireDecodeError(`malformed ${TYPE_NAMES[ofType] ?? ofType}: ${e.message}`);
    throw e;
  }
  return fromCodec(m, ofType);
}

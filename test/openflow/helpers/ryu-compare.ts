// Compares a decoded message with Ryu's JSON form of the same bytes, field by field. Each Ryu
// class maps to a "view" of our value with Ryu's field names; lengths (len, length,
// actions_len) are not compared here because the byte-exact round trip already proves them.
// Experimenter bodies that our codec keeps opaque (Nicira actions, the ONF flow monitor body)
// are compared on their experimenter id and subtype; the rest of their fields is Ryu's decoding
// of bytes we carry unchanged.
import { ACTION_CODES, INSTRUCTION_CODES, OFPMP, oxmHeaderInfo } from '../../../controller/openflow/index.js';
import type { Json } from './big-json.js';

const LENGTHS = new Set(['len', 'length', 'actions_len']);
const OPAQUE_REST = Symbol('opaque rest');
type View = Record<string, unknown> & { [OPAQUE_REST]?: boolean };
// biome-ignore lint/suspicious/noExplicitAny: walks arbitrary decoded structures
type AnyObj = Record<string, any>;

const MP_CLASSES: Record<string, [string, keyof typeof OFPMP]> = {};
for (const [name, kind] of Object.entries({
  Desc: 'desc',
  Flow: 'flow',
  Aggregate: 'aggregate',
  Table: 'table',
  PortStats: 'port_stats',
  Queue: 'queue',
  Group: 'group',
  GroupDesc: 'group_desc',
  GroupFeatures: 'group_features',
  Meter: 'meter',
  MeterConfig: 'meter_config',
  MeterFeatures: 'meter_features',
  TableFeatures: 'table_features',
  PortDesc: 'port_desc',
  Experimenter: 'experimenter',
} as const)) {
  // Ryu says OFPPortStatsRequest, not OFPPortStatsStatsRequest
  const base = name === 'PortStats' ? 'OFPPortStats' : `OFP${name}Stats`;
  MP_CLASSES[`${base}Request`] = ['multipart_request', kind];
  MP_CLASSES[`${base}Reply`] = ['multipart_reply', kind];
}

const SIMPLE_MESSAGES: Record<string, string> = {
  OFPHello: 'hello',
  OFPEchoRequest: 'echo_request',
  OFPEchoReply: 'echo_reply',
  OFPExperimenter: 'experimenter',
  OFPFeaturesRequest: 'features_request',
  OFPSwitchFeatures: 'features_reply',
  OFPGetConfigRequest: 'get_config_request',
  OFPGetConfigReply: 'get_config_reply',
  OFPSetConfig: 'set_config',
  OFPPacketIn: 'packet_in',
  OFPFlowRemoved: 'flow_removed',
  OFPPortStatus: 'port_status',
  OFPPacketOut: 'packet_out',
  OFPFlowMod: 'flow_mod',
  OFPPortMod: 'port_mod',
  OFPTableMod: 'table_mod',
  OFPBarrierRequest: 'barrier_request',
  OFPBarrierReply: 'barrier_reply',
  OFPQueueGetConfigRequest: 'queue_get_config_request',
  OFPQueueGetConfigReply: 'queue_get_config_reply',
  OFPRoleRequest: 'role_request',
  OFPRoleReply: 'role_reply',
  OFPGetAsyncRequest: 'get_async_request',
  OFPGetAsyncReply: 'get_async_reply',
  OFPSetAsync: 'set_async',
  OFPMeterMod: 'meter_mod',
};

const SINGLE_BODY = new Set(['desc', 'aggregate', 'group_features', 'experimenter']);
/** replies Ryu shows as a one-element list */
const LIST_OF_ONE = new Set(['meter_features']);

/** Our value seen through Ryu's class `cls`, or a string saying why it is not that class. */
function view(cls: string, v: AnyObj): View | string {
  if (SIMPLE_MESSAGES[cls]) {
    if (v.type !== SIMPLE_MESSAGES[cls]) return `expected ${SIMPLE_MESSAGES[cls]}, got ${v.type}`;
    return v;
  }
  if (cls === 'OFPErrorMsg')
    return { type: v.err_type, code: v.code, data: v.data, experimenter: v.experimenter };
  if (cls === 'ONFFlowMonitorStatsRequest') {
    return { flags: v.flags, type: OFPMP.experimenter, ...v.body, [OPAQUE_REST]: true };
  }
  const mp = MP_CLASSES[cls];
  if (mp) {
    if (v.type !== mp[0] || v.body?.kind !== mp[1])
      return `expected ${mp[0]} ${mp[1]}, got ${v.type} ${v.body?.kind}`;
    const out: View = { flags: v.flags, type: OFPMP[mp[1]], ...v.body };
    if (mp[0] === 'multipart_reply' && SINGLE_BODY.has(mp[1])) out.body = v.body;
    if (mp[0] === 'multipart_reply' && LIST_OF_ONE.has(mp[1])) out.body = [v.body];
    return out;
  }
  switch (cls) {
    case 'OFPHelloElemVersionBitmap':
      return v.type === 1 ? v : 'not a version bitmap';
    case 'OFPMatch':
      return { type: v.type, oxm_fields: v.fields };
    case 'OXMTlv':
      return v.field === 'unknown'
        ? `an OXM field we did not name (class ${v.oxmClass} field ${v.oxmField})`
        : v;
    case 'OFPInstructionActions':
      return { ...v, type: INSTRUCTION_CODES[v.type as keyof typeof INSTRUCTION_CODES] };
    case 'OFPInstructionGotoTable':
    case 'OFPInstructionWriteMetadata':
    case 'OFPInstructionMeter':
      return { ...v, type: INSTRUCTION_CODES[v.type as keyof typeof INSTRUCTION_CODES] };
    case 'OFPActionExperimenterUnknown':
      return { type: 0xffff, experimenter: v.experimenter, data: v.data };
    case 'OFPPort':
    case 'OFPBucket':
    case 'OFPTableStats':
    case 'OFPQueueStats':
    case 'OFPGroupStats':
    case 'OFPBucketCounter':
    case 'OFPMeterConfigStats':
    case 'OFPFlowStats':
    case 'OFPPortStats':
    case 'OFPMeterStats':
    case 'OFPPacketQueue':
    case 'OFPTableFeaturesStats':
    case 'OFPDescStats':
    case 'OFPAggregateStats':
    case 'OFPGroupFeaturesStats':
    case 'OFPMeterFeaturesStats':
    case 'OFPExperimenterMultipart':
      return v;
    case 'OFPGroupDescStats':
      return v;
    case 'OFPMeterBandDrop':
    case 'OFPMeterBandDscpRemark':
    case 'OFPMeterBandExperimenter':
      return { ...v, type: { drop: 1, dscp_remark: 2, experimenter: 0xffff }[v.type as string] };
    case 'OFPQueuePropMinRate':
    case 'OFPQueuePropMaxRate':
    case 'OFPQueuePropExperimenter':
      return { ...v, property: { min_rate: 1, max_rate: 2, experimenter: 0xffff }[v.type as string] };
    case 'OFPTableFeaturePropInstructions':
      return { type: v.type, instruction_ids: v.ids };
    case 'OFPTableFeaturePropActions':
      return { type: v.type, action_ids: v.ids };
    case 'OFPTableFeaturePropNextTables':
      return { type: v.type, table_ids: v.table_ids };
    case 'OFPTableFeaturePropOxm':
      return { type: v.type, oxm_ids: v.oxm_ids };
    case 'OFPTableFeaturePropExperimenter':
      return { type: v.type, experimenter: v.experimenter, exp_type: v.exp_type, data: v.data };
    case 'OFPInstructionId':
    case 'OFPActionId':
      return { type: v.type };
  }
  if (cls.startsWith('OFPAction')) {
    if (v.type === 'experimenter') return `expected ${cls}, got an experimenter action`;
    return { ...v, type: ACTION_CODES[v.type as keyof typeof ACTION_CODES] };
  }
  if (cls.startsWith('NXAction')) {
    if (v.type !== 'experimenter') return `expected ${cls}, got ${v.type}`;
    return {
      type: 0xffff,
      experimenter: v.experimenter,
      subtype: v.data.readUInt16BE(0),
      [OPAQUE_REST]: true,
    };
  }
  return `no view for Ryu class ${cls}`;
}

function isClassNode(j: Json): j is { [k: string]: Json } {
  if (j === null || typeof j !== 'object' || Array.isArray(j)) return false;
  const keys = Object.keys(j);
  return keys.length === 1 && /^[A-Z]/.test(keys[0]);
}

/**
 * Ryu shows PACKET_OUT data it could parse as a decoded packet (ethernet/ipv4/icmp). We carry
 * the bytes unchanged, so read the same headers out of them and compare every field Ryu shows;
 * a protocol we do not read here is a mismatch, never a silent pass.
 */
function packetMismatches(p: AnyObj, data: Buffer, path: string): string[] {
  const out: string[] = [];
  const mac = (o: number) =>
    Array.from(data.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
  const ip4 = (o: number) => Array.from(data.subarray(o, o + 4)).join('.');
  let o = 0;
  for (const [i, proto] of (p.protocols as AnyObj[]).entries()) {
    const [name] = Object.keys(proto);
    const at = `${path}.Packet.protocols[${i}].${name}`;
    let mine: AnyObj;
    if (name === 'ethernet') {
      mine = { dst: mac(o), src: mac(o + 6), ethertype: data.readUInt16BE(o + 12) };
      o += 14;
    } else if (name === 'ipv4') {
      const ihl = data[o] & 0x0f;
      mine = {
        version: data[o] >> 4,
        header_length: ihl,
        tos: data[o + 1],
        total_length: data.readUInt16BE(o + 2),
        identification: data.readUInt16BE(o + 4),
        flags: data[o + 6] >> 5,
        offset: data.readUInt16BE(o + 6) & 0x1fff,
        ttl: data[o + 8],
        proto: data[o + 9],
        csum: data.readUInt16BE(o + 10),
        src: ip4(o + 12),
        dst: ip4(o + 16),
        option: ihl > 5 ? data.subarray(o + 20, o + ihl * 4) : null,
      };
      o += ihl * 4;
    } else if (name === 'icmp') {
      const type = data[o];
      mine = { type, code: data[o + 1], csum: data.readUInt16BE(o + 2) };
      if (type === 0 || type === 8) {
        mine.data = {
          echo: { id: data.readUInt16BE(o + 4), seq: data.readUInt16BE(o + 6), data: data.subarray(o + 8) },
        };
      }
    } else {
      out.push(`${at}: protocol not checked by this test`);
      continue;
    }
    out.push(...compareWithRyu(proto[name] as Json, mine, at));
  }
  return out;
}

export function compareWithRyu(ryu: Json, mine: unknown, path = ''): string[] {
  if (isClassNode(ryu)) {
    const cls = Object.keys(ryu)[0];
    const fields = ryu[cls] as { [k: string]: Json };
    if (cls === 'Packet') {
      return Buffer.isBuffer(mine)
        ? packetMismatches(fields, mine, path)
        : [`${path}: expected packet bytes`];
    }
    if (cls === 'OFPOxmId' && typeof mine === 'number') {
      const info = oxmHeaderInfo(mine);
      const ok = info.field === fields.type && Boolean(fields.hasmask) === info.hasMask;
      return ok
        ? []
        : [
            `${path}: OXM id ${info.field}/${info.hasMask} vs ${String(fields.type)}/${String(fields.hasmask)}`,
          ];
    }
    if (mine === null || typeof mine !== 'object') return [`${path}: expected ${cls}, got ${String(mine)}`];
    const v = view(cls, mine as AnyObj);
    if (typeof v === 'string') return [`${path}: ${v}`];
    const out: string[] = [];
    for (const [k, rv] of Object.entries(fields)) {
      if (LENGTHS.has(k)) continue;
      if (!(k in v)) {
        if (v[OPAQUE_REST]) continue;
        if (rv === null) continue;
        out.push(`${path}.${cls}.${k}: missing in our decoding`);
        continue;
      }
      out.push(...compareWithRyu(rv, v[k], `${path}.${cls}.${k}`));
    }
    return out;
  }
  if (Array.isArray(ryu) && Buffer.isBuffer(mine)) {
    // Ryu shows some experimenter data as a list of 32-bit words
    const words = [];
    for (let i = 0; i + 4 <= mine.length; i += 4) words.push(mine.readUInt32BE(i));
    return compareWithRyu(ryu, mine.length % 4 === 0 ? words : [...mine], path);
  }
  if (Array.isArray(ryu)) {
    if (!Array.isArray(mine)) return [`${path}: expected a list`];
    if (ryu.length !== mine.length) return [`${path}: ${ryu.length} items in Ryu, ${mine.length} here`];
    return ryu.flatMap((r, i) => compareWithRyu(r, mine[i], `${path}[${i}]`));
  }
  if (ryu === null)
    return mine === null || mine === undefined ? [] : [`${path}: expected null, got ${String(mine)}`];
  if (typeof ryu === 'number' || typeof ryu === 'bigint') {
    if (typeof mine !== 'number' && typeof mine !== 'bigint')
      return [`${path}: expected ${ryu}, got ${String(mine)}`];
    return BigInt(ryu) === BigInt(mine) ? [] : [`${path}: expected ${ryu}, got ${mine}`];
  }
  if (typeof ryu === 'string') {
    if (Buffer.isBuffer(mine)) {
      return mine.toString('base64') === ryu
        ? []
        : [`${path}: bytes differ (${ryu} vs ${mine.toString('base64')})`];
    }
    return ryu === mine ? [] : [`${path}: expected "${ryu}", got "${String(mine)}"`];
  }
  if (typeof ryu === 'object') {
    if (mine === null || typeof mine !== 'object') return [`${path}: expected an object`];
    return Object.entries(ryu).flatMap(([k, v]) =>
      compareWithRyu(v as Json, (mine as AnyObj)[k], `${path}.${k}`),
    );
  }
  return ryu === mine ? [] : [`${path}: expected ${String(ryu)}, got ${String(mine)}`];
}

// OpenFlow 1.3 numbers with their names.
import type { MultipartKind, OfpMessageType } from './types.js';

export const OFP_VERSION = 0x04;
export const OFP_HEADER_LEN = 8;
export const OFP_MAX_MESSAGE = 0xffff;

export const OFPT: Record<OfpMessageType, number> = {
  hello: 0,
  error: 1,
  echo_request: 2,
  echo_reply: 3,
  experimenter: 4,
  features_request: 5,
  features_reply: 6,
  get_config_request: 7,
  get_config_reply: 8,
  set_config: 9,
  packet_in: 10,
  flow_removed: 11,
  port_status: 12,
  packet_out: 13,
  flow_mod: 14,
  group_mod: 15,
  port_mod: 16,
  table_mod: 17,
  multipart_request: 18,
  multipart_reply: 19,
  barrier_request: 20,
  barrier_reply: 21,
  queue_get_config_request: 22,
  queue_get_config_reply: 23,
  role_request: 24,
  role_reply: 25,
  get_async_request: 26,
  get_async_reply: 27,
  set_async: 28,
  meter_mod: 29,
};

export const OFPT_NAME: Record<number, OfpMessageType> = Object.fromEntries(
  Object.entries(OFPT).map(([k, v]) => [v, k as OfpMessageType]),
);

export const OFPMP: Record<MultipartKind, number> = {
  desc: 0,
  flow: 1,
  aggregate: 2,
  table: 3,
  port_stats: 4,
  queue: 5,
  group: 6,
  group_desc: 7,
  group_features: 8,
  meter: 9,
  meter_config: 10,
  meter_features: 11,
  table_features: 12,
  port_desc: 13,
  experimenter: 0xffff,
};

export const OFPMP_NAME: Record<number, MultipartKind> = Object.fromEntries(
  Object.entries(OFPMP).map(([k, v]) => [v, k as MultipartKind]),
);

/** Reserved port numbers. */
export const OFPP_MAX = 0xffffff00;
export const OFPP_IN_PORT = 0xfffffff8;
export const OFPP_TABLE = 0xfffffff9;
export const OFPP_NORMAL = 0xfffffffa;
export const OFPP_FLOOD = 0xfffffffb;
export const OFPP_ALL = 0xfffffffc;
export const OFPP_CONTROLLER = 0xfffffffd;
export const OFPP_LOCAL = 0xfffffffe;
export const OFPP_ANY = 0xffffffff;

export const OFPG_MAX = 0xffffff00;
export const OFPG_ALL = 0xfffffffc;
export const OFPG_ANY = 0xffffffff;
export const OFPTT_ALL = 0xff;

export const OFP_NO_BUFFER = 0xffffffff;
export const OFPCML_NO_BUFFER = 0xffff;

export const OFPFC_ADD = 0;
export const OFPFC_MODIFY = 1;
export const OFPFC_MODIFY_STRICT = 2;
export const OFPFC_DELETE = 3;
export const OFPFC_DELETE_STRICT = 4;

export const OFPFF_SEND_FLOW_REM = 1 << 0;
export const OFPFF_CHECK_OVERLAP = 1 << 1;

export const OFPGC_ADD = 0;
export const OFPGC_MODIFY = 1;
export const OFPGC_DELETE = 2;
export const OFPGT_ALL = 0;
export const OFPGT_SELECT = 1;
export const OFPGT_INDIRECT = 2;
export const OFPGT_FF = 3;

export const OFPPC_PORT_DOWN = 1 << 0;
export const OFPPC_NO_RECV = 1 << 2;
export const OFPPC_NO_FWD = 1 << 5;
export const OFPPC_NO_PACKET_IN = 1 << 6;
export const OFPPS_LINK_DOWN = 1 << 0;
export const OFPPS_BLOCKED = 1 << 1;
export const OFPPS_LIVE = 1 << 2;

export const OFPPR_ADD = 0;
export const OFPPR_DELETE = 1;
export const OFPPR_MODIFY = 2;

export const OFPR_NO_MATCH = 0;
export const OFPR_ACTION = 1;
export const OFPR_INVALID_TTL = 2;

export const OFPMPF_REQ_MORE = 1;
export const OFPMPF_REPLY_MORE = 1;

export const OFPHET_VERSIONBITMAP = 1;

export const OFPCR_ROLE_NOCHANGE = 0;
export const OFPCR_ROLE_EQUAL = 1;
export const OFPCR_ROLE_MASTER = 2;
export const OFPCR_ROLE_SLAVE = 3;

const ERRORS: [string, string[]][] = [
  ['OFPET_HELLO_FAILED', ['OFPHFC_INCOMPATIBLE', 'OFPHFC_EPERM']],
  [
    'OFPET_BAD_REQUEST',
    [
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
  ],
  [
    'OFPET_BAD_ACTION',
    [
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
  ],
  [
    'OFPET_BAD_INSTRUCTION',
    [
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
  ],
  [
    'OFPET_BAD_MATCH',
    [
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
  ],
  [
    'OFPET_FLOW_MOD_FAILED',
    [
      'OFPFMFC_UNKNOWN',
      'OFPFMFC_TABLE_FULL',
      'OFPFMFC_BAD_TABLE_ID',
      'OFPFMFC_OVERLAP',
      'OFPFMFC_EPERM',
      'OFPFMFC_BAD_TIMEOUT',
      'OFPFMFC_BAD_COMMAND',
      'OFPFMFC_BAD_FLAGS',
    ],
  ],
  [
    'OFPET_GROUP_MOD_FAILED',
    [
      'OFPGMFC_GROUP_EXISTS',
      'OFPGMFC_INVALID_GROUP',
      'OFPGMFC_WEIGHT_UNSUPPORTED',
      'OFPGMFC_OUT_OF_GROUPS',
      'OFPGMFC_OUT_OF_BUCKETS',
      'OFPGMFC_CHAINING_UNSUPPORTED',
      'OFPGMFC_WATCH_UNSUPPORTED',
      'OFPGMFC_LOOP',
      'OFPGMFC_UNKNOWN_GROUP',
      'OFPGMFC_CHAINED_GROUP',
      'OFPGMFC_BAD_TYPE',
      'OFPGMFC_BAD_COMMAND',
      'OFPGMFC_BAD_BUCKET',
      'OFPGMFC_BAD_WATCH',
      'OFPGMFC_EPERM',
    ],
  ],
  [
    'OFPET_PORT_MOD_FAILED',
    [
      'OFPPMFC_BAD_PORT',
      'OFPPMFC_BAD_HW_ADDR',
      'OFPPMFC_BAD_CONFIG',
      'OFPPMFC_BAD_ADVERTISE',
      'OFPPMFC_EPERM',
    ],
  ],
  ['OFPET_TABLE_MOD_FAILED', ['OFPTMFC_BAD_TABLE', 'OFPTMFC_BAD_CONFIG', 'OFPTMFC_EPERM']],
  ['OFPET_QUEUE_OP_FAILED', ['OFPQOFC_BAD_PORT', 'OFPQOFC_BAD_QUEUE', 'OFPQOFC_EPERM']],
  ['OFPET_SWITCH_CONFIG_FAILED', ['OFPSCFC_BAD_FLAGS', 'OFPSCFC_BAD_LEN', 'OFPSCFC_EPERM']],
  ['OFPET_ROLE_REQUEST_FAILED', ['OFPRRFC_STALE', 'OFPRRFC_UNSUP', 'OFPRRFC_BAD_ROLE']],
  [
    'OFPET_METER_MOD_FAILED',
    [
      'OFPMMFC_UNKNOWN',
      'OFPMMFC_METER_EXISTS',
      'OFPMMFC_INVALID_METER',
      'OFPMMFC_UNKNOWN_METER',
      'OFPMMFC_BAD_COMMAND',
      'OFPMMFC_BAD_FLAGS',
      'OFPMMFC_BAD_RATE',
      'OFPMMFC_BAD_BURST',
      'OFPMMFC_BAD_BAND',
      'OFPMMFC_BAD_BAND_VALUE',
      'OFPMMFC_OUT_OF_METERS',
      'OFPMMFC_OUT_OF_BANDS',
    ],
  ],
  [
    'OFPET_TABLE_FEATURES_FAILED',
    [
      'OFPTFFC_BAD_TABLE',
      'OFPTFFC_BAD_METADATA',
      'OFPTFFC_BAD_TYPE',
      'OFPTFFC_BAD_LEN',
      'OFPTFFC_BAD_ARGUMENT',
      'OFPTFFC_EPERM',
    ],
  ],
];

export const OFPET_EXPERIMENTER = 0xffff;

/** Names of an ERROR message's type and code, e.g. { type: 'OFPET_BAD_ACTION', code: 'OFPBAC_BAD_OUT_PORT' }. */
export function errorName(type: number, code: number): { type: string; code: string } {
  if (type === OFPET_EXPERIMENTER) return { type: 'OFPET_EXPERIMENTER', code: `exp_type ${code}` };
  const entry = ERRORS[type];
  if (!entry) return { type: `OFPET_${type}`, code: String(code) };
  return { type: entry[0], code: entry[1][code] ?? String(code) };
}

/** The numbers of an error by name (for building ERROR messages). */
export function errorCode(typeName: string, codeName: string): { type: number; code: number } {
  const t = ERRORS.findIndex(([n]) => n === typeName);
  if (t < 0) throw new Error(`unknown error type ${typeName}`);
  const c = ERRORS[t][1].indexOf(codeName);
  if (c < 0) throw new Error(`unknown error code ${codeName} for ${typeName}`);
  return { type: t, code: c };
}

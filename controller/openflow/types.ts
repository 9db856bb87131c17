// OpenFlow 1.3 (wire version 0x04) messages as one discriminated union on `type`. Field names
// follow the specification's structures (buffer_id, table_id, ...); 64-bit values are bigint.
import type { Action, Instruction } from './actions.js';
import type { Match } from './oxm.js';
import type { Bucket, MeterBand, PacketQueue, Port, TableFeatures } from './structs.js';

export type { Action, Instruction } from './actions.js';
export type { Match, OxmField, OxmBasic, OxmOpaque, OxmValue } from './oxm.js';
export type {
  Bucket,
  MeterBand,
  PacketQueue,
  Port,
  QueueProp,
  TableFeatureProp,
  TableFeatures,
} from './structs.js';

export interface HelloElement {
  type: number;
  /** versions listed in a VERSIONBITMAP element (type 1) */
  versions?: number[];
  /** body of an element of another type */
  data?: Buffer;
}

export interface FlowStats {
  table_id: number;
  duration_sec: number;
  duration_nsec: number;
  priority: number;
  idle_timeout: number;
  hard_timeout: number;
  flags: number;
  cookie: bigint;
  packet_count: bigint;
  byte_count: bigint;
  match: Match;
  instructions: Instruction[];
}

export interface TableStats {
  table_id: number;
  active_count: number;
  lookup_count: bigint;
  matched_count: bigint;
}

export interface PortStats {
  port_no: number;
  rx_packets: bigint;
  tx_packets: bigint;
  rx_bytes: bigint;
  tx_bytes: bigint;
  rx_dropped: bigint;
  tx_dropped: bigint;
  rx_errors: bigint;
  tx_errors: bigint;
  rx_frame_err: bigint;
  rx_over_err: bigint;
  rx_crc_err: bigint;
  collisions: bigint;
  duration_sec: number;
  duration_nsec: number;
}

export interface QueueStats {
  port_no: number;
  queue_id: number;
  tx_bytes: bigint;
  tx_packets: bigint;
  tx_errors: bigint;
  duration_sec: number;
  duration_nsec: number;
}

export interface GroupStats {
  group_id: number;
  ref_count: number;
  packet_count: bigint;
  byte_count: bigint;
  duration_sec: number;
  duration_nsec: number;
  bucket_stats: { packet_count: bigint; byte_count: bigint }[];
}

export interface GroupDesc {
  type: number;
  group_id: number;
  buckets: Bucket[];
}

export interface MeterStats {
  meter_id: number;
  flow_count: number;
  packet_in_count: bigint;
  byte_in_count: bigint;
  duration_sec: number;
  duration_nsec: number;
  band_stats: { packet_band_count: bigint; byte_band_count: bigint }[];
}

export interface MeterConfig {
  flags: number;
  meter_id: number;
  bands: MeterBand[];
}

export interface FlowStatsRequestBody {
  table_id: number;
  out_port: number;
  out_group: number;
  cookie: bigint;
  cookie_mask: bigint;
  match: Match;
}

export interface ExperimenterBody {
  experimenter: number;
  exp_type: number;
  data: Buffer;
}

export type MultipartRequestBody =
  | { kind: 'desc' | 'table' | 'group_desc' | 'group_features' | 'meter_features' | 'port_desc' }
  | ({ kind: 'flow' | 'aggregate' } & FlowStatsRequestBody)
  | { kind: 'port_stats'; port_no: number }
  | { kind: 'queue'; port_no: number; queue_id: number }
  | { kind: 'group'; group_id: number }
  | { kind: 'meter' | 'meter_config'; meter_id: number }
  | { kind: 'table_features'; body: TableFeatures[] }
  | ({ kind: 'experimenter' } & ExperimenterBody);

export type MultipartReplyBody =
  | { kind: 'desc'; mfr_desc: string; hw_desc: string; sw_desc: string; serial_num: string; dp_desc: string }
  | { kind: 'flow'; body: FlowStats[] }
  | { kind: 'aggregate'; packet_count: bigint; byte_count: bigint; flow_count: number }
  | { kind: 'table'; body: TableStats[] }
  | { kind: 'port_stats'; body: PortStats[] }
  | { kind: 'queue'; body: QueueStats[] }
  | { kind: 'group'; body: GroupStats[] }
  | { kind: 'group_desc'; body: GroupDesc[] }
  | { kind: 'group_features'; types: number; capabilities: number; max_groups: number[]; actions: number[] }
  | { kind: 'meter'; body: MeterStats[] }
  | { kind: 'meter_config'; body: MeterConfig[] }
  | {
      kind: 'meter_features';
      max_meter: number;
      band_types: number;
      capabilities: number;
      max_bands: number;
      max_color: number;
    }
  | { kind: 'table_features'; body: TableFeatures[] }
  | { kind: 'port_desc'; body: Port[] }
  | ({ kind: 'experimenter' } & ExperimenterBody);

export type MultipartKind = MultipartRequestBody['kind'];

interface Header {
  xid: number;
}

export interface AsyncConfig {
  packet_in_mask: [number, number];
  port_status_mask: [number, number];
  flow_removed_mask: [number, number];
}

export type OfpMessage = Header &
  (
    | { type: 'hello'; elements: HelloElement[] }
    | { type: 'error'; err_type: number; code: number; data: Buffer; experimenter?: number }
    | { type: 'echo_request' | 'echo_reply'; data: Buffer }
    | ({ type: 'experimenter' } & ExperimenterBody)
    | { type: 'features_request' }
    | {
        type: 'features_reply';
        datapath_id: bigint;
        n_buffers: number;
        n_tables: number;
        auxiliary_id: number;
        capabilities: number;
        reserved: number;
      }
    | { type: 'get_config_request' }
    | { type: 'get_config_reply' | 'set_config'; flags: number; miss_send_len: number }
    | {
        type: 'packet_in';
        buffer_id: number;
        total_len: number;
        reason: number;
        table_id: number;
        cookie: bigint;
        match: Match;
        data: Buffer;
      }
    | {
        type: 'flow_removed';
        cookie: bigint;
        priority: number;
        reason: number;
        table_id: number;
        duration_sec: number;
        duration_nsec: number;
        idle_timeout: number;
        hard_timeout: number;
        packet_count: bigint;
        byte_count: bigint;
        match: Match;
      }
    | { type: 'port_status'; reason: number; desc: Port }
    | { type: 'packet_out'; buffer_id: number; in_port: number; actions: Action[]; data: Buffer }
    | {
        type: 'flow_mod';
        cookie: bigint;
        cookie_mask: bigint;
        table_id: number;
        command: number;
        idle_timeout: number;
        hard_timeout: number;
        priority: number;
        buffer_id: number;
        out_port: number;
        out_group: number;
        flags: number;
        match: Match;
        instructions: Instruction[];
      }
    | { type: 'group_mod'; command: number; group_type: number; group_id: number; buckets: Bucket[] }
    | { type: 'port_mod'; port_no: number; hw_addr: string; config: number; mask: number; advertise: number }
    | { type: 'table_mod'; table_id: number; config: number }
    | { type: 'multipart_request'; flags: number; body: MultipartRequestBody }
    | { type: 'multipart_reply'; flags: number; body: MultipartReplyBody }
    | { type: 'barrier_request' | 'barrier_reply' }
    | { type: 'queue_get_config_request'; port: number }
    | { type: 'queue_get_config_reply'; port: number; queues: PacketQueue[] }
    | { type: 'role_request' | 'role_reply'; role: number; generation_id: bigint }
    | { type: 'get_async_request' }
    | ({ type: 'get_async_reply' | 'set_async' } & AsyncConfig)
    | { type: 'meter_mod'; command: number; flags: number; meter_id: number; bands: MeterBand[] }
  );

export type OfpMessageType = OfpMessage['type'];

/** The message of one type, e.g. MessageOf<'flow_mod'>. */
export type MessageOf<T extends OfpMessageType> = Extract<OfpMessage, { type: T }>;

// decode(bytes) -> OfpMessage and encode(OfpMessage) -> bytes, for every OpenFlow 1.3 message.
// decode takes exactly one whole message and throws OfpDecodeError (only that) on bad input.
import { readActions, readInstructions, writeActions, writeInstructions } from './actions.js';
import { OFP_HEADER_LEN, OFP_VERSION, OFPMP, OFPMP_NAME, OFPT, OFPT_NAME } from './constants.js';
import { readMatch, writeMatch } from './oxm.js';
import {
  readBands,
  readBuckets,
  readPort,
  readQueues,
  readTableFeatures,
  writeBands,
  writeBuckets,
  writePort,
  writeQueues,
  writeTableFeatures,
} from './structs.js';
import type {
  FlowStats,
  GroupDesc,
  GroupStats,
  HelloElement,
  MeterConfig,
  MeterStats,
  MultipartReplyBody,
  MultipartRequestBody,
  OfpMessage,
  PortStats,
  QueueStats,
  TableStats,
} from './types.js';
import { OfpDecodeError, OfpEncodeError, Reader, Writer } from './wire.js';

export function decode(buf: Buffer): OfpMessage {
  if (buf.length < OFP_HEADER_LEN)
    throw new OfpDecodeError(`message shorter than the header (${buf.length} bytes)`, 0);
  const version = buf[0];
  const code = buf[1];
  const length = buf.readUInt16BE(2);
  const xid = buf.readUInt32BE(4);
  if (version !== OFP_VERSION)
    throw new OfpDecodeError(`version 0x${version.toString(16)} is not OpenFlow 1.3`, 0, code);
  if (length !== buf.length) {
    throw new OfpDecodeError(`header length ${length} but ${buf.length} bytes given`, 2, code);
  }
  const type = OFPT_NAME[code];
  if (type === undefined) throw new OfpDecodeError(`unknown message type ${code}`, 1, code);
  const r = new Reader(buf, OFP_HEADER_LEN, length, code);
  const msg = decodeBody(type, xid, r);
  if (r.left !== 0) r.fail(`${r.left} trailing bytes after the ${type} body`);
  return msg;
}

function decodeBody(type: OfpMessage['type'], xid: number, r: Reader): OfpMessage {
  switch (type) {
    case 'hello': {
      const elements: HelloElement[] = [];
      while (r.left > 0) {
        const start = r.pos;
        const et = r.u16();
        const len = r.u16();
        if (len < 4) r.fail(`hello element length ${len} < 4`, start);
        const b = r.sub(len - 4);
        r.skip(Math.min(r.left, (8 - (len % 8)) % 8));
        if (et === 1) {
          const versions: number[] = [];
          let word = 0;
          while (b.left >= 4) {
            const bits = b.u32();
            for (let i = 0; i < 32; i++) if (bits & (1 << i)) versions.push(word * 32 + i);
            word++;
          }
          if (b.left !== 0) b.fail('version bitmap is not a multiple of 4 bytes');
          elements.push({ type: et, versions });
        } else elements.push({ type: et, data: Buffer.from(b.rest()) });
      }
      return { type, xid, elements };
    }
    case 'error': {
      const err_type = r.u16();
      if (err_type === 0xffff) {
        const code = r.u16();
        const experimenter = r.u32();
        return { type, xid, err_type, code, experimenter, data: r.rest() };
      }
      return { type, xid, err_type, code: r.u16(), data: r.rest() };
    }
    case 'echo_request':
    case 'echo_reply':
      return { type, xid, data: r.rest() };
    case 'experimenter':
      return { type, xid, experimenter: r.u32(), exp_type: r.u32(), data: r.rest() };
    case 'features_request':
    case 'get_config_request':
    case 'barrier_request':
    case 'barrier_reply':
    case 'get_async_request':
      return { type, xid };
    case 'features_reply': {
      const datapath_id = r.u64();
      const n_buffers = r.u32();
      const n_tables = r.u8();
      const auxiliary_id = r.u8();
      r.skip(2);
      return {
        type,
        xid,
        datapath_id,
        n_buffers,
        n_tables,
        auxiliary_id,
        capabilities: r.u32(),
        reserved: r.u32(),
      };
    }
    case 'get_config_reply':
    case 'set_config':
      return { type, xid, flags: r.u16(), miss_send_len: r.u16() };
    case 'packet_in': {
      const buffer_id = r.u32();
      const total_len = r.u16();
      const reason = r.u8();
      const table_id = r.u8();
      const cookie = r.u64();
      const match = readMatch(r);
      r.skip(2);
      return { type, xid, buffer_id, total_len, reason, table_id, cookie, match, data: r.rest() };
    }
    case 'flow_removed': {
      const cookie = r.u64();
      const priority = r.u16();
      const reason = r.u8();
      const table_id = r.u8();
      const duration_sec = r.u32();
      const duration_nsec = r.u32();
      const idle_timeout = r.u16();
      const hard_timeout = r.u16();
      const packet_count = r.u64();
      const byte_count = r.u64();
      const match = readMatch(r);
      return {
        type,
        xid,
        cookie,
        priority,
        reason,
        table_id,
        duration_sec,
        duration_nsec,
        idle_timeout,
        hard_timeout,
        packet_count,
        byte_count,
        match,
      };
    }
    case 'port_status': {
      const reason = r.u8();
      r.skip(7);
      return { type, xid, reason, desc: readPort(r) };
    }
    case 'packet_out': {
      const buffer_id = r.u32();
      const in_port = r.u32();
      const actions_len = r.u16();
      r.skip(6);
      const actions = readActions(r.sub(actions_len));
      return { type, xid, buffer_id, in_port, actions, data: r.rest() };
    }
    case 'flow_mod': {
      const cookie = r.u64();
      const cookie_mask = r.u64();
      const table_id = r.u8();
      const command = r.u8();
      const idle_timeout = r.u16();
      const hard_timeout = r.u16();
      const priority = r.u16();
      const buffer_id = r.u32();
      const out_port = r.u32();
      const out_group = r.u32();
      const flags = r.u16();
      r.skip(2);
      const match = readMatch(r);
      return {
        type,
        xid,
        cookie,
        cookie_mask,
        table_id,
        command,
        idle_timeout,
        hard_timeout,
        priority,
        buffer_id,
        out_port,
        out_group,
        flags,
        match,
        instructions: readInstructions(r),
      };
    }
    case 'group_mod': {
      const command = r.u16();
      const group_type = r.u8();
      r.skip(1);
      const group_id = r.u32();
      return { type, xid, command, group_type, group_id, buckets: readBuckets(r) };
    }
    case 'port_mod': {
      const port_no = r.u32();
      r.skip(4);
      const hw_addr = r.mac();
      r.skip(2);
      const config = r.u32();
      const mask = r.u32();
      const advertise = r.u32();
      r.skip(4);
      return { type, xid, port_no, hw_addr, config, mask, advertise };
    }
    case 'table_mod': {
      const table_id = r.u8();
      r.skip(3);
      return { type, xid, table_id, config: r.u32() };
    }
    case 'multipart_request': {
      const kind = multipartKind(r);
      const flags = r.u16();
      r.skip(4);
      return { type, xid, flags, body: decodeMultipartRequest(kind, r) };
    }
    case 'multipart_reply': {
      const kind = multipartKind(r);
      const flags = r.u16();
      r.skip(4);
      return { type, xid, flags, body: decodeMultipartReply(kind, r) };
    }
    case 'queue_get_config_request': {
      const port = r.u32();
      r.skip(4);
      return { type, xid, port };
    }
    case 'queue_get_config_reply': {
      const port = r.u32();
      r.skip(4);
      return { type, xid, port, queues: readQueues(r) };
    }
    case 'role_request':
    case 'role_reply': {
      const role = r.u32();
      r.skip(4);
      return { type, xid, role, generation_id: r.u64() };
    }
    case 'get_async_reply':
    case 'set_async':
      return {
        type,
        xid,
        packet_in_mask: [r.u32(), r.u32()],
        port_status_mask: [r.u32(), r.u32()],
        flow_removed_mask: [r.u32(), r.u32()],
      };
    case 'meter_mod': {
      const command = r.u16();
      const flags = r.u16();
      const meter_id = r.u32();
      return { type, xid, command, flags, meter_id, bands: readBands(r) };
    }
  }
}

function multipartKind(r: Reader) {
  const at = r.pos;
  const code = r.u16();
  const kind = OFPMP_NAME[code];
  if (kind === undefined) r.fail(`unknown multipart type ${code}`, at);
  return kind;
}

function list<T>(r: Reader, one: (r: Reader) => T): T[] {
  const out: T[] = [];
  while (r.left > 0) out.push(one(r));
  return out;
}

function decodeMultipartRequest(kind: MultipartRequestBody['kind'], r: Reader): MultipartRequestBody {
  switch (kind) {
    case 'desc':
    case 'table':
    case 'group_desc':
    case 'group_features':
    case 'meter_features':
    case 'port_desc':
      return { kind };
    case 'flow':
    case 'aggregate': {
      const table_id = r.u8();
      r.skip(3);
      const out_port = r.u32();
      const out_group = r.u32();
      r.skip(4);
      const cookie = r.u64();
      const cookie_mask = r.u64();
      return { kind, table_id, out_port, out_group, cookie, cookie_mask, match: readMatch(r) };
    }
    case 'port_stats': {
      const port_no = r.u32();
      r.skip(4);
      return { kind, port_no };
    }
    case 'queue':
      return { kind, port_no: r.u32(), queue_id: r.u32() };
    case 'group': {
      const group_id = r.u32();
      r.skip(4);
      return { kind, group_id };
    }
    case 'meter':
    case 'meter_config': {
      const meter_id = r.u32();
      r.skip(4);
      return { kind, meter_id };
    }
    case 'table_features':
      return { kind, body: readTableFeatures(r) };
    case 'experimenter':
      return { kind, experimenter: r.u32(), exp_type: r.u32(), data: r.rest() };
  }
}

function readFlowStats(r: Reader): FlowStats {
  const start = r.pos;
  const len = r.u16();
  if (len < 56) r.fail(`flow stats length ${len} < 56`, start);
  const b = r.sub(len - 2);
  const table_id = b.u8();
  b.skip(1);
  const duration_sec = b.u32();
  const duration_nsec = b.u32();
  const priority = b.u16();
  const idle_timeout = b.u16();
  const hard_timeout = b.u16();
  const flags = b.u16();
  b.skip(4);
  const cookie = b.u64();
  const packet_count = b.u64();
  const byte_count = b.u64();
  const match = readMatch(b);
  return {
    table_id,
    duration_sec,
    duration_nsec,
    priority,
    idle_timeout,
    hard_timeout,
    flags,
    cookie,
    packet_count,
    byte_count,
    match,
    instructions: readInstructions(b),
  };
}

function readTableStats(r: Reader): TableStats {
  const table_id = r.u8();
  r.skip(3);
  return { table_id, active_count: r.u32(), lookup_count: r.u64(), matched_count: r.u64() };
}

function readPortStats(r: Reader): PortStats {
  const port_no = r.u32();
  r.skip(4);
  return {
    port_no,
    rx_packets: r.u64(),
    tx_packets: r.u64(),
    rx_bytes: r.u64(),
    tx_bytes: r.u64(),
    rx_dropped: r.u64(),
    tx_dropped: r.u64(),
    rx_errors: r.u64(),
    tx_errors: r.u64(),
    rx_frame_err: r.u64(),
    rx_over_err: r.u64(),
    rx_crc_err: r.u64(),
    collisions: r.u64(),
    duration_sec: r.u32(),
    duration_nsec: r.u32(),
  };
}

function readQueueStats(r: Reader): QueueStats {
  return {
    port_no: r.u32(),
    queue_id: r.u32(),
    tx_bytes: r.u64(),
    tx_packets: r.u64(),
    tx_errors: r.u64(),
    duration_sec: r.u32(),
    duration_nsec: r.u32(),
  };
}

function readGroupStats(r: Reader): GroupStats {
  const start = r.pos;
  const len = r.u16();
  if (len < 40) r.fail(`group stats length ${len} < 40`, start);
  const b = r.sub(len - 2);
  b.skip(2);
  const group_id = b.u32();
  const ref_count = b.u32();
  b.skip(4);
  const packet_count = b.u64();
  const byte_count = b.u64();
  const duration_sec = b.u32();
  const duration_nsec = b.u32();
  const bucket_stats = list(b, (x) => ({ packet_count: x.u64(), byte_count: x.u64() }));
  return { group_id, ref_count, packet_count, byte_count, duration_sec, duration_nsec, bucket_stats };
}

function readGroupDesc(r: Reader): GroupDesc {
  const start = r.pos;
  const len = r.u16();
  if (len < 8) r.fail(`group desc length ${len} < 8`, start);
  const b = r.sub(len - 2);
  const type = b.u8();
  b.skip(1);
  const group_id = b.u32();
  return { type, group_id, buckets: readBuckets(b) };
}

function readMeterStats(r: Reader): MeterStats {
  const start = r.pos;
  const meter_id = r.u32();
  const len = r.u16();
  if (len < 40) r.fail(`meter stats length ${len} < 40`, start);
  const b = r.sub(len - 6);
  b.skip(6);
  const flow_count = b.u32();
  const packet_in_count = b.u64();
  const byte_in_count = b.u64();
  const duration_sec = b.u32();
  const duration_nsec = b.u32();
  const band_stats = list(b, (x) => ({ packet_band_count: x.u64(), byte_band_count: x.u64() }));
  return { meter_id, flow_count, packet_in_count, byte_in_count, duration_sec, duration_nsec, band_stats };
}

function readMeterConfig(r: Reader): MeterConfig {
  const start = r.pos;
  const len = r.u16();
  if (len < 8) r.fail(`meter config length ${len} < 8`, start);
  const b = r.sub(len - 2);
  const flags = b.u16();
  const meter_id = b.u32();
  return { flags, meter_id, bands: readBands(b) };
}

function decodeMultipartReply(kind: MultipartReplyBody['kind'], r: Reader): MultipartReplyBody {
  switch (kind) {
    case 'desc':
      return {
        kind,
        mfr_desc: r.str(256),
        hw_desc: r.str(256),
        sw_desc: r.str(256),
        serial_num: r.str(32),
        dp_desc: r.str(256),
      };
    case 'flow':
      return { kind, body: list(r, readFlowStats) };
    case 'aggregate': {
      const packet_count = r.u64();
      const byte_count = r.u64();
      const flow_count = r.u32();
      r.skip(4);
      return { kind, packet_count, byte_count, flow_count };
    }
    case 'table':
      return { kind, body: list(r, readTableStats) };
    case 'port_stats':
      return { kind, body: list(r, readPortStats) };
    case 'queue':
      return { kind, body: list(r, readQueueStats) };
    case 'group':
      return { kind, body: list(r, readGroupStats) };
    case 'group_desc':
      return { kind, body: list(r, readGroupDesc) };
    case 'group_features':
      return {
        kind,
        types: r.u32(),
        capabilities: r.u32(),
        max_groups: [r.u32(), r.u32(), r.u32(), r.u32()],
        actions: [r.u32(), r.u32(), r.u32(), r.u32()],
      };
    case 'meter':
      return { kind, body: list(r, readMeterStats) };
    case 'meter_config':
      return { kind, body: list(r, readMeterConfig) };
    case 'meter_features': {
      const max_meter = r.u32();
      const band_types = r.u32();
      const capabilities = r.u32();
      const max_bands = r.u8();
      const max_color = r.u8();
      r.skip(2);
      return { kind, max_meter, band_types, capabilities, max_bands, max_color };
    }
    case 'table_features':
      return { kind, body: readTableFeatures(r) };
    case 'port_desc':
      return { kind, body: list(r, readPort) };
    case 'experimenter':
      return { kind, experimenter: r.u32(), exp_type: r.u32(), data: r.rest() };
  }
}

export function encode(msg: OfpMessage): Buffer {
  // sized so the common messages are written without growing the buffer
  const w = new Writer('data' in msg ? 128 + msg.data.length : 256);
  w.u8(OFP_VERSION).u8(OFPT[msg.type]).u16(0).u32(msg.xid);
  encodeBody(w, msg);
  if (w.pos > 0xffff)
    throw new OfpEncodeError(`${msg.type} of ${w.pos} bytes exceeds the 65535-byte OpenFlow limit`);
  w.patchU16(2, w.pos);
  return w.done();
}

function encodeBody(w: Writer, m: OfpMessage): void {
  switch (m.type) {
    case 'hello':
      for (const e of m.elements) {
        const start = w.pos;
        w.u16(e.type).u16(0);
        if (e.versions) {
          const words = Math.max(1, Math.floor(Math.max(...e.versions, 0) / 32) + 1);
          for (let i = 0; i < words; i++) {
            let bits = 0;
            for (const v of e.versions) if (v >= i * 32 && v < (i + 1) * 32) bits |= 1 << (v - i * 32);
            w.u32(bits >>> 0);
          }
        } else if (e.data) w.bytes(e.data);
        w.patchU16(start + 2, w.pos - start);
        w.align(start, 8);
      }
      return;
    case 'error':
      w.u16(m.err_type).u16(m.code);
      if (m.err_type === 0xffff) w.u32(m.experimenter ?? 0);
      w.bytes(m.data);
      return;
    case 'echo_request':
    case 'echo_reply':
      w.bytes(m.data);
      return;
    case 'experimenter':
      w.u32(m.experimenter).u32(m.exp_type).bytes(m.data);
      return;
    case 'features_request':
    case 'get_config_request':
    case 'barrier_request':
    case 'barrier_reply':
    case 'get_async_request':
      return;
    case 'features_reply':
      w.u64(m.datapath_id).u32(m.n_buffers).u8(m.n_tables).u8(m.auxiliary_id).pad(2);
      w.u32(m.capabilities).u32(m.reserved);
      return;
    case 'get_config_reply':
    case 'set_config':
      w.u16(m.flags).u16(m.miss_send_len);
      return;
    case 'packet_in':
      w.u32(m.buffer_id).u16(m.total_len).u8(m.reason).u8(m.table_id).u64(m.cookie);
      writeMatch(w, m.match);
      w.pad(2).bytes(m.data);
      return;
    case 'flow_removed':
      w.u64(m.cookie).u16(m.priority).u8(m.reason).u8(m.table_id).u32(m.duration_sec).u32(m.duration_nsec);
      w.u16(m.idle_timeout).u16(m.hard_timeout).u64(m.packet_count).u64(m.byte_count);
      writeMatch(w, m.match);
      return;
    case 'port_status':
      w.u8(m.reason).pad(7);
      writePort(w, m.desc);
      return;
    case 'packet_out': {
      w.u32(m.buffer_id).u32(m.in_port);
      const lenAt = w.pos;
      w.u16(0).pad(6);
      const start = w.pos;
      writeActions(w, m.actions);
      w.patchU16(lenAt, w.pos - start);
      w.bytes(m.data);
      return;
    }
    case 'flow_mod':
      w.u64(m.cookie).u64(m.cookie_mask).u8(m.table_id).u8(m.command).u16(m.idle_timeout).u16(m.hard_timeout);
      w.u16(m.priority).u32(m.buffer_id).u32(m.out_port).u32(m.out_group).u16(m.flags).pad(2);
      writeMatch(w, m.match);
      writeInstructions(w, m.instructions);
      return;
    case 'group_mod':
      w.u16(m.command).u8(m.group_type).pad(1).u32(m.group_id);
      writeBuckets(w, m.buckets);
      return;
    case 'port_mod':
      w.u32(m.port_no).pad(4).mac(m.hw_addr).pad(2).u32(m.config).u32(m.mask).u32(m.advertise).pad(4);
      return;
    case 'table_mod':
      w.u8(m.table_id).pad(3).u32(m.config);
      return;
    case 'multipart_request':
      w.u16(OFPMP[m.body.kind]).u16(m.flags).pad(4);
      encodeMultipartRequest(w, m.body);
      return;
    case 'multipart_reply':
      w.u16(OFPMP[m.body.kind]).u16(m.flags).pad(4);
      encodeMultipartReply(w, m.body);
      return;
    case 'queue_get_config_request':
      w.u32(m.port).pad(4);
      return;
    case 'queue_get_config_reply':
      w.u32(m.port).pad(4);
      writeQueues(w, m.queues);
      return;
    case 'role_request':
    case 'role_reply':
      w.u32(m.role).pad(4).u64(m.generation_id);
      return;
    case 'get_async_reply':
    case 'set_async':
      for (const pair of [m.packet_in_mask, m.port_status_mask, m.flow_removed_mask])
        w.u32(pair[0]).u32(pair[1]);
      return;
    case 'meter_mod':
      w.u16(m.command).u16(m.flags).u32(m.meter_id);
      writeBands(w, m.bands);
      return;
  }
}

function encodeMultipartRequest(w: Writer, b: MultipartRequestBody): void {
  switch (b.kind) {
    case 'flow':
    case 'aggregate':
      w.u8(b.table_id).pad(3).u32(b.out_port).u32(b.out_group).pad(4).u64(b.cookie).u64(b.cookie_mask);
      writeMatch(w, b.match);
      return;
    case 'port_stats':
      w.u32(b.port_no).pad(4);
      return;
    case 'queue':
      w.u32(b.port_no).u32(b.queue_id);
      return;
    case 'group':
      w.u32(b.group_id).pad(4);
      return;
    case 'meter':
    case 'meter_config':
      w.u32(b.meter_id).pad(4);
      return;
    case 'table_features':
      writeTableFeatures(w, b.body);
      return;
    case 'experimenter':
      w.u32(b.experimenter).u32(b.exp_type).bytes(b.data);
      return;
    default:
      return;
  }
}

function encodeMultipartReply(w: Writer, b: MultipartReplyBody): void {
  switch (b.kind) {
    case 'desc':
      w.str(b.mfr_desc, 256)
        .str(b.hw_desc, 256)
        .str(b.sw_desc, 256)
        .str(b.serial_num, 32)
        .str(b.dp_desc, 256);
      return;
    case 'flow':
      for (const f of b.body) {
        const start = w.pos;
        w.u16(0).u8(f.table_id).pad(1).u32(f.duration_sec).u32(f.duration_nsec).u16(f.priority);
        w.u16(f.idle_timeout).u16(f.hard_timeout).u16(f.flags).pad(4).u64(f.cookie).u64(f.packet_count);
        w.u64(f.byte_count);
        writeMatch(w, f.match);
        writeInstructions(w, f.instructions);
        w.patchU16(start, w.pos - start);
      }
      return;
    case 'aggregate':
      w.u64(b.packet_count).u64(b.byte_count).u32(b.flow_count).pad(4);
      return;
    case 'table':
      for (const t of b.body)
        w.u8(t.table_id).pad(3).u32(t.active_count).u64(t.lookup_count).u64(t.matched_count);
      return;
    case 'port_stats':
      for (const p of b.body) {
        w.u32(p.port_no).pad(4);
        for (const v of [
          p.rx_packets,
          p.tx_packets,
          p.rx_bytes,
          p.tx_bytes,
          p.rx_dropped,
          p.tx_dropped,
          p.rx_errors,
          p.tx_errors,
          p.rx_frame_err,
          p.rx_over_err,
          p.rx_crc_err,
          p.collisions,
        ]) {
          w.u64(v);
        }
        w.u32(p.duration_sec).u32(p.duration_nsec);
      }
      return;
    case 'queue':
      for (const q of b.body) {
        w.u32(q.port_no).u32(q.queue_id).u64(q.tx_bytes).u64(q.tx_packets).u64(q.tx_errors);
        w.u32(q.duration_sec).u32(q.duration_nsec);
      }
      return;
    case 'group':
      for (const g of b.body) {
        const start = w.pos;
        w.u16(0).pad(2).u32(g.group_id).u32(g.ref_count).pad(4).u64(g.packet_count).u64(g.byte_count);
        w.u32(g.duration_sec).u32(g.duration_nsec);
        for (const s of g.bucket_stats) w.u64(s.packet_count).u64(s.byte_count);
        w.patchU16(start, w.pos - start);
      }
      return;
    case 'group_desc':
      for (const g of b.body) {
        const start = w.pos;
        w.u16(0).u8(g.type).pad(1).u32(g.group_id);
        writeBuckets(w, g.buckets);
        w.patchU16(start, w.pos - start);
      }
      return;
    case 'group_features':
      w.u32(b.types).u32(b.capabilities);
      for (const v of [...b.max_groups, ...b.actions]) w.u32(v);
      return;
    case 'meter':
      for (const s of b.body) {
        const start = w.pos;
        w.u32(s.meter_id).u16(0).pad(6).u32(s.flow_count).u64(s.packet_in_count).u64(s.byte_in_count);
        w.u32(s.duration_sec).u32(s.duration_nsec);
        for (const x of s.band_stats) w.u64(x.packet_band_count).u64(x.byte_band_count);
        w.patchU16(start + 4, w.pos - start);
      }
      return;
    case 'meter_config':
      for (const c of b.body) {
        const start = w.pos;
        w.u16(0).u16(c.flags).u32(c.meter_id);
        writeBands(w, c.bands);
        w.patchU16(start, w.pos - start);
      }
      return;
    case 'meter_features':
      w.u32(b.max_meter).u32(b.band_types).u32(b.capabilities).u8(b.max_bands).u8(b.max_color).pad(2);
      return;
    case 'table_features':
      writeTableFeatures(w, b.body);
      return;
    case 'port_desc':
      for (const p of b.body) writePort(w, p);
      return;
    case 'experimenter':
      w.u32(b.experimenter).u32(b.exp_type).bytes(b.data);
      return;
  }
}

// Structures shared by several messages: ports, group buckets, meter bands, queue properties,
// table features. Each has a reader and a writer side by side.
import { type Action, readActions, writeActions } from './actions.js';
import type { Reader, Writer } from './wire.js';

export interface Port {
  port_no: number;
  hw_addr: string;
  name: string;
  config: number;
  state: number;
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
  curr_speed: number;
  max_speed: number;
}

export function readPort(r: Reader): Port {
  const port_no = r.u32();
  r.skip(4);
  const hw_addr = r.mac();
  r.skip(2);
  const name = r.str(16);
  return {
    port_no,
    hw_addr,
    name,
    config: r.u32(),
    state: r.u32(),
    curr: r.u32(),
    advertised: r.u32(),
    supported: r.u32(),
    peer: r.u32(),
    curr_speed: r.u32(),
    max_speed: r.u32(),
  };
}

export function writePort(w: Writer, p: Port): void {
  w.u32(p.port_no).pad(4).mac(p.hw_addr).pad(2).str(p.name, 16);
  w.u32(p.config).u32(p.state).u32(p.curr).u32(p.advertised).u32(p.supported).u32(p.peer);
  w.u32(p.curr_speed).u32(p.max_speed);
}

export interface Bucket {
  weight: number;
  watch_port: number;
  watch_group: number;
  actions: Action[];
}

export function readBuckets(r: Reader): Bucket[] {
  const out: Bucket[] = [];
  while (r.left > 0) {
    const start = r.pos;
    const len = r.u16();
    if (len < 16) r.fail(`bucket length ${len} < 16`, start);
    const b = r.sub(len - 2);
    const weight = b.u16();
    const watch_port = b.u32();
    const watch_group = b.u32();
    b.skip(4);
    out.push({ weight, watch_port, watch_group, actions: readActions(b) });
  }
  return out;
}

export function writeBuckets(w: Writer, buckets: Bucket[]): void {
  for (const bk of buckets) {
    const start = w.pos;
    w.u16(0).u16(bk.weight).u32(bk.watch_port).u32(bk.watch_group).pad(4);
    writeActions(w, bk.actions);
    w.patchU16(start, w.pos - start);
  }
}

export type MeterBand =
  | { type: 'drop'; rate: number; burst_size: number }
  | { type: 'dscp_remark'; rate: number; burst_size: number; prec_level: number }
  | { type: 'experimenter'; rate: number; burst_size: number; experimenter: number; data: Buffer };

const BAND_CODES = { drop: 1, dscp_remark: 2, experimenter: 0xffff } as const;

export function readBands(r: Reader): MeterBand[] {
  const out: MeterBand[] = [];
  while (r.left > 0) {
    const start = r.pos;
    const code = r.u16();
    const len = r.u16();
    if (len < 16) r.fail(`meter band length ${len} < 16`, start);
    const b = r.sub(len - 4);
    const rate = b.u32();
    const burst_size = b.u32();
    if (code === 1) out.push({ type: 'drop', rate, burst_size });
    else if (code === 2) out.push({ type: 'dscp_remark', rate, burst_size, prec_level: b.u8() });
    else if (code === 0xffff) {
      const experimenter = b.u32();
      out.push({ type: 'experimenter', rate, burst_size, experimenter, data: Buffer.from(b.rest()) });
    } else r.fail(`unknown meter band type ${code}`, start);
  }
  return out;
}

export function writeBands(w: Writer, bands: MeterBand[]): void {
  for (const band of bands) {
    const start = w.pos;
    w.u16(BAND_CODES[band.type]).u16(0).u32(band.rate).u32(band.burst_size);
    if (band.type === 'drop') w.pad(4);
    else if (band.type === 'dscp_remark') w.u8(band.prec_level).pad(3);
    else w.u32(band.experimenter).bytes(band.data);
    w.patchU16(start + 2, w.pos - start);
  }
}

export type QueueProp =
  | { type: 'min_rate' | 'max_rate'; rate: number }
  | { type: 'experimenter'; experimenter: number; data: Buffer };

export interface PacketQueue {
  queue_id: number;
  port: number;
  properties: QueueProp[];
}

export function readQueues(r: Reader): PacketQueue[] {
  const out: PacketQueue[] = [];
  while (r.left > 0) {
    const start = r.pos;
    const queue_id = r.u32();
    const port = r.u32();
    const len = r.u16();
    if (len < 16) r.fail(`queue length ${len} < 16`, start);
    r.skip(6);
    const b = r.sub(len - 16);
    const properties: QueueProp[] = [];
    while (b.left > 0) {
      const ps = b.pos;
      const code = b.u16();
      const plen = b.u16();
      if (plen < 8) b.fail(`queue property length ${plen} < 8`, ps);
      const p = b.sub(plen - 4);
      p.skip(4);
      if (code === 1 || code === 2) {
        properties.push({ type: code === 1 ? 'min_rate' : 'max_rate', rate: p.u16() });
      } else if (code === 0xffff) {
        const experimenter = p.u32();
        p.skip(4);
        properties.push({ type: 'experimenter', experimenter, data: Buffer.from(p.rest()) });
      } else b.fail(`unknown queue property ${code}`, ps);
    }
    out.push({ queue_id, port, properties });
  }
  return out;
}

export function writeQueues(w: Writer, queues: PacketQueue[]): void {
  for (const q of queues) {
    const start = w.pos;
    w.u32(q.queue_id).u32(q.port).u16(0).pad(6);
    for (const p of q.properties) {
      const ps = w.pos;
      if (p.type === 'experimenter') {
        w.u16(0xffff).u16(0).pad(4).u32(p.experimenter).pad(4).bytes(p.data);
      } else {
        w.u16(p.type === 'min_rate' ? 1 : 2)
          .u16(0)
          .pad(4)
          .u16(p.rate)
          .pad(6);
      }
      w.patchU16(ps + 2, w.pos - ps);
    }
    w.patchU16(start + 8, w.pos - start);
  }
}

/** Table-feature property (section 7.3.5.5.2), bodies by kind, lengths exclude padding. */
export type TableFeatureProp =
  | { type: number; kind: 'instructions'; ids: { type: number; data: Buffer }[] }
  | { type: number; kind: 'next_tables'; table_ids: number[] }
  | { type: number; kind: 'actions'; ids: { type: number; data: Buffer }[] }
  | { type: number; kind: 'oxm'; oxm_ids: number[] }
  | { type: number; kind: 'experimenter'; experimenter: number; exp_type: number; data: Buffer };

function propKind(code: number): TableFeatureProp['kind'] | undefined {
  if (code === 0 || code === 1) return 'instructions';
  if (code === 2 || code === 3) return 'next_tables';
  if (code >= 4 && code <= 7) return 'actions';
  if (code === 8 || code === 10 || (code >= 12 && code <= 15)) return 'oxm';
  if (code === 0xfffe || code === 0xffff) return 'experimenter';
  return undefined;
}

export interface TableFeatures {
  table_id: number;
  name: string;
  metadata_match: bigint;
  metadata_write: bigint;
  config: number;
  max_entries: number;
  properties: TableFeatureProp[];
}

function readIds(r: Reader): { type: number; data: Buffer }[] {
  const out: { type: number; data: Buffer }[] = [];
  while (r.left > 0) {
    const start = r.pos;
    const type = r.u16();
    const len = r.u16();
    if (len < 4) r.fail(`id length ${len} < 4`, start);
    out.push({ type, data: Buffer.from(r.bytes(len - 4)) });
  }
  return out;
}

export function readTableFeatures(r: Reader): TableFeatures[] {
  const out: TableFeatures[] = [];
  while (r.left > 0) {
    const start = r.pos;
    const len = r.u16();
    if (len < 64) r.fail(`table features length ${len} < 64`, start);
    const b = r.sub(len - 2);
    const table_id = b.u8();
    b.skip(5);
    const name = b.str(32);
    const metadata_match = b.u64();
    const metadata_write = b.u64();
    const config = b.u32();
    const max_entries = b.u32();
    const properties: TableFeatureProp[] = [];
    while (b.left > 0) {
      const ps = b.pos;
      const code = b.u16();
      const plen = b.u16();
      if (plen < 4) b.fail(`table feature property length ${plen} < 4`, ps);
      const p = b.sub(plen - 4);
      b.skip(Math.min(b.left, (8 - (plen % 8)) % 8));
      const kind = propKind(code);
      if (kind === 'instructions' || kind === 'actions')
        properties.push({ type: code, kind, ids: readIds(p) });
      else if (kind === 'next_tables') properties.push({ type: code, kind, table_ids: [...p.rest()] });
      else if (kind === 'oxm') {
        const oxm_ids: number[] = [];
        while (p.left > 0) oxm_ids.push(p.u32());
        properties.push({ type: code, kind, oxm_ids });
      } else if (kind === 'experimenter') {
        const experimenter = p.u32();
        const exp_type = p.u32();
        properties.push({ type: code, kind, experimenter, exp_type, data: Buffer.from(p.rest()) });
      } else b.fail(`unknown table feature property ${code}`, ps);
    }
    out.push({ table_id, name, metadata_match, metadata_write, config, max_entries, properties });
  }
  return out;
}

export function writeTableFeatures(w: Writer, list: TableFeatures[]): void {
  for (const t of list) {
    const start = w.pos;
    w.u16(0).u8(t.table_id).pad(5).str(t.name, 32).u64(t.metadata_match).u64(t.metadata_write);
    w.u32(t.config).u32(t.max_entries);
    for (const p of t.properties) {
      const ps = w.pos;
      w.u16(p.type).u16(0);
      if (p.kind === 'instructions' || p.kind === 'actions') {
        for (const id of p.ids)
          w.u16(id.type)
            .u16(4 + id.data.length)
            .bytes(id.data);
      } else if (p.kind === 'next_tables') w.bytes(Buffer.from(p.table_ids));
      else if (p.kind === 'oxm') for (const id of p.oxm_ids) w.u32(id);
      else w.u32(p.experimenter).u32(p.exp_type).bytes(p.data);
      w.patchU16(ps + 2, w.pos - ps);
      w.align(ps, 8);
    }
    w.patchU16(start, w.pos - start);
  }
}

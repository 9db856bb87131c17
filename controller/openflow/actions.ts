// Actions (OpenFlow 1.3 section 7.2.5) and instructions (7.2.4). Experimenter actions (Nicira
// and others) keep their body as opaque bytes, so they re-encode exactly.
import { type OxmField, readOxm, writeOxm } from './oxm.js';
import type { Reader, Writer } from './wire.js';

export type Action =
  | { type: 'output'; port: number; max_len: number }
  | { type: 'copy_ttl_out' }
  | { type: 'copy_ttl_in' }
  | { type: 'set_mpls_ttl'; mpls_ttl: number }
  | { type: 'dec_mpls_ttl' }
  | { type: 'push_vlan'; ethertype: number }
  | { type: 'pop_vlan' }
  | { type: 'push_mpls'; ethertype: number }
  | { type: 'pop_mpls'; ethertype: number }
  | { type: 'set_queue'; queue_id: number }
  | { type: 'group'; group_id: number }
  | { type: 'set_nw_ttl'; nw_ttl: number }
  | { type: 'dec_nw_ttl' }
  | { type: 'set_field'; field: OxmField }
  | { type: 'push_pbb'; ethertype: number }
  | { type: 'pop_pbb' }
  | { type: 'experimenter'; experimenter: number; data: Buffer };

export const ACTION_CODES = {
  output: 0,
  copy_ttl_out: 11,
  copy_ttl_in: 12,
  set_mpls_ttl: 15,
  dec_mpls_ttl: 16,
  push_vlan: 17,
  pop_vlan: 18,
  push_mpls: 19,
  pop_mpls: 20,
  set_queue: 21,
  group: 22,
  set_nw_ttl: 23,
  dec_nw_ttl: 24,
  set_field: 25,
  push_pbb: 26,
  pop_pbb: 27,
  experimenter: 0xffff,
} as const;

const ACTION_NAMES = Object.fromEntries(Object.entries(ACTION_CODES).map(([k, v]) => [v, k])) as Record<
  number,
  Action['type']
>;

export function readAction(r: Reader): Action {
  const start = r.pos;
  const code = r.u16();
  const len = r.u16();
  if (len < 8 || len % 8 !== 0) r.fail(`action length ${len} is not a positive multiple of 8`, start);
  const b = r.sub(len - 4);
  const type = ACTION_NAMES[code];
  switch (type) {
    case 'output': {
      const port = b.u32();
      const max_len = b.u16();
      return { type, port, max_len };
    }
    case 'copy_ttl_out':
    case 'copy_ttl_in':
    case 'dec_mpls_ttl':
    case 'pop_vlan':
    case 'dec_nw_ttl':
    case 'pop_pbb':
      return { type };
    case 'set_mpls_ttl':
      return { type, mpls_ttl: b.u8() };
    case 'set_nw_ttl':
      return { type, nw_ttl: b.u8() };
    case 'push_vlan':
    case 'push_mpls':
    case 'pop_mpls':
    case 'push_pbb':
      return { type, ethertype: b.u16() };
    case 'set_queue':
      return { type, queue_id: b.u32() };
    case 'group':
      return { type, group_id: b.u32() };
    case 'set_field':
      return { type, field: readOxm(b) };
    case 'experimenter': {
      const experimenter = b.u32();
      return { type, experimenter, data: Buffer.from(b.rest()) };
    }
    default:
      return r.fail(`unknown action type ${code}`, start);
  }
}

export function writeAction(w: Writer, a: Action): void {
  const start = w.pos;
  w.u16(ACTION_CODES[a.type]).u16(0);
  switch (a.type) {
    case 'output':
      w.u32(a.port).u16(a.max_len).pad(6);
      break;
    case 'set_mpls_ttl':
      w.u8(a.mpls_ttl).pad(3);
      break;
    case 'set_nw_ttl':
      w.u8(a.nw_ttl).pad(3);
      break;
    case 'push_vlan':
    case 'push_mpls':
    case 'pop_mpls':
    case 'push_pbb':
      w.u16(a.ethertype).pad(2);
      break;
    case 'set_queue':
      w.u32(a.queue_id);
      break;
    case 'group':
      w.u32(a.group_id);
      break;
    case 'set_field':
      writeOxm(w, a.field);
      w.align(start, 8);
      break;
    case 'experimenter':
      w.u32(a.experimenter).bytes(a.data);
      w.align(start, 8);
      break;
    default:
      w.pad(4);
  }
  w.patchU16(start + 2, w.pos - start);
}

export function readActions(r: Reader): Action[] {
  const out: Action[] = [];
  while (r.left > 0) out.push(readAction(r));
  return out;
}

export function writeActions(w: Writer, actions: Action[]): void {
  for (const a of actions) writeAction(w, a);
}

export type Instruction =
  | { type: 'goto_table'; table_id: number }
  | { type: 'write_metadata'; metadata: bigint; metadata_mask: bigint }
  | { type: 'write_actions' | 'apply_actions' | 'clear_actions'; actions: Action[] }
  | { type: 'meter'; meter_id: number }
  | { type: 'experimenter'; experimenter: number; data: Buffer };

export const INSTRUCTION_CODES = {
  goto_table: 1,
  write_metadata: 2,
  write_actions: 3,
  apply_actions: 4,
  clear_actions: 5,
  meter: 6,
  experimenter: 0xffff,
} as const;

const INSTRUCTION_NAMES = Object.fromEntries(
  Object.entries(INSTRUCTION_CODES).map(([k, v]) => [v, k]),
) as Record<number, Instruction['type']>;

export function readInstruction(r: Reader): Instruction {
  const start = r.pos;
  const code = r.u16();
  const len = r.u16();
  if (len < 8) r.fail(`instruction length ${len} < 8`, start);
  const b = r.sub(len - 4);
  const type = INSTRUCTION_NAMES[code];
  switch (type) {
    case 'goto_table':
      return { type, table_id: b.u8() };
    case 'write_metadata':
      b.skip(4);
      return { type, metadata: b.u64(), metadata_mask: b.u64() };
    case 'write_actions':
    case 'apply_actions':
    case 'clear_actions':
      b.skip(4);
      return { type, actions: readActions(b) };
    case 'meter':
      return { type, meter_id: b.u32() };
    case 'experimenter':
      return { type, experimenter: b.u32(), data: Buffer.from(b.rest()) };
    default:
      return r.fail(`unknown instruction type ${code}`, start);
  }
}

export function writeInstruction(w: Writer, i: Instruction): void {
  const start = w.pos;
  w.u16(INSTRUCTION_CODES[i.type]).u16(0);
  switch (i.type) {
    case 'goto_table':
      w.u8(i.table_id).pad(3);
      break;
    case 'write_metadata':
      w.pad(4).u64(i.metadata).u64(i.metadata_mask);
      break;
    case 'write_actions':
    case 'apply_actions':
    case 'clear_actions':
      w.pad(4);
      writeActions(w, i.actions);
      break;
    case 'meter':
      w.u32(i.meter_id);
      break;
    case 'experimenter':
      w.u32(i.experimenter).bytes(i.data);
      break;
  }
  w.patchU16(start + 2, w.pos - start);
}

export function readInstructions(r: Reader): Instruction[] {
  const out: Instruction[] = [];
  while (r.left > 0) out.push(readInstruction(r));
  return out;
}

export function writeInstructions(w: Writer, list: Instruction[]): void {
  for (const i of list) writeInstruction(w, i);
}

// Small pure builders for the messages a controller sends most.
import {
  OFP_NO_BUFFER,
  OFPCML_NO_BUFFER,
  OFPFC_ADD,
  OFPG_ANY,
  OFPP_ANY,
  OFPP_CONTROLLER,
} from './constants.js';
import type { Action, Instruction, Match, MessageOf } from './types.js';

export function output(port: number, max_len = port === OFPP_CONTROLLER ? OFPCML_NO_BUFFER : 0): Action {
  return { type: 'output', port, max_len };
}

export function flowMod(
  f: Partial<Omit<MessageOf<'flow_mod'>, 'type'>> & {
    match: Match;
    instructions?: Instruction[];
    actions?: Action[];
  },
): MessageOf<'flow_mod'> {
  const { actions, ...rest } = f;
  return {
    type: 'flow_mod',
    xid: 0,
    cookie: 0n,
    cookie_mask: 0n,
    table_id: 0,
    command: OFPFC_ADD,
    idle_timeout: 0,
    hard_timeout: 0,
    priority: 0x8000,
    buffer_id: OFP_NO_BUFFER,
    out_port: OFPP_ANY,
    out_group: OFPG_ANY,
    flags: 0,
    instructions: actions ? [{ type: 'apply_actions', actions }] : [],
    ...rest,
  };
}

export function packetOut(
  data: Buffer,
  actions: Action[],
  in_port = OFPP_CONTROLLER,
): MessageOf<'packet_out'> {
  return { type: 'packet_out', xid: 0, buffer_id: OFP_NO_BUFFER, in_port, actions, data };
}

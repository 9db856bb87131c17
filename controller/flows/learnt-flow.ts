// Table 1 flow for a learnt destination (like Ryu's simple_switch_13: in_port + eth_dst).
import { cookieFor } from './cookies.js';
import type { FlowSpec } from './flow-spec.js';
import { PRIORITY, TABLE_FORWARDING } from './pipeline.js';

export function learntFlow(
  inPort: number,
  ethDst: string,
  outPorts: readonly number[],
  idleTimeout: number,
): FlowSpec {
  return {
    tableId: TABLE_FORWARDING,
    priority: PRIORITY.learnt,
    cookie: cookieFor('learning'),
    match: { inPort, ethDst },
    apply: outPorts.map((port) => ({ type: 'output', port })),
    idleTimeout,
  };
}

// The two-table pipeline every switch gets.
//
// Table 0 (ingress policy): a mirror target's capture-barrier markers go back out of it (400);
// redirects (priority 300) send a service IP's traffic and ARP to
// another port; mirror-ingress flows (priority 200) copy everything a mirrored port receives to
// the mirror target and continue to table 1; the default (priority 0) continues to table 1.
// Table 1 (forwarding): learnt L2 flows (priority 100, in_port + eth_dst) and the table-miss
// (priority 0) to the controller. The egress half of a mirror (frames sent TO the mirrored port)
// is folded into table 1's output lists by mirrorOutputs(), so each frame reaches the target once.
import { OFPP } from '../of-wire.js';
import { cookieFor } from './cookies.js';
import type { FlowSpec } from './flow-spec.js';

export const TABLE_INGRESS = 0;
export const TABLE_FORWARDING = 1;

export const PRIORITY = {
  barrierEcho: 400,
  redirect: 300,
  mirrorIngress: 200,
  learnt: 100,
  miss: 0,
} as const;

export function pipelineFlows(): FlowSpec[] {
  return [
    {
      tableId: TABLE_INGRESS,
      priority: PRIORITY.miss,
      cookie: cookieFor('pipeline'),
      match: {},
      apply: [],
      gotoTable: TABLE_FORWARDING,
    },
    {
      tableId: TABLE_FORWARDING,
      priority: PRIORITY.miss,
      cookie: cookieFor('pipeline'),
      match: {},
      apply: [{ type: 'output', port: OFPP.CONTROLLER }],
    },
  ];
}

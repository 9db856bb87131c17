// Table 0 flow for the ingress half of a mirror: copy what the mirrored port receives.
import { cookieFor } from './cookies.js';
import type { FlowSpec } from './flow-spec.js';
import { PRIORITY, TABLE_FORWARDING, TABLE_INGRESS } from './pipeline.js';

export function mirrorIngressFlow(mirrorNo: bigint, sourcePort: number, targetPort: number): FlowSpec {
  return {
    tableId: TABLE_INGRESS,
    priority: PRIORITY.mirrorIngress,
    cookie: cookieFor('mirror', mirrorNo),
    match: { inPort: sourcePort },
    apply: [{ type: 'output', port: targetPort }],
    gotoTable: TABLE_FORWARDING,
  };
}

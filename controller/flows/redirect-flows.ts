// Table 0 flows for a redirect: IPv4 to the service IP gets the new host's MAC and leaves by
// the new port; ARP asking for the service IP goes only there, so the new host answers it.
import { cookieFor } from './cookies.js';
import { ETH_TYPE_ARP, ETH_TYPE_IPV4, type FlowSpec } from './flow-spec.js';
import { PRIORITY, TABLE_INGRESS } from './pipeline.js';

export interface RedirectFlowInput {
  redirectNo: bigint;
  /** kept in the cookie (low 16 bits) so a restarted controller can report it */
  fromPort: number;
  ip: string;
  toPort: number;
  toMac: string;
  /** extra copies (mirror targets of toPort) */
  copyTo?: number[];
}

export function redirectFlows(r: RedirectFlowInput): FlowSpec[] {
  const cookie = cookieFor('redirect', (r.redirectNo << 16n) | BigInt(r.fromPort & 0xffff));
  const outs = [r.toPort, ...(r.copyTo ?? []).filter((p) => p !== r.toPort)].map((port) => ({
    type: 'output' as const,
    port,
  }));
  return [
    {
      tableId: TABLE_INGRESS,
      priority: PRIORITY.redirect,
      cookie,
      match: { ethType: ETH_TYPE_IPV4, ipv4Dst: r.ip },
      apply: [{ type: 'set_eth_dst', mac: r.toMac.toLowerCase() }, ...outs],
    },
    {
      tableId: TABLE_INGRESS,
      priority: PRIORITY.redirect,
      cookie,
      match: { ethType: ETH_TYPE_ARP, arpTpa: r.ip },
      apply: outs,
    },
  ];
}

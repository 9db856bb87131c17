// Table 0 flows of a mirror: the ingress half (copy what the mirrored port receives), and the
// echo of the target's capture-barrier markers.
import { OFPP } from '../of-wire.js';
import { BARRIER_ECHO_MAC, BARRIER_PORT } from '../packets/barrier-marker.js';
import { cookieFor } from './cookies.js';
import { ETH_TYPE_IPV4, ETH_TYPE_IPV6, type FlowSpec } from './flow-spec.js';
import { PRIORITY, TABLE_FORWARDING, TABLE_INGRESS } from './pipeline.js';

/** The mirror cookie's bit for MirrorSpec.fenceOnLinkDown: the setting lives on the switch with
 *  the flow, so a restarted controller that adopts the mirror keeps it. Mirror numbers stay below. */
export const MIRROR_FENCE_BIT = 1n << 39n;

/** The mirror number and setting an ingress flow's cookie carries (its low 40 bits). */
export function mirrorOfCookie(cookie: bigint): { mirrorNo: bigint; fenceOnLinkDown: boolean } {
  return { mirrorNo: cookie & (MIRROR_FENCE_BIT - 1n), fenceOnLinkDown: (cookie & MIRROR_FENCE_BIT) !== 0n };
}

export function mirrorIngressFlow(
  mirrorNo: bigint,
  sourcePort: number,
  targetPort: number,
  fenceOnLinkDown = false,
): FlowSpec {
  return {
    tableId: TABLE_INGRESS,
    priority: PRIORITY.mirrorIngress,
    cookie: cookieFor('mirror', fenceOnLinkDown ? mirrorNo | MIRROR_FENCE_BIT : mirrorNo),
    match: { inPort: sourcePort },
    apply: [{ type: 'output', port: targetPort }],
    gotoTable: TABLE_FORWARDING,
  };
}

/**
 * Sends the mirror target's capture-barrier markers (packets/barrier-marker.ts) back out of the
 * port they came in by, addressed to BARRIER_ECHO_MAC. A
 * marker the standby sends out then comes back in behind every frame the switch had forwarded to
 * it, by the same path (the kernel's receive backlog included): when its capture sees it come
 * back, it has seen all of those. Shared by every mirror to the same target (one cookie).
 */
export function barrierEchoFlows(targetPort: number): FlowSpec[] {
  return [ETH_TYPE_IPV4, ETH_TYPE_IPV6].map((ethType) => ({
    tableId: TABLE_INGRESS,
    priority: PRIORITY.barrierEcho,
    cookie: cookieFor('mirror'),
    match: { inPort: targetPort, ethType, ipProto: 6, tcpSrc: BARRIER_PORT, tcpDst: BARRIER_PORT },
    apply: [
      { type: 'set_eth_dst', mac: BARRIER_ECHO_MAC },
      { type: 'output', port: OFPP.IN_PORT },
    ],
  }));
}

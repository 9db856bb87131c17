// Table 1 flow for a learnt destination (like Ryu's simple_switch_13: in_port + eth_dst).
import { cookieFor } from './cookies.js';
import type { FlowSpec } from './flow-spec.js';
import { type MirrorPorts, mirrorOutputs } from './mirror-outputs.js';
import { PRIORITY, TABLE_FORWARDING } from './pipeline.js';

/** `inPort` undefined: every learnt flow towards `ethDst` (as a MODIFY matches them). */
export function learntFlow(
  inPort: number | undefined,
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

/** What a MODIFY of learnt flows matches and the outputs it sets. */
export interface LearntRewrite {
  match: { inPort?: number; ethDst: string };
  outPorts: number[];
}

/**
 * The MODIFYs that bring every learnt flow up to date with a new mirror set, in place. Deleting
 * them instead would send every frame back to the controller at once, and OVS drops packet-ins
 * beyond a short queue: at a failover that lost the first replies of restored connections.
 * Per MAC, one rewrite for any in-port, then one per in-port whose outputs differ (mirror
 * sources and targets); the later, narrower MODIFY wins because the switch applies them in order.
 */
export function learntRewrites(
  macs: ReadonlyMap<string, number>,
  mirrors: readonly MirrorPorts[],
): LearntRewrite[] {
  const special = [...new Set(mirrors.flatMap((m) => [m.sourcePort, m.targetPort]))].sort((a, b) => a - b);
  const out: LearntRewrite[] = [];
  for (const [ethDst, port] of macs) {
    const general = mirrorOutputs(ANY_OTHER_PORT, [port], mirrors);
    out.push({ match: { ethDst }, outPorts: general });
    for (const inPort of special) {
      if (inPort === port) continue; // hairpin: never learnt
      const outPorts = mirrorOutputs(inPort, [port], mirrors);
      if (!sameList(outPorts, general)) out.push({ match: { inPort, ethDst }, outPorts });
    }
  }
  return out;
}

/**
 * Learnt flows from `inPort` to every known MAC not behind `inPort` or `skipPort`: installed when
 * a redirect makes `inPort` the service's new home, so its first frames to the service's peers
 * (restored connections answering all at once) are switched, not queued as packet-ins.
 */
export function learntFlowsFrom(
  inPort: number,
  macs: ReadonlyMap<string, number>,
  mirrors: readonly MirrorPorts[],
  idleTimeout: number,
  skipPort?: number,
): FlowSpec[] {
  const flows: FlowSpec[] = [];
  for (const [mac, port] of macs)
    if (port !== inPort && port !== skipPort)
      flows.push(learntFlow(inPort, mac, mirrorOutputs(inPort, [port], mirrors), idleTimeout));
  return flows;
}

/** An in-port that is no real port (OpenFlow port 0 is reserved), hence no mirror's source or target. */
const ANY_OTHER_PORT = 0;

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

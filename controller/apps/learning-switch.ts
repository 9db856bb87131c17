// L2 learning per datapath, like Ryu's simple_switch_13: table-miss frames come to the
// controller, the source MAC is learnt on its in-port, known destinations get a flow (with an
// idle timeout) and the frame is sent on; unknown and broadcast destinations are flooded.
// Mirror targets are folded into every output list (mirrorOutputs), so mirrors see learnt traffic.
// Also remembers which MAC and port each IPv4/IPv6 sender uses (for RSTs to a connection's client).
import type { Logger } from 'pino';
import { cookieFor } from '../flows/cookies.js';
import type { FlowSpec } from '../flows/flow-spec.js';
import { learntFlow, learntFlowsFrom, learntRewrites } from '../flows/learnt-flow.js';
import { type MirrorPorts, mirrorOutputs } from '../flows/mirror-outputs.js';
import { TABLE_FORWARDING } from '../flows/pipeline.js';
import { encodeFlowMod, encodePacketOut, FLOW_CMD } from '../of-wire.js';
import { isMulticastMac, type ParsedFrame, parseFrame } from '../packets/frame.js';
import type { SwitchSession } from '../session.js';

export interface HostLocation {
  mac: string;
  port: number;
}

export interface LearnDecision {
  /** a new or moved source MAC */
  learnt?: { mac: string; port: number; movedFrom?: number };
  /** flow to install for this destination (none when flooding) */
  flow?: FlowSpec;
  /** ports to send this frame to now */
  outputs: number[];
}

/** The pure decision for one table-miss frame. `macs` is updated in place. */
export function learnDecision(
  macs: Map<string, number>,
  inPort: number,
  frame: ParsedFrame,
  allPorts: readonly number[],
  mirrors: readonly MirrorPorts[],
  idleTimeout: number,
): LearnDecision {
  const d: LearnDecision = { outputs: [] };
  if (!isMulticastMac(frame.src)) {
    const before = macs.get(frame.src);
    if (before !== inPort) {
      macs.set(frame.src, inPort);
      d.learnt = { mac: frame.src, port: inPort, movedFrom: before };
    }
  }
  const dstPort = isMulticastMac(frame.dst) ? undefined : macs.get(frame.dst);
  if (dstPort === undefined) {
    d.outputs = mirrorOutputs(inPort, allPorts, mirrors);
    return d;
  }
  if (dstPort === inPort) return d; // hairpin: drop, like a bridge
  d.outputs = mirrorOutputs(inPort, [dstPort], mirrors);
  d.flow = learntFlow(inPort, frame.dst, d.outputs, idleTimeout);
  return d;
}

/** Physical ports a flood goes to (no LOCAL, no reserved ports). */
export function floodPorts(session: SwitchSession): number[] {
  return [...session.ports.keys()].filter((p) => p < 0xffffff00).sort((a, b) => a - b);
}

export class LearningSwitch {
  private readonly macs = new Map<string, Map<string, number>>();
  private readonly ips = new Map<string, Map<string, HostLocation>>();

  constructor(
    private readonly idleTimeout: number,
    private readonly mirrorsOf: (dpid: string) => MirrorPorts[],
    private readonly logger: Logger,
  ) {}

  /** Forget a datapath's hosts (on (re)connect: its learnt flows are deleted too). */
  reset(dpid: string): void {
    this.macs.delete(dpid);
    this.ips.delete(dpid);
  }

  locate(dpid: string, ip: string): HostLocation | undefined {
    return this.ips.get(dpid)?.get(ip);
  }

  /** MODIFYs that update a datapath's learnt flows in place for a new mirror set. */
  rewriteForMirrors(dpid: string, mirrors: readonly MirrorPorts[]): ((xid: number) => Buffer)[] {
    return learntRewrites(this.macs.get(dpid) ?? new Map(), mirrors).map((r) => {
      const spec = learntFlow(r.match.inPort, r.match.ethDst, r.outPorts, 0);
      return (xid: number) =>
        encodeFlowMod(xid, spec, { command: FLOW_CMD.MODIFY, cookieMask: 0xffffffffffffffffn });
    });
  }

  /** Learnt flows from `inPort` to every host known on the datapath (see learntFlowsFrom). */
  flowsFrom(dpid: string, inPort: number, mirrors: readonly MirrorPorts[], skipPort?: number): FlowSpec[] {
    return learntFlowsFrom(inPort, this.macs.get(dpid) ?? new Map(), mirrors, this.idleTimeout, skipPort);
  }

  /** Installs flowsFrom() now (outside a batch: from an event handler). */
  reachFrom(
    session: SwitchSession,
    inPort: number,
    mirrors: readonly MirrorPorts[],
    skipPort?: number,
  ): void {
    for (const flow of this.flowsFrom(session.dpid, inPort, mirrors, skipPort))
      session.sendNow((xid) => encodeFlowMod(xid, flow, { command: FLOW_CMD.ADD }));
  }

  /**
   * A port went away (deleted, link down or administratively down): forget the MACs behind it
   * and delete the learnt flows that output to it, so traffic floods and relearns elsewhere.
   */
  portGone(session: SwitchSession, portNo: number): void {
    const macs = this.macs.get(session.dpid);
    if (macs) for (const [mac, p] of macs) if (p === portNo) macs.delete(mac);
    const spec: FlowSpec = {
      tableId: TABLE_FORWARDING,
      priority: 0,
      cookie: cookieFor('learning'),
      match: {},
      apply: [],
    };
    session.sendNow((xid) =>
      encodeFlowMod(xid, spec, {
        command: FLOW_CMD.DELETE,
        cookieMask: 0xffffffffffffffffn,
        outPort: portNo,
      }),
    );
    session.sendNow((xid) =>
      encodeFlowMod(
        xid,
        { ...spec, match: { inPort: portNo } },
        { command: FLOW_CMD.DELETE, cookieMask: 0xffffffffffffffffn },
      ),
    );
  }

  onPacketIn(session: SwitchSession, inPort: number, data: Buffer): void {
    const frame = parseFrame(data);
    if (!frame || frame.ethType === 0x88cc) return; // runt or LLDP
    const dpid = session.dpid;
    let macs = this.macs.get(dpid);
    if (!macs) {
      macs = new Map();
      this.macs.set(dpid, macs);
    }
    if (
      frame.senderIp &&
      !isMulticastMac(frame.src) &&
      frame.senderIp !== '0.0.0.0' &&
      frame.senderIp !== '::'
    ) {
      let ips = this.ips.get(dpid);
      if (!ips) {
        ips = new Map();
        this.ips.set(dpid, ips);
      }
      ips.set(frame.senderIp, { mac: frame.src, port: inPort });
    }
    const d = learnDecision(macs, inPort, frame, floodPorts(session), this.mirrorsOf(dpid), this.idleTimeout);
    if (d.learnt) {
      this.logger.debug({ dpid, mac: d.learnt.mac, port: d.learnt.port }, 'learnt');
      if (d.learnt.movedFrom !== undefined) {
        // flows still pointing at the old port must go
        const spec: FlowSpec = {
          tableId: TABLE_FORWARDING,
          priority: 0,
          cookie: cookieFor('learning'),
          match: { ethDst: d.learnt.mac },
          apply: [],
        };
        session.sendNow((xid) =>
          encodeFlowMod(xid, spec, { command: FLOW_CMD.DELETE, cookieMask: 0xffffffffffffffffn }),
        );
      }
    }
    const flow = d.flow;
    if (flow) session.sendNow((xid) => encodeFlowMod(xid, flow, { command: FLOW_CMD.ADD }));
    if (d.outputs.length)
      session.sendNow((xid) =>
        encodePacketOut(
          xid,
          inPort,
          d.outputs.map((port) => ({ type: 'output', port })),
          data,
        ),
      );
  }
}

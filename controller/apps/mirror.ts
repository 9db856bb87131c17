// Port mirrors: both directions of a source port copied to a target port with OpenFlow flows.
// The ingress half is a table 0 flow; the egress half lives in the learning app's output lists
// (mirrorOutputs), so the learnt flows of a datapath are rewritten whenever its mirrors change.
import { InvalidRequestError, type Mirror, type MirrorSpec, NotFoundError } from '../facade.js';
import { cookieKindOf } from '../flows/cookies.js';
import type { FlowSpec } from '../flows/flow-spec.js';
import { barrierEchoFlows, mirrorIngressFlow, mirrorOfCookie } from '../flows/mirror-flows.js';
import type { MirrorPorts } from '../flows/mirror-outputs.js';
import { PRIORITY, TABLE_INGRESS } from '../flows/pipeline.js';
import type { WireFlowStats } from '../of-wire.js';

export class MirrorApp {
  private readonly mirrors = new Map<string, Mirror>();
  private nextNo = 1n;

  list(): Mirror[] {
    return [...this.mirrors.values()];
  }

  get(id: string): Mirror {
    const m = this.mirrors.get(id);
    if (!m) throw new NotFoundError('mirror', id);
    return m;
  }

  portsFor(dpid: string): MirrorPorts[] {
    return this.list().filter((m) => m.dpid === dpid);
  }

  /** Whether a port of the datapath is mirrored (the source of a mirror). */
  isSource(dpid: string, port: number): boolean {
    return this.list().some((m) => m.dpid === dpid && m.sourcePort === port);
  }

  /** Whether a mirror of that source port asks for a fence when its link goes down. */
  fencesOnLinkDown(dpid: string, port: number): boolean {
    return this.list().some((m) => m.dpid === dpid && m.sourcePort === port && m.fenceOnLinkDown);
  }

  /** Validates and records a mirror; returns it with the flows that implement it. */
  add(spec: MirrorSpec): { mirror: Mirror; flows: FlowSpec[] } {
    if (spec.sourcePort === spec.targetPort)
      throw new InvalidRequestError('sourcePort and targetPort must differ');
    const dup = this.list().find(
      (m) => m.dpid === spec.dpid && m.sourcePort === spec.sourcePort && m.targetPort === spec.targetPort,
    );
    if (dup)
      throw new InvalidRequestError(
        `port ${spec.sourcePort} is already mirrored to ${spec.targetPort} (mirror ${dup.id})`,
      );
    const no = this.nextNo++;
    const mirror: Mirror = {
      ...spec,
      id: `m${no}`,
      createdAt: new Date().toISOString(),
      fenceOnLinkDown: spec.fenceOnLinkDown === true,
    };
    this.mirrors.set(mirror.id, mirror);
    return { mirror, flows: MirrorApp.flows(mirror) };
  }

  remove(id: string): { mirror: Mirror; flows: FlowSpec[] } {
    const mirror = this.get(id);
    this.mirrors.delete(id);
    // the barrier echo stays while another mirror has the same target
    const shared = this.list().some((m) => m.dpid === mirror.dpid && m.targetPort === mirror.targetPort);
    const flows = MirrorApp.flows(mirror);
    return { mirror, flows: shared ? flows.slice(0, 1) : flows };
  }

  /** Undo of add() when installing failed. */
  forget(id: string): void {
    this.mirrors.delete(id);
  }

  /** The ingress flow first, then the target's barrier echo. */
  static flows(m: Mirror): FlowSpec[] {
    return [
      mirrorIngressFlow(BigInt(m.id.slice(1)), m.sourcePort, m.targetPort, m.fenceOnLinkDown),
      ...barrierEchoFlows(m.targetPort),
    ];
  }

  /** Re-creates mirrors from flows found on a switch (a restarted controller keeps them). */
  adopt(dpid: string, flows: readonly WireFlowStats[]): Mirror[] {
    const adopted: Mirror[] = [];
    for (const f of flows) {
      if (
        cookieKindOf(f.cookie) !== 'mirror' ||
        f.tableId !== TABLE_INGRESS ||
        f.priority !== PRIORITY.mirrorIngress
      )
        continue;
      const out = f.apply.find((a) => a.type === 'output');
      if (f.match.inPort === undefined || out?.type !== 'output') continue;
      const { mirrorNo: no, fenceOnLinkDown } = mirrorOfCookie(f.cookie);
      const id = `m${no}`;
      if (this.mirrors.has(id)) continue;
      const m: Mirror = {
        id,
        dpid,
        sourcePort: f.match.inPort,
        targetPort: out.port,
        createdAt: new Date().toISOString(),
        fenceOnLinkDown,
      };
      this.mirrors.set(id, m);
      if (no >= this.nextNo) this.nextNo = no + 1n;
      adopted.push(m);
    }
    return adopted;
  }
}

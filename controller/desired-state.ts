// What the controller wants on each switch (pipeline, mirrors, redirects: never learnt flows),
// and the pure plan that brings a switch's dumped flows in line with it.
import { cookieKindOf, isOurs } from './flows/cookies.js';
import { type FlowSpec, flowBody, flowKey } from './flows/flow-spec.js';
import type { WireFlowStats } from './of-wire.js';

export interface ResyncPlan {
  /** our flows to remove (stale, wrong, or learnt before a reconnect) */
  remove: FlowSpec[];
  /** desired flows missing or different on the switch */
  install: FlowSpec[];
  /** desired flows already right */
  kept: number;
}

/** Diff of the switch's flows against the desired ones. Flows without our cookie are left alone. */
export function planResync(desired: readonly FlowSpec[], actual: readonly WireFlowStats[]): ResyncPlan {
  const want = new Map(desired.map((f) => [flowKey(f), f]));
  const seenRight = new Set<string>();
  const remove: FlowSpec[] = [];
  for (const a of actual) {
    if (!isOurs(a.cookie)) continue;
    const spec: FlowSpec = {
      tableId: a.tableId,
      priority: a.priority,
      cookie: a.cookie,
      match: a.match,
      apply: a.apply,
      gotoTable: a.gotoTable,
      idleTimeout: a.idleTimeout,
      hardTimeout: a.hardTimeout,
    };
    const key = flowKey(spec);
    const w = want.get(key);
    const right =
      w !== undefined &&
      a.unknownFields.length === 0 &&
      cookieKindOf(a.cookie) !== 'learning' &&
      flowBody(w) === flowBody(spec) &&
      !seenRight.has(key);
    if (right) seenRight.add(key);
    else remove.push(spec);
  }
  const install = [...want.entries()].filter(([k]) => !seenRight.has(k)).map(([, f]) => f);
  return { remove, install, kept: seenRight.size };
}

/** Desired flows per datapath, keyed by flow identity. */
export class DesiredState {
  private readonly byDpid = new Map<string, Map<string, FlowSpec>>();

  private table(dpid: string): Map<string, FlowSpec> {
    let t = this.byDpid.get(dpid);
    if (!t) {
      t = new Map();
      this.byDpid.set(dpid, t);
    }
    return t;
  }

  add(dpid: string, flows: readonly FlowSpec[]): void {
    const t = this.table(dpid);
    for (const f of flows) t.set(flowKey(f), f);
  }

  /** Removes the given flows; returns the ones that were present. */
  remove(dpid: string, flows: readonly FlowSpec[]): FlowSpec[] {
    const t = this.table(dpid);
    const out: FlowSpec[] = [];
    for (const f of flows) {
      const k = flowKey(f);
      if (t.get(k)?.cookie === f.cookie) {
        out.push(f);
        t.delete(k);
      }
    }
    return out;
  }

  flows(dpid: string): FlowSpec[] {
    return [...this.table(dpid).values()];
  }
}

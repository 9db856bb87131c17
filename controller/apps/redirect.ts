// Redirects: a service IP's IPv4 traffic and ARP moved from one port to another, eth_dst
// rewritten to the new host's MAC (table 0, above mirrors and forwarding).
import { isIPv4 } from 'node:net';
import { InvalidRequestError, NotFoundError, type Redirect, type RedirectSpec } from '../facade.js';
import { cookieKindOf } from '../flows/cookies.js';
import { ETH_TYPE_IPV4, type FlowSpec } from '../flows/flow-spec.js';
import type { MirrorPorts } from '../flows/mirror-outputs.js';
import { PRIORITY, TABLE_INGRESS } from '../flows/pipeline.js';
import { redirectFlows } from '../flows/redirect-flows.js';
import type { WireFlowStats } from '../of-wire.js';

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export class RedirectApp {
  private readonly redirects = new Map<string, Redirect>();
  private nextNo = 1n;

  list(): Redirect[] {
    return [...this.redirects.values()];
  }

  get(id: string): Redirect {
    const r = this.redirects.get(id);
    if (!r) throw new NotFoundError('redirect', id);
    return r;
  }

  add(spec: RedirectSpec, mirrors: readonly MirrorPorts[]): { redirect: Redirect; flows: FlowSpec[] } {
    if (!isIPv4(spec.ip)) throw new InvalidRequestError(`ip must be an IPv4 address, got ${spec.ip}`);
    if (!MAC_RE.test(spec.toMac))
      throw new InvalidRequestError(`toMac must be a MAC address, got ${spec.toMac}`);
    if (spec.fromPort === spec.toPort) throw new InvalidRequestError('fromPort and toPort must differ');
    const dup = this.list().find((r) => r.dpid === spec.dpid && r.ip === spec.ip);
    if (dup) throw new InvalidRequestError(`${spec.ip} is already redirected (redirect ${dup.id})`);
    const no = this.nextNo++;
    const redirect: Redirect = {
      ...spec,
      toMac: spec.toMac.toLowerCase(),
      id: `r${no}`,
      createdAt: new Date().toISOString(),
    };
    this.redirects.set(redirect.id, redirect);
    return { redirect, flows: RedirectApp.flows(redirect, mirrors) };
  }

  remove(id: string, mirrors: readonly MirrorPorts[]): { redirect: Redirect; flows: FlowSpec[] } {
    const redirect = this.get(id);
    this.redirects.delete(id);
    return { redirect, flows: RedirectApp.flows(redirect, mirrors) };
  }

  forget(id: string): void {
    this.redirects.delete(id);
  }

  static flows(r: Redirect, mirrors: readonly MirrorPorts[]): FlowSpec[] {
    const copyTo = mirrors.filter((m) => m.sourcePort === r.toPort).map((m) => m.targetPort);
    return redirectFlows({
      redirectNo: BigInt(r.id.slice(1)),
      fromPort: r.fromPort,
      ip: r.ip,
      toPort: r.toPort,
      toMac: r.toMac,
      copyTo,
    });
  }

  /** Re-creates redirects from flows found on a switch (fromPort rides in the cookie). */
  adopt(dpid: string, flows: readonly WireFlowStats[]): Redirect[] {
    const adopted: Redirect[] = [];
    for (const f of flows) {
      if (
        cookieKindOf(f.cookie) !== 'redirect' ||
        f.tableId !== TABLE_INGRESS ||
        f.priority !== PRIORITY.redirect
      )
        continue;
      if (f.match.ethType !== ETH_TYPE_IPV4 || !f.match.ipv4Dst) continue;
      const set = f.apply.find((a) => a.type === 'set_eth_dst');
      const out = f.apply.find((a) => a.type === 'output');
      if (set?.type !== 'set_eth_dst' || out?.type !== 'output') continue;
      const no = (f.cookie & 0xffffffffffn) >> 16n;
      const fromPort = Number(f.cookie & 0xffffn);
      const id = `r${no}`;
      if (this.redirects.has(id)) continue;
      const r: Redirect = {
        id,
        dpid,
        ip: f.match.ipv4Dst,
        fromPort,
        toPort: out.port,
        toMac: set.mac,
        createdAt: new Date().toISOString(),
      };
      this.redirects.set(id, r);
      if (no >= this.nextNo) this.nextNo = no + 1n;
      adopted.push(r);
    }
    return adopted;
  }
}

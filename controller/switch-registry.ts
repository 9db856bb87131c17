// The connected switches by datapath id. A switch that reconnects replaces its old session.
import { NotFoundError } from './facade.js';
import type { SwitchSession } from './session.js';

const DPID_RE = /^[0-9a-f]{16}$/;

export function normalizeDpid(dpid: string): string {
  const d = String(dpid).toLowerCase();
  if (!DPID_RE.test(d)) throw new NotFoundError('switch', String(dpid));
  return d;
}

export class SwitchRegistry {
  private readonly byDpid = new Map<string, SwitchSession>();

  /** Registers a ready session; returns the session it replaced, if any. */
  add(session: SwitchSession): SwitchSession | undefined {
    const old = this.byDpid.get(session.dpid);
    this.byDpid.set(session.dpid, session);
    return old === session ? undefined : old;
  }

  /** Removes the session if it is still the current one for its dpid. */
  remove(session: SwitchSession): boolean {
    if (this.byDpid.get(session.dpid) !== session) return false;
    this.byDpid.delete(session.dpid);
    return true;
  }

  get(dpid: string): SwitchSession {
    const d = normalizeDpid(dpid);
    const s = this.byDpid.get(d);
    if (!s || s.closed) throw new NotFoundError('switch', d);
    return s;
  }

  find(dpid: string): SwitchSession | undefined {
    return this.byDpid.get(dpid);
  }

  all(): SwitchSession[] {
    return [...this.byDpid.values()].filter((s) => s.isReady);
  }

  get size(): number {
    return this.byDpid.size;
  }
}

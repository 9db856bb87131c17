// Whether the controller has fenced the service's port on its own (the mirror's
// fenceOnLinkDown), from its event stream. The failover's fence step goes on when either its own
// request is answered or this says the port is fenced, whichever comes first: the controller
// fences as soon as the switch reports the link down, before this agent has even heard of it.
import { isPortFencedEvent, isPortStatusEvent } from './controller-client.js';

export class FenceWatch {
  /** the service's link is down and has not come back since */
  private linkDown = false;
  /** the controller fenced the port during this link-down */
  private fenced = false;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly dpid: string,
    private readonly port: number,
  ) {}

  /** Feed one event from the controller's /v1/events stream. */
  controllerEvent(e: unknown): void {
    if (isPortStatusEvent(e)) {
      if (e.dpid !== this.dpid || e.port.portNo !== this.port) return;
      // A link-down not fenced yet (the controller reports it before fencing), or the link back:
      // either way a fence seen before does not count for what comes next.
      if (!e.port.linkDown || !e.port.adminDown) this.fenced = false;
      this.linkDown = e.port.linkDown;
      if (!this.linkDown) this.waiters = [];
      return;
    }
    if (isPortFencedEvent(e) && e.dpid === this.dpid && e.port.portNo === this.port && this.linkDown) {
      this.fenced = true;
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** Resolves once the controller reports the port fenced during the current link-down (at once
   *  if it has); never rejects, and never resolves if it does not. */
  whenFenced(): Promise<void> {
    if (this.fenced) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

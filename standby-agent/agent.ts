// The standby agent: capture on the mirror port -> pipeline -> connection table, plus the
// counters its API and metrics report. The failover role is wired on top (failover/wire.ts).
import { Gauge, type Registry } from 'prom-client';
import type { FifoLimits, Protocol } from './analyzers/types.js';
import { LiveCapture, serviceFilter } from './capture/live.js';
import { type CapturedFrame, readPcapFile } from './capture/pcap-file.js';
import { Pipeline } from './pipeline.js';
import { ConnectionTable, type ServiceSpec } from './tracking/connection-table.js';
import { type ConnectionSummary, describeConnection } from './tracking/describe.js';

export interface AgentOptions {
  services: ServiceSpec[];
  protocols?: Record<number, Protocol>;
  fifo?: FifoLimits;
  maxConnections?: number;
  registry?: Registry;
}

export class Agent {
  readonly table: ConnectionTable;
  readonly pipeline: Pipeline;
  private capture: LiveCapture | undefined;
  private iface: string | undefined;
  private readonly gauges: { connections?: Gauge; frames?: Gauge; drops?: Gauge };

  constructor(
    private readonly opts: AgentOptions,
    clock?: (frame: CapturedFrame) => number,
  ) {
    this.table = new ConnectionTable({
      services: opts.services,
      protocols: opts.protocols,
      fifo: opts.fifo,
      maxEntries: opts.maxConnections,
    });
    this.pipeline = new Pipeline(this.table, clock);
    const registers = opts.registry ? [opts.registry] : [];
    this.gauges = opts.registry
      ? {
          connections: new Gauge({
            name: 'nonstop_agent_connections',
            help: 'tracked connections',
            registers,
          }),
          frames: new Gauge({ name: 'nonstop_agent_frames_total', help: 'frames processed', registers }),
          drops: new Gauge({
            name: 'nonstop_agent_capture_drops',
            help: 'frames dropped before the agent saw them',
            registers,
          }),
        }
      : {};
  }

  /** Live capture on the mirror interface (promiscuous, filtered to the service addresses). */
  startCapture(iface: string): void {
    this.iface = iface;
    this.capture = new LiveCapture({ iface, filter: serviceFilter(this.opts.services.map((s) => s.ip)) });
    this.capture.start((f) => this.pipeline.onFrame(f));
  }

  /** Offline: every frame of a pcap file through the same pipeline. */
  readPcap(path: string): void {
    for (const frame of readPcapFile(path)) this.pipeline.onFrame(frame);
  }

  stop(): void {
    this.capture?.stop();
    this.capture = undefined;
  }

  status() {
    return {
      role: 'standby',
      capture: { iface: this.iface ?? null, ...(this.capture?.stats() ?? {}) },
      frames: this.pipeline.frames,
      skipped: this.pipeline.skipped,
      agentErrors: this.pipeline.agentErrors,
      table: { size: this.table.size, ...this.table.counters },
    };
  }

  connections(nowMs?: number): ConnectionSummary[] {
    return [...this.table.entries()].map((c) => describeConnection(c, nowMs));
  }

  updateMetrics(): void {
    this.gauges.connections?.set(this.table.size);
    this.gauges.frames?.set(this.pipeline.frames);
    const s = this.capture?.stats();
    this.gauges.drops?.set((s?.kernelDrops ?? 0) + (s?.ifaceDrops ?? 0));
  }
}

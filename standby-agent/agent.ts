// The standby agent: capture on the mirror port -> pipeline -> connection table, plus the
// counters its API and metrics report. The failover role is wired on top (failover/wire.ts).
import { Gauge, type Registry } from 'prom-client';
import type { FifoLimits, Protocol } from './analyzers/types.js';
import { type BarrierResult, barrierFrame, CaptureBarrier } from './capture/barrier.js';
import { LateClientFrames, type LateFrameCounts } from './capture/late-frames.js';
import { LiveCapture, serviceFilter } from './capture/live.js';
import { macOf } from './failover/address.js';
import { loadRepairAddon } from './restore/repair-addon.js';
import { readFileSync } from 'node:fs';
import { forEachPcapRecord } from './capture/pcap-file.js';
import { type WarmUpResult, warmUpPipeline } from './capture/warm-up.js';
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
  private barrier: CaptureBarrier | undefined;
  private stoppedBecause: string | undefined;
  /** frames still arrive but are not tracked (see stopSoon) */
  private ignoring = false;
  /** once tracking stopped for a failover: client segments the mirror still brings */
  private late: LateClientFrames | undefined;
  private iface: string | undefined;
  private readonly gauges: { connections?: Gauge; frames?: Gauge; drops?: Gauge };

  constructor(
    private readonly opts: AgentOptions,
    /** maps a frame's capture time to the table's clock (default: the performance clock) */
    clock?: (captureTsMs: number) => number,
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

  /** Live capture on the mirror interface (promiscuous, filtered to the service addresses),
   *  after warming the per-packet path up (capture/warm-up.ts says why). `skipOwnFrames`: a
   *  standby's own frames are not captured (see serviceFilter). */
  startCapture(iface: string, bufferBytes?: number, opts: { skipOwnFrames?: boolean } = {}): WarmUpResult {
    this.iface = iface;
    const warm = warmUpPipeline(this.opts.services, this.opts.protocols);
    const mac = macOf(iface);
    this.capture = new LiveCapture({
      iface,
      filter: serviceFilter(
        this.opts.services.map((s) => s.ip),
        opts.skipOwnFrames ? mac : undefined,
      ),
      bufferSize: bufferBytes,
    });
    this.capture.start((buf, start, end, tsMs) => {
      if (!this.ignoring) this.pipeline.onBytes(buf, start, end, tsMs);
      else this.late?.onFrame(buf, start, end);
    });
    // markers from the first service address to itself pass the capture's filter
    const ip = this.opts.services[0]?.ip;
    const barrier = new CaptureBarrier(
      (token) => {
        if (!ip) throw new Error('no service address to mark frames with');
        loadRepairAddon().sendFrame(iface, barrierFrame(mac, ip, token));
      },
      () => this.table.serviceFrames,
    );
    this.barrier = barrier;
    this.pipeline.onBarrier = (token, echoed) => barrier.seen(token, echoed);
    return warm;
  }

  /** Resolves once the live capture has tracked every frame received so far (capture/barrier.ts).
   *  `quietSince` (a count of the service's frames, table.serviceFrames, taken when it was
   *  fenced): if more came since, also until the switch has none of them left to forward. */
  captureBarrier(timeoutMs?: number, quietSince?: number): Promise<BarrierResult> {
    if (!this.barrier || !this.capture || this.ignoring)
      return Promise.resolve({ ok: false, ms: 0, error: 'not capturing' });
    if (quietSince === undefined) return this.barrier.pass(timeoutMs);
    return this.barrier.passUntilQuiet(() => this.table.serviceFrames > quietSince, timeoutMs);
  }

  /** Offline: every frame of a pcap file through the same pipeline. */
  readPcap(path: string): void {
    forEachPcapRecord(readFileSync(path), (buf, start, end, tsMs) =>
      this.pipeline.onBytes(buf, start, end, tsMs),
    );
  }

  /**
   * Stops tracking at once and closes the capture `afterMs` later: closing unmaps the capture
   * ring, which blocks the thread for 25-40 ms, too long in the middle of a failover.
   * `passOnLate`: meanwhile, client segments to the services that the mirror still brings are
   * handed to this host's stack (capture/late-frames.ts says why); `onStopped` gets their counts
   * once the capture is closed.
   */
  stopSoon(
    why: string,
    afterMs: number,
    opts: { passOnLate?: boolean; onStopped?: (late: LateFrameCounts | undefined) => void } = {},
  ): void {
    this.ignoring = true;
    this.stoppedBecause = why;
    if (opts.passOnLate && this.capture) {
      const addon = loadRepairAddon();
      this.late = new LateClientFrames(this.opts.services, (frame) => addon.injectIp(frame));
    }
    setTimeout(() => {
      this.stop(why);
      opts.onStopped?.(this.late?.counts);
    }, afterMs).unref();
  }

  /** Stops capturing; `why` shows in the status. */
  stop(why = 'stopped'): void {
    if (this.capture) this.stoppedBecause = why;
    this.capture?.stop();
    this.capture = undefined;
  }

  status() {
    return {
      role: 'standby',
      capture: {
        iface: this.iface ?? null,
        ...(this.capture?.stats() ?? {}),
        ...(this.stoppedBecause ? { stopped: this.stoppedBecause } : {}),
        ...(this.late ? { lateClientFrames: this.late.counts } : {}),
      },
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

// The agent's failover role, wired: on start it asks the controller to mirror the service port
// to this standby and starts the liveness monitor; on a dead verdict (or POST /v1/failover) it
// runs the failover once and keeps the report.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { HeartbeatTarget } from '../liveness/heartbeat.js';
import type { BarrierResult } from '../capture/barrier.js';
import { type DeadVerdict, LivenessMonitor } from '../liveness/monitor.js';
import { loadRepairAddon } from '../restore/repair-addon.js';
import {
  type RestoreFdOutcome,
  raiseFdLimit,
  restoreFds,
  topUpReceive,
  warmUpRestore,
} from '../restore/repair-socket.js';
import type { RestoreParams, Verdict } from '../tracking/verdict-types.js';
import { interfaceTowards, localAddresses, macOf, setNeighbours, takeAddress } from './address.js';
import type { MirrorRequest } from './controller-client.js';
import { FenceWatch } from './fence-watch.js';
import { type FailoverController, type FailoverDeps, type FailoverTrigger, runFailover } from './failover.js';
import type { FailoverReport } from './report.js';
import {
  type JoinStats,
  LOCAL_POOL_DEFAULTS,
  type LocalService,
  localPoolSize,
  poolResizeNeeded,
  ServiceJoiner,
} from './resume.js';

/** The tracker as the failover sees it (ConnectionTable implements it). */
export interface VerdictSource {
  verdicts(nowMs: number): Iterable<Verdict> | Verdict[];
  /** where the stream of client bytes stands (for verdictsSince) */
  dataMark?(): number;
  /** verdicts of the connections whose client sent bytes since `mark` */
  verdictsSince?(mark: number, nowMs: number): Verdict[];
  /** the MAC a client's frames came from on the mirror, when known */
  clientMac?(ip: string): string | undefined;
  /** when the mirror last showed the service sending new bytes to a client (performance time) */
  lastServiceDataMs?(): number | undefined;
  /** connections tracked now (sizes the pool of idle local connections) */
  readonly size?: number;
  /** frames from the service seen so far, any kind (ConnectionTable.serviceFrames) */
  readonly serviceFrames?: number;
}

/** What the agent needs from the controller (ControllerClient implements it). */
export interface AgentController extends FailoverController {
  addMirror(m: MirrorRequest): Promise<{ id: string }>;
  followEvents(onEvent: (e: unknown) => void, onError?: (e: Error) => void): () => void;
  /** closes kept connections */
  close?(): void;
  /** keeps a connection to the controller open while idle; returns a function that stops it */
  keepWarm?(): () => void;
}

export interface FailoverServiceOptions {
  controller: AgentController;
  tracker: VerdictSource;
  dpid: string;
  servicePort: number;
  standbyPort: number;
  serviceIp: string;
  /** the standby's own service instance, where restored connections are joined */
  localService: LocalService;
  /** switch-facing interface (default: the one the route to the service leaves by) */
  iface?: string;
  /** default: the interface's MAC */
  standbyMac?: string;
  /** heartbeat; false = no heartbeat (manual failover and port-status only) */
  heartbeat?: false | { target: HeartbeatTarget; intervalMs?: number; timeoutMs?: number; misses?: number };
  /** fail over on its own when the service is declared dead (default true) */
  autoFailover?: boolean;
  /** false = IP takeover only, no restoration (the keepalived-like baseline) */
  restoreEnabled?: boolean;
  /** ask the controller to mirror the service port on start (default true) */
  mirror?: boolean;
  settleMs?: number;
  /** the capture barrier (Agent.captureBarrier): snapshots wait for it instead of settleMs */
  drainCapture?: FailoverDeps['drainCapture'];
  /** the failover no longer needs the tracker (see FailoverDeps.trackerDone) */
  onTrackerDone?: () => void;
  /** idle connections to the local service kept ready for a failover's joins: a number, or
   *  "auto" (follows the tracked connections; default); 0 = none */
  localPool?: number | 'auto';
  /** each idle connection is replaced before it is this old (default 15,000 ms) */
  localPoolMaxAgeMs?: number;
  logger?: Logger;
}

export type FailoverState = 'standby' | 'failing-over' | 'active';

export class FailoverService {
  readonly liveness: LivenessMonitor | undefined;
  readonly joiner: ServiceJoiner;
  /** the controller's own fence of the service port, from its events */
  private readonly fenceWatch: FenceWatch;
  private mirrorId: string | undefined;
  private stopEvents: (() => void) | undefined;
  private stopWarm: (() => void) | undefined;
  private last: FailoverReport | undefined;
  private running: Promise<FailoverReport> | undefined;
  private iface: string | undefined;
  private mac: string | undefined;
  state: FailoverState = 'standby';
  private stopped = false;
  private restorePrepared = false;
  private mirrorRetry: NodeJS.Timeout | undefined;
  private poolTimer: NodeJS.Timeout | undefined;
  /** the capture barrier's first try, once mirrored: unless the switch echoed it, snapshots wait
   *  a fixed settleMs instead (a barrier that never passes would cost its timeout twice) */
  private barrierCheck: BarrierResult | undefined;

  constructor(private readonly opts: FailoverServiceOptions) {
    this.joiner = new ServiceJoiner(opts.localService, opts.logger);
    this.fenceWatch = new FenceWatch(opts.dpid, opts.servicePort);
    if (opts.heartbeat) {
      this.liveness = new LivenessMonitor({
        ...opts.heartbeat,
        serviceDataAtMs: () => opts.tracker.lastServiceDataMs?.(),
        dpid: opts.dpid,
        servicePort: opts.servicePort,
        logger: opts.logger,
      });
      this.liveness.on('dead', (v) => this.onDead(v));
    }
  }

  /**
   * Loads the repair addon (failing now, with the build hint, rather than in the middle of a
   * failover), raises the descriptor limit and warms the restore path up. start() does it if
   * not done yet. The agent calls it before its capture warm-up: the restore's warm-up specs
   * (loopback literals) and the tracker's are objects of two shapes, and V8 then optimises the
   * spec packer for both, in the capture warm-up. The other way round, the restore's warm-up
   * discarded the packer's optimised code ("wrong map"), and the first failover of 1,000
   * connections optimised it again on a compiler thread (a 92 ms job in V8's log).
   */
  prepareRestore(): void {
    const { opts } = this;
    if (opts.restoreEnabled === false || this.restorePrepared) return;
    loadRepairAddon();
    const fdLimit = raiseFdLimit();
    opts.logger?.info(
      { fdLimit },
      `descriptor limit ${fdLimit}: about ${Math.floor(fdLimit / 3)} connections per failover`,
    );
    const warmed = warmUpRestore();
    opts.logger?.debug({ warmed }, 'restore path warmed up');
    this.restorePrepared = true;
  }

  /**
   * Mirror the service port here, follow the controller's events, start heartbeats. A controller
   * that is not reachable yet does not stop the agent: the mirror is retried every second.
   */
  async start(): Promise<void> {
    const { opts } = this;
    this.prepareRestore();
    this.iface = opts.iface ?? (await interfaceTowards(opts.serviceIp));
    this.mac = opts.standbyMac ?? macOf(this.iface);
    if (opts.mirror !== false) await this.ensureMirror();
    this.stopEvents = opts.controller.followEvents(
      (e) => {
        this.fenceWatch.controllerEvent(e);
        this.liveness?.controllerEvent(e);
      },
      (e) => opts.logger?.warn({ err: e.message }, 'controller event stream'),
    );
    this.stopWarm = opts.controller.keepWarm?.();
    this.liveness?.start();
    if (opts.restoreEnabled !== false) {
      this.resizePool();
      this.poolTimer = setInterval(() => this.resizePool(), LOCAL_POOL_DEFAULTS.resizeMs);
      this.poolTimer.unref();
    }
  }

  /** The idle local connections follow the tracked connections while this node is a standby. */
  private resizePool(): void {
    const { opts } = this;
    if (this.state === 'failing-over') return; // its joins are taking them
    const wanted =
      this.state === 'standby' && !this.stopped
        ? localPoolSize(opts.localPool ?? 'auto', opts.tracker.size ?? 0)
        : 0;
    const current = this.joiner.keptIdle;
    if (!poolResizeNeeded(current, wanted)) return;
    if (!this.joiner.keepIdle(wanted, opts.localPoolMaxAgeMs ?? LOCAL_POOL_DEFAULTS.maxAgeMs)) {
      if (this.poolTimer) clearInterval(this.poolTimer);
      this.poolTimer = undefined;
      return;
    }
    const msg = `keeping ${wanted} idle connections to the local service ${opts.localService.host}:${opts.localService.port}`;
    if (wanted === 0 || current === 0) opts.logger?.info({ localPool: wanted }, msg);
    else opts.logger?.debug({ localPool: wanted }, msg);
  }

  /** Whether the mirror of the service port to this standby is in place. */
  mirrored(): boolean {
    return this.mirrorId !== undefined;
  }

  private async ensureMirror(): Promise<void> {
    const { opts } = this;
    try {
      const m = await opts.controller.addMirror({
        dpid: opts.dpid,
        sourcePort: opts.servicePort,
        targetPort: opts.standbyPort,
        // this agent fails over on a link-down anyway: the controller may fence at once
        fenceOnLinkDown: opts.autoFailover !== false,
      });
      this.mirrorId = m.id;
      opts.logger?.info(
        { mirror: m.id },
        `mirroring switch ${opts.dpid} port ${opts.servicePort} to port ${opts.standbyPort}`,
      );
      void this.checkBarrier();
    } catch (e) {
      opts.logger?.error(
        { err: (e as Error).message },
        'cannot set up the mirror yet (retrying every second)',
      );
      if (!this.stopped) this.mirrorRetry = setTimeout(() => void this.ensureMirror(), 1000);
    }
  }

  /** Tries the barrier up to `tries` times, a second apart (a marker can be lost at start-up). */
  private async checkBarrier(tries = 3): Promise<void> {
    const { opts } = this;
    if (!opts.drainCapture) return;
    const r = await opts.drainCapture();
    this.barrierCheck = r;
    if (r.ok) {
      opts.logger?.info({ barrier: r }, `capture barrier echoed by the switch in ${r.ms} ms`);
      return;
    }
    const again = tries > 1 && !this.stopped;
    opts.logger?.warn(
      { barrier: r },
      `capture barrier not passed (${r.error ?? 'timeout'}): ${again ? 'trying again in a second; until then, ' : ''}failover snapshots wait a fixed time`,
    );
    if (again) {
      await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      if (!this.stopped && this.state === 'standby') await this.checkBarrier(tries - 1);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.mirrorRetry) clearTimeout(this.mirrorRetry);
    this.liveness?.stop();
    this.stopEvents?.();
    this.stopWarm?.();
    if (this.poolTimer) clearInterval(this.poolTimer);
    this.poolTimer = undefined;
    this.resizePool(); // to none
    this.opts.controller.close?.();
  }

  /** For the agent's status endpoint. */
  status(): {
    state: FailoverState;
    mirrored: boolean;
    liveness: unknown;
    lastHeartbeat: unknown;
    resumed: JoinStats;
    captureBarrier?: BarrierResult;
    lastFailover?: { id: number; outcome: string; startedAt: string };
  } {
    const r = this.last;
    return {
      state: this.state,
      mirrored: this.mirrored(),
      liveness: this.liveness?.core.verdict() ?? 'no heartbeat',
      lastHeartbeat: this.liveness?.lastHeartbeat(),
      resumed: { ...this.joiner.stats },
      captureBarrier: this.barrierCheck,
      lastFailover: r ? { id: r.id, outcome: r.outcome, startedAt: r.startedAt } : undefined,
    };
  }

  lastReport(): FailoverReport | undefined {
    return this.last;
  }

  /** Runs the failover (one at a time; a second call while one runs gets the same report). */
  failover(trigger: FailoverTrigger): Promise<FailoverReport> {
    if (this.running) return this.running;
    if (this.state === 'active') {
      return Promise.resolve(
        this.refused(trigger, 'already failed over: this standby owns the service address'),
      );
    }
    this.state = 'failing-over';
    this.running = this.run(trigger).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private refused(trigger: FailoverTrigger, error: string): FailoverReport {
    return {
      id: 0,
      trigger: { kind: trigger.kind, forced: trigger.force === true, reason: trigger.reason },
      startedAt: new Date().toISOString(),
      durationMs: 0,
      outcome: 'refused',
      error,
      steps: [],
      connections: [],
      summary: { restored: 0, reset: 0, failed: 0 },
    };
  }

  private async run(trigger: FailoverTrigger): Promise<FailoverReport> {
    const { opts } = this;
    if (!this.iface || !this.mac) {
      this.iface = opts.iface ?? (await interfaceTowards(opts.serviceIp));
      this.mac = opts.standbyMac ?? macOf(this.iface);
    }
    const iface = this.iface;
    // a manual request is checked against a fresh heartbeat, not one up to an interval old (or
    // a dead verdict that comes first: see probeNow)
    if (trigger.kind === 'manual' && !trigger.force && this.liveness?.core.answering()) {
      await this.liveness.probeNow();
    }
    const ownIps = localAddresses().filter((a) => a !== opts.serviceIp);
    const restoreEnabled = opts.restoreEnabled !== false;
    /** the tracker's data mark at the final snapshot: the top-up looks at what came after */
    let mark: number | undefined;
    const report = await runFailover(
      {
        controller: opts.controller,
        config: {
          dpid: opts.dpid,
          servicePort: opts.servicePort,
          standbyPort: opts.standbyPort,
          serviceIp: opts.serviceIp,
          standbyMac: this.mac,
          settleMs: opts.settleMs,
          ownIps,
        },
        snapshot: () => {
          if (!restoreEnabled) return [];
          mark = opts.tracker.dataMark?.();
          return [...opts.tracker.verdicts(performance.now())];
        },
        laterSnapshot: () => {
          const { tracker } = opts;
          if (!restoreEnabled) return [];
          if (mark === undefined || !tracker.verdictsSince) return [...tracker.verdicts(performance.now())];
          // each later view covers what came since the one before
          const since = mark;
          mark = tracker.dataMark?.();
          return tracker.verdictsSince(since, performance.now());
        },
        drainCapture: restoreEnabled && this.barrierCheck?.ok ? opts.drainCapture : undefined,
        serviceFrames:
          opts.tracker.serviceFrames === undefined ? undefined : () => opts.tracker.serviceFrames ?? 0,
        fenceSeen: () => this.fenceWatch.whenFenced(),
        takeAddress: () => takeAddress(opts.serviceIp, iface),
        warmNeighbours: (ips: string[]) =>
          setNeighbours(
            ips.flatMap((ip) => {
              const mac = opts.tracker.clientMac?.(ip);
              return mac ? [{ ip, mac }] : [];
            }),
            iface,
          ),
        restore: (list: RestoreParams[]): RestoreFdOutcome[] => restoreFds(list),
        joiner: {
          prepareAll: (list) =>
            this.joiner.prepareAll(
              list.map(({ fd, params: p }) => ({
                fd,
                label: `${p.remote.ip}:${p.remote.port}`,
                replyPrefix: p.replyPrefix,
                later: p.replyExpected,
              })),
            ),
          begin: () => this.joiner.begin(),
          handOver: () => this.joiner.handOver(),
          cancel: () => this.joiner.cancel(),
          whilePaused: (fn) => this.joiner.whilePaused(fn),
        },
        topUp: topUpReceive,
        trackerDone: () => opts.onTrackerDone?.(),
        mirrorId: () => this.mirrorId,
        liveness: this.liveness
          ? {
              answering: () => this.liveness?.core.answering() ?? false,
              portUp: () => this.liveness?.core.portUp(),
            }
          : undefined,
        logger: opts.logger,
      },
      trigger,
    );
    this.last = report;
    if (report.outcome === 'completed') {
      this.state = 'active';
      this.liveness?.stop();
      this.resizePool(); // this node is the service now: no idle connections for a next failover
    } else {
      this.state = 'standby';
    }
    return report;
  }

  private onDead(v: DeadVerdict): void {
    if (this.opts.autoFailover === false || this.state !== 'standby') return;
    void this.failover({ kind: 'liveness', reason: v.reason, evidence: v.evidence });
  }
}

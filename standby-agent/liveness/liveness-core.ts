// The liveness decision, pure: heartbeat results and port-status observations in, one verdict
// out. The service is declared dead after `misses` consecutive failed heartbeats, or at once
// when the switch reports its port without link. Every verdict carries the evidence it rests on.
// The mirror is a second witness: a service seen sending new bytes to its clients while the
// latest failed heartbeat was out is alive, only slow to answer the standby (under a burst of
// load, heartbeats with an 80 ms deadline failed twice in a row, and a live service was fenced).
// A hung or dead service sends no new bytes, so it is still found dead, as fast as before.
// Heartbeats that never once succeeded declare nothing: that is a wrong --heartbeat, not a death
// (the port's link and a manual failover still are).

export interface LivenessConfig {
  /** consecutive failed heartbeats that make the service dead */
  misses: number;
}

export interface HeartbeatResult {
  ok: boolean;
  /** monotonic ms when the probe finished */
  atMs: number;
  /** ms the probe took (or until it timed out) */
  latencyMs: number;
  /** why it failed: 'timeout', 'ECONNREFUSED', 'HTTP 503', ... */
  error?: string;
}

export interface PortObservation {
  atMs: number;
  linkDown: boolean;
  adminDown: boolean;
}

export type LivenessEvidence =
  | { kind: 'heartbeat'; failures: HeartbeatResult[] }
  | { kind: 'port-down'; port: PortObservation };

export type LivenessVerdict =
  | { state: 'unknown' }
  | { state: 'alive'; lastOkAtMs: number }
  /** heartbeats fail, but the mirror shows the service sending to its clients */
  | { state: 'degraded'; failures: number; serviceDataAtMs: number }
  | { state: 'dead'; atMs: number; reason: string; evidence: LivenessEvidence };

export class LivenessCore {
  private failures: HeartbeatResult[] = [];
  private lastOkAtMs: number | undefined;
  private dead: Extract<LivenessVerdict, { state: 'dead' }> | undefined;
  private port: PortObservation | undefined;
  /** when the mirror last showed the service sending new bytes, at the last miss that counted */
  private serviceDataAtMs: number | undefined;
  /** times heartbeats alone would have declared the service dead while it answered its clients */
  vetoed = 0;
  /** heartbeats failed `misses` times, and none has ever succeeded */
  neverAnswered = false;

  constructor(private readonly config: LivenessConfig) {
    if (!Number.isInteger(config.misses) || config.misses < 1)
      throw new RangeError('misses must be an integer >= 1');
  }

  /**
   * Feeds one heartbeat; returns the verdict if this result changed it to dead.
   * `serviceDataAtMs`: when the mirror last showed the service sending new bytes to a client.
   */
  heartbeat(result: HeartbeatResult, serviceDataAtMs?: number): LivenessVerdict | undefined {
    if (this.dead) return undefined;
    if (result.ok) {
      this.failures = [];
      this.serviceDataAtMs = undefined;
      this.lastOkAtMs = result.atMs;
      return undefined;
    }
    this.failures.push(result);
    if (this.failures.length > this.config.misses) this.failures.shift();
    if (this.failures.length < this.config.misses) return undefined;
    if (this.lastOkAtMs === undefined) {
      this.neverAnswered = true;
      return undefined;
    }
    // sent while this probe was out: the service is alive
    if (serviceDataAtMs !== undefined && serviceDataAtMs > result.atMs - result.latencyMs) {
      this.vetoed++;
      this.serviceDataAtMs = serviceDataAtMs;
      return undefined;
    }
    const n = this.failures.length;
    this.dead = {
      state: 'dead',
      atMs: result.atMs,
      reason: `${n} consecutive heartbeats failed (last: ${result.error ?? 'failed'})`,
      evidence: { kind: 'heartbeat', failures: this.failures.slice() },
    };
    return this.dead;
  }

  /** Feeds the service port's status from the switch; link down is death at once. */
  portStatus(port: PortObservation): LivenessVerdict | undefined {
    this.port = port;
    if (this.dead || !port.linkDown) return undefined;
    this.dead = {
      state: 'dead',
      atMs: port.atMs,
      reason: 'the switch reports the service port without link',
      evidence: { kind: 'port-down', port },
    };
    return this.dead;
  }

  verdict(): LivenessVerdict {
    if (this.dead) return this.dead;
    if (this.serviceDataAtMs !== undefined && this.failures.length >= this.config.misses)
      return { state: 'degraded', failures: this.failures.length, serviceDataAtMs: this.serviceDataAtMs };
    if (this.lastOkAtMs !== undefined && this.failures.length === 0)
      return { state: 'alive', lastOkAtMs: this.lastOkAtMs };
    return { state: 'unknown' };
  }

  /** Whether the service counts as answering right now (for the failover safety check). */
  answering(): boolean {
    return !this.dead && this.lastOkAtMs !== undefined && this.failures.length === 0;
  }

  portUp(): boolean | undefined {
    return this.port ? !this.port.linkDown && !this.port.adminDown : undefined;
  }

  /** Back to unknown (after a failover, or when the service came back). */
  reset(): void {
    this.failures = [];
    this.lastOkAtMs = undefined;
    this.serviceDataAtMs = undefined;
    this.dead = undefined;
  }
}

// The liveness decision, pure: heartbeat results and port-status observations in, one verdict
// out. The service is declared dead after `misses` consecutive failed heartbeats, or at once
// when the switch reports its port without link. Every verdict carries the evidence it rests on.

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
  | { state: 'dead'; atMs: number; reason: string; evidence: LivenessEvidence };

export class LivenessCore {
  private failures: HeartbeatResult[] = [];
  private lastOkAtMs: number | undefined;
  private dead: Extract<LivenessVerdict, { state: 'dead' }> | undefined;
  private port: PortObservation | undefined;

  constructor(private readonly config: LivenessConfig) {
    if (!Number.isInteger(config.misses) || config.misses < 1)
      throw new RangeError('misses must be an integer >= 1');
  }

  /** Feeds one heartbeat; returns the verdict if this result changed it to dead. */
  heartbeat(result: HeartbeatResult): LivenessVerdict | undefined {
    if (this.dead) return undefined;
    if (result.ok) {
      this.failures = [];
      this.lastOkAtMs = result.atMs;
      return undefined;
    }
    this.failures.push(result);
    if (this.failures.length < this.config.misses) return undefined;
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
    this.dead = undefined;
  }
}

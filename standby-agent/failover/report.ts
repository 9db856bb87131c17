// The failover report (GET /v1/failovers/last): every step timed, every connection explained.

export type StepName =
  | 'safety-check'
  | 'fence'
  | 'snapshot'
  | 'take-address'
  | 'neighbours'
  | 'restore'
  | 'join'
  | 'redirect'
  | 'top-up'
  | 'unmirror'
  | 'reset'
  | 'resume';

export interface StepReport {
  name: StepName;
  ok: boolean;
  /** ms since the failover started */
  startMs: number;
  durationMs: number;
  detail?: string;
}

export type ConnectionOutcome = 'restored' | 'reset' | 'failed';

export interface ConnectionReport {
  /** the client endpoint, "ip:port" */
  client: string;
  /** the service endpoint, "ip:port" */
  service: string;
  outcome: ConnectionOutcome;
  /** machine code: 'restored', the tracker's not-restorable code, or the addon's errno code */
  code: string;
  reason: string;
  /** restore step that failed (addon), when outcome = failed */
  step?: string;
  /** bytes put in the receive queue (the unanswered request) / send queue (in flight) */
  recvQueueBytes?: number;
  sendQueueBytes?: number;
  /** the service died mid-reply: bytes of it already sent, which the standby's reply completes */
  replyPrefixBytes?: number;
  /** service bytes the client never got (lost at the fence) are re-created by the standby's reply */
  replyGapFilled?: boolean;
  /** client bytes seen after the snapshot, appended once the redirect was in force */
  topUpBytes?: number;
  /** whether the client was sent a RST through the switch, and why not if not */
  resetSent?: boolean;
  resetError?: string;
}

export interface FailoverReport {
  id: number;
  trigger: { kind: 'manual' | 'liveness'; forced: boolean; reason: string; evidence?: unknown };
  startedAt: string;
  /** total ms from start to the last step */
  durationMs: number;
  /** ms from start until the redirect was in force (clients reach the standby) */
  takeoverMs?: number;
  outcome: 'completed' | 'refused' | 'aborted';
  /** why it was refused or aborted */
  error?: string;
  steps: StepReport[];
  connections: ConnectionReport[];
  summary: { restored: number; reset: number; failed: number; restoreRatePerSec?: number };
}

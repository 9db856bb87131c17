// The demo's verdict, computed from the clients' events and the agent's failover report (pure).
import type { FailoverReportLike } from './ops/commands.js';
import { renderTable } from './ops/table.js';

export interface ClientEvent {
  t: number;
  client: string;
  conn: number;
  ev: 'open' | 'reply' | 'error' | 'closed' | 'timeout' | 'stopped';
  localPort?: number;
  servedBy?: string;
  status?: number;
  ms?: number;
  code?: string;
  seq?: number;
}

export interface ConnectionSummary {
  client: string;
  conn: number;
  localPort?: number;
  requests: number;
  before: number;
  after: number;
  /** servers in order of appearance, e.g. ['service', 'standby'] */
  servedBy: string[];
  /** longest gap between two replies (ms), the failover stall */
  maxStallMs: number;
  /** survived = replies after the failure on the same TCP connection */
  outcome: 'survived' | 'reset' | 'closed' | 'timeout' | 'no-reply-after';
  end?: string;
  /** what the agent said about this connection (restored, reset, failed) */
  agentOutcome?: string;
}

export interface DemoSummary {
  connections: ConnectionSummary[];
  requests: number;
  servedBy: Record<string, number>;
  restored: number;
  reset: number;
  failed: number;
  /** connections the agent restored that the clients saw survive / all it restored */
  restorableSurvived: number;
  restorable: number;
  failover?: FailoverReportLike;
  problems: string[];
  ok: boolean;
}

export function summarizeDemo(
  events: ClientEvent[],
  failAt: number | undefined,
  report: FailoverReportLike | undefined,
  serviceIp: string,
  /** when the clients were stopped: a connection silent since its last reply stalled until then */
  endAt?: number,
): DemoSummary {
  const byConn = new Map<string, ClientEvent[]>();
  for (const e of events) {
    const k = `${e.client}#${e.conn}`;
    if (!byConn.has(k)) byConn.set(k, []);
    byConn.get(k)!.push(e);
  }
  const servedBy: Record<string, number> = {};
  const conns: ConnectionSummary[] = [];
  for (const list of byConn.values()) {
    const replies = list.filter((e) => e.ev === 'reply');
    const open = list.find((e) => e.ev === 'open');
    const end = list.find((e) => e.ev !== 'open' && e.ev !== 'reply');
    const order: string[] = [];
    let maxStall = 0;
    let prev = open?.t;
    for (const r of replies) {
      const who = r.servedBy ?? '?';
      servedBy[who] = (servedBy[who] ?? 0) + 1;
      if (order[order.length - 1] !== who) order.push(who);
      if (prev !== undefined) maxStall = Math.max(maxStall, r.t - prev);
      prev = r.t;
    }
    const silentUntil = end?.t ?? endAt;
    if (prev !== undefined && silentUntil !== undefined) maxStall = Math.max(maxStall, silentUntil - prev);
    const before = failAt === undefined ? replies.length : replies.filter((r) => r.t < failAt).length;
    const after = replies.length - before;
    let outcome: ConnectionSummary['outcome'] = 'survived';
    if (end && end.ev === 'error') outcome = end.code === 'ECONNRESET' ? 'reset' : 'closed';
    else if (end && end.ev === 'closed') outcome = 'closed';
    else if (end && end.ev === 'timeout') outcome = 'timeout';
    else if (failAt !== undefined && after === 0) outcome = 'no-reply-after';
    const summary: ConnectionSummary = {
      client: list[0].client,
      conn: list[0].conn,
      localPort: open?.localPort,
      requests: replies.length,
      before,
      after,
      servedBy: order,
      maxStallMs: maxStall,
      outcome,
      end: end ? `${end.ev}${end.code ? ` ${end.code}` : ''}` : undefined,
    };
    const agentConn = report?.connections?.find(
      (c) => c.client.endsWith(`:${open?.localPort}`) && c.service.startsWith(serviceIp),
    );
    if (agentConn) summary.agentOutcome = agentConn.outcome;
    conns.push(summary);
  }
  conns.sort((a, b) => a.client.localeCompare(b.client) || a.conn - b.conn);

  const problems: string[] = [];
  const restored = report?.summary?.restored ?? 0;
  const reset = report?.summary?.reset ?? 0;
  const failed = report?.summary?.failed ?? 0;
  const restorableConns = conns.filter((c) => c.agentOutcome === 'restored' || c.agentOutcome === 'failed');
  const restorableSurvived = restorableConns.filter((c) => c.outcome === 'survived').length;
  if (!report) problems.push('no failover report from the agent');
  else if (report.outcome !== 'completed')
    problems.push(`failover ${report.outcome ?? '?'}${report.error ? `: ${report.error}` : ''}`);
  if (report && restorableConns.length === 0)
    problems.push("the agent restored none of the clients' connections");
  for (const c of restorableConns) {
    if (c.outcome !== 'survived')
      problems.push(
        `${c.client}#${c.conn} (port ${c.localPort}) was restorable but ${c.outcome}${c.agentOutcome === 'failed' ? ' (restore failed)' : ''}`,
      );
  }
  for (const c of conns) {
    if (!c.agentOutcome && report && c.outcome !== 'survived')
      problems.push(`${c.client}#${c.conn} (port ${c.localPort}) unknown to the agent and ${c.outcome}`);
  }
  const requests = conns.reduce((s, c) => s + c.requests, 0);
  return {
    connections: conns,
    requests,
    servedBy,
    restored,
    reset,
    failed,
    restorableSurvived,
    restorable: restorableConns.length,
    failover: report,
    problems,
    ok: problems.length === 0 && restorableConns.length > 0,
  };
}

export function formatDemoSummary(s: DemoSummary): string {
  const out: string[] = [];
  out.push(
    renderTable(
      [
        'client',
        'local port',
        'requests',
        'before',
        'after',
        'served by',
        'max stall ms',
        'client saw',
        'agent said',
      ],
      s.connections.map((c) => [
        `${c.client}#${c.conn}`,
        c.localPort,
        c.requests,
        c.before,
        c.after,
        c.servedBy.join(' -> ') || '-',
        c.maxStallMs,
        c.outcome,
        c.agentOutcome ?? '-',
      ]),
    ),
  );
  out.push('');
  out.push(
    `requests answered: ${s.requests} (${
      Object.entries(s.servedBy)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    })`,
  );
  if (s.failover) {
    out.push(
      `failover: ${s.failover.outcome}${s.failover.takeoverMs !== undefined ? `, traffic at the standby after ${s.failover.takeoverMs} ms` : ''}` +
        `${s.failover.durationMs !== undefined ? `, done in ${s.failover.durationMs} ms` : ''}`,
    );
  }
  out.push(
    `agent: ${s.restored} restored, ${s.reset} reset, ${s.failed} failed; clients saw ${s.restorableSurvived}/${s.restorable} restorable connections survive`,
  );
  out.push('');
  if (s.ok) out.push("RESULT: PASS - every restorable connection survived its server's death");
  else {
    out.push('RESULT: FAIL');
    for (const p of s.problems) out.push(`  - ${p}`);
  }
  return out.join('\n');
}

// The demo's verdict logic on recorded events: PASS only when every connection the agent
// restored kept answering on the same TCP connection; anything else names the problem.
import t from 'tap';
import { type ClientEvent, formatDemoSummary, summarizeDemo } from '../../topology/demo-report.js';
import type { FailoverReportLike } from '../../topology/ops/commands.js';

const ev = (
  client: string,
  conn: number,
  t: number,
  ev: ClientEvent['ev'],
  extra: Partial<ClientEvent> = {},
): ClientEvent => ({ client, conn, t, ev, ...extra });

function traffic(
  client: string,
  conn: number,
  port: number,
  until: number,
  servedAfter: string | null,
  failAt: number,
): ClientEvent[] {
  const out = [ev(client, conn, 0, 'open', { localPort: port })];
  for (let t = 50; t < until; t += 50) {
    if (t >= failAt && t < failAt + 400) continue; // the stall
    if (t >= failAt && servedAfter === null) break;
    out.push(ev(client, conn, t, 'reply', { servedBy: t < failAt ? 'service' : (servedAfter ?? 'service') }));
  }
  return out;
}

const report = (outcomes: [number, string][]): FailoverReportLike => ({
  outcome: 'completed',
  takeoverMs: 20,
  durationMs: 40,
  connections: outcomes.map(([port, outcome]) => ({
    client: `10.0.0.11:${port}`,
    service: '10.0.0.10:80',
    outcome,
  })),
  summary: {
    restored: outcomes.filter(([, o]) => o === 'restored').length,
    reset: outcomes.filter(([, o]) => o === 'reset').length,
    failed: outcomes.filter(([, o]) => o === 'failed').length,
  },
});

t.test('all restored connections survive: PASS, with stall and who served', async (t) => {
  const failAt = 1000;
  const events = [
    ...traffic('client1', 0, 40000, 3000, 'standby', failAt),
    ...traffic('client1', 1, 40001, 3000, 'standby', failAt),
  ];
  const s = summarizeDemo(
    events,
    failAt,
    report([
      [40000, 'restored'],
      [40001, 'restored'],
    ]),
    '10.0.0.10',
    3000,
  );
  t.ok(s.ok, s.problems.join('; '));
  t.equal(s.restorable, 2);
  t.equal(s.restorableSurvived, 2);
  t.same(s.connections[0].servedBy, ['service', 'standby']);
  t.equal(s.connections[0].maxStallMs, 450, 'the longest gap between replies');
  t.ok(s.connections[0].before > 0 && s.connections[0].after > 0);
  t.match(formatDemoSummary(s), /RESULT: PASS/);
  t.match(formatDemoSummary(s), /service -> standby/);
});

t.test('a restored connection that dies: FAIL naming it', async (t) => {
  const failAt = 1000;
  const events = [
    ...traffic('client1', 0, 40000, 3000, 'standby', failAt),
    ...traffic('client1', 1, 40001, 3000, null, failAt),
    ev('client1', 1, 2000, 'error', { code: 'ECONNRESET' }),
  ];
  const s = summarizeDemo(
    events,
    failAt,
    report([
      [40000, 'restored'],
      [40001, 'restored'],
    ]),
    '10.0.0.10',
    3000,
  );
  t.notOk(s.ok);
  t.equal(s.connections[1].outcome, 'reset');
  t.match(s.problems.join('\n'), /client1#1 \(port 40001\) was restorable but reset/);
  t.match(formatDemoSummary(s), /RESULT: FAIL/);
});

t.test('connections the agent reset on purpose do not fail the demo', async (t) => {
  const failAt = 1000;
  const events = [
    ...traffic('client1', 0, 40000, 3000, 'standby', failAt),
    ...traffic('client1', 1, 40001, 3000, null, failAt),
    ev('client1', 1, 1500, 'error', { code: 'ECONNRESET' }),
  ];
  const s = summarizeDemo(
    events,
    failAt,
    report([
      [40000, 'restored'],
      [40001, 'reset'],
    ]),
    '10.0.0.10',
    3000,
  );
  t.ok(s.ok, s.problems.join('; '));
  t.equal(s.reset, 1);
});

t.test('no failover report: FAIL, and silent connections show their stall', async (t) => {
  const failAt = 1000;
  const s = summarizeDemo(
    traffic('client1', 0, 40000, 3000, null, failAt),
    failAt,
    undefined,
    '10.0.0.10',
    3000,
  );
  t.notOk(s.ok);
  t.match(s.problems, [/no failover report/]);
  t.equal(s.connections[0].outcome, 'no-reply-after');
  t.equal(s.connections[0].maxStallMs, 2050, 'silent from the last reply until the clients stopped');
});

t.test('an aborted failover fails the demo', async (t) => {
  const s = summarizeDemo(
    [],
    1000,
    { ...report([]), outcome: 'aborted', error: 'controller unreachable' },
    '10.0.0.10',
  );
  t.notOk(s.ok);
  t.match(s.problems.join('\n'), /failover aborted: controller unreachable/);
});

// Issue 5, 7d: the service hangs (nginx SIGSTOPped, link up): the heartbeat detects it, the
// agent fences the service and fails over; keep-alive clients carry on, including requests
// the hung nginx had received but never answered (replayed from the restored receive queue).
// And the other way round: heartbeats that fail while the mirror shows the service answering
// its clients do not get a live service fenced; once it stops answering them, they do.
import t from 'tap';
import { createTestLab } from '../helpers/lab.js';
import { sleep, waitForReport } from './e2e-helpers.js';
import { agentCall, buildScenario, startAgent, startClients } from './lab-scenario.js';

t.test('d: a hung service is detected by heartbeat, fenced and taken over', async (t) => {
  const lab = await createTestLab(t);
  const s = await buildScenario(lab);
  await startAgent(s);
  await sleep(300);
  const clients = startClients(s, { connections: 10, intervalMs: 20 });
  await clients.ready;
  await sleep(1000);
  process.kill(-s.serviceNginx.pid, 'SIGSTOP');
  const stoppedAt = Date.now();
  const report = await waitForReport(s);
  t.comment(`failover began ${Date.parse(report.startedAt) - stoppedAt} ms after nginx stopped`);
  await sleep(2000);
  const summary = await clients.stop();
  process.kill(-s.serviceNginx.pid, 'SIGCONT');

  t.equal(report.outcome, 'completed', `failover completed: ${report.error ?? ''}`);
  t.equal(report.trigger.kind, 'liveness');
  t.match(report.trigger.reason, /heartbeats failed/, 'detected by heartbeats');
  t.equal(report.steps.find((x) => x.name === 'fence')?.ok, true, 'the service was fenced');
  t.comment(`snapshot: ${report.steps.find((x) => x.name === 'snapshot')?.detail}`);
  for (const c of summary.connections) {
    t.equal(c.localPorts.length, 1, `client ${c.index}: one socket`);
    t.same(c.errors, [], `client ${c.index}: no error`);
    t.same(c.badResponses, [], `client ${c.index}: every response correct`);
    t.equal(c.responses, c.requests, `client ${c.index}: exactly one response per request`);
  }
  const replayed = report.connections.filter((c) => c.outcome === 'restored' && (c.recvQueueBytes ?? 0) > 0);
  t.comment(`${replayed.length} connections had an unanswered request replayed`);
  t.ok(replayed.length > 0, 'unanswered requests were replayed from the receive queue');
});

t.test('heartbeats fail but the service answers its clients: not fenced, until it hangs', async (t) => {
  const lab = await createTestLab(t);
  const s = await buildScenario(lab);
  // the heartbeats' own server on the service host: it answers until SIGUSR2, then never again
  const beats = s.service.spawn(process.execPath, [
    '-e',
    `let stall = false; process.on('SIGUSR2', () => { stall = true; });
     require('http').createServer((q, r) => { if (!stall) r.end('ok'); }).listen(8089, '${s.service.ip}');`,
  ]);
  await sleep(300);
  await startAgent(s, { heartbeatUrl: `http://${s.service.ip}:8089/` });
  const clients = startClients(s, { connections: 10, intervalMs: 20 });
  await clients.ready;
  await sleep(500);
  process.kill(-beats.pid, 'SIGUSR2');
  await sleep(1500);
  const before = await agentCall(s, 'GET', '/v1/failovers/last');
  t.not((before.json as { outcome?: string }).outcome, 'completed', 'no failover while the service answers');
  const st = (await agentCall(s, 'GET', '/v1/status')).json as {
    failover?: { liveness?: { state?: string } };
  };
  t.equal(
    st.failover?.liveness?.state,
    'degraded',
    'the agent says why: heartbeats fail, clients are served',
  );
  const stoppedAt = Date.now();
  process.kill(-s.serviceNginx.pid, 'SIGSTOP');
  const report = await waitForReport(s);
  await sleep(1000);
  const summary = await clients.stop();
  process.kill(-s.serviceNginx.pid, 'SIGCONT');
  t.equal(report.outcome, 'completed', `failover completed: ${report.error ?? ''}`);
  t.match(report.trigger.reason, /heartbeats failed/);
  t.comment(`failover began ${Date.parse(report.startedAt) - stoppedAt} ms after nginx stopped`);
  for (const c of summary.connections) {
    t.equal(c.localPorts.length, 1, `client ${c.index}: one socket`);
    t.same(c.errors, [], `client ${c.index}: no error`);
    t.equal(c.responses, c.requests, `client ${c.index}: exactly one response per request`);
  }
});

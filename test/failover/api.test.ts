import Fastify from 'fastify';
import t from 'tap';
import { failoverRoutes } from '../../standby-agent/failover/api.js';
import type { FailoverTrigger } from '../../standby-agent/failover/failover.js';
import type { FailoverReport } from '../../standby-agent/failover/report.js';

function report(outcome: FailoverReport['outcome'], trigger: FailoverTrigger): FailoverReport {
  return {
    id: 1,
    trigger: { kind: trigger.kind, forced: trigger.force === true, reason: trigger.reason },
    startedAt: new Date().toISOString(),
    durationMs: 1,
    outcome,
    steps: [],
    connections: [],
    summary: { restored: 0, reset: 0, failed: 0 },
  };
}

t.test('POST /v1/failover and GET /v1/failovers/last', async (t) => {
  let last: FailoverReport | undefined;
  let outcome: FailoverReport['outcome'] = 'refused';
  const app = Fastify();
  await app.register(failoverRoutes, {
    token: 's3cret',
    failover: async (trigger) => {
      last = report(outcome, trigger);
      return last;
    },
    lastReport: () => last,
  });
  t.teardown(() => app.close());
  t.equal((await app.inject({ method: 'GET', url: '/v1/failovers/last' })).statusCode, 404, 'no report yet');
  t.equal(
    (await app.inject({ method: 'POST', url: '/v1/failover', payload: {} })).statusCode,
    401,
    'token required',
  );
  const auth = { authorization: 'Bearer s3cret' };
  let res = await app.inject({ method: 'POST', url: '/v1/failover', headers: auth, payload: {} });
  t.equal(res.statusCode, 409, 'refused = 409');
  outcome = 'completed';
  res = await app.inject({ method: 'POST', url: '/v1/failover', headers: auth, payload: { force: true } });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { outcome: 'completed', trigger: { kind: 'manual', forced: true } });
  res = await app.inject({ method: 'POST', url: '/v1/failover', headers: auth, payload: { force: 'yes' } });
  t.equal(res.statusCode, 400, 'bad body');
  res = await app.inject({ method: 'GET', url: '/v1/failovers/last' });
  t.match(res.json(), { outcome: 'completed' });
});

// Fastify plugin: POST /v1/failover (bearer token) and GET /v1/failovers/last.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FailoverTrigger } from './failover.js';
import type { FailoverReport } from './report.js';

export interface FailoverApiOptions {
  failover(trigger: FailoverTrigger): Promise<FailoverReport>;
  lastReport(): FailoverReport | undefined;
  /** bearer token required on POST; undefined = no auth (tests, lab) */
  token?: string;
}

const failoverBody = {
  type: 'object',
  additionalProperties: false,
  properties: { force: { type: 'boolean', description: 'take over even if the service still answers' } },
} as const;

function authorized(req: FastifyRequest, reply: FastifyReply, token: string | undefined): boolean {
  if (!token) return true;
  if (req.headers.authorization === `Bearer ${token}`) return true;
  void reply.code(401).send({ error: 'Unauthorized', message: 'missing or wrong bearer token' });
  return false;
}

export async function failoverRoutes(app: FastifyInstance, opts: FailoverApiOptions): Promise<void> {
  app.post('/v1/failover', { schema: { body: failoverBody } }, async (req, reply) => {
    if (!authorized(req, reply, opts.token)) return reply;
    const body = (req.body ?? {}) as { force?: boolean };
    const report = await opts.failover({
      kind: 'manual',
      force: body.force === true,
      reason: 'POST /v1/failover',
    });
    // refused (service alive / already active) = 409; aborted (e.g. controller unreachable) = 503
    const code = report.outcome === 'completed' ? 200 : report.outcome === 'refused' ? 409 : 503;
    return reply.code(code).send(report);
  });
  app.get('/v1/failovers/last', async (_req, reply) => {
    const r = opts.lastReport();
    if (!r) return reply.code(404).send({ error: 'Not Found', message: 'no failover has run' });
    return r;
  });
}

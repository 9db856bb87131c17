// The agent's REST API, same conventions as the controller's: JSON schemas, /openapi.json,
// bearer token on mutating calls. Extra route plugins (the failover's) register before listen.
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { bearerAuth } from '../../controller/api/auth.js';
import type { Agent } from '../agent.js';
import { connectionRoutes } from './connections.js';

export interface AgentApiOptions {
  agent: Agent;
  registry: Registry;
  token?: string;
  logger?: Logger;
  /** extra fields for GET /v1/status (e.g. the failover role) */
  statusExtra?: () => Record<string, unknown>;
}

export async function buildAgentApi(opts: AgentApiOptions): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: opts.logger }) as unknown as FastifyInstance;
  await app.register(swagger, { openapi: { info: { title: 'Nonstop standby agent API', version: '1' } } });
  app.addHook('onRequest', bearerAuth(opts.token));
  const { agent, registry } = opts;

  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness of the agent',
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/v1/status',
    {
      schema: {
        summary: 'Role, capture and decode counters, table size',
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => ({ ...agent.status(), ...(opts.statusExtra?.() ?? {}) }),
  );
  await app.register(connectionRoutes, { agent });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics' } }, async (_req, reply) => {
    agent.updateMetrics();
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

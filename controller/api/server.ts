// The controller's REST API: one fastify plugin per route group, schemas beside the handlers,
// the OpenAPI document generated from those schemas at /openapi.json.
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { ControllerFacade } from '../facade.js';
import { bearerAuth } from './auth.js';
import { apiErrorHandler } from './errors.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { mirrorRoutes } from './routes/mirrors.js';
import { portRoutes } from './routes/ports.js';
import { redirectRoutes } from './routes/redirects.js';
import { switchRoutes } from './routes/switches.js';
import { tcpResetRoutes } from './routes/tcp-reset.js';

export interface ApiOptions {
  controller: ControllerFacade;
  registry: Registry;
  /** bearer token for mutating calls; undefined leaves them open (the CLI refuses that unless told) */
  token?: string;
  logger?: Logger;
  /** SSE heartbeat interval (default 15 s) */
  eventHeartbeatMs?: number;
}

export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }) as unknown as FastifyInstance;

  await app.register(swagger, {
    openapi: {
      info: { title: 'Nonstop controller API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [],
    },
  });

  const requests = new Counter({
    name: 'nonstop_controller_http_requests_total',
    help: 'REST API requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [opts.registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    requests.inc({
      method: req.method,
      route: req.routeOptions.url ?? 'unknown',
      status: String(reply.statusCode),
    });
  });
  app.addHook('onRequest', bearerAuth(opts.token));
  app.setErrorHandler(apiErrorHandler);

  const { controller } = opts;
  await app.register(healthRoutes, { controller });
  await app.register(switchRoutes, { controller });
  await app.register(mirrorRoutes, { controller });
  await app.register(tcpResetRoutes, { controller });
  await app.register(portRoutes, { controller });
  await app.register(redirectRoutes, { controller });
  await app.register(eventRoutes, { controller, heartbeatMs: opts.eventHeartbeatMs });
  await app.register(metricsRoutes, { registry: opts.registry });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}

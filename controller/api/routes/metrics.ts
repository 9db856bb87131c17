import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

export const metricsRoutes: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', produces: ['text/plain'] } },
    async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
};

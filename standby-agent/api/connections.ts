import type { FastifyPluginAsync } from 'fastify';
import type { Agent } from '../agent.js';

const connectionSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    key: { type: 'string' },
    client: { type: 'string' },
    service: { type: 'string' },
    state: { type: 'string' },
    protocol: { type: 'string' },
    restorable: { type: 'boolean' },
    code: { type: 'string' },
    reason: { type: 'string' },
  },
} as const;

export const connectionRoutes: FastifyPluginAsync<{ agent: Agent }> = async (app, { agent }) => {
  app.get(
    '/v1/connections',
    {
      schema: {
        summary: 'Every tracked connection with its state, exchange summary and restore verdict',
        response: { 200: { type: 'array', items: connectionSchema } },
      },
    },
    async () => agent.connections(),
  );
};

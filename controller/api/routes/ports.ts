import type { FastifyPluginAsync } from 'fastify';
import type { ControllerFacade, PortStateName } from '../../facade.js';
import { dpidPattern, errors, portSchema } from '../schemas.js';

export const portRoutes: FastifyPluginAsync<{ controller: ControllerFacade }> = async (
  app,
  { controller },
) => {
  app.post<{ Params: { dpid: string; port: number }; Body: { state: PortStateName; durationMs?: number } }>(
    '/v1/switches/:dpid/ports/:port/state',
    {
      schema: {
        summary: 'Take a port down, bring it up, or bounce it for durationMs (PORT_MOD); down is the fence',
        params: {
          type: 'object',
          required: ['dpid', 'port'],
          properties: {
            dpid: { type: 'string', pattern: dpidPattern },
            port: { type: 'integer', minimum: 1, maximum: 0xffffff00 },
          },
        },
        body: {
          type: 'object',
          required: ['state'],
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: ['down', 'up', 'bounce'] },
            durationMs: { type: 'integer', minimum: 0, maximum: 600000 },
          },
        },
        response: { 200: portSchema, ...errors(400, 401, 404, 502) },
      },
    },
    async (req) =>
      controller.setPortState(req.params.dpid, req.params.port, req.body.state, req.body.durationMs),
  );
};

import type { FastifyPluginAsync } from 'fastify';
import type { ControllerFacade, MirrorSpec } from '../../facade.js';
import { dpidPattern, errors, switchPort } from '../schemas.js';

const mirrorSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    dpid: { type: 'string' },
    sourcePort: { type: 'integer' },
    targetPort: { type: 'integer' },
    fenceOnLinkDown: { type: 'boolean' },
    createdAt: { type: 'string' },
  },
} as const;

const idParam = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export const mirrorRoutes: FastifyPluginAsync<{ controller: ControllerFacade }> = async (
  app,
  { controller },
) => {
  app.get(
    '/v1/mirrors',
    {
      schema: {
        summary: 'Port mirrors owned by the controller',
        response: { 200: { type: 'array', items: mirrorSchema } },
      },
    },
    async () => controller.listMirrors(),
  );

  app.post<{ Body: MirrorSpec }>(
    '/v1/mirrors',
    {
      schema: {
        summary: 'Mirror both directions of sourcePort to targetPort (installed with a barrier)',
        body: {
          type: 'object',
          required: ['dpid', 'sourcePort', 'targetPort'],
          additionalProperties: false,
          properties: {
            dpid: { type: 'string', pattern: dpidPattern },
            sourcePort: switchPort,
            targetPort: switchPort,
            fenceOnLinkDown: {
              type: 'boolean',
              description:
                'fence sourcePort (PORT_MOD down) as soon as its link goes down, and send a port-fenced event; only while someone follows /v1/events',
            },
          },
        },
        response: { 201: mirrorSchema, ...errors(400, 401, 404, 502) },
      },
    },
    async (req, reply) => {
      const mirror = await controller.addMirror(req.body);
      return reply.code(201).send(mirror);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/mirrors/:id',
    {
      schema: {
        summary: 'Remove a mirror',
        params: idParam,
        response: { 204: { type: 'null' }, ...errors(401, 404, 502) },
      },
    },
    async (req, reply) => {
      await controller.removeMirror(req.params.id);
      return reply.code(204).send();
    },
  );
};

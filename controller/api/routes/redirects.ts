import type { FastifyPluginAsync } from 'fastify';
import type { ControllerFacade, RedirectSpec } from '../../facade.js';
import { dpidPattern, errors, ipv4OrV6, macAddress, switchPort } from '../schemas.js';

const redirectSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    dpid: { type: 'string' },
    ip: { type: 'string' },
    fromPort: { type: 'integer' },
    toPort: { type: 'integer' },
    toMac: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;

export const redirectRoutes: FastifyPluginAsync<{ controller: ControllerFacade }> = async (
  app,
  { controller },
) => {
  app.get(
    '/v1/redirects',
    {
      schema: {
        summary: 'Service redirects in force',
        response: { 200: { type: 'array', items: redirectSchema } },
      },
    },
    async () => controller.listRedirects(),
  );

  app.post<{ Body: RedirectSpec }>(
    '/v1/redirects',
    {
      schema: {
        summary: "Move a service IP's traffic (and ARP) from one port to another; in force when this answers",
        body: {
          type: 'object',
          required: ['dpid', 'ip', 'fromPort', 'toPort', 'toMac'],
          additionalProperties: false,
          properties: {
            dpid: { type: 'string', pattern: dpidPattern },
            ip: ipv4OrV6,
            fromPort: switchPort,
            toPort: switchPort,
            toMac: macAddress,
          },
        },
        response: { 201: redirectSchema, ...errors(400, 401, 404, 502) },
      },
    },
    async (req, reply) => reply.code(201).send(await controller.addRedirect(req.body)),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/redirects/:id',
    {
      schema: {
        summary: 'Remove a redirect',
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
        },
        response: { 204: { type: 'null' }, ...errors(401, 404, 502) },
      },
    },
    async (req, reply) => {
      await controller.removeRedirect(req.params.id);
      return reply.code(204).send();
    },
  );
};

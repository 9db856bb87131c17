import type { FastifyPluginAsync } from 'fastify';
import type { ControllerFacade } from '../../facade.js';
import { dpidParam, errors, portSchema } from '../schemas.js';

const switchSchema = {
  type: 'object',
  properties: {
    dpid: { type: 'string' },
    address: { type: 'string' },
    connectedAt: { type: 'string' },
    nBuffers: { type: 'integer' },
    nTables: { type: 'integer' },
    ports: { type: 'array', items: portSchema },
  },
} as const;

const flowSchema = {
  type: 'object',
  properties: {
    tableId: { type: 'integer' },
    priority: { type: 'integer' },
    cookie: { type: 'string' },
    packetCount: { type: 'string' },
    byteCount: { type: 'string' },
    durationSec: { type: 'integer' },
    idleTimeout: { type: 'integer' },
    hardTimeout: { type: 'integer' },
    match: { type: 'object', additionalProperties: { type: 'string' } },
    actions: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const switchRoutes: FastifyPluginAsync<{ controller: ControllerFacade }> = async (
  app,
  { controller },
) => {
  app.get(
    '/v1/switches',
    {
      schema: {
        summary: 'Connected switches with their ports',
        response: { 200: { type: 'array', items: switchSchema } },
      },
    },
    async () => controller.listSwitches(),
  );

  app.get<{ Params: { dpid: string } }>(
    '/v1/switches/:dpid',
    {
      schema: {
        summary: 'One switch and the state of its ports',
        params: dpidParam,
        response: { 200: switchSchema, ...errors(400, 404) },
      },
    },
    async (req) => controller.getSwitch(req.params.dpid),
  );

  app.get<{ Params: { dpid: string } }>(
    '/v1/switches/:dpid/flows',
    {
      schema: {
        summary: "The switch's flow table (multipart FLOW stats)",
        params: dpidParam,
        response: { 200: { type: 'array', items: flowSchema }, ...errors(400, 404, 502) },
      },
    },
    async (req) => controller.getFlows(req.params.dpid),
  );
};

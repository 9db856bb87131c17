import type { FastifyPluginAsync } from 'fastify';
import type { ControllerFacade, TcpResetSpec } from '../../facade.js';
import { dpidParam, errors, ipv4OrV6, switchPort, tcpPort } from '../schemas.js';

export const tcpResetRoutes: FastifyPluginAsync<{ controller: ControllerFacade }> = async (
  app,
  { controller },
) => {
  app.post<{ Params: { dpid: string }; Body: TcpResetSpec }>(
    '/v1/switches/:dpid/tcp-reset',
    {
      schema: {
        summary: 'Send a TCP RST to dst that appears to come from src (PACKET_OUT)',
        params: dpidParam,
        body: {
          type: 'object',
          required: ['srcIp', 'srcPort', 'dstIp', 'dstPort', 'seq'],
          additionalProperties: false,
          properties: {
            srcIp: ipv4OrV6,
            srcPort: tcpPort,
            dstIp: ipv4OrV6,
            dstPort: tcpPort,
            seq: { type: 'integer', minimum: 0, maximum: 0xffffffff },
            outPort: switchPort,
          },
        },
        response: {
          200: { type: 'object', properties: { outPort: { type: 'integer' }, frameHex: { type: 'string' } } },
          ...errors(400, 401, 404, 502),
        },
      },
    },
    async (req) => controller.tcpReset(req.params.dpid, req.body),
  );
};

// Server-sent events: one `data:` line of JSON (a ControllerEvent) per event, a comment line
// every 15 s so proxies and the agent can tell a quiet stream from a dead one.
import type { FastifyPluginAsync } from 'fastify';
import type { ControllerFacade } from '../../facade.js';

export const eventRoutes: FastifyPluginAsync<{ controller: ControllerFacade; heartbeatMs?: number }> = async (
  app,
  { controller, heartbeatMs = 15000 },
) => {
  app.get(
    '/v1/events',
    {
      schema: {
        summary: 'Server-sent events: switch-connected, switch-disconnected, port-status, port-fenced',
        produces: ['text/event-stream'],
      },
    },
    (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      res.write(': nonstop controller events\n\n');
      const unsubscribe = controller.onEvent((event) => {
        res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      });
      const beat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
      const close = () => {
        clearInterval(beat);
        unsubscribe();
      };
      req.raw.on('close', close);
      res.on('error', close);
    },
  );
};

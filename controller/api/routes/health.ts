import type { FastifyPluginAsync } from 'fastify';
import type { ControllerFacade } from '../../facade.js';

export const healthRoutes: FastifyPluginAsync<{ controller: ControllerFacade }> = async (
  app,
  { controller },
) => {
  app.get(
    '/health',
    {
      // agents ask every second or two to keep their connection open: not worth a log line each
      logLevel: 'warn',
      schema: {
        summary: 'Liveness of the controller process',
        response: {
          200: {
            type: 'object',
            properties: { status: { type: 'string' }, switches: { type: 'integer' } },
          },
        },
      },
    },
    async () => ({ status: 'ok', switches: controller.listSwitches().length }),
  );
};

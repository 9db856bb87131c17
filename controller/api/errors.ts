// Maps the facade's typed errors to HTTP: 404 unknown thing, 400 nonsense input, 502 the
// switch refused or did not answer. Everything else is a 500 with the message logged.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidRequestError, NotFoundError, SwitchError } from '../facade.js';

export function apiErrorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof NotFoundError) {
    return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: err.message });
  }
  if (err instanceof InvalidRequestError) {
    return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: err.message });
  }
  if (err instanceof SwitchError) {
    return reply.code(502).send({
      statusCode: 502,
      error: 'Bad Gateway',
      message: err.message,
      dpid: err.dpid,
      ofError: err.ofError,
    });
  }
  const fe = err as FastifyError;
  if (fe.validation || (fe.statusCode !== undefined && fe.statusCode < 500)) {
    const code = fe.statusCode ?? 400;
    return reply.code(code).send({ statusCode: code, error: 'Bad Request', message: fe.message });
  }
  req.log.error({ err }, 'request failed');
  return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: err.message });
}

// Bearer-token check for mutating routes. Reads stay open (ops dashboards, the agent's
// status polls); anything that changes the network needs the token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function digest(s: string): Buffer {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  return createHash('sha256').update(s).digest();
}

export function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(header.slice(7)), digest(token));
}

/** onRequest hook: 401 for a mutating call without the right token; no token = open (opt-in). */
export function bearerAuth(token: string | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (token === undefined || !MUTATING.has(req.method)) return;
    if (!tokenMatches(req.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer');
      await reply
        .code(401)
        .send({ statusCode: 401, error: 'Unauthorized', message: 'missing or wrong bearer token' });
    }
  };
}

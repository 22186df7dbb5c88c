/**
 * Who may talk to the API. On loopback the API is open (the runtime
 * directory's permissions already limit who finds it). Listening anywhere
 * else requires a bearer token, checked on every request — docs, metrics and
 * unknown routes included, so nothing about the BMC leaks unauthenticated.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, sendError } from './errors.js';

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return !!mapped && mapped[1]!.startsWith('127.');
}

/** Refuse a configuration that would expose the API without a token. */
export function checkListenPolicy(host: string, token: string | undefined): void {
  if (isLoopbackHost(host)) return;
  if (!token) {
    throw new ApiError(
      500,
      'E_INSECURE_LISTEN',
      `refusing to listen on ${host} without a bearer token: anything but loopback needs one (set a token, or listen on 127.0.0.1)`,
    );
  }
}

/** Hash both sides first so the comparison takes the same time whatever the lengths. */
function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Require `Authorization: Bearer <token>` on every request of `app` when a token is set. */
export function installAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  if (token.length < 16) throw new ApiError(500, 'E_WEAK_TOKEN', 'the API bearer token must be at least 16 characters');
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m || !tokenMatches(m[1]!, token)) {
      reply.header('www-authenticate', 'Bearer realm="bmcemu"');
      const why = m ? 'the bearer token is wrong' : 'an Authorization: Bearer <token> header is required';
      await sendError(reply, new ApiError(401, 'E_UNAUTHORIZED', why));
      return reply;
    }
    return undefined;
  });
}

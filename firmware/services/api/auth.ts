/**
 * Who may talk to the API. On loopback the API is open (the runtime
 * directory's permissions already limit who finds it). Listening anywhere
 * else requires a bearer token, checked on every request — docs, metrics and
 * unknown routes included, so nothing about the BMC leaks unauthenticated.
 *
 * Browsers cannot put a header on a page load, an EventSource or a websocket,
 * so the dashboard's browser carries the same token in the `bmcemu_token`
 * cookie (SameSite=Strict, set by the login page a browser gets with its
 * 401). The cookie only reads: GET/HEAD and same-origin websocket upgrades.
 * Anything that acts (POST, DELETE) needs the Authorization header, which no
 * other site can make a browser send — so the cookie opens no CSRF hole.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, sendError } from './errors.js';
import { LOGIN_PAGE_CSP, loginPage } from './login-page.js';

/** The cookie the dashboard's browser carries the token in. */
export const TOKEN_COOKIE = 'bmcemu_token';

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

/** The value of one cookie in a Cookie header, or null (malformed percent-escapes count as absent). */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return null;
    }
  }
  return null;
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * A websocket upgrade must come from a page of this origin: browsers send
 * cookies with cross-site upgrades that SameSite does not always stop.
 * Non-browser clients send no Origin, and are allowed.
 */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** Why a request without a valid header is refused, or null when its cookie lets it in. */
function cookieVerdict(request: FastifyRequest, token: string): string | null {
  const cookie = cookieValue(request.headers.cookie, TOKEN_COOKIE);
  if (cookie === null) return 'an Authorization: Bearer <token> header is required';
  if (!tokenMatches(cookie, token)) return `the ${TOKEN_COOKIE} cookie holds a wrong token`;
  if (!READ_METHODS.has(request.method)) {
    return `${request.method} needs the Authorization: Bearer <token> header: the ${TOKEN_COOKIE} cookie only reads`;
  }
  if (request.headers.upgrade && !sameOrigin(request)) return 'a websocket from another origin is refused';
  return null;
}

/** A browser loading a page: it gets the login form instead of a JSON 401. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return READ_METHODS.has(request.method) && !request.headers.upgrade && typeof accept === 'string' && accept.includes('text/html');
}

/** Require `Authorization: Bearer <token>` (or, for reads, the token cookie) on every request of `app` when a token is set. */
export function installAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  if (token.length < 16) throw new ApiError(500, 'E_WEAK_TOKEN', 'the API bearer token must be at least 16 characters');
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (m && tokenMatches(m[1]!, token)) return undefined;
    const why = m ? 'the bearer token is wrong' : cookieVerdict(request, token);
    if (why === null) return undefined;
    reply.header('www-authenticate', 'Bearer realm="bmcemu"');
    if (wantsHtml(request)) {
      const retry = cookieValue(request.headers.cookie, TOKEN_COOKIE) !== null;
      await reply.code(401).header('content-security-policy', LOGIN_PAGE_CSP).type('text/html; charset=utf-8').send(loginPage(retry));
      return reply;
    }
    await sendError(reply, new ApiError(401, 'E_UNAUTHORIZED', why));
    return reply;
  });
}

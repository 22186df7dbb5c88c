/**
 * Who may talk to the API. On loopback the API is open (the runtime
 * directory's permissions already limit who finds it). Listening anywhere
 * else requires a bearer token, checked on every request — docs, metrics and
 * unknown routes included, so nothing about the BMC leaks unauthenticated.
 *
 * Browsers cannot put a header on a page load, an EventSource or a websocket,
 * so a browser logs in once (session.ts: the login form, an HttpOnly session
 * cookie derived from the token) and the cookie stands in for the header.
 * Whatever a browser sends, browser-guard.ts first refuses cross-origin
 * requests and, on an open loopback API, foreign Host names (DNS rebinding).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../../../lib/errors.js';
import { installBrowserGuard } from './browser-guard.js';
import { isLoopbackHost, tokenMatches } from './credentials.js';
import { ApiError, sendError } from './errors.js';
import { sendLoginPage } from './login-page.js';
import { LOGIN_PATH, READ_METHODS, registerLogin, sessionVerdict } from './session.js';

/** Refuse a configuration that would expose the API without a token. */
export function checkListenPolicy(host: string, token: string | undefined): void {
  if (isLoopbackHost(host)) return;
  if (!token) {
    throw new ConfigError(
      `refusing to listen on ${host} without a bearer token: anything but loopback needs one (set a token, or listen on 127.0.0.1)`,
    );
  }
}

/** A browser loading a page: it gets the login form instead of a JSON 401. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return READ_METHODS.has(request.method) && !request.headers.upgrade && typeof accept === 'string' && accept.includes('text/html');
}

export interface AuthOptions {
  /** The bearer token; unset: no authentication (loopback only, see checkListenPolicy). */
  token?: string;
  /** The address the server listens on: an open loopback API also checks Host names. */
  listenHost: string;
}

/**
 * Install the request checks: the browser guard always; with a token,
 * `Authorization: Bearer <token>` or the dashboard's session cookie on every
 * request, and the login route that issues the cookie.
 */
export async function installAuth(app: FastifyInstance, opts: AuthOptions): Promise<void> {
  const { token } = opts;
  installBrowserGuard(app, { checkHost: !token && isLoopbackHost(opts.listenHost) });
  if (!token) return;
  if (token.length < 16) throw new ConfigError('the API bearer token must be at least 16 characters');
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // The login form authenticates itself: its body carries the token.
    if (request.method === 'POST' && request.routeOptions.url === LOGIN_PATH) return undefined;
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (m && tokenMatches(m[1]!, token)) return undefined;
    const session = sessionVerdict(request, token);
    const why = m ? 'the bearer token is wrong' : session.refusal;
    if (why === null) return undefined;
    reply.header('www-authenticate', 'Bearer realm="bmcemu"');
    if (wantsHtml(request)) {
      await sendLoginPage(reply, { next: request.url, retry: false });
      return reply;
    }
    await sendError(reply, new ApiError(401, 'E_UNAUTHORIZED', why));
    return reply;
  });
  await registerLogin(app, token);
}

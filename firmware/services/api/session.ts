/**
 * The dashboard's browser session, for an API with a token. The login form
 * (login-page.ts) posts the token once to `POST /login`; the answer sets an
 * HttpOnly cookie holding an HMAC of the token, never the token itself, so
 * no script on the page (or on another port of the same host name) can read
 * the token out of it. The cookie is named after the server's port because
 * cookies are shared between the ports of one host name: two instances side
 * by side keep separate sessions.
 *
 * The cookie reads (GET/HEAD, websocket upgrades). Anything else also needs
 * the `x-bmcemu-dashboard` header, which a page of another site cannot make
 * a browser send without a CORS preflight this server never grants: the
 * cookie opens no cross-site request forgery.
 */
import { createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cookieValue, tokenMatches } from './credentials.js';
import { ApiError, sendError } from './errors.js';
import { sendLoginPage } from './login-page.js';

export const LOGIN_PATH = '/login';
export const SESSION_COOKIE_PREFIX = 'bmcemu_session_';
/** The header the dashboard adds to its actions (anything but GET/HEAD). */
export const DASHBOARD_HEADER = 'x-bmcemu-dashboard';

/** Methods a session cookie (or a browser's login page) may be used for without more proof. */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** The session cookie's name for the server a request reached. */
export function sessionCookieName(request: FastifyRequest): string {
  return `${SESSION_COOKIE_PREFIX}${request.socket?.localPort ?? 'local'}`;
}

/** The cookie's value: a keyed hash of the token, worthless for anything but this API. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('bmcemu dashboard session v1').digest('base64url');
}

/** Where the login sends the browser: a path on this server, never another site. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s\\]*$/.test(next) && next !== LOGIN_PATH ? next : '/';
}

/** Whether the request's session cookie admits it: refusal null when it does. */
export function sessionVerdict(request: FastifyRequest, token: string): { refusal: string | null } {
  const cookie = cookieValue(request.headers.cookie, sessionCookieName(request));
  if (cookie === null) return { refusal: 'an Authorization: Bearer <token> header is required' };
  if (!tokenMatches(cookie, sessionValue(token))) return { refusal: 'the session cookie is not valid for this server: log in again' };
  if (!READ_METHODS.has(request.method) && request.headers[DASHBOARD_HEADER] !== '1') {
    return { refusal: `${request.method} with a session cookie needs the ${DASHBOARD_HEADER}: 1 header (or use Authorization: Bearer <token>)` };
  }
  return { refusal: null };
}

/** `POST /login` (a urlencoded form: token, next): the session cookie and a redirect, or the form again. */
export async function registerLogin(app: FastifyInstance, token: string): Promise<void> {
  await app.register(async (scope) => {
    // Only this route takes form bodies; everything else stays JSON-only.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.post<{ Body: Record<string, string> }>(LOGIN_PATH, { schema: { hide: true } }, async (request, reply) => {
      if (!String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        return sendError(reply, new ApiError(415, 'E_LOGIN_FORM', 'log in with the form: application/x-www-form-urlencoded token=…'));
      }
      const form = request.body && typeof request.body === 'object' ? request.body : {};
      const next = safeNext(form.next);
      if (typeof form.token !== 'string' || !tokenMatches(form.token.trim(), token)) {
        return sendLoginPage(reply, { next, retry: true });
      }
      const secure = request.protocol === 'https' ? '; Secure' : '';
      // Lax: a link from elsewhere opens the dashboard logged in; actions still need the header.
      reply.header('set-cookie', `${sessionCookieName(request)}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Lax${secure}`);
      return reply.redirect(next, 303);
    });
  });
}

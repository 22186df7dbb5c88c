/**
 * The page a browser gets with its 401 when the API needs a token: a plain
 * form that posts the token to `/login` (session.ts), which sets the session
 * cookie and sends the browser back where it was going. No script at all;
 * the page carries nothing about the BMC.
 */
import type { FastifyReply } from 'fastify';

export const LOGIN_PAGE_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The login form; `retry` when a token was just refused; `next` is where to go after (already checked by the caller). */
export function loginPage(opts: { next: string; retry: boolean }): string {
  const note = opts.retry ? '<p class="err">That token was not accepted. Try again.</p>' : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bmcemu: token required</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 15px system-ui, sans-serif; background: #111820; color: #d8e0e8; display: grid; place-items: center; min-height: 90vh; }
form { background: #1b2530; padding: 24px 28px; border-radius: 8px; min-width: 320px; }
input[type=password] { width: 100%; box-sizing: border-box; padding: 6px 8px; margin: 8px 0 12px; }
.err { color: #ff8080; }
</style></head>
<body><form id="login" method="post" action="/login">
<h1>bmcemu</h1>
<p>This BMC's API needs its bearer token
(<code>BMCEMU_API_TOKEN</code> of the running instance).</p>
${note}<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<input type="hidden" name="next" value="${escapeHtml(opts.next)}">
<button type="submit">Log in</button>
</form>
</body></html>
`;
}

/** Answer 401 with the login form (the status stays 401: the request was not authenticated). */
export function sendLoginPage(reply: FastifyReply, opts: { next: string; retry: boolean }): FastifyReply {
  return reply
    .code(401)
    .header('content-security-policy', LOGIN_PAGE_CSP)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(loginPage(opts));
}

/**
 * The page a browser gets with its 401 when the API needs a token: a form
 * that stores the token in the `bmcemu_token` cookie and reloads. The token
 * never goes into a URL (where it would land in logs and history), and the
 * page carries nothing about the BMC. Its one inline script is allowed by
 * hash, nothing else runs.
 */
import { createHash } from 'node:crypto';

const SCRIPT = `
document.getElementById('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = document.getElementById('token').value.trim();
  if (!token) return;
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = 'bmcemu_token=' + encodeURIComponent(token) + '; Path=/; SameSite=Strict' + secure;
  location.reload();
});
`;

export const LOGIN_PAGE_CSP = [
  "default-src 'none'",
  `script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`,
  "style-src 'unsafe-inline'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The login page; `retry` when the browser already sent a token that was refused. */
export function loginPage(retry: boolean): string {
  const note = retry ? '<p class="err">That token was not accepted. Try again.</p>' : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bmcemu: token required</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 15px system-ui, sans-serif; background: #111820; color: #d8e0e8; display: grid; place-items: center; min-height: 90vh; }
form { background: #1b2530; padding: 24px 28px; border-radius: 8px; min-width: 320px; }
input { width: 100%; box-sizing: border-box; padding: 6px 8px; margin: 8px 0 12px; }
.err { color: #ff8080; }
</style></head>
<body><form id="login">
<h1>bmcemu</h1>
<p>This BMC's API listens beyond loopback and needs its bearer token
(<code>BMCEMU_API_TOKEN</code> of the running instance).</p>
${note}<label for="token">API token</label>
<input id="token" type="password" autocomplete="current-password" autofocus required>
<button type="submit">Open the dashboard</button>
</form>
<script>${SCRIPT}</script>
</body></html>
`;
}

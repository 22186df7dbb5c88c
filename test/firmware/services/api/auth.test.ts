/** The token rule: loopback is open; anything else needs a bearer token on every route. */
import t, { type Test } from 'tap';
import { WsClient } from '../../../../cli/ws-client.js';
import { CliError, isCliError } from '../../../../cli/errors.js';
import { hostRefusal, originRefusal } from '../../../../firmware/services/api/browser-guard.js';
import { cookieValue, isLoopbackHost } from '../../../../firmware/services/api/credentials.js';
import { LOGIN_PAGE_CSP, loginPage } from '../../../../firmware/services/api/login-page.js';
import { DASHBOARD_HEADER, safeNext, sessionValue } from '../../../../firmware/services/api/session.js';
import { createApiServer } from '../../../../firmware/services/api/server.js';
import { fixture, serve } from './helpers.js';

const TOKEN = 'correct-horse-battery-staple';

t.test('loopback addresses', async (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) t.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '::ffff:10.0.0.1']) t.notOk(isLoopbackHost(h), h);
});

t.test('a non-loopback listen without a token is refused', async (t) => {
  const f = fixture();
  t.teardown(() => f.close());
  for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
    await t.rejects(createApiServer(f.ctx, { host }), { name: 'ConfigError', code: 'ERR_BAD_CONFIG', message: /refusing to listen on .* without a bearer token/ }, host);
  }
  await t.rejects(createApiServer(f.ctx, { host: '0.0.0.0', token: 'short' }), { name: 'ConfigError', code: 'ERR_BAD_CONFIG', message: /at least 16 characters/ });
});

t.test('with a token, every route needs it', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { host: '0.0.0.0', token: TOKEN });
  const urls = ['/api/v1/status', '/api/v1/mctp/links', '/metrics', '/api/v1/openapi.json', '/api/v1/docs', '/api/v1/no-such-route', '/api/v1/console/ws', '/api/v1/events'];
  for (const url of urls) {
    const none = await s.app.inject({ url });
    t.equal(none.statusCode, 401, `${url} without a token`);
    t.equal(none.headers['www-authenticate'], 'Bearer realm="bmcemu"');
    t.match(JSON.parse(none.body), { code: 'E_UNAUTHORIZED', message: /Authorization: Bearer/ });
    const wrong = await s.app.inject({ url, headers: { authorization: `Bearer ${TOKEN}x` } });
    t.equal(wrong.statusCode, 401, `${url} with a wrong token`);
    t.match(JSON.parse(wrong.body), { message: 'the bearer token is wrong' });
    const basic = await s.app.inject({ url, headers: { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` } });
    t.equal(basic.statusCode, 401, `${url} with another scheme`);
  }
  const post = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', payload: { action: 'on' } });
  t.equal(post.statusCode, 401);
  t.same(f.power.calls, [], 'an unauthenticated action does nothing');

  const ok = await s.app.inject({ url: '/api/v1/status', headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(ok.statusCode, 200);
  const lower = await s.app.inject({ url: '/metrics', headers: { authorization: `bearer ${TOKEN}` } });
  t.equal(lower.statusCode, 200, 'the scheme is case-insensitive');
  const unknown = await s.app.inject({ url: '/api/v1/no-such-route', headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(unknown.statusCode, 404, 'routes are only revealed to an authenticated client');

  const spec = JSON.parse((await s.app.inject({ url: '/api/v1/openapi.json', headers: { authorization: `Bearer ${TOKEN}` } })).body);
  t.same(spec.security, [{ bearer: [] }], 'the OpenAPI document declares the bearer scheme');
});

t.test('a token on loopback is enforced too', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { token: TOKEN });
  t.equal((await s.app.inject({ url: '/api/v1/status' })).statusCode, 401);
  t.equal((await s.app.inject({ url: '/api/v1/status', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200);
});

t.test('cookie parsing takes only the named cookie and survives hostile headers', async (t) => {
  const name = 'bmcemu_session_1';
  t.equal(cookieValue('a=1; bmcemu_session_1=abc%20def; b=2', name), 'abc def');
  t.equal(cookieValue('xbmcemu_session_1=nope', name), null, 'names match exactly');
  t.equal(cookieValue('bmcemu_session_1=%E0%A4%A', name), null, 'a broken escape counts as absent');
  t.equal(cookieValue(';;=;bmcemu_session_1', name), null);
  t.equal(cookieValue(undefined, name), null);
  t.equal(cookieValue('bmcemu_session_1=', name), '');
  t.equal(cookieValue(`${'x=1;'.repeat(10000)}bmcemu_session_1=t`, name), 't', 'a long header is fine');
});

/** Log in through the form as a browser would; returns the Cookie header to send afterwards. */
async function logIn(t: Test, app: Awaited<ReturnType<typeof serve>>['app'], token: string): Promise<string> {
  const r = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token, next: '/dashboard/' }).toString(),
  });
  t.equal(r.statusCode, 303, 'the login redirects');
  t.equal(r.headers.location, '/dashboard/', 'back where the browser was going');
  const set = String(r.headers['set-cookie']);
  t.match(set, /; HttpOnly/, 'scripts cannot read the session');
  t.match(set, /; SameSite=Lax/);
  t.notMatch(set, new RegExp(token), 'the cookie does not hold the token');
  return set.split(';')[0]!;
}

t.test('a browser: login form, then an HttpOnly session that reads; actions need the dashboard header', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { host: '0.0.0.0', token: TOKEN });
  const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

  const login = await s.app.inject({ url: '/dashboard/?x="><script>alert(1)</script>', headers: html });
  t.equal(login.statusCode, 401, 'a page load without a token is still a 401');
  t.match(login.headers['content-type'], /^text\/html/, 'but a browser gets a page it can act on');
  t.equal(login.headers['content-security-policy'], LOGIN_PAGE_CSP);
  t.notMatch(LOGIN_PAGE_CSP, /script-src/, 'the login page runs no script at all');
  t.match(login.body, /<form id="login" method="post" action="\/login">/);
  t.notMatch(login.body, /<script>alert/, 'the requested URL is escaped into the form');
  t.notMatch(login.body, /mctp0|EID/, 'nothing about the BMC leaks');
  t.match(JSON.parse((await s.app.inject({ url: '/api/v1/status' })).body), { code: 'E_UNAUTHORIZED' }, 'API clients still get JSON');

  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const bad = await s.app.inject({ method: 'POST', url: '/login', headers: form, payload: `token=${TOKEN}x&next=/dashboard/` });
  t.equal(bad.statusCode, 401, 'a wrong token is refused');
  t.match(bad.body, /That token was not accepted/);
  t.notOk(bad.headers['set-cookie'], 'and gets no cookie');
  for (const payload of ['', 'token=', '%%%', 'next=/x', `token=${'a'.repeat(5000)}`]) {
    const r = await s.app.inject({ method: 'POST', url: '/login', headers: form, payload });
    t.ok([400, 401, 413].includes(r.statusCode), `hostile form ${JSON.stringify(payload.slice(0, 20))} → ${r.statusCode}`);
    t.notOk(r.headers['set-cookie']);
  }
  const asJson = await s.app.inject({ method: 'POST', url: '/login', payload: { token: TOKEN } });
  t.equal(asJson.statusCode, 415, 'the login takes only its form');
  t.notOk(asJson.headers['set-cookie']);

  const cookie = await logIn(t, s.app, TOKEN);
  t.match(cookie, /^bmcemu_session_\w+=/, 'named per server port');
  t.equal((await s.app.inject({ url: '/api/v1/status', headers: { cookie } })).statusCode, 200, 'the session reads the API');
  t.equal((await s.app.inject({ method: 'HEAD', url: '/api/v1/status', headers: { cookie } })).statusCode, 200);

  const act = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', headers: { cookie }, payload: { action: 'on' } });
  t.equal(act.statusCode, 401, 'a cookie alone cannot act: no cross-site request forgery');
  t.match(JSON.parse(act.body), { message: /needs the x-bmcemu-dashboard: 1 header/ });
  t.same(f.power.calls, [], 'nothing was done');
  const withHeader = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', headers: { cookie, [DASHBOARD_HEADER]: '1' }, payload: { action: 'on' } });
  t.equal(withHeader.statusCode, 200, 'the page adds the header to its actions');
  t.same(f.power.calls, ['on']);

  const forged = `${cookie.split('=')[0]}=${sessionValue(`${TOKEN}x`)}`;
  t.match(JSON.parse((await s.app.inject({ url: '/api/v1/status', headers: { cookie: forged } })).body), { message: /session cookie is not valid/ });
  const raw = `${cookie.split('=')[0]}=${TOKEN}`;
  t.equal((await s.app.inject({ url: '/api/v1/status', headers: { cookie: raw } })).statusCode, 401, 'the raw token is not a session');
  const wrongHeader = await s.app.inject({ url: '/api/v1/status', headers: { cookie, authorization: 'Bearer not-the-token-at-all' } });
  t.equal(wrongHeader.statusCode, 401, 'a wrong header is not rescued by a good cookie');
});

t.test('login redirects only to paths on this server', async (t) => {
  t.equal(safeNext('/dashboard/'), '/dashboard/');
  t.equal(safeNext('/api/v1/status?x=1'), '/api/v1/status?x=1');
  for (const bad of ['//evil.example/', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/login', '', 42, null, '/a b', '/\tx']) {
    t.equal(safeNext(bad), '/', `${JSON.stringify(bad)} → /`);
  }
  t.match(loginPage({ next: '"><x', retry: true }), /value="&quot;&gt;&lt;x"/);
});

t.test('browsers of other sites are refused, token or not', async (t) => {
  t.equal(originRefusal(undefined, 'h:1'), null, 'no Origin: not a browser');
  t.equal(originRefusal('http://h:1', 'h:1'), null, 'same origin');
  t.equal(originRefusal('http://H:1', 'h:1'), null, 'case does not matter');
  for (const o of ['http://evil.example', 'http://h:2', 'null', 'file:///x', 'not a url', 'http://h:1@evil']) {
    t.match(originRefusal(o, 'h:1'), /refused/, `Origin ${o}`);
  }
  t.match(originRefusal('http://h:1', undefined), /another origin/, 'an Origin with no Host cannot be matched');

  t.equal(hostRefusal(undefined), null);
  for (const h of ['127.0.0.1:8080', 'localhost', 'LOCALHOST:1', '[::1]:9', '127.9.9.9']) t.equal(hostRefusal(h), null, `Host ${h}`);
  for (const h of ['evil.example', 'evil.example:8080', '10.0.0.1', 'localhost.evil.example', 'evil.example/127.0.0.1', 'a@127.0.0.1', '']) {
    t.ok(hostRefusal(h), `Host ${JSON.stringify(h)} refused`);
  }

  const f = fixture();
  const s = await serve(t, f);
  const evil = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', headers: { origin: 'http://evil.example' }, payload: { action: 'off' } });
  t.equal(evil.statusCode, 403);
  t.match(JSON.parse(evil.body), { code: 'E_CROSS_ORIGIN' });
  t.same(f.power.calls, [], 'an open loopback API is not open to other sites');
  const rebound = await s.app.inject({ url: '/api/v1/status', headers: { host: 'attacker.example:8790' } });
  t.equal(rebound.statusCode, 403, 'DNS rebinding: a foreign Host is refused');
  t.match(JSON.parse(rebound.body), { code: 'E_BAD_HOST' });
  const same = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', headers: { origin: 'http://localhost:80', host: 'localhost:80' }, payload: { action: 'on' } });
  t.equal(same.statusCode, 200, 'a same-origin page acts');
  t.equal((await s.app.inject({ url: '/api/v1/status' })).headers['x-content-type-options'], 'nosniff', 'no answer is sniffed');

  const { url } = await s.listen();
  const ws = `${url.replace('http', 'ws')}/api/v1/console/ws`;
  const foreign = await WsClient.connect(ws, { headers: { origin: 'http://evil.example' } }).catch((e: unknown) => e);
  t.ok(isCliError(foreign, 'ERR_WS_HANDSHAKE'));
  t.equal((foreign as CliError).status, 403, 'another site cannot type into the host console');
  const ok = await WsClient.connect(ws, { headers: { origin: url } });
  ok.close();
  t.pass('the same origin connects');
});

t.test('the console websocket takes the session from this origin', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { token: TOKEN });
  const { url } = await s.listen();
  const form = await fetch(`${url}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token: TOKEN, next: '/' }) });
  t.equal(form.status, 303);
  const cookie = String(form.headers.get('set-cookie')).split(';')[0]!;
  t.match(cookie, new RegExp(`^bmcemu_session_${new URL(url).port}=`), 'the cookie is named after the listening port');
  const ws = `${url.replace('http', 'ws')}/api/v1/console/ws`;
  const same = await WsClient.connect(ws, { headers: { cookie, origin: url } });
  same.close();
  t.pass('same origin with the session connects');
  const none = await WsClient.connect(ws, { headers: { origin: url } }).catch((e: unknown) => e);
  t.equal((none as CliError).status, 401, 'without it, 401');
  const foreign = await WsClient.connect(ws, { headers: { cookie, origin: 'http://evil.example' } }).catch((e: unknown) => e);
  t.equal((foreign as CliError).status, 403, 'another origin is refused even with the session');
});

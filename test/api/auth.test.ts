/** The token rule: loopback is open; anything else needs a bearer token on every route. */
import t from 'tap';
import { WsClient, WsHandshakeError } from '../../cli/commands/ws-client.js';
import { cookieValue, isLoopbackHost, TOKEN_COOKIE } from '../../firmware/services/api/auth.js';
import { LOGIN_PAGE_CSP } from '../../firmware/services/api/login-page.js';
import { createApiServer } from '../../firmware/services/api/server.js';
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
    await t.rejects(createApiServer(f.ctx, { host }), { code: 'E_INSECURE_LISTEN', message: /refusing to listen on .* without a bearer token/ }, host);
  }
  await t.rejects(createApiServer(f.ctx, { host: '0.0.0.0', token: 'short' }), { code: 'E_WEAK_TOKEN' });
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
  t.equal(cookieValue('a=1; bmcemu_token=abc%20def; b=2', TOKEN_COOKIE), 'abc def');
  t.equal(cookieValue('xbmcemu_token=nope', TOKEN_COOKIE), null, 'names match exactly');
  t.equal(cookieValue('bmcemu_token=%E0%A4%A', TOKEN_COOKIE), null, 'a broken escape counts as absent');
  t.equal(cookieValue(';;=;bmcemu_token', TOKEN_COOKIE), null);
  t.equal(cookieValue(undefined, TOKEN_COOKIE), null);
  t.equal(cookieValue('bmcemu_token=', TOKEN_COOKIE), '');
  t.equal(cookieValue(`${'x=1;'.repeat(10000)}bmcemu_token=t`, TOKEN_COOKIE), 't', 'a long header is fine');
});

t.test("a browser: the login page, then the cookie for reading, never for acting", async (t) => {
  const f = fixture();
  const s = await serve(t, f, { host: '0.0.0.0', token: TOKEN });
  const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

  const login = await s.app.inject({ url: '/dashboard/', headers: html });
  t.equal(login.statusCode, 401, 'a page load without a token is still a 401');
  t.match(login.headers['content-type'], /^text\/html/, 'but a browser gets a page it can act on');
  t.equal(login.headers['content-security-policy'], LOGIN_PAGE_CSP);
  t.match(login.body, /<form id="login">/);
  t.notMatch(login.body, /not accepted/);
  t.notMatch(login.body, /mctp0|EID/, 'nothing about the BMC leaks');
  t.equal((await s.app.inject({ url: '/api/v1/status' })).statusCode, 401, 'API clients still get JSON');
  t.match(JSON.parse((await s.app.inject({ url: '/api/v1/status' })).body), { code: 'E_UNAUTHORIZED' });

  const cookie = `other=1; ${TOKEN_COOKIE}=${encodeURIComponent(TOKEN)}`;
  const status = await s.app.inject({ url: '/api/v1/status', headers: { cookie } });
  t.equal(status.statusCode, 200, 'the cookie reads the API');
  t.equal((await s.app.inject({ method: 'HEAD', url: '/api/v1/status', headers: { cookie } })).statusCode, 200);

  const act = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', headers: { cookie }, payload: { action: 'on' } });
  t.equal(act.statusCode, 401, 'a cookie alone cannot act: no cross-site request forgery');
  t.match(JSON.parse(act.body), { message: /POST needs the Authorization: Bearer <token> header/ });
  t.same(f.power.calls, [], 'nothing was done');
  const withHeader = await s.app.inject({ method: 'POST', url: '/api/v1/host/power', headers: { cookie, authorization: `Bearer ${TOKEN}` }, payload: { action: 'on' } });
  t.equal(withHeader.statusCode, 200, 'the page sends the header for actions');

  const wrong = `${TOKEN_COOKIE}=${TOKEN}x`;
  const retry = await s.app.inject({ url: '/dashboard/', headers: { ...html, cookie: wrong } });
  t.equal(retry.statusCode, 401);
  t.match(retry.body, /That token was not accepted/);
  t.match(JSON.parse((await s.app.inject({ url: '/api/v1/status', headers: { cookie: wrong } })).body), { message: /cookie holds a wrong token/ });
  const wrongHeader = await s.app.inject({ url: '/api/v1/status', headers: { cookie, authorization: 'Bearer not-the-token-at-all' } });
  t.equal(wrongHeader.statusCode, 401, 'a wrong header is not rescued by a good cookie');
});

t.test('the console websocket takes the cookie only from this origin', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { token: TOKEN });
  const { url } = await s.listen();
  const ws = `${url.replace('http', 'ws')}/api/v1/console/ws`;
  const cookie = `${TOKEN_COOKIE}=${encodeURIComponent(TOKEN)}`;
  const host = new URL(url).host;
  const same = await WsClient.connect(ws, { headers: { cookie, origin: `http://${host}` } });
  same.close();
  t.pass('same origin with the cookie connects');
  const foreign = await WsClient.connect(ws, { headers: { cookie, origin: 'http://evil.example' } }).catch((e: unknown) => e);
  t.ok(foreign instanceof WsHandshakeError);
  t.equal((foreign as WsHandshakeError).statusCode, 401, 'another origin is refused');
  const garbage = await WsClient.connect(ws, { headers: { cookie, origin: 'not a url' } }).catch((e: unknown) => e);
  t.equal((garbage as WsHandshakeError).statusCode, 401, 'an unparsable origin is refused');
});

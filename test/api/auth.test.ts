/** The token rule: loopback is open; anything else needs a bearer token on every route. */
import t from 'tap';
import { isLoopbackHost } from '../../firmware/services/api/auth.js';
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

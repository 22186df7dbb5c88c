/** The server factory: api.json on listen and its removal on close; OpenAPI and the docs page. */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fixture, serve } from './helpers.js';

t.test('api.json is written on listen and removed on close', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const file = path.join(f.dir, 'api.json');
  t.notOk(fs.existsSync(file), 'not before listening');
  const addr = await s.listen();
  t.match(addr, { host: '127.0.0.1', url: /^http:\/\/127\.0\.0\.1:\d+$/ });
  t.ok(addr.port > 0, 'an ephemeral port');
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  t.match(j, { url: addr.url, host: '127.0.0.1', port: addr.port, pid: process.pid, version: '0.1.0-test', auth: 'none' });
  t.notOk('token' in j);
  t.equal(fs.statSync(file).mode & 0o777, 0o600);
  const r = await fetch(`${addr.url}/api/v1/status`);
  t.equal(r.status, 200);
  await s.close();
  t.notOk(fs.existsSync(file), 'removed on close');
});

t.test('api.json of another process is left alone', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  await s.listen();
  const file = path.join(f.dir, 'api.json');
  fs.writeFileSync(file, JSON.stringify({ url: 'http://127.0.0.1:1', pid: 1 }));
  await s.close();
  t.ok(fs.existsSync(file));
});

t.test('a wildcard listen with a token advertises a loopback URL', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { host: '0.0.0.0', token: 'sixteen-characters!' });
  const addr = await s.listen();
  t.match(addr.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal(JSON.parse(fs.readFileSync(path.join(f.dir, 'api.json'), 'utf8')).auth, 'bearer');
});

t.test('OpenAPI document and docs page', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const r = await s.app.inject({ url: '/api/v1/openapi.json' });
  t.equal(r.statusCode, 200);
  const spec = JSON.parse(r.body);
  t.equal(spec.openapi, '3.0.3');
  t.equal(spec.info.version, '0.1.0-test');
  const paths = Object.keys(spec.paths).sort();
  for (const p of [
    '/api/v1/status',
    '/api/v1/hardware',
    '/api/v1/host/power',
    '/api/v1/mctp/links',
    '/api/v1/mctp/links/{name}',
    '/api/v1/mctp/addresses',
    '/api/v1/mctp/routes',
    '/api/v1/mctp/neighbours',
    '/api/v1/mctp/endpoints',
    '/api/v1/mctp/astlpc',
    '/api/v1/mctp/echo',
    '/api/v1/mctp/captures',
    '/api/v1/mctp/links/{name}/capture',
    '/api/v1/console/log',
    '/api/v1/console/ws',
    '/api/v1/events',
    '/api/v1/readiness',
    '/api/v1/wait',
    '/metrics',
  ]) {
    t.ok(paths.includes(p), p);
  }
  t.notOk(paths.some((p) => p.includes('openapi.json') || p.includes('/docs')), 'the doc routes document only the API');
  t.same(spec.paths['/api/v1/host/power'].post.requestBody.content['application/json'].schema.properties.action.enum, ['on', 'off', 'soft-off', 'reset', 'cycle']);
  t.ok(spec.paths['/api/v1/mctp/echo'].post.responses['504'], 'error responses are documented');

  const docs = await s.app.inject({ url: '/api/v1/docs' });
  t.equal(docs.statusCode, 200, 'the docs page');
  t.match(docs.headers['content-type'], /^text\/html/);
  t.match(docs.body, /swagger/i);
});

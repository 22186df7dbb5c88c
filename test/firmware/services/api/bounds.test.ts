/**
 * What a client can make the API hold, over real sockets: an SSE client or a
 * console websocket that never reads is dropped at its backlog bound (counted,
 * in /metrics, its socket's queue freed); streams over the cap get 503
 * E_TOO_MANY_STREAMS; connections over maxConnections are closed on accept;
 * a malformed URL gets the documented error shape.
 */
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import t, { type Test } from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { WsClient } from '../../../../cli/ws-client.js';
import { CliError, isCliError } from '../../../../cli/errors.js';
import type { ApiServer } from '../../../../firmware/services/api/server.js';
import { fixture, serve } from './helpers.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function until(pred: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

/** Every socket the server accepted, to check what it still holds. */
function serverSockets(s: ApiServer): net.Socket[] {
  const socks: net.Socket[] = [];
  s.app.server.on('connection', (sock: net.Socket) => socks.push(sock));
  return socks;
}

/** Bytes the server still has queued for its clients, over the sockets not yet destroyed. */
const queuedBytes = (socks: net.Socket[]): number => socks.filter((s) => !s.destroyed).reduce((n, s) => n + s.writableLength, 0);

/** A raw client that sends one request and then never reads a byte. */
async function deafClient(t: Test, port: number, request: string): Promise<net.Socket> {
  const sock = net.createConnection({ host: '127.0.0.1', port });
  sock.on('error', () => {});
  t.teardown(() => sock.destroy());
  await once(sock, 'connect');
  sock.pause();
  sock.write(request);
  return sock;
}

t.test('an SSE client that never reads is dropped at the bound; its queue is freed and the drop counted', async (t) => {
  const f = fixture();
  const bound = 16 * 1024;
  const s = await serve(t, f, { sseKeepAliveMs: 0, streams: { sseMaxBacklogBytes: bound } });
  const { port } = await s.listen();
  const socks = serverSockets(s);
  await deafClient(t, port, `GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  await until(() => s.streamStats().streams.sse.open === 1, 'the stream to open');

  // The hub sends every subscriber every event; the kernel's buffers take the first MiBs, then the server queues.
  const pad = 'x'.repeat(8 * 1024);
  let events = 0;
  let most = 0;
  while (s.streamStats().streams.sse.drops['slow-client'] === 0 && events < 20_000) {
    f.events.record({ kind: 'flood', n: events++, pad });
    most = Math.max(most, queuedBytes(socks));
    if (events % 16 === 0) await tick();
  }
  t.ok(events < 20_000, `dropped after ${events} events`);
  t.ok(most <= bound + 2 * pad.length, `the server never queued much more than the bound (at most ${most})`);
  await until(() => s.streamStats().streams.sse.open === 0, 'the slot to be released');
  t.equal(queuedBytes(socks), 0, 'nothing is queued for it any more');
  t.ok(socks.every((x) => x.destroyed), 'its socket is gone');
  t.match(s.streamStats().streams.sse, { open: 0, opened: 1, drops: { 'slow-client': 1, 'over-cap': 0 } });
  const metrics = (await s.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /\nbmcemu_api_stream_drops_total\{kind="sse",reason="slow-client"\} 1\n/);
  t.match(metrics, /\nbmcemu_api_streams\{kind="sse"\} 0\n/);
});

t.test('SSE streams over the cap get 503 E_TOO_MANY_STREAMS; a slot frees when a stream ends', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { sseKeepAliveMs: 0, streams: { maxSse: 2 } });
  const { url } = await s.listen();
  const open = (): Promise<http.IncomingMessage> =>
    new Promise((resolve, reject) => http.get(`${url}/api/v1/events`, resolve).on('error', reject));
  const a = await open();
  const b = await open();
  t.teardown(() => (a.destroy(), b.destroy()));
  t.equal(a.statusCode, 200);
  t.equal(b.statusCode, 200);

  const r = await fetch(`${url}/api/v1/events`);
  t.equal(r.status, 503);
  t.match(r.headers.get('content-type'), /^application\/json/);
  t.same(await r.json(), {
    statusCode: 503,
    error: 'Service Unavailable',
    code: 'E_TOO_MANY_STREAMS',
    message: 'too many event streams open (2); close one and retry',
    limit: 2,
  });
  t.match(s.streamStats().streams.sse, { open: 2, drops: { 'over-cap': 1 } });

  a.destroy();
  await until(() => s.streamStats().streams.sse.open === 1, 'a slot to free');
  const c = await open();
  t.teardown(() => c.destroy());
  t.equal(c.statusCode, 200, 'accepted again');
  const metrics = (await s.app.inject({ url: '/metrics' })).body;
  t.match(metrics, /\nbmcemu_api_stream_drops_total\{kind="sse",reason="over-cap"\} 1\n/);
  t.match(metrics, /\nbmcemu_api_streams\{kind="sse"\} 2\n/);
  const spec = JSON.parse((await s.app.inject({ url: '/api/v1/openapi.json' })).body);
  t.ok(spec.paths['/api/v1/events'].get.responses['503'], 'the 503 is in the OpenAPI document');
});

t.test('a console websocket client that never reads is closed at the bound, then cut; its queue is freed', async (t) => {
  const f = fixture();
  const clock = new ManualClock();
  const bound = 16 * 1024;
  const s = await serve(t, f, { clock, streams: { consoleMaxBacklogBytes: bound } });
  const { port } = await s.listen();
  const socks = serverSockets(s);
  await deafClient(
    t,
    port,
    `GET /api/v1/console/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  // Two listeners: the websocket's and the API's byte counter (the fake console has no stats()).
  await until(() => f.console.listeners === 2 && s.streamStats().streams.console.open === 1, 'the console to be subscribed');

  const chunk = Buffer.alloc(8 * 1024, 0x41);
  let sent = 0;
  while (s.streamStats().streams.console.drops['slow-client'] === 0 && sent < 256 << 20) {
    f.console.emit(chunk);
    sent += chunk.length;
    if ((sent / chunk.length) % 16 === 0) await tick();
  }
  t.ok(sent < 256 << 20, `closed after ${sent} bytes`);
  t.ok(queuedBytes(socks) > bound, 'the backlog is still held while the close frame waits behind it');
  f.console.emit(chunk);
  t.equal(s.streamStats().streams.console.drops['slow-client'], 1, 'nothing more is queued once closing');

  clock.advance(1000); // the grace for taking the close frame
  await until(() => s.streamStats().streams.console.open === 0, 'the connection to be cut');
  t.equal(queuedBytes(socks), 0, 'nothing is queued for it any more');
  t.equal(f.console.listeners, 1, 'unsubscribed from the console (the byte counter remains)');
  t.match(s.streamStats().streams.console, { open: 0, opened: 1, drops: { 'slow-client': 1 } });
  t.match((await s.app.inject({ url: '/metrics' })).body, /\nbmcemu_api_stream_drops_total\{kind="console",reason="slow-client"\} 1\n/);
});

t.test('console websockets over the cap are refused with 503 before the upgrade', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { streams: { maxConsole: 1 } });
  const ws = (await s.listen()).url.replace('http', 'ws') + '/api/v1/console/ws';
  const first = await WsClient.connect(ws);
  const err = await WsClient.connect(ws).catch((e: unknown) => e);
  t.ok(isCliError(err, 'ERR_WS_HANDSHAKE'));
  t.equal((err as CliError).status, 503);
  t.match((err as CliError).details, { body: /E_TOO_MANY_STREAMS/ });
  t.match(s.streamStats().streams.console, { open: 1, drops: { 'over-cap': 1 } });
  const closed = new Promise((r) => first.on('close', r));
  first.close();
  await closed;
  await until(() => s.streamStats().streams.console.open === 0, 'the slot to free');
  const again = await WsClient.connect(ws);
  again.close();
});

t.test('connections over maxConnections are closed on accept and counted', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { maxConnections: 3 });
  const { port, url } = await s.listen();
  const held: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const c = net.createConnection({ host: '127.0.0.1', port });
    c.on('error', () => {});
    await once(c, 'connect');
    held.push(c);
  }
  t.teardown(() => held.forEach((c) => c.destroy()));
  await until(() => s.app.server.listenerCount('connection') > 0 && held.length === 3, 'three held');
  const extra = net.createConnection({ host: '127.0.0.1', port });
  extra.on('error', () => {});
  const got: Buffer[] = [];
  extra.on('data', (b: Buffer) => got.push(b));
  extra.write(`GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  await once(extra, 'close');
  t.equal(Buffer.concat(got).length, 0, 'closed without an answer');
  await until(() => s.streamStats().connections.refused === 1, 'the refusal to be counted');
  t.same(s.streamStats().connections, { refused: 1, max: 3 });
  held.pop()!.destroy();
  await until(() => (s.app.server as unknown as { _connections: number })._connections < 3, 'a connection to close');
  const r = await fetch(`${url}/api/v1/status`);
  t.equal(r.status, 200, 'served again once one closed');
  t.match((await s.app.inject({ url: '/metrics' })).body, /\nbmcemu_api_connections_refused_total 1\n/);
});

t.test('a malformed URL gets the documented FST_ERR_BAD_URL answer', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const { url } = await s.listen();
  const r = await fetch(`${url}/api/v1/%zz`);
  t.equal(r.status, 400);
  t.match(r.headers.get('content-type'), /^application\/json/);
  t.same(await r.json(), { statusCode: 400, error: 'Bad Request', code: 'FST_ERR_BAD_URL', message: "'/api/v1/%zz' is not a valid url component" });
  t.equal(r.headers.get('x-content-type-options'), null, 'answered before any hook runs');
  // Before authentication too: the answer names only the path the client sent.
  const f2 = fixture();
  const s2 = await serve(t, f2, { token: 'a-token-of-sixteen-chars' });
  const r2 = await fetch(`${(await s2.listen()).url}/api/v1/%zz`);
  t.equal(r2.status, 400);
  t.match(await r2.json(), { code: 'FST_ERR_BAD_URL' });
  const long = await s.app.inject({ url: `/api/v1/mctp/links/${'a'.repeat(101)}` });
  t.equal(long.statusCode, 414);
  // Fastify's own answer: the status says 414, the error text says Bad Request.
  t.same(JSON.parse(long.body), {
    statusCode: 414,
    error: 'Bad Request',
    code: 'FST_ERR_MAX_PARAM_LENGTH',
    message: `'/api/v1/mctp/links/${'a'.repeat(101)}' is exceeding the max param length`,
  });
});

t.test('impossible limits are configuration errors', async (t) => {
  const f = fixture();
  t.teardown(() => f.close());
  const { createApiServer } = await import('../../../../firmware/services/api/server.js');
  await t.rejects(createApiServer(f.ctx, { maxConnections: 0 }), { code: 'ERR_BAD_CONFIG', message: /maxConnections/ });
  await t.rejects(createApiServer(f.ctx, { streams: { maxSse: 0 } }), { code: 'ERR_BAD_CONFIG', message: /maxSse/ });
});

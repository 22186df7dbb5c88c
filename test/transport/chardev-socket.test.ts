import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { ChardevSocket, probeUnixSocket, type ChardevEndpoint } from '../../transport/chardev-socket.js';
import { nextEvent, shortTempDir, until } from './helpers/util.js';

const SOCKET_HANDLES = new Set(['PipeWrap', 'PipeServerWrap', 'TCPWrap', 'TCPServerWrap', 'PipeConnectWrap', 'TCPConnectWrap']);
const socketHandles = (): number => process.getActiveResourcesInfo().filter((r) => SOCKET_HANDLES.has(r)).length;

function collect(sock: ChardevSocket): { data: Buffer[]; text(): string } {
  const data: Buffer[] = [];
  sock.on('data', (b: Buffer) => data.push(b));
  return { data, text: () => Buffer.concat(data).toString() };
}

async function roundTrip(t: Test, endpoint: ChardevEndpoint): Promise<void> {
  const before = socketHandles();
  const server = new ChardevSocket({ endpoint, role: 'server' });
  await server.listen();
  t.ok(server.listening);
  const client = new ChardevSocket({ endpoint: server.endpoint, role: 'client', reconnect: false });
  const serverConnected = nextEvent(server, 'connect');
  await client.connect();
  await serverConnected;
  t.ok(client.connected && server.connected, 'both ends connected');
  const fromClient = collect(server);
  const fromServer = collect(client);
  t.equal(client.write(Buffer.from('ping')), true);
  t.equal(server.write(Buffer.from('pong!')), true);
  await until(() => fromClient.text() === 'ping' && fromServer.text() === 'pong!', { what: 'data both ways' });
  t.match(server.stats(), { bytesIn: 4, bytesOut: 5, connections: 1, refused: 0 });
  t.match(client.stats(), { bytesIn: 5, bytesOut: 4, connections: 1, connectAttempts: 1 });
  const clientGone = nextEvent(client, 'disconnect');
  await server.close();
  await clientGone;
  await client.close();
  t.equal(socketHandles(), before, 'no socket handles left after close()');
}

t.test('UNIX server and client exchange bytes both ways', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'kcs.sock');
  await roundTrip(t, { kind: 'unix', path: p });
  t.notOk(fs.existsSync(p), 'socket file removed on close');
});

t.test('TCP server (port 0) and client exchange bytes both ways', async (t) => {
  await roundTrip(t, { kind: 'tcp', host: '127.0.0.1', port: 0 });
});

t.test('a second peer is refused and closed while one is attached', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 's');
  const server = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server' });
  t.teardown(() => server.close());
  await server.listen();
  const data = collect(server);
  const first = net.createConnection({ path: p });
  await Promise.all([once(first, 'connect'), nextEvent(server, 'connect')]);
  const refused = nextEvent(server, 'refused');
  const second = net.createConnection({ path: p });
  second.on('error', () => {});
  const secondClosed = new Promise((r) => second.once('close', r));
  second.on('connect', () => second.write('intruder'));
  await refused;
  await secondClosed;
  t.equal(server.stats().refused, 1);
  t.equal(server.stats().connections, 1);
  first.write('owner');
  await until(() => data.text() === 'owner', { what: 'first peer data' });
  t.equal(data.text(), 'owner', 'nothing from the refused peer got through');
  // After the first peer leaves, a new one is accepted.
  const gone = nextEvent(server, 'disconnect');
  first.destroy();
  await gone;
  const third = net.createConnection({ path: p });
  await Promise.all([once(third, 'connect'), nextEvent(server, 'connect')]);
  t.equal(server.stats().connections, 2);
  third.destroy();
  await nextEvent(server, 'disconnect');
});

t.test('write() without a peer returns false and counts the drop, never throws', async (t) => {
  const dir = shortTempDir(t);
  const server = new ChardevSocket({ endpoint: { kind: 'unix', path: path.join(dir, 's') }, role: 'server' });
  t.equal(server.write(Buffer.alloc(10)), false, 'before listen');
  await server.listen();
  t.equal(server.write(Buffer.alloc(5)), false, 'listening, no peer');
  t.match(server.stats(), { bytesDropped: 15, writesDropped: 2, bytesOut: 0 });
  await server.close();
  t.equal(server.write(Buffer.alloc(1)), false, 'after close');
});

t.test('disconnect mid-stream, then the client reconnects with backoff on the injected clock', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 's');
  const clock = new ManualClock();
  const server = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server' });
  await server.listen();
  const client = new ChardevSocket({
    endpoint: { kind: 'unix', path: p },
    role: 'client',
    clock,
    reconnect: { initialDelayMs: 100, maxDelayMs: 400, factor: 2 },
  });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  const events: string[] = [];
  client.on('connect', () => events.push('connect'));
  client.on('disconnect', () => events.push('disconnect'));
  await client.connect();
  await until(() => server.connected);
  const fromClient = collect(server);
  // The server drops the line while the client is in the middle of sending.
  client.write(Buffer.from([1, 2]));
  await until(() => server.stats().bytesIn === 2);
  server.disconnect();
  await until(() => !client.connected, { what: 'client notices' });
  t.same(events, ['connect', 'disconnect']);
  t.equal(client.write(Buffer.of(3)), false, 'no peer while down');
  // No reconnect happens until the backoff delay passes on the clock.
  await new Promise((r) => setTimeout(r, 20));
  t.equal(client.stats().connectAttempts, 1);
  clock.advance(99);
  t.equal(client.stats().connectAttempts, 1);
  clock.advance(1);
  t.equal(client.stats().connectAttempts, 2, 'retry after initialDelayMs');
  await until(() => client.connected && server.connected, { what: 'reconnect' });
  t.same(events, ['connect', 'disconnect', 'connect']);
  client.write(Buffer.of(4));
  await until(() => Buffer.concat(fromClient.data).length === 3);
  t.same([...Buffer.concat(fromClient.data)], [1, 2, 4], 'nothing written while down is replayed');
  t.match(server.stats(), { connections: 2, disconnects: 1 });
});

t.test('client backoff grows while the server is absent, then connects when it appears', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 's');
  const clock = new ManualClock();
  const client = new ChardevSocket({
    endpoint: { kind: 'unix', path: p },
    role: 'client',
    clock,
    reconnect: { initialDelayMs: 100, maxDelayMs: 400, factor: 2 },
  });
  t.teardown(() => client.close());
  const connected = client.connect();
  const failures = (n: number) => until(() => client.stats().connectFailures === n, { what: `${n} failures` });
  await failures(1);
  clock.advance(100); // retry 2
  await failures(2);
  clock.advance(199);
  t.equal(client.stats().connectAttempts, 2, 'second delay is 200');
  clock.advance(1); // retry 3
  await failures(3);
  clock.advance(399);
  t.equal(client.stats().connectAttempts, 3, 'third delay is 400');
  clock.advance(1); // retry 4
  await failures(4);
  clock.advance(399);
  t.equal(client.stats().connectAttempts, 4, 'capped at maxDelayMs');
  const server = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server' });
  t.teardown(() => server.close());
  await server.listen();
  clock.advance(1);
  await connected;
  t.ok(client.connected);
  t.equal(client.stats().connectAttempts, 5);
});

t.test('client without reconnect rejects a failed connect clearly', async (t) => {
  const dir = shortTempDir(t);
  const client = new ChardevSocket({ endpoint: { kind: 'unix', path: path.join(dir, 'nobody') }, role: 'client', reconnect: false });
  await t.rejects(client.connect(), { name: 'TransportError', code: 'ENOENT', message: /cannot connect to unix:/, cause: { code: 'ENOENT' } });
  await client.close();
  await t.rejects(client.connect(), { code: 'ECLOSED' });
});

t.test('role and state misuse is reported', async (t) => {
  const dir = shortTempDir(t);
  const server = new ChardevSocket({ endpoint: { kind: 'unix', path: path.join(dir, 's') }, role: 'server' });
  await t.rejects(server.connect(), { code: 'EROLE' });
  await server.listen();
  await t.rejects(server.listen(), { code: 'ESTATE' });
  await server.close();
  await server.close(); // idempotent
  const client = new ChardevSocket({ endpoint: { kind: 'tcp', port: 1 }, role: 'client' });
  await t.rejects(client.listen(), { code: 'EROLE' });
  t.throws(
    () => new ChardevSocket({ endpoint: { kind: 'unix', path: '/tmp/' + 'x'.repeat(200) }, role: 'server' }),
    { code: 'ENAMETOOLONG' },
  );
});

t.test('stale socket file from a killed process is removed before listening', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'stale.sock');
  // A process that binds and is then killed leaves its socket file behind.
  const r = spawnSync(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(p)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  t.equal(r.signal, 'SIGKILL');
  t.ok(fs.lstatSync(p).isSocket(), 'stale socket file exists');
  t.equal(await probeUnixSocket(p), false, 'nobody answers on it');
  const server = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server' });
  await server.listen();
  t.equal(server.stats().staleSocketsRemoved, 1);
  t.equal(await probeUnixSocket(p), true, 'now we answer on it');
  await server.close();
  t.notOk(fs.existsSync(p), 'gone after close');
});

t.test('a socket someone is listening on is not taken over', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'live.sock');
  const first = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server' });
  await first.listen();
  const second = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server' });
  await t.rejects(second.listen(), { code: 'EADDRINUSE', message: /in use/ });
  await second.close();
  t.ok(fs.lstatSync(p).isSocket(), 'the live socket file is untouched');
  t.equal(await probeUnixSocket(p), true, 'and still answers');
  await first.close();
  t.notOk(fs.existsSync(p));
});

t.test('a non-socket file at the path is never clobbered', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'precious');
  fs.writeFileSync(p, 'data');
  const server = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server' });
  await t.rejects(server.listen(), { code: 'EEXIST', message: /not a socket/ });
  t.equal(fs.readFileSync(p, 'utf8'), 'data');
  fs.unlinkSync(p);
  fs.symlinkSync('/dev/null', p);
  await t.rejects(server.listen(), { code: 'EEXIST' }, 'a symlink is not followed or removed');
  t.ok(fs.lstatSync(p).isSymbolicLink());
  await server.close();
});

t.test('close() with a connected peer and a pending reconnect leaves nothing behind', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 's');
  const before = socketHandles();
  const clock = new ManualClock();
  const server = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server' });
  await server.listen();
  const client = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'client', clock });
  await client.connect();
  await until(() => server.connected);
  const clientDown = nextEvent(client, 'disconnect');
  await server.close();
  await clientDown;
  t.equal(clock.pending, 1, 'a reconnect is scheduled');
  await client.close();
  t.equal(clock.pending, 0, 'close() cancelled it');
  t.equal(socketHandles(), before, 'no socket handles left');
  t.notOk(fs.existsSync(p));
});

t.test('TCP client reconnects to a restarted TCP server on the same port', async (t) => {
  const clock = new ManualClock();
  const s1 = new ChardevSocket({ endpoint: { kind: 'tcp', port: 0 }, role: 'server' });
  await s1.listen();
  const ep = s1.endpoint;
  const client = new ChardevSocket({ endpoint: ep, role: 'client', clock });
  t.teardown(() => client.close());
  await client.connect();
  await until(() => s1.connected);
  await s1.close();
  await until(() => !client.connected);
  const s2 = new ChardevSocket({ endpoint: ep, role: 'server' });
  t.teardown(() => s2.close());
  await s2.listen();
  await until(() => client.connected && s2.connected, { clock, step: 50, what: 'reconnect' });
  t.equal(client.stats().connections, 2);
});

/** A raw peer on a UNIX server that never reads: what the server writes piles up in the server's queue. */
async function nonReadingPeer(t: Test, opts: { maxQueuedBytes?: number } = {}) {
  const dir = shortTempDir(t);
  const p = path.join(dir, 's');
  const server = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server', ...opts });
  t.teardown(() => server.close());
  await server.listen();
  const peer = net.createConnection({ path: p });
  peer.on('error', () => {});
  t.teardown(() => peer.destroy());
  peer.pause();
  await Promise.all([once(peer, 'connect'), nextEvent(server, 'connect')]);
  return { server, peer };
}

t.test('a peer that never reads is disconnected at the bound, counted, and its queue is freed', async (t) => {
  const bound = 64 * 1024;
  const { server } = await nonReadingPeer(t, { maxQueuedBytes: bound });
  const overflows: unknown[] = [];
  server.on('overflow', (o) => overflows.push(o));
  const disconnected = nextEvent(server, 'disconnect');
  const stream = server.peerStream!;
  const chunk = Buffer.alloc(4096, 0x55);
  let written = 0;
  let most = 0;
  // The kernel's socket buffers take the first few hundred KiB; the rest queues here until the bound.
  while (written < 64 << 20 && server.write(chunk)) {
    written += chunk.length;
    most = Math.max(most, server.queuedBytes);
  }
  t.ok(written < 64 << 20, `disconnected after ${written} bytes`);
  t.ok(most > 0 && most <= bound, `the queue never passed the bound (at most ${most})`);
  t.equal(server.connected, false, 'the peer is gone at once');
  t.ok(stream.destroyed, 'its socket is destroyed, and what was queued for it with it');
  await disconnected;
  const s = server.stats();
  t.match(s, { overflowDisconnects: 1, disconnects: 1, queuedBytes: 0, maxQueuedBytes: bound });
  t.ok(s.peakQueuedBytes > 0 && s.peakQueuedBytes <= bound, `peak ${s.peakQueuedBytes} within the bound`);
  t.ok(s.overflowBytesDiscarded > bound - chunk.length && s.overflowBytesDiscarded <= bound + chunk.length, 'the discarded bytes are counted');
  t.equal(overflows.length, 1);
  t.match(overflows[0], { endpoint: /^unix:/, writeBytes: chunk.length, maxQueuedBytes: bound });
  t.ok((overflows[0] as { queuedBytes: number }).queuedBytes + chunk.length > bound);
  t.equal(server.write(chunk), false, 'later writes are dropped as for any missing peer');
  t.equal(server.stats().bytesDropped, chunk.length);

  // The server keeps listening: the next peer is served normally.
  const next = net.createConnection({ path: (server.endpoint as { path: string }).path });
  t.teardown(() => next.destroy());
  await Promise.all([once(next, 'connect'), nextEvent(server, 'connect')]);
  t.ok(server.write(Buffer.from('hi')));
  const [got] = (await once(next, 'data')) as [Buffer];
  t.equal(got.toString(), 'hi');
});

t.test('the default bound is 1 MiB; a single write into an empty queue always goes through', async (t) => {
  const { server } = await nonReadingPeer(t);
  t.equal(server.stats().maxQueuedBytes, 1 << 20);
  const { server: small } = await nonReadingPeer(t, { maxQueuedBytes: 1024 });
  t.ok(small.write(Buffer.alloc(8 << 20)), 'one large write is the writer\'s own business');
  t.ok(small.queuedBytes > 1024, 'it queues past the bound');
  t.notOk(small.write(Buffer.of(1)), 'but nothing more is queued behind it');
  t.equal(small.stats().overflowDisconnects, 1);
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    t.throws(() => new ChardevSocket({ endpoint: { kind: 'tcp', port: 0 }, role: 'server', maxQueuedBytes: bad }), { code: 'ERR_BAD_CONFIG' }, String(bad));
  }
});

t.test('a peer that reads is never dropped, however much flows', async (t) => {
  const bound = 64 * 1024;
  const dir = shortTempDir(t);
  const p = path.join(dir, 's');
  const server = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server', maxQueuedBytes: bound });
  t.teardown(() => server.close());
  await server.listen();
  const peer = net.createConnection({ path: p });
  let received = 0;
  peer.on('data', (b: Buffer) => (received += b.length));
  t.teardown(() => peer.destroy());
  await Promise.all([once(peer, 'connect'), nextEvent(server, 'connect')]);
  const chunk = Buffer.alloc(8192);
  const total = 4 << 20;
  let refused = 0;
  for (let sent = 0; sent < total; sent += chunk.length) {
    // A writer that minds the queue, as the wire servers' steady traffic does.
    while (server.queuedBytes > bound / 2) await new Promise((r) => setImmediate(r));
    if (!server.write(chunk)) refused++;
  }
  t.equal(refused, 0, 'every write was taken');
  await until(() => received === total, { what: 'everything delivered' });
  t.match(server.stats(), { overflowDisconnects: 0, bytesOut: total });
});

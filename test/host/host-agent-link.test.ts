/**
 * HostAgent over a caller-owned ByteLink without connection boundaries (the
 * guest's virtio-serial port): every session starts with SYNC, stale bytes
 * in the stream are skipped, sessions come back after the link does, and a
 * model it cannot talk to is retried with backoff rather than hammered.
 * Mostly in memory, on a ManualClock: the model is the real KcsWireServer
 * over a fake KCS channel; the BMC never sets BMC_READY, so the binding just
 * waits. The last test runs over real descriptors.
 */
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { CharDeviceLink } from '../../host/guest/char-device-link.js';
import { HostAgent } from '../../host/host-agent.js';
import { ManualClock } from '../../lib/clock.js';
import { KcsWireOp, encodeHello, encodeReadReply, encodeSyncReply } from '../../transport/kcs-wire/codec.js';
import type { ByteLink } from '../../transport/byte-link.js';
import { KcsWireServer } from '../../hw-models/wire-servers/kcs-wire-server.js';
import { FakeKcsChannel } from '../transport/helpers/fake-kcs.js';
import { memoryLinkPair, shortTempDir, until, type MemoryLink } from '../transport/helpers/util.js';

const window = { read: (_o: number, l: number) => Buffer.alloc(l), write: () => {} };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** SYNC frames the agent side has sent (each write starts with whole frames). */
function syncsSent(a: MemoryLink): number[] {
  const bytes = a.sentBytes();
  const cookies: number[] = [];
  for (let i = 0; i + 3 <= bytes.length; i += 3) if (bytes[i] === KcsWireOp.SYNC) cookies.push(bytes[i + 2]!);
  return cookies;
}

t.test('SYNC at start, stale bytes skipped, SYNC again after the link comes back', async (t) => {
  const clock = new ManualClock();
  const pair = memoryLinkPair();
  // Stale bytes from a previous agent, not frame-aligned, including a near-miss of the SYNC reply.
  let staleSent = false;
  pair.b.on('data', (d: Buffer) => {
    if (!staleSent && d[0] === KcsWireOp.SYNC) {
      staleSent = true;
      pair.b.write(Buffer.from([0x81, 0x90, KcsWireOp.SYNC_REPLY, 0x00, d[2]! ^ 0x55, 0x00]));
    }
  });
  const server = new KcsWireServer(new FakeKcsChannel(), pair.b, { channel: 3 });
  t.teardown(() => server.detach());
  pair.connect(); // the model's hello goes to nobody: the agent is not there yet

  const agent = new HostAgent({ kcs: pair.a, window, clock });
  t.teardown(() => agent.stop());
  await agent.start();
  t.ok(agent.kcsClient.ready, 'session up');
  t.ok(staleSent, 'stale bytes were in the way');
  t.equal(syncsSent(pair.a).length, 1, 'one SYNC');
  t.match(agent.kcsClient.stats(), { syncs: 1, protocolErrors: 0 });
  t.same(agent.kcsClient.hello, { version: 1, channel: 3 });
  t.equal(await agent.kcsClient.read(1), 0, 'register access works');

  pair.a.disconnect();
  await tick();
  t.notOk(agent.kcsClient.ready);
  t.equal(syncsSent(pair.a).length, 1, 'no SYNC while the link is down');
  pair.connect();
  await tick();
  t.ok(agent.kcsClient.ready, 'session back');
  t.equal(syncsSent(pair.a).length, 2, 'SYNC on the reconnect (the hello that arrived meanwhile was skipped)');
  t.equal(agent.kcsClient.stats().protocolErrors, 0);

  await agent.stop();
  pair.a.disconnect();
  pair.connect();
  await tick();
  t.equal(syncsSent(pair.a).length, 2, 'stopped: no more SYNCs, the link stays the caller’s');
  t.ok(pair.a.connected, 'stop() does not close a link it does not own');
});

t.test('after a protocol error: new session, but only after a backoff', async (t) => {
  const clock = new ManualClock();
  const pair = memoryLinkPair();
  const server = new KcsWireServer(new FakeKcsChannel(), pair.b, { channel: 3 });
  t.teardown(() => server.detach());
  pair.connect();
  const agent = new HostAgent({ kcs: pair.a, window, clock });
  t.teardown(() => agent.stop());
  await agent.start();

  // Stale reply with nothing outstanding: the client drops the session (MemoryLink disconnects).
  pair.b.write(encodeReadReply(0, 0x42));
  await tick();
  t.equal(agent.kcsClient.stats().protocolErrors, 1);
  t.notOk(pair.a.connected, 'the client dropped the link');
  pair.connect(); // the model greets the new connection: ready without SYNC
  await tick();
  t.ok(agent.kcsClient.ready, 'ready from the hello of the new connection');
  t.equal(syncsSent(pair.a).length, 1, 'no immediate SYNC after a failure');
  clock.advance(300);
  await tick();
  t.equal(syncsSent(pair.a).length, 1, 'and none when the backoff fires while a session is up');
});

t.test('a model speaking another version is retried with backoff, not hammered', async (t) => {
  const clock = new ManualClock();
  const pair = memoryLinkPair();
  // A model that answers every SYNC with a version-2 hello.
  pair.b.on('data', (d: Buffer) => {
    for (let i = 0; i + 3 <= d.length; i += 3) {
      if (d[i] === KcsWireOp.SYNC) pair.b.write(Buffer.concat([encodeSyncReply(d[i + 2]!), encodeHello(3, 2)]));
    }
  });
  pair.connect();
  // As on a virtio port (CharDeviceLink): dropping the "connection" only restarts the
  // session locally; the model notices nothing and greets nobody.
  let restarts = 0;
  pair.a.disconnect = function (this: MemoryLink) {
    restarts++;
    this.emit('disconnect');
    setImmediate(() => this.emit('connect'));
  };
  const agent = new HostAgent({ kcs: pair.a, window, clock });
  const errors: string[] = [];
  agent.kcsClient.on('protocol-error', (e: Error & { code: string }) => errors.push(e.code === 'EPROTO' ? e.message : e.code));
  void agent.start().catch(() => {});
  t.teardown(() => agent.stop());
  for (let i = 0; i < 200; i++) {
    clock.advance(50); // 10 s of protocol time
    await tick();
    await tick();
  }
  const syncs = syncsSent(pair.a).length;
  t.ok(syncs >= 4 && syncs <= 8, `${syncs} SYNCs in 10 s (250 ms doubling to 4 s)`);
  t.ok(errors.includes('EVERSION'), 'the version was refused');
  t.ok(
    errors.every((e) => e === 'EVERSION' || /no hello within/.test(e)),
    `otherwise only hello timeouts while waiting out the backoff (${JSON.stringify([...new Set(errors)])})`,
  );
  t.ok(restarts <= 2 * syncs + 2, `session restarts stay proportional to attempts (${restarts})`);
  t.notOk(agent.kcsClient.ready);
});

t.test('kcsSync needs a ByteLink; endpoints keep their hello-based start', async (t) => {
  t.throws(() => new HostAgent({ kcs: { kind: 'unix', path: '/nonexistent' }, window, kcsSync: true }), { message: /kcsSync needs a ByteLink/ });
  const a = new HostAgent({ kcs: { kind: 'unix', path: '/nonexistent' }, window });
  await a.stop();
  t.pass('endpoint form still constructs and stops');
  // A ByteLink can opt out of SYNC: it then waits for the model's hello.
  const clock = new ManualClock();
  const pair = memoryLinkPair();
  const server = new KcsWireServer(new FakeKcsChannel(), pair.b, { channel: 3 });
  t.teardown(() => server.detach());
  const agent = new HostAgent({ kcs: pair.a, window, clock, kcsSync: false });
  t.teardown(() => agent.stop());
  const started = agent.start();
  pair.connect();
  await started;
  t.equal(syncsSent(pair.a).length, 0, 'no SYNC');
  t.ok(agent.kcsClient.ready);
});

/**
 * The whole guest-side path on real descriptors: CharDeviceLink over two
 * FIFOs (the port), the model on the other side. "The BMC restarts" = the
 * model's stream ends (the agent reads end of file, as from a virtio port
 * whose chardev disconnected) and comes back with a hello.
 */
t.test('over a character device with virtio semantics: end of file, reconnect, SYNC', async (t) => {
  const dir = shortTempDir(t);
  const toAgent = path.join(dir, 'to-agent');
  const fromAgent = path.join(dir, 'from-agent');
  execFileSync('mkfifo', [toAgent, fromAgent]);
  const { O_RDWR, O_WRONLY, O_RDONLY, O_NONBLOCK } = fs.constants;
  const holdW = fs.openSync(toAgent, O_RDWR);
  const sink = new net.Socket({ fd: fs.openSync(fromAgent, O_RDONLY | O_NONBLOCK), readable: true, writable: false });
  t.teardown(() => sink.destroy());
  const link = new CharDeviceLink({ readPath: toAgent, writePath: fromAgent, polling: { reconnectMinMs: 10, reconnectMaxMs: 50 } });
  t.teardown(() => link.close());
  let writer = fs.openSync(toAgent, O_WRONLY);
  fs.closeSync(holdW);

  // The model's end: a ByteLink the test connects and disconnects.
  class ModelEnd extends EventEmitter implements ByteLink {
    connected = true;
    write(data: Uint8Array): boolean {
      if (!this.connected) return false;
      fs.writeSync(writer, data);
      return true;
    }
    disconnect(): void {}
  }
  const model = new ModelEnd();
  sink.on('data', (d: Buffer) => model.connected && model.emit('data', d));

  const agent = new HostAgent({ kcs: link, window });
  t.teardown(() => agent.stop());
  const server = new KcsWireServer(new FakeKcsChannel(), model, { channel: 3 }); // greets: a stale hello for the agent
  t.teardown(() => server.detach());
  await agent.start();
  t.ok(agent.kcsClient.ready, 'session up through the FIFOs');
  t.equal(agent.kcsClient.stats().syncs, 1);

  // The BMC goes away: the port reads end of file.
  model.connected = false;
  model.emit('disconnect');
  fs.closeSync(writer);
  await until(() => !link.connected && !agent.kcsClient.ready, { what: 'link and session down' });

  // It comes back and speaks first.
  writer = fs.openSync(toAgent, O_WRONLY | O_NONBLOCK);
  t.teardown(() => fs.closeSync(writer));
  model.connected = true;
  model.emit('connect');
  await until(() => agent.kcsClient.ready, { what: 'session back', limitMs: 5000 });
  t.equal(agent.kcsClient.stats().syncs, 2, 'a new SYNC on the reconnect');
  t.equal(await agent.kcsClient.read(1), 0, 'register access works again');
  t.match(link.stats(), { connects: 1, disconnects: 1, writeErrors: 0 });
});

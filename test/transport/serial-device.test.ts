/**
 * Serial devices through @serialport/stream: PATH[,BAUD] specs, the keeper's
 * reopening (on a ManualClock, with a fake opener), and a real pty made by
 * socat: bytes both ways at 115200 baud, the far end hanging up, the device
 * coming back at the same path and being reopened.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { isTransportError } from '../../transport/errors.js';
import { SerialDeviceKeeper, openSerialDevice, parseSerialDeviceSpec } from '../../transport/serial-device.js';
import { SOCAT_MISSING, haveSocat, startSocat } from './helpers/socat.js';
import { shortTempDir, until } from './helpers/util.js';

t.test('PATH[,BAUD]', async (t) => {
  t.same(parseSerialDeviceSpec('/dev/ttyUSB0'), { path: '/dev/ttyUSB0', baudRate: 115200 }, '115200 unless told');
  t.same(parseSerialDeviceSpec('/dev/ttyUSB0,9600'), { path: '/dev/ttyUSB0', baudRate: 9600 });
  t.same(parseSerialDeviceSpec('/tmp/odd,name,57600'), { path: '/tmp/odd,name', baudRate: 57600 }, 'the last comma splits');
  for (const bad of ['', ',115200', '/dev/ttyS0,', '/dev/ttyS0,fast', '/dev/ttyS0,0', '/dev/ttyS0,-9600', '/dev/ttyS0,1.5']) {
    t.throws(() => parseSerialDeviceSpec(bad), { code: 'ERR_BAD_CONFIG' }, `"${bad}" is refused`);
  }
});

/** A stand-in port: open until destroyed. */
function fakePort(): Duplex {
  return new PassThrough();
}

t.test('the keeper reopens after each close and backs off while the device is missing', async (t) => {
  const clock = new ManualClock();
  let available = true;
  const attempts: string[] = [];
  const keeper = new SerialDeviceKeeper({
    path: '/dev/fake0',
    clock,
    reopen: { initialDelayMs: 100, maxDelayMs: 400, factor: 2 },
    open: async (o) => {
      attempts.push(`${o.path}@${o.baudRate}`);
      if (!available) throw new Error('ENOENT');
      return fakePort();
    },
  });
  const streams: Duplex[] = [];
  keeper.on('stream', (s: Duplex) => streams.push(s));
  const failures: Error[] = [];
  keeper.on('open-failed', (e: Error) => failures.push(e));
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

  keeper.start();
  await settle();
  t.equal(streams.length, 1, 'opened at once');
  t.same(attempts, ['/dev/fake0@115200']);
  t.throws(() => keeper.start(), { name: 'TransportError', code: 'ESTATE' }, 'start() once');

  // The device hangs up and is gone for a while.
  available = false;
  streams[0]!.destroy();
  await settle();
  t.match(keeper.stats(), { open: false, closes: 1 });
  clock.advance(99);
  await settle();
  t.equal(attempts.length, 1, 'not before the first delay');
  for (const step of [1, 200, 400, 400]) {
    clock.advance(step);
    await settle();
  }
  t.equal(attempts.length, 5, 'retried after 100, 200, 400, 400 ms (capped)');
  t.equal(failures.length, 4);
  t.match(keeper.stats(), { openFailures: 4, lastError: 'ENOENT' });

  available = true;
  clock.advance(400);
  await settle();
  t.equal(streams.length, 2, 'reopened once it is back');
  t.match(keeper.stats(), { open: true, opens: 2 });
  t.equal(keeper.stream, streams[1]);

  // After a good open the delay starts over.
  streams[1]!.destroy();
  await settle();
  clock.advance(100);
  await settle();
  t.equal(streams.length, 3, 'first delay again');

  await keeper.stop();
  t.ok(streams[2]!.destroyed, 'stop() closes the open stream');
  clock.advance(10_000);
  await settle();
  t.equal(streams.length, 3, 'and nothing reopens');
});

t.test('a stream that opens after stop() is closed at once', async (t) => {
  let release!: (d: Duplex) => void;
  const keeper = new SerialDeviceKeeper({ path: '/dev/fake1', clock: new ManualClock(), open: () => new Promise((r) => (release = r)) });
  const emitted = new EventEmitter();
  keeper.on('stream', () => emitted.emit('x'));
  keeper.start();
  await keeper.stop();
  const late = fakePort();
  release(late);
  await new Promise((r) => setImmediate(r));
  t.ok(late.destroyed);
  t.equal(emitted.listenerCount('x'), 0);
  t.match(keeper.stats(), { opens: 0, open: false });
});

t.test('opening a device that is not there', async (t) => {
  const err = await openSerialDevice({ path: '/nonexistent/ttyUSB9' }).catch((e: unknown) => e);
  t.ok(isTransportError(err, 'EDEVICE'), 'EDEVICE');
  t.match((err as Error).message, /cannot open serial device \/nonexistent\/ttyUSB9/);
  await t.rejects(openSerialDevice({ path: '/dev/null', baudRate: 0 }), { code: 'ERR_BAD_CONFIG' });
});

t.test('a pty through @serialport/stream: both ways, hang-up, reopen', { skip: haveSocat() ? false : SOCAT_MISSING }, async (t) => {
  const dir = shortTempDir(t);
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  // A null-modem cable between two ptys: what goes into one comes out of the other.
  let cable = await startSocat(a, `pty,rawer,link=${b}`);
  t.teardown(() => cable.stop());

  const keeper = new SerialDeviceKeeper({ path: a, baudRate: 115200, reopen: { initialDelayMs: 20, maxDelayMs: 100 } });
  t.teardown(() => keeper.stop());
  const streams: Duplex[] = [];
  keeper.on('stream', (s: Duplex) => streams.push(s));
  keeper.start();
  await until(() => streams.length === 1, { what: 'the port open' });
  const far = await openSerialDevice({ path: b, baudRate: 115200 });
  t.teardown(() => void far.destroy());

  const all = Buffer.from(Array.from({ length: 4096 }, (_, i) => i & 0xff));
  const atA: Buffer[] = [];
  const atB: Buffer[] = [];
  streams[0]!.on('data', (d: Buffer) => atA.push(d));
  far.on('data', (d: Buffer) => atB.push(d));
  far.write(all);
  streams[0]!.write(Buffer.from(all).reverse());
  await until(() => Buffer.concat(atA).length >= all.length && Buffer.concat(atB).length >= all.length, { what: 'bytes both ways' });
  t.same(Buffer.concat(atA), all, 'in: every byte value, unchanged');
  t.same(Buffer.concat(atB), Buffer.from(all).reverse(), 'out: unchanged');

  // The far end hangs up: the port closes, and reopening fails while it is gone.
  const closed = new Promise<void>((r) => streams[0]!.once('close', () => r()));
  far.on('error', () => {});
  await cable.stop();
  await closed;
  t.equal(keeper.stream, null, 'the hung-up port is dropped');
  await until(() => keeper.stats().openFailures >= 1, { what: 'a failed reopen while the cable is gone' });

  cable = await startSocat(a, `pty,rawer,link=${b}`);
  await until(() => streams.length === 2, { what: 'the port reopened', limitMs: 10000 });
  const far2 = await openSerialDevice({ path: b, baudRate: 115200 });
  t.teardown(() => void far2.destroy());
  const again: Buffer[] = [];
  far2.on('data', (d: Buffer) => again.push(d));
  streams[1]!.write(Buffer.from('after the reopen'));
  await until(() => Buffer.concat(again).toString() === 'after the reopen', { what: 'bytes on the reopened port' });
  t.match(keeper.stats(), { open: true, opens: 2, closes: 1, baudRate: 115200 });
  t.pass('reopened at the same path');
});

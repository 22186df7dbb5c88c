/** Host console: guest bytes over the UART wire through the VUART model and its tty driver into the console service. */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import t from 'tap';
import { Vuart } from '../../../../hw-models/vuart.js';
import { UartWire } from '../../../../hw-models/wire-servers/uart-wire-server.js';
import { VuartTty } from '../../../../firmware/drivers/vuart-tty.js';
import { ConsoleService } from '../../../../firmware/services/console/console-service.js';

/** A ByteLink stand-in: what the test "guest" writes arrives as 'data'. */
class FakeLink extends EventEmitter {
  connected = true;
  sent: Buffer[] = [];
  write(data: Uint8Array): boolean {
    this.sent.push(Buffer.from(data));
    return true;
  }
  disconnect(): void {}
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 10000 && !pred(); i++) await tick();
}

t.test('a burst far larger than the 16-byte FIFO arrives intact and in order', async (t) => {
  const vuart = new Vuart();
  const link = new FakeLink();
  const wire = new UartWire(vuart, link);
  const console = new ConsoleService(new VuartTty(vuart));
  const text = Array.from({ length: 2000 }, (_, i) => `line ${i} of the boot log`).join('\n') + '\n';
  const milestone = console.waitForLine(/line 1999 of/);
  // The guest writes in chunks as a socket would deliver them.
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += 4096) link.emit('data', buf.subarray(i, i + 4096));
  t.equal(await milestone, 'line 1999 of the boot log');
  await until(() => console.totalBytes === buf.length);
  t.equal(console.log().toString(), text, 'every byte, in order');
  t.equal(wire.stats().droppedBacklog, 0);
});

t.test('input goes to the host; the log rolls; waiting can be aborted', async (t) => {
  const vuart = new Vuart();
  const link = new FakeLink();
  new UartWire(vuart, link);
  const console = new ConsoleService(new VuartTty(vuart), { logBytes: 100 });
  console.write('root\n');
  await until(() => Buffer.concat(link.sent).toString() === 'root\n');
  t.equal(Buffer.concat(link.sent).toString(), 'root\n');
  link.emit('data', Buffer.alloc(300, 0x61));
  await until(() => console.totalBytes === 300);
  t.equal(console.log().length, 100, 'rolling log keeps the last 100 bytes');
  const ac = new AbortController();
  const w = console.waitForLine(/never/, ac.signal);
  ac.abort();
  await t.rejects(w, { name: 'WaitError', code: 'ERR_WAIT_ABORTED' });
  t.equal(console.listenerCount('line'), 0, 'the aborted wait stopped listening');
});

t.test('a guest writing with nobody reading never stalls: the backlog is bounded and drops are counted', async (t) => {
  const vuart = new Vuart(); // no tty driver: nothing drains the FIFO
  vuart.writeRegister(0x20, 0x21); // GCRA: VUART enabled, host TX kept
  const link = new FakeLink();
  const wire = new UartWire(vuart, link, { backlogBytes: 1000 });
  link.emit('data', Buffer.alloc(5000, 0x41));
  const s = wire.stats();
  t.equal(s.bytesFromHost, 5000);
  t.equal(s.droppedBacklog, 4000);
  t.ok(s.backlogBytes <= 1000);
});

t.test('input waiting for the tty is bounded: beyond it, input is dropped and counted', async (t) => {
  // A tty that never finishes a write: the VUART's host side stopped draining.
  const stuck = new Duplex({ read() {}, write(_chunk, _enc, _cb) {} });
  const console = new ConsoleService(stuck, { maxInputBytes: 100 * 1024 });
  const frame = Buffer.alloc(64 * 1024, 0x61);
  t.ok(console.write(frame), 'the first frame is taken');
  t.notOk(console.write(frame), 'a second would pass the bound');
  t.ok(console.write('ls\n'), 'a short line still fits');
  t.match(console.stats(), { toHostBytes: 64 * 1024 + 3, inputBytesDropped: 64 * 1024, inputQueuedBytes: 64 * 1024 + 3 });
  console.close();
  t.notOk(console.write('x'), 'nothing goes to a closed tty');
  t.equal(console.stats().inputBytesDropped, 64 * 1024 + 1);
  t.throws(() => new ConsoleService(new Duplex({ read() {}, write() {} }), { maxInputBytes: 0 }), { code: 'ERR_BAD_CONFIG' });
});

/** /dev/ttyS<n> over the AST2500 UART model: 8250 tty semantics, carrier and hangup. */
import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import {
  FCR_ENABLE_FIFO,
  IER_MSI,
  IER_RDI,
  IER_RLSI,
  MCR_DTR,
  MCR_OUT2,
  MCR_RTS,
  UART_IER,
  UART_LCR,
  UART_MCR,
} from '../../../hw-models/uart-16550.js';
import { Uart } from '../../../hw-models/uart.js';
import { UartWire } from '../../../hw-models/wire-servers/uart-wire-server.js';
import { UartTty } from '../../../firmware/drivers/uart-tty.js';
import { SerialBinding } from '../../../firmware/mctp/serial/binding.js';
import { memoryLinkPair } from '../../transport/helpers/util.js';

/** Let stream callbacks (nextTick/microtasks) run. No time passes on the model's clock. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(options: ConstructorParameters<typeof UartTty>[1] = {}, lineUp = true) {
  const clock = new ManualClock();
  const uart = new Uart({ clock });
  uart.setLineConnected(lineUp);
  const toHost: Buffer[] = [];
  uart.on('host-rx', (b) => toHost.push(b));
  const tty = new UartTty(uart, options);
  return { clock, uart, tty, toHost };
}

function pattern(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));
}

t.test('open programs the UART like the 8250 startup and raises DTR/RTS', async (t) => {
  const { uart, tty } = setup();
  t.equal(uart.readRegister(UART_IER), IER_RDI | IER_RLSI | IER_MSI, 'receive, line and modem status interrupts');
  t.equal(uart.readRegister(UART_LCR), 0x03, '8N1');
  t.equal(uart.snapshot().regs.fcr & FCR_ENABLE_FIFO, FCR_ENABLE_FIFO);
  t.equal(uart.readRegister(UART_MCR), MCR_DTR | MCR_RTS | MCR_OUT2);
  t.equal(tty.isOpen, true, 'carrier already up: open at once');
  tty.destroy();
  await settle();
  t.equal(uart.readRegister(UART_IER), 0, 'interrupts off on close');
  t.equal(uart.readRegister(UART_MCR), 0, 'DTR/RTS dropped on close (HUPCL)');
  t.equal(uart.listenerCount('irq'), 0);
});

t.test('without carrier the open waits; DCD rising completes it with one open event', async (t) => {
  const { uart, tty } = setup({}, false);
  let opens = 0;
  tty.on('open', () => opens++);
  t.equal(tty.isOpen, false, 'still opening');
  uart.setLineConnected(true);
  t.equal(tty.isOpen, true);
  t.equal(opens, 1);
  t.equal(uart.irqLevel, false, 'the modem-status interrupt was serviced');
  tty.destroy();
});

t.test('carrier lost: the tty hangs up (closed), and only once', async (t) => {
  const { uart, tty } = setup();
  let closed = false;
  tty.on('close', () => (closed = true));
  uart.setLineConnected(false);
  t.equal(tty.destroyed, true, 'hung up');
  t.equal(tty.isOpen, false);
  await settle();
  t.equal(closed, true, "'close' for whoever holds it");
  t.equal(tty.stats.hangups, 1);
  uart.setLineConnected(true);
  uart.setLineConnected(false);
  t.equal(tty.stats.hangups, 1, 'a closed tty sees nothing more');
  t.equal(uart.listenerCount('irq'), 0);
});

t.test('clocal: open at once, the modem lines ignored', async (t) => {
  const { uart, tty } = setup({ clocal: true }, false);
  t.equal(tty.isOpen, true);
  t.equal(uart.readRegister(UART_IER), IER_RDI | IER_RLSI, 'no modem-status interrupt');
  uart.setLineConnected(true);
  uart.setLineConnected(false);
  t.equal(tty.destroyed, false, 'no hangup');
  tty.destroy();
});

t.test('host → tty through the wire: a long burst arrives whole and in order, nothing dropped', async (t) => {
  const clock = new ManualClock();
  const uart = new Uart({ clock });
  const { a: bmcEnd, b: hostEnd, connect } = memoryLinkPair();
  const wire = new UartWire(uart, bmcEnd);
  const tty = new UartTty(uart);
  t.equal(tty.isOpen, false, 'no peer yet');
  let opened = false;
  tty.on('open', () => (opened = true));
  connect();
  t.equal(opened, true, 'a peer on the wire is carrier');
  const chunks: Buffer[] = [];
  tty.on('data', (c: Buffer) => chunks.push(c));
  const data = pattern(100_000);
  for (let i = 0; i < data.length; i += 4096) hostEnd.write(data.subarray(i, i + 4096));
  await settle();
  t.same(Buffer.concat(chunks), data);
  t.equal(uart.counters.hostDroppedFull, 0, 'no overruns');
  t.equal(wire.stats().droppedBacklog, 0);
  t.equal(tty.stats.rxBytes, data.length);
  // And back: the host sees exactly what the tty wrote.
  tty.write(pattern(50));
  for (let i = 0; i < 5; i++) {
    clock.advance(0);
    await settle();
  }
  t.same(Buffer.concat(bmcEnd.sent), pattern(50), 'the host got what the tty wrote');
  hostEnd.disconnect();
  t.equal(tty.destroyed, true, 'the peer leaving hangs the tty up');
  wire.detach();
});

t.test('tty → host: writes drain a FIFO-load at a time, callbacks as bytes enter the FIFO', async (t) => {
  const { clock, uart, tty, toHost } = setup();
  const data = pattern(40);
  let written = false;
  tty.write(data, () => (written = true));
  await settle();
  t.equal(written, false, 'only 16 bytes fit before the first drain');
  t.equal(uart.snapshot().txFifo, 16);
  clock.advance(0);
  await settle();
  clock.advance(0);
  await settle();
  t.equal(written, true, 'callback once the last byte is in the FIFO');
  clock.advance(0);
  t.same(
    toHost.map((b) => b.length),
    [16, 16, 8],
  );
  t.same(Buffer.concat(toHost), data);
  tty.destroy();
});

t.test('a slow reader throttles; a wire that honours the room loses nothing', async (t) => {
  const clock = new ManualClock();
  const uart = new Uart({ clock });
  const { a: bmcEnd, b: hostEnd, connect } = memoryLinkPair();
  const wire = new UartWire(uart, bmcEnd);
  connect();
  const tty = new UartTty(uart, { readableHighWaterMark: 8 });
  const data = pattern(2000);
  hostEnd.write(data);
  t.ok(tty.stats.throttles >= 1, 'the driver throttled');
  t.ok(wire.stats().backlogBytes > 0, 'the rest waits at the wire');
  const got: Buffer[] = [];
  for (let i = 0; i < 2000 && Buffer.concat(got).length < data.length; i++) {
    const chunk = tty.read(5) ?? tty.read();
    if (chunk) got.push(chunk);
    await settle();
  }
  t.same(Buffer.concat(got), data, 'every byte, in order');
  t.equal(uart.counters.hostDroppedFull, 0, 'no overruns');
  tty.destroy();
  wire.detach();
});

t.test('overruns are reported through the line-status interrupt', async (t) => {
  const { uart, tty } = setup({ readableHighWaterMark: 4 });
  uart.hostTransmit(pattern(100)); // a line that ignores the room
  t.ok(uart.counters.hostDroppedFull > 0);
  tty.read();
  await settle();
  t.equal(tty.stats.overruns, 1);
  tty.destroy();
});

t.test('close: pending writes fail', async (t) => {
  const { uart, tty } = setup();
  uart.setHostReady(false);
  const errors: unknown[] = [];
  tty.on('error', (e) => errors.push(e));
  tty.write(pattern(64), (e) => errors.push(e));
  await settle();
  tty.destroy();
  await settle();
  t.ok(errors.length >= 1, 'the pending write was failed');
  t.match(errors[0], { code: 'EBADF' });
});

t.test('the MCTP serial binding on the tty: carrier follows the line', async (t) => {
  const { uart, tty } = setup({}, false);
  const binding = new SerialBinding({ stream: tty });
  t.equal(binding.carrier, false, 'the tty is still opening');
  uart.setLineConnected(true);
  t.equal(binding.carrier, true, "'open' raised it");
  uart.setLineConnected(false);
  await settle();
  t.equal(binding.carrier, false, 'the hangup dropped it');
  await binding.close();
});

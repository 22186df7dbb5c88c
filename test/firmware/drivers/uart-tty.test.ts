/** UartTty's own part: the modem lines (open on carrier, hangup on its loss, CLOCAL), over the wire and under the serial binding. The 8250 part is serial8250-tty.test.ts, run on UartTty too. */
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
import { pattern, readSlowly, settle } from './tty-helpers.js';

function setup(options: ConstructorParameters<typeof UartTty>[1] = {}, lineUp = true) {
  const clock = new ManualClock();
  const uart = new Uart({ clock });
  uart.setLineConnected(lineUp);
  const toHost: Buffer[] = [];
  uart.on('host-rx', (b) => toHost.push(b));
  const tty = new UartTty(uart, options);
  return { clock, uart, tty, toHost };
}

/** The UART behind its wire server, as the SoC has it; `hostEnd` is the host's end of the link. */
function wired() {
  const clock = new ManualClock();
  const uart = new Uart({ clock });
  const { a: bmcEnd, b: hostEnd, connect } = memoryLinkPair();
  const wire = new UartWire(uart, bmcEnd);
  return { clock, uart, bmcEnd, hostEnd, connect, wire };
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
  const { clock, uart, bmcEnd, hostEnd, connect, wire } = wired();
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

t.test('a slow reader throttles; a wire that honours the room loses nothing', async (t) => {
  const { uart, hostEnd, connect, wire } = wired();
  connect();
  const tty = new UartTty(uart, { readableHighWaterMark: 8 });
  const data = pattern(2000);
  hostEnd.write(data);
  t.ok(tty.stats.throttles >= 1, 'the driver throttled');
  t.ok(wire.stats().backlogBytes > 0, 'the rest waits at the wire');
  t.same(await readSlowly(tty, data.length), data, 'every byte, in order');
  t.equal(uart.counters.hostDroppedFull, 0, 'no overruns');
  tty.destroy();
  wire.detach();
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

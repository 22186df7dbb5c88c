/**
 * The 8250 tty half both drivers share, run against each: VuartTty on the
 * VUART and UartTty on the UART with its line connected. What only one of
 * them does is in vuart-tty.test.ts and uart-tty.test.ts.
 */
import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import { IER_THRI, UART_IER, type Uart16550 } from '../../../hw-models/uart-16550.js';
import { Uart } from '../../../hw-models/uart.js';
import { Vuart } from '../../../hw-models/vuart.js';
import type { Serial8250Tty, Serial8250TtyOptions } from '../../../firmware/drivers/serial8250-tty.js';
import { UartTty } from '../../../firmware/drivers/uart-tty.js';
import { VuartTty } from '../../../firmware/drivers/vuart-tty.js';
import { pattern, readSlowly, settle } from './tty-helpers.js';

interface Driver {
  name: string;
  open(clock: ManualClock, options: Serial8250TtyOptions): { port: Uart16550; tty: Serial8250Tty };
}

const DRIVERS: Driver[] = [
  {
    name: 'VuartTty',
    open: (clock, options) => {
      const port = new Vuart({ clock });
      return { port, tty: new VuartTty(port, options) };
    },
  },
  {
    name: 'UartTty',
    open: (clock, options) => {
      const port = new Uart({ clock });
      port.setLineConnected(true);
      return { port, tty: new UartTty(port, options) };
    },
  },
];

for (const driver of DRIVERS) {
  const setup = (options: Serial8250TtyOptions = {}) => {
    const clock = new ManualClock();
    const { port, tty } = driver.open(clock, options);
    const toHost: Buffer[] = [];
    port.on('host-rx', (b) => toHost.push(b));
    return { clock, port, tty, toHost };
  };

  t.test(`${driver.name}: host → tty: a long burst arrives whole and in order`, async (t) => {
    const { port, tty } = setup();
    const chunks: Buffer[] = [];
    tty.on('data', (c: Buffer) => chunks.push(c));
    const data = pattern(1000);
    t.equal(port.hostTransmit(data), 1000, 'the interrupt handler keeps the FIFO from filling');
    await settle();
    t.same(Buffer.concat(chunks), data);
    t.equal(port.counters.hostDroppedFull, 0);
    t.equal(tty.stats.rxBytes, 1000);
    tty.destroy();
  });

  t.test(`${driver.name}: tty → host: writes drain a FIFO-load at a time, callbacks as bytes enter the FIFO`, async (t) => {
    const { clock, port, tty, toHost } = setup();
    const data = pattern(40);
    let written = false;
    tty.write(data, () => {
      written = true;
    });
    await settle();
    t.equal(written, false, 'only 16 bytes fit before the first drain');
    t.equal(port.snapshot().txFifo, 16);
    clock.advance(0);
    await settle();
    clock.advance(0);
    await settle();
    t.equal(written, true, 'callback once the last byte is in the FIFO');
    clock.advance(0);
    t.same(Buffer.concat(toHost), data);
    t.same(
      toHost.map((b) => b.length),
      [16, 16, 8],
    );
    t.equal(port.readRegister(UART_IER) & IER_THRI, 0, 'THRE interrupt off when idle');
    t.equal(tty.stats.txBytes, 40);
    tty.destroy();
  });

  t.test(`${driver.name}: a far end that cannot take output pushes back on writers`, async (t) => {
    const { clock, port, tty, toHost } = setup({ writableHighWaterMark: 32 });
    port.setHostReady(false);
    const ok = tty.write(pattern(64));
    t.equal(ok, false, 'write() reports backpressure');
    clock.advance(100);
    await settle();
    t.same(toHost, [], 'nothing went out');
    let drained = false;
    tty.once('drain', () => {
      drained = true;
    });
    port.setHostReady(true);
    for (let i = 0; i < 5; i++) {
      clock.advance(0);
      await settle();
    }
    t.ok(drained, "'drain' once the far end takes bytes");
    t.same(Buffer.concat(toHost), pattern(64));
    tty.destroy();
  });

  t.test(`${driver.name}: a slow reader throttles; a far end that honours the room loses nothing`, async (t) => {
    const { port, tty } = setup({ readableHighWaterMark: 8 });
    // A host-side wire: send what fits, wait for 'host-tx-ready' when full.
    const data = pattern(200);
    let sent = 0;
    const pump = (): void => {
      while (sent < data.length) {
        const room = port.hostTransmitRoom();
        if (room === 0) return;
        sent += port.hostTransmit(data.subarray(sent, sent + Math.min(room, data.length - sent)));
      }
    };
    port.on('host-tx-ready', pump);
    pump();
    t.ok(sent < data.length, 'the far end is held back while nobody reads');
    t.ok(tty.stats.throttles >= 1, 'the driver throttled');
    t.equal(port.hostTransmitRoom(), 0);
    t.same(await readSlowly(tty, data.length), data, 'every byte, in order');
    t.equal(port.counters.hostDroppedFull, 0, 'nothing dropped');
    tty.destroy();
  });

  t.test(`${driver.name}: overruns are reported through the line-status interrupt`, async (t) => {
    const { port, tty } = setup({ readableHighWaterMark: 4 });
    port.hostTransmit(pattern(100)); // a far end that ignores the room
    t.ok(port.counters.hostDroppedFull > 0);
    tty.read();
    await settle();
    t.equal(tty.stats.overruns, 1);
    tty.destroy();
  });

  t.test(`${driver.name}: close: interrupts off, pending writes fail, bytes in the FIFO still go out`, async (t) => {
    const { port, tty } = setup();
    port.setHostReady(false);
    const errors: unknown[] = [];
    tty.on('error', (e) => errors.push(e));
    tty.write(pattern(64), (e) => errors.push(e));
    await settle();
    tty.destroy();
    await settle();
    t.equal(port.readRegister(UART_IER), 0);
    t.equal(port.listenerCount('irq'), 0);
    t.ok(errors.length >= 1, 'the pending write was failed');
    t.match(errors[0], { code: 'EBADF' });
    t.equal(port.snapshot().txFifo, 16, 'bytes already in the FIFO still go out when the far end is ready');
  });
}

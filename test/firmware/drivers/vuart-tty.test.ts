import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import {
  FCR_ENABLE_FIFO,
  IER_RDI,
  IER_RLSI,
  UART_FCR,
  UART_IER,
  UART_LCR,
} from '../../../hw-models/uart-16550.js';
import {
  Vuart,
} from '../../../hw-models/vuart.js';
import { VuartTty, aspeedVuartProbe } from '../../../firmware/drivers/vuart-tty.js';

/** Let stream callbacks (nextTick/microtasks) run. No time passes on the model's clock. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(options: ConstructorParameters<typeof VuartTty>[1] = {}) {
  const clock = new ManualClock();
  const vuart = new Vuart({ clock });
  const toHost: Buffer[] = [];
  vuart.on('host-rx', (b) => toHost.push(b));
  const tty = new VuartTty(vuart, options);
  return { clock, vuart, tty, toHost };
}

function pattern(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));
}

t.test('probe and open program the VUART like the Linux driver', async (t) => {
  const vuart = new Vuart();
  aspeedVuartProbe(vuart);
  t.match(vuart.snapshot(), { enabled: true, hostTxDiscard: true, lpcAddress: 0x3f8, sirq: 4, sirqActiveHigh: false });
  t.throws(() => aspeedVuartProbe(vuart, { sirq: 16 }), { code: 'EINVAL' });
  t.throws(() => aspeedVuartProbe(vuart, { lpcAddress: 0x10000 }), { code: 'EINVAL' });
  t.throws(() => aspeedVuartProbe(vuart, { sirqPolarity: 'up' as never }), { code: 'EINVAL' });

  const { vuart: v2, tty } = setup({ lpcAddress: 0x2f8, sirq: 3, sirqPolarity: 'high' });
  t.match(v2.snapshot(), { enabled: true, hostTxDiscard: false, lpcAddress: 0x2f8, sirq: 3, sirqActiveHigh: true });
  t.equal(v2.readRegister(UART_IER), IER_RDI | IER_RLSI);
  t.equal(v2.readRegister(UART_LCR), 0x03, '8N1');
  t.equal(v2.snapshot().regs.fcr & FCR_ENABLE_FIFO, FCR_ENABLE_FIFO);
  tty.destroy();
});

t.test('host → tty: a long burst arrives whole and in order', async (t) => {
  const { vuart, tty } = setup();
  const chunks: Buffer[] = [];
  tty.on('data', (c: Buffer) => chunks.push(c));
  const data = pattern(1000);
  t.equal(vuart.hostTransmit(data), 1000, 'the interrupt handler keeps the FIFO from filling');
  await settle();
  t.same(Buffer.concat(chunks), data);
  t.equal(vuart.counters.hostDroppedFull, 0);
  t.equal(tty.stats.rxBytes, 1000);
  tty.destroy();
});

t.test('tty → host: writes drain a FIFO-load at a time, callbacks as bytes enter the FIFO', async (t) => {
  const { clock, vuart, tty, toHost } = setup();
  const data = pattern(40);
  let written = false;
  tty.write(data, () => {
    written = true;
  });
  await settle();
  t.equal(written, false, 'only 16 bytes fit before the first drain');
  t.equal(vuart.snapshot().txFifo, 16);
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
  t.equal(vuart.readRegister(UART_IER) & 0x02, 0, 'THRE interrupt off when idle');
  t.equal(tty.stats.txBytes, 40);
  tty.destroy();
});

t.test('a host that cannot take output pushes back on writers', async (t) => {
  const { clock, vuart, tty, toHost } = setup({ writableHighWaterMark: 32 });
  vuart.setHostReady(false);
  const ok = tty.write(pattern(64));
  t.equal(ok, false, 'write() reports backpressure');
  clock.advance(100);
  await settle();
  t.same(toHost, [], 'nothing went out');
  let drained = false;
  tty.once('drain', () => {
    drained = true;
  });
  vuart.setHostReady(true);
  for (let i = 0; i < 5; i++) {
    clock.advance(0);
    await settle();
  }
  t.ok(drained, "'drain' once the host takes bytes");
  t.same(Buffer.concat(toHost), pattern(64));
  tty.destroy();
});

t.test('a slow reader throttles; a wire that honours the room loses nothing', async (t) => {
  const { vuart, tty } = setup({ readableHighWaterMark: 8 });
  // A host-side wire: send what fits, wait for 'host-tx-ready' when full.
  const data = pattern(200);
  let sent = 0;
  const pump = (): void => {
    while (sent < data.length) {
      const room = vuart.hostTransmitRoom();
      if (room === 0) return;
      sent += vuart.hostTransmit(data.subarray(sent, sent + Math.min(room, data.length - sent)));
    }
  };
  vuart.on('host-tx-ready', pump);
  pump();
  t.ok(sent < data.length, 'the host is held back while nobody reads');
  t.ok(tty.stats.throttles >= 1, 'the driver throttled');
  t.equal(vuart.hostTransmitRoom(), 0);
  // Now read slowly, a few bytes at a time.
  const got: Buffer[] = [];
  for (let i = 0; i < 400 && Buffer.concat(got).length < data.length; i++) {
    const chunk = tty.read(5) ?? tty.read();
    if (chunk) got.push(chunk);
    await settle();
  }
  t.same(Buffer.concat(got), data, 'every byte, in order');
  t.equal(vuart.counters.hostDroppedFull, 0, 'nothing dropped');
  tty.destroy();
});

t.test('overruns are reported through the line-status interrupt', async (t) => {
  const { vuart, tty } = setup({ readableHighWaterMark: 4 });
  vuart.hostTransmit(pattern(100)); // a host that ignores the room
  t.ok(vuart.counters.hostDroppedFull > 0);
  tty.read();
  await settle();
  t.equal(tty.stats.overruns, 1);
  tty.destroy();
});

t.test('close: host TX discarded again, interrupts off, pending writes fail', async (t) => {
  const { vuart, tty } = setup();
  vuart.setHostReady(false);
  const errors: unknown[] = [];
  tty.on('error', (e) => errors.push(e));
  tty.write(pattern(64), (e) => errors.push(e));
  await settle();
  tty.destroy();
  await settle();
  t.equal(vuart.hostTxDiscard, true);
  t.equal(vuart.readRegister(UART_IER), 0);
  t.equal(vuart.listenerCount('irq'), 0);
  t.equal(vuart.hostTransmit(Buffer.from('late')), 0, 'host bytes discarded, host not stalled');
  t.equal(vuart.counters.hostDroppedDiscard, 4);
  t.ok(errors.length >= 1, 'the pending write was failed');
  t.equal(vuart.snapshot().txFifo, 16, 'bytes already in the FIFO still go out when the host is ready');
});

t.test('open clears stale FIFO bytes, then delivers new ones', async (t) => {
  const clock = new ManualClock();
  const vuart = new Vuart({ clock });
  aspeedVuartProbe(vuart);
  // Keep host TX (as if an earlier open left it so) and queue bytes.
  vuart.writeRegister(UART_FCR, FCR_ENABLE_FIFO);
  vuart.writeRegister(0x20, vuart.readRegister(0x20) | 0x20);
  vuart.hostTransmit(Buffer.from('boot'));
  const tty = new VuartTty(vuart, { probe: false });
  // Opening clears the FIFOs, as the 8250 startup does: stale bytes are not delivered.
  const chunks: Buffer[] = [];
  tty.on('data', (c: Buffer) => chunks.push(c));
  vuart.hostTransmit(Buffer.from('new'));
  await settle();
  t.equal(Buffer.concat(chunks).toString(), 'new');
  tty.destroy();
});

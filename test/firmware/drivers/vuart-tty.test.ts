/** The ASPEED VUART's part of its tty: probe, discard on close, FIFOs cleared on open. The 8250 part is serial8250-tty.test.ts, run on VuartTty too. */
import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import { FCR_ENABLE_FIFO, IER_RDI, IER_RLSI, UART_FCR, UART_IER, UART_LCR } from '../../../hw-models/uart-16550.js';
import { Vuart } from '../../../hw-models/vuart.js';
import { VuartTty, aspeedVuartProbe } from '../../../firmware/drivers/vuart-tty.js';
import { settle } from './tty-helpers.js';

function setup(options: ConstructorParameters<typeof VuartTty>[1] = {}) {
  const clock = new ManualClock();
  const vuart = new Vuart({ clock });
  const tty = new VuartTty(vuart, options);
  return { clock, vuart, tty };
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

t.test('close: host TX discarded again, so the host never stalls', async (t) => {
  const { vuart, tty } = setup();
  tty.destroy();
  await settle();
  t.equal(vuart.hostTxDiscard, true);
  t.equal(vuart.hostTransmit(Buffer.from('late')), 0, 'host bytes discarded, host not stalled');
  t.equal(vuart.counters.hostDroppedDiscard, 4);
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

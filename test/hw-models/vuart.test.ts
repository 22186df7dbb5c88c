/** The VUART's own part: general control, host-side gating, fixed modem inputs. The 16550 part is uart-16550.test.ts, run on the VUART too. */
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import {
  FCR_ENABLE_FIFO,
  LSR_DR,
  LSR_TEMT,
  LSR_THRE,
  MSR_CTS,
  MSR_DCD,
  MSR_DSR,
  UART_FCR,
  UART_IER,
  UART_IIR,
  UART_LCR,
  UART_LSR,
  UART_MCR,
  UART_MSR,
  UART_SCR,
  UART_THR,
} from '../../hw-models/uart-16550.js';
import {
  GCRA_DISABLE_HOST_TX_DISCARD,
  GCRA_HOST_SIRQ_POLARITY,
  GCRA_VUART_EN,
  Vuart,
  VUART_ADDRH,
  VUART_ADDRL,
  VUART_GCRA,
  VUART_GCRB,
} from '../../hw-models/vuart.js';

const KEEP_HOST_TX = GCRA_VUART_EN | GCRA_DISABLE_HOST_TX_DISCARD;

/** A VUART as the BMC driver leaves it after open(), with a manual clock for the TX drain. */
function opened(): { vuart: Vuart; clock: ManualClock; toHost: Buffer[] } {
  const clock = new ManualClock();
  const vuart = new Vuart({ clock });
  const toHost: Buffer[] = [];
  vuart.on('host-rx', (b) => toHost.push(b));
  vuart.writeRegister(VUART_GCRA, KEEP_HOST_TX);
  vuart.writeRegister(UART_FCR, FCR_ENABLE_FIFO);
  return { vuart, clock, toHost };
}

t.test('reset values', async (t) => {
  const vuart = new Vuart();
  const regs: [string, number, number][] = [
    ['IER', UART_IER, 0x00],
    ['IIR', UART_IIR, 0x01],
    ['LCR', UART_LCR, 0x00],
    ['MCR', UART_MCR, 0x00],
    ['LSR', UART_LSR, LSR_THRE | LSR_TEMT],
    ['MSR', UART_MSR, MSR_DCD | MSR_DSR | MSR_CTS],
    ['SCR', UART_SCR, 0x00],
    ['GCRA', VUART_GCRA, 0x00],
    ['GCRB', VUART_GCRB, 0x00],
    ['ADDRL', VUART_ADDRL, 0x00],
    ['ADDRH', VUART_ADDRH, 0x00],
  ];
  for (const [name, offset, value] of regs) t.equal(vuart.readRegister(offset), value, name);
  t.equal(vuart.enabled, false);
  t.equal(vuart.hostTxDiscard, true, 'discard active until the BMC side opens');
  t.same([VUART_GCRA, VUART_GCRB, VUART_ADDRL, VUART_ADDRH], [0x20, 0x24, 0x28, 0x2c]);
  t.same([UART_IIR, UART_LSR, UART_SCR], [0x08, 0x14, 0x1c], 'registers 4 bytes apart');
});

t.test('host bytes: dropped and counted when disabled or discarding, never thrown', async (t) => {
  const vuart = new Vuart();
  t.equal(vuart.hostTransmit(Buffer.from('abc')), 0, 'disabled');
  t.equal(vuart.counters.hostDroppedDisabled, 3);
  vuart.writeRegister(VUART_GCRA, GCRA_VUART_EN);
  t.equal(vuart.hostTransmitRoom(), Infinity, 'no reason for the host to wait');
  t.equal(vuart.hostTransmit(Buffer.from('de')), 0, 'discard active');
  t.equal(vuart.counters.hostDroppedDiscard, 2);
  t.equal(vuart.readRegister(UART_LSR) & LSR_DR, 0, 'nothing reached RBR');
  vuart.writeRegister(VUART_GCRA, KEEP_HOST_TX);
  t.equal(vuart.hostTransmit(Buffer.from('f')), 1, 'kept once discard is off');
  t.equal(vuart.hostTransmit(Buffer.alloc(0)), 0, 'empty write');
});

t.test('output while disabled is dropped and counted', async (t) => {
  const { vuart, clock, toHost } = opened();
  vuart.writeRegister(VUART_GCRA, 0);
  vuart.writeRegister(UART_THR, 0x31);
  clock.advance(0);
  t.same(toHost, []);
  t.equal(vuart.counters.txDroppedDisabled, 1);
});

t.test('general control registers and snapshot', async (t) => {
  const vuart = new Vuart();
  let changes = 0;
  vuart.on('change', () => changes++);
  vuart.writeRegister(VUART_ADDRH, 0x03);
  vuart.writeRegister(VUART_ADDRL, 0xf8);
  vuart.writeRegister(VUART_GCRB, 4 << 4);
  vuart.writeRegister(VUART_GCRA, GCRA_VUART_EN | GCRA_HOST_SIRQ_POLARITY);
  vuart.writeRegister(UART_SCR, 0x5a);
  t.equal(vuart.readRegister(UART_SCR), 0x5a);
  vuart.writeRegister(UART_LSR, 0);
  vuart.writeRegister(UART_MSR, 0);
  t.equal(vuart.counters.ignoredWrites, 2, 'read-only registers ignore writes');
  t.equal(changes, 4);
  const snap = vuart.snapshot();
  t.match(snap, { enabled: true, hostTxDiscard: true, lpcAddress: 0x3f8, sirq: 4, sirqActiveHigh: true });
  t.same(JSON.parse(JSON.stringify(snap)), snap, 'plain JSON');
  vuart.reset();
  t.match(vuart.snapshot(), { enabled: false, lpcAddress: 0, counters: { resets: 1, ignoredWrites: 2 } });
});

t.test("'host-tx-ready' when discard goes on with the RX FIFO full: the host need not wait any more", async (t) => {
  const { vuart } = opened();
  let ready = 0;
  vuart.on('host-tx-ready', () => ready++);
  vuart.hostTransmit(Buffer.alloc(16));
  t.equal(vuart.hostTransmitRoom(), 0);
  vuart.writeRegister(VUART_GCRA, GCRA_VUART_EN); // discard on: room unlimited
  t.equal(ready, 1);
  t.equal(vuart.hostTransmitRoom(), Infinity);
});

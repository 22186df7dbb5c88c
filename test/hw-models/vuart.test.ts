import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import {
  FCR_CLEAR_RCVR,
  FCR_CLEAR_XMIT,
  FCR_ENABLE_FIFO,
  IER_RDI,
  IER_RLSI,
  IER_THRI,
  LCR_DLAB,
  LSR_DR,
  LSR_OE,
  LSR_TEMT,
  LSR_THRE,
  MCR_DTR,
  MCR_LOOP,
  MCR_OUT2,
  MSR_CTS,
  MSR_DCD,
  MSR_DSR,
  UART_DLL,
  UART_DLM,
  UART_FCR,
  UART_IER,
  UART_IIR,
  UART_LCR,
  UART_LSR,
  UART_MCR,
  UART_MSR,
  UART_RBR,
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
function opened(fcr = FCR_ENABLE_FIFO, ier = 0): { vuart: Vuart; clock: ManualClock; toHost: Buffer[]; irqs: boolean[] } {
  const clock = new ManualClock();
  const vuart = new Vuart({ clock });
  const toHost: Buffer[] = [];
  const irqs: boolean[] = [];
  vuart.on('host-rx', (b) => toHost.push(b));
  vuart.on('irq', (level) => irqs.push(level));
  vuart.writeRegister(VUART_GCRA, KEEP_HOST_TX);
  vuart.writeRegister(UART_FCR, fcr);
  vuart.writeRegister(UART_IER, ier);
  return { vuart, clock, toHost, irqs };
}

function readRx(vuart: Vuart): number[] {
  const out: number[] = [];
  while (vuart.readRegister(UART_LSR) & LSR_DR) out.push(vuart.readRegister(UART_RBR));
  return out;
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

t.test('DLL/DLM behind LCR.DLAB', async (t) => {
  const { vuart, clock, toHost } = opened(FCR_ENABLE_FIFO, IER_RDI);
  vuart.writeRegister(UART_LCR, LCR_DLAB | 0x03);
  vuart.writeRegister(UART_DLL, 0x01);
  vuart.writeRegister(UART_DLM, 0x02);
  t.equal(vuart.readRegister(UART_DLL), 0x01);
  t.equal(vuart.readRegister(UART_DLM), 0x02);
  vuart.writeRegister(UART_LCR, 0x03);
  t.equal(vuart.readRegister(UART_IER), IER_RDI, 'IER untouched by the DLM write');
  clock.advance(0);
  t.same(toHost, [], 'the DLL write sent nothing');
  t.match(vuart.snapshot().regs, { dll: 1, dlm: 2, lcr: 3 });
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

t.test('RX FIFO full: the rest dropped and counted, OE reported once', async (t) => {
  const { vuart } = opened();
  const bytes = Buffer.from(Array.from({ length: 20 }, (_, i) => i));
  t.equal(vuart.hostTransmitRoom(), 16);
  t.equal(vuart.hostTransmit(bytes), 16);
  t.equal(vuart.hostTransmitRoom(), 0);
  t.equal(vuart.counters.hostDroppedFull, 4);
  t.equal(vuart.hostTransmit(Buffer.from([99])), 0, 'still full');
  t.equal(vuart.counters.hostDroppedFull, 5);
  const lsr = vuart.readRegister(UART_LSR);
  t.equal(lsr & (LSR_DR | LSR_OE), LSR_DR | LSR_OE, 'DR and OE');
  t.equal(vuart.readRegister(UART_LSR) & LSR_OE, 0, 'OE clears on read');
  t.same(readRx(vuart), [...bytes.subarray(0, 16)], 'the first 16 bytes, in order');
});

t.test('16450 mode (FIFOs off) holds one byte', async (t) => {
  const { vuart } = opened(0);
  t.equal(vuart.hostTransmit(Buffer.from([1, 2, 3])), 1);
  t.equal(vuart.readRegister(UART_IIR), 0x01, 'no FIFO bits in IIR');
  t.same(readRx(vuart), [1]);
});

t.test('IIR priorities and acknowledgement (table)', async (t) => {
  interface Row {
    name: string;
    fcr: number;
    ier: number;
    act: (v: Vuart) => void;
    iir: number[];
  }
  const rows: Row[] = [
    { name: 'no source enabled', fcr: 1, ier: 0, act: (v) => v.hostTransmit(Buffer.from([1])), iir: [0xc1] },
    { name: 'RX data, trigger 1', fcr: 1, ier: IER_RDI, act: (v) => v.hostTransmit(Buffer.from([1])), iir: [0xc4, 0xc4] },
    {
      name: 'RX below trigger 4 reports the character timeout',
      fcr: 0x41,
      ier: IER_RDI,
      act: (v) => v.hostTransmit(Buffer.from([1, 2])),
      iir: [0xcc],
    },
    { name: 'RX at trigger 4', fcr: 0x41, ier: IER_RDI, act: (v) => v.hostTransmit(Buffer.from([1, 2, 3, 4])), iir: [0xc4] },
    { name: 'RX at trigger 14', fcr: 0xc1, ier: IER_RDI, act: (v) => v.hostTransmit(Buffer.alloc(14)), iir: [0xc4] },
    {
      name: 'THRE on enabling THRI with THR empty, acknowledged by reading IIR',
      fcr: 1,
      ier: 0,
      act: (v) => v.writeRegister(UART_IER, IER_THRI),
      iir: [0xc2, 0xc1],
    },
    {
      name: 'line status beats RX data; LSR read acknowledges it',
      fcr: 1,
      ier: IER_RDI | IER_RLSI,
      act: (v) => {
        v.hostTransmit(Buffer.alloc(17));
        t.equal(v.readRegister(UART_IIR), 0xc6, 'RLS first');
        v.readRegister(UART_LSR);
      },
      iir: [0xc4],
    },
    {
      name: 'RX data beats THRE; THRE shows once RX is drained',
      fcr: 1,
      ier: IER_RDI | IER_THRI,
      act: (v) => {
        v.hostTransmit(Buffer.from([7]));
        t.equal(v.readRegister(UART_IIR), 0xc4, 'RX first');
        v.readRegister(UART_RBR);
      },
      iir: [0xc2, 0xc1],
    },
    {
      name: 'THR write acknowledges THRE',
      fcr: 1,
      ier: IER_THRI,
      act: (v) => v.writeRegister(UART_THR, 0x41),
      iir: [0xc1],
    },
  ];
  for (const row of rows) {
    const { vuart } = opened(row.fcr, row.ier);
    row.act(vuart);
    const seen = row.iir.map(() => vuart.readRegister(UART_IIR));
    t.same(seen, row.iir, row.name);
  }
});

t.test('irq line follows the pending sources', async (t) => {
  const { vuart, clock, irqs } = opened(FCR_ENABLE_FIFO, IER_RDI | IER_THRI);
  t.same(irqs, [true], 'THRE raised on enable');
  vuart.readRegister(UART_IIR);
  t.same(irqs, [true, false]);
  vuart.writeRegister(UART_THR, 0x41);
  clock.advance(0);
  t.same(irqs, [true, false, true], 'THRE again once the FIFO drained');
  vuart.writeRegister(UART_THR, 0x42); // acknowledges THRE
  t.same(irqs, [true, false, true, false]);
  vuart.hostTransmit(Buffer.from([1]));
  t.same(irqs, [true, false, true, false, true], 'RX raises it');
  t.equal(vuart.irqLevel, true);
});

t.test('TX: BMC bytes reach the host when the FIFO drains', async (t) => {
  const { vuart, clock, toHost } = opened();
  for (const c of Buffer.from('hi')) vuart.writeRegister(UART_THR, c);
  t.equal(vuart.readRegister(UART_LSR) & (LSR_THRE | LSR_TEMT), 0, 'THRE/TEMT low while bytes wait');
  t.same(toHost, []);
  clock.advance(0);
  t.equal(Buffer.concat(toHost).toString(), 'hi');
  t.equal(vuart.readRegister(UART_LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
  t.equal(vuart.counters.bytesToHost, 2);
});

t.test('TX FIFO overrun: the 17th byte is lost and counted', async (t) => {
  const { vuart, clock, toHost } = opened();
  for (let i = 0; i < 17; i++) vuart.writeRegister(UART_THR, i);
  clock.advance(0);
  t.equal(Buffer.concat(toHost).length, 16);
  t.equal(vuart.counters.txOverruns, 1);
});

t.test('host flow control holds bytes in the TX FIFO', async (t) => {
  const { vuart, clock, toHost } = opened();
  vuart.setHostReady(false);
  vuart.writeRegister(UART_THR, 0x31);
  clock.advance(10);
  t.same(toHost, [], 'held');
  t.equal(vuart.readRegister(UART_LSR) & LSR_THRE, 0);
  vuart.setHostReady(true);
  clock.advance(0);
  t.equal(Buffer.concat(toHost).toString(), '1');
  t.equal(clock.pending, 0, 'no timer left behind');
});

t.test('output while disabled is dropped and counted', async (t) => {
  const { vuart, clock, toHost } = opened();
  vuart.writeRegister(VUART_GCRA, 0);
  vuart.writeRegister(UART_THR, 0x31);
  clock.advance(0);
  t.same(toHost, []);
  t.equal(vuart.counters.txDroppedDisabled, 1);
});

t.test('loopback: THR comes back in RBR, MSR mirrors MCR', async (t) => {
  const { vuart, clock, toHost } = opened();
  vuart.writeRegister(UART_MCR, MCR_LOOP | MCR_DTR | MCR_OUT2);
  t.equal(vuart.readRegister(UART_MSR), MSR_DSR | MSR_DCD);
  vuart.writeRegister(UART_THR, 0x55);
  clock.advance(0);
  t.same(toHost, [], 'nothing to the host');
  t.same(readRx(vuart), [0x55]);
  t.equal(vuart.counters.bytesFromHost, 0, 'not counted as host bytes');
});

t.test('FCR clears FIFOs', async (t) => {
  const { vuart, clock, toHost } = opened();
  vuart.hostTransmit(Buffer.from([1, 2, 3]));
  vuart.writeRegister(UART_THR, 9);
  vuart.writeRegister(UART_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
  t.equal(vuart.readRegister(UART_LSR) & LSR_DR, 0);
  clock.advance(0);
  t.same(toHost, [], 'TX FIFO emptied');
});

t.test("'host-tx-ready' when room returns", async (t) => {
  const { vuart } = opened();
  let ready = 0;
  vuart.on('host-tx-ready', () => ready++);
  vuart.hostTransmit(Buffer.alloc(16));
  t.equal(ready, 0);
  vuart.readRegister(UART_RBR);
  t.equal(ready, 1, 'first byte read from a full FIFO');
  vuart.readRegister(UART_RBR);
  t.equal(ready, 1, 'only on the 0 → room edge');
  vuart.hostTransmit(Buffer.alloc(2));
  vuart.writeRegister(VUART_GCRA, GCRA_VUART_EN); // discard on: room unlimited
  t.equal(ready, 2);
});

t.test('hostile values: clear errors, no state change', async (t) => {
  const { vuart, irqs } = opened(FCR_ENABLE_FIFO, IER_RDI);
  vuart.hostTransmit(Buffer.from([1, 2]));
  const before = vuart.snapshot();
  const irqCount = irqs.length;
  const attempts: [string, () => unknown, string][] = [
    ['offset 0x30', () => vuart.writeRegister(0x30, 0), 'ERR_HW_BAD_OFFSET'],
    ['offset 0x02', () => vuart.writeRegister(0x02, 0), 'ERR_HW_BAD_OFFSET'],
    ['offset -4 read', () => vuart.readRegister(-4), 'ERR_HW_BAD_OFFSET'],
    ['offset NaN read', () => vuart.readRegister(NaN), 'ERR_HW_BAD_OFFSET'],
    ['THR 0x100', () => vuart.writeRegister(UART_THR, 0x100), 'ERR_HW_BAD_VALUE'],
    ['IER -1', () => vuart.writeRegister(UART_IER, -1), 'ERR_HW_BAD_VALUE'],
    ['GCRA NaN', () => vuart.writeRegister(VUART_GCRA, NaN), 'ERR_HW_BAD_VALUE'],
    ['LCR 2.5', () => vuart.writeRegister(UART_LCR, 2.5), 'ERR_HW_BAD_VALUE'],
    ['host string', () => vuart.hostTransmit('abc' as never), 'ERR_HW_BAD_ARGUMENT'],
  ];
  for (const [name, fn, code] of attempts) t.throws(fn, { code }, name);
  t.same(vuart.snapshot(), before, 'state unchanged');
  t.equal(irqs.length, irqCount, 'no interrupt edges');
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

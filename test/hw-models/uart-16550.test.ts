/**
 * The 16550 register file the AST2500's 16550-style ports share, run against
 * each of them: the VUART as its driver leaves it open (enabled, host TX kept)
 * and the UART with its line connected. What only one of them does is in
 * vuart.test.ts and uart.test.ts.
 */
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
  UART_THR,
  type Uart16550,
} from '../../hw-models/uart-16550.js';
import { Uart } from '../../hw-models/uart.js';
import { GCRA_DISABLE_HOST_TX_DISCARD, GCRA_VUART_EN, VUART_GCRA, Vuart } from '../../hw-models/vuart.js';

type HostileAttempt = [name: string, fn: () => unknown, code: string];

interface Model {
  name: string;
  /** A port ready for host traffic, on the given clock. */
  make(clock: ManualClock): Uart16550;
  /** Hostile accesses only this model has. */
  hostile(port: Uart16550): HostileAttempt[];
}

const MODELS: Model[] = [
  {
    name: 'VUART',
    make: (clock) => {
      const vuart = new Vuart({ clock });
      vuart.writeRegister(VUART_GCRA, GCRA_VUART_EN | GCRA_DISABLE_HOST_TX_DISCARD);
      return vuart;
    },
    hostile: (port) => [['GCRA NaN', () => port.writeRegister(VUART_GCRA, NaN), 'ERR_HW_BAD_VALUE']],
  },
  {
    name: 'UART',
    make: (clock) => {
      const uart = new Uart({ clock });
      uart.setLineConnected(true);
      uart.readRegister(UART_MSR); // the connect's deltas, read as a driver would
      return uart;
    },
    hostile: (port) => [
      ['offset 0x20', () => port.writeRegister(0x20, 0), 'ERR_HW_BAD_OFFSET'],
      ['line 1', () => (port as Uart).setLineConnected(1 as never), 'ERR_HW_BAD_ARGUMENT'],
    ],
  },
];

function readRx(port: Uart16550): number[] {
  const out: number[] = [];
  while (port.readRegister(UART_LSR) & LSR_DR) out.push(port.readRegister(UART_RBR));
  return out;
}

for (const model of MODELS) {
  /** The port with FIFO control and interrupts as given, a manual clock for the TX drain, and what it emitted. */
  const opened = (fcr = FCR_ENABLE_FIFO, ier = 0) => {
    const clock = new ManualClock();
    const port = model.make(clock);
    const toHost: Buffer[] = [];
    const irqs: boolean[] = [];
    port.on('host-rx', (b) => toHost.push(b));
    port.on('irq', (level) => irqs.push(level));
    port.writeRegister(UART_FCR, fcr);
    port.writeRegister(UART_IER, ier);
    return { port, clock, toHost, irqs };
  };

  t.test(`${model.name}: DLL/DLM behind LCR.DLAB`, async (t) => {
    const { port, clock, toHost } = opened(FCR_ENABLE_FIFO, IER_RDI);
    port.writeRegister(UART_LCR, LCR_DLAB | 0x03);
    port.writeRegister(UART_DLL, 0x01);
    port.writeRegister(UART_DLM, 0x02);
    t.equal(port.readRegister(UART_DLL), 0x01);
    t.equal(port.readRegister(UART_DLM), 0x02);
    port.writeRegister(UART_LCR, 0x03);
    t.equal(port.readRegister(UART_IER), IER_RDI, 'IER untouched by the DLM write');
    clock.advance(0);
    t.same(toHost, [], 'the DLL write sent nothing');
    t.match(port.snapshot().regs, { dll: 1, dlm: 2, lcr: 3 });
  });

  t.test(`${model.name}: RX FIFO full: the rest dropped and counted, OE reported once`, async (t) => {
    const { port } = opened();
    const bytes = Buffer.from(Array.from({ length: 20 }, (_, i) => i));
    t.equal(port.hostTransmitRoom(), 16);
    t.equal(port.hostTransmit(bytes), 16);
    t.equal(port.hostTransmitRoom(), 0);
    t.equal(port.counters.hostDroppedFull, 4);
    t.equal(port.hostTransmit(Buffer.from([99])), 0, 'still full');
    t.equal(port.counters.hostDroppedFull, 5);
    t.equal(port.counters.bytesFromHost, 16);
    const lsr = port.readRegister(UART_LSR);
    t.equal(lsr & (LSR_DR | LSR_OE), LSR_DR | LSR_OE, 'DR and OE');
    t.equal(port.readRegister(UART_LSR) & LSR_OE, 0, 'OE clears on read');
    t.same(readRx(port), [...bytes.subarray(0, 16)], 'the first 16 bytes, in order');
    t.equal(port.hostTransmit(Buffer.alloc(0)), 0, 'empty write');
  });

  t.test(`${model.name}: 16450 mode (FIFOs off) holds one byte each way`, async (t) => {
    const { port, clock, toHost } = opened(0);
    t.equal(port.hostTransmit(Buffer.from([1, 2, 3])), 1);
    t.equal(port.readRegister(UART_IIR), 0x01, 'no FIFO bits in IIR');
    t.same(readRx(port), [1]);
    port.writeRegister(UART_THR, 0x41);
    port.writeRegister(UART_THR, 0x42);
    t.equal(port.counters.txOverruns, 1, 'a second THR write before the drain is lost');
    clock.advance(0);
    t.same(Buffer.concat(toHost), Buffer.from('A'));
  });

  t.test(`${model.name}: IIR priorities and acknowledgement (table)`, async (t) => {
    interface Row {
      name: string;
      fcr: number;
      ier: number;
      act: (p: Uart16550) => void;
      iir: number[];
    }
    const rows: Row[] = [
      { name: 'no source enabled', fcr: 1, ier: 0, act: (p) => p.hostTransmit(Buffer.from([1])), iir: [0xc1] },
      { name: 'RX data, trigger 1', fcr: 1, ier: IER_RDI, act: (p) => p.hostTransmit(Buffer.from([1])), iir: [0xc4, 0xc4] },
      {
        name: 'RX below trigger 4 reports the character timeout',
        fcr: 0x41,
        ier: IER_RDI,
        act: (p) => p.hostTransmit(Buffer.from([1, 2])),
        iir: [0xcc],
      },
      { name: 'RX at trigger 4', fcr: 0x41, ier: IER_RDI, act: (p) => p.hostTransmit(Buffer.from([1, 2, 3, 4])), iir: [0xc4] },
      { name: 'RX at trigger 14', fcr: 0xc1, ier: IER_RDI, act: (p) => p.hostTransmit(Buffer.alloc(14)), iir: [0xc4] },
      {
        name: 'THRE on enabling THRI with THR empty, acknowledged by reading IIR',
        fcr: 1,
        ier: 0,
        act: (p) => p.writeRegister(UART_IER, IER_THRI),
        iir: [0xc2, 0xc1],
      },
      {
        name: 'line status beats RX data; LSR read acknowledges it',
        fcr: 1,
        ier: IER_RDI | IER_RLSI,
        act: (p) => {
          p.hostTransmit(Buffer.alloc(17));
          t.equal(p.readRegister(UART_IIR), 0xc6, 'RLS first');
          p.readRegister(UART_LSR);
        },
        iir: [0xc4],
      },
      {
        name: 'RX data beats THRE; THRE shows once RX is drained',
        fcr: 1,
        ier: IER_RDI | IER_THRI,
        act: (p) => {
          p.hostTransmit(Buffer.from([7]));
          t.equal(p.readRegister(UART_IIR), 0xc4, 'RX first');
          p.readRegister(UART_RBR);
        },
        iir: [0xc2, 0xc1],
      },
      { name: 'THR write acknowledges THRE', fcr: 1, ier: IER_THRI, act: (p) => p.writeRegister(UART_THR, 0x41), iir: [0xc1] },
    ];
    for (const row of rows) {
      const { port } = opened(row.fcr, row.ier);
      row.act(port);
      const seen = row.iir.map(() => port.readRegister(UART_IIR));
      t.same(seen, row.iir, row.name);
    }
  });

  t.test(`${model.name}: irq line follows the pending sources`, async (t) => {
    const { port, clock, irqs } = opened(FCR_ENABLE_FIFO, IER_RDI | IER_THRI);
    t.same(irqs, [true], 'THRE raised on enable');
    port.readRegister(UART_IIR);
    t.same(irqs, [true, false]);
    port.writeRegister(UART_THR, 0x41);
    clock.advance(0);
    t.same(irqs, [true, false, true], 'THRE again once the FIFO drained');
    port.writeRegister(UART_THR, 0x42); // acknowledges THRE
    t.same(irqs, [true, false, true, false]);
    port.hostTransmit(Buffer.from([1]));
    t.same(irqs, [true, false, true, false, true], 'RX raises it');
    t.equal(port.irqLevel, true);
  });

  t.test(`${model.name}: TX: bytes reach the far end when the FIFO drains; the 17th is lost and counted`, async (t) => {
    const { port, clock, toHost } = opened();
    for (const c of Buffer.from('hi')) port.writeRegister(UART_THR, c);
    t.equal(port.readRegister(UART_LSR) & (LSR_THRE | LSR_TEMT), 0, 'THRE/TEMT low while bytes wait');
    t.same(toHost, []);
    clock.advance(0);
    t.equal(Buffer.concat(toHost).toString(), 'hi');
    t.equal(port.readRegister(UART_LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
    t.equal(port.counters.bytesToHost, 2);
    toHost.length = 0;
    for (let i = 0; i < 17; i++) port.writeRegister(UART_THR, i);
    clock.advance(0);
    t.same(Buffer.concat(toHost), Buffer.from(Array.from({ length: 16 }, (_, i) => i)));
    t.equal(port.counters.txOverruns, 1);
  });

  t.test(`${model.name}: host flow control holds bytes in the TX FIFO`, async (t) => {
    const { port, clock, toHost } = opened();
    port.setHostReady(false);
    port.writeRegister(UART_THR, 0x31);
    clock.advance(10);
    t.same(toHost, [], 'held');
    t.equal(port.readRegister(UART_LSR) & LSR_THRE, 0);
    port.setHostReady(true);
    clock.advance(0);
    t.equal(Buffer.concat(toHost).toString(), '1');
    t.equal(clock.pending, 0, 'no timer left behind');
  });

  t.test(`${model.name}: loopback: THR comes back in RBR, MSR mirrors MCR`, async (t) => {
    const { port, clock, toHost } = opened();
    port.writeRegister(UART_MCR, MCR_LOOP | MCR_DTR | MCR_OUT2);
    t.equal(port.readRegister(UART_MSR), MSR_DSR | MSR_DCD);
    port.writeRegister(UART_THR, 0x55);
    clock.advance(0);
    t.same(toHost, [], 'nothing to the far end');
    t.same(readRx(port), [0x55]);
    t.equal(port.counters.bytesFromHost, 0, 'not counted as far-end bytes');
  });

  t.test(`${model.name}: FCR clears FIFOs`, async (t) => {
    const { port, clock, toHost } = opened();
    port.hostTransmit(Buffer.from([1, 2, 3]));
    port.writeRegister(UART_THR, 9);
    port.writeRegister(UART_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
    t.equal(port.readRegister(UART_LSR) & LSR_DR, 0);
    clock.advance(0);
    t.same(toHost, [], 'TX FIFO emptied');
  });

  t.test(`${model.name}: 'host-tx-ready' on the full → room edge, never inside hostTransmit`, async (t) => {
    const { port } = opened(FCR_ENABLE_FIFO, IER_RDI);
    let ready = 0;
    port.on('host-tx-ready', () => ready++);
    // A driver that reads synchronously inside the interrupt: the FIFO empties during hostTransmit.
    const prompt = (level: boolean): void => {
      if (level) readRx(port);
    };
    port.on('irq', prompt);
    t.equal(port.hostTransmit(Buffer.alloc(100)), 100, 'a prompt reader takes everything');
    t.equal(ready, 0, 'no event from inside hostTransmit');
    port.off('irq', prompt);
    port.hostTransmit(Buffer.alloc(16));
    t.equal(ready, 0);
    port.readRegister(UART_RBR);
    t.equal(ready, 1, 'first byte read from a full FIFO');
    port.readRegister(UART_RBR);
    t.equal(ready, 1, 'only on the 0 → room edge');
  });

  t.test(`${model.name}: hostile values: clear errors, no state change`, async (t) => {
    const { port, irqs } = opened(FCR_ENABLE_FIFO, IER_RDI);
    port.hostTransmit(Buffer.from([1, 2]));
    const before = port.snapshot();
    const irqCount = irqs.length;
    const attempts: HostileAttempt[] = [
      ['offset 0x30', () => port.writeRegister(0x30, 0), 'ERR_HW_BAD_OFFSET'],
      ['offset 0x02', () => port.writeRegister(0x02, 0), 'ERR_HW_BAD_OFFSET'],
      ['offset -4 read', () => port.readRegister(-4), 'ERR_HW_BAD_OFFSET'],
      ['offset NaN read', () => port.readRegister(NaN), 'ERR_HW_BAD_OFFSET'],
      ['offset 1e9 read', () => port.readRegister(1e9), 'ERR_HW_BAD_OFFSET'],
      ['THR 0x100', () => port.writeRegister(UART_THR, 0x100), 'ERR_HW_BAD_VALUE'],
      ['IER -1', () => port.writeRegister(UART_IER, -1), 'ERR_HW_BAD_VALUE'],
      ['LCR 2.5', () => port.writeRegister(UART_LCR, 2.5), 'ERR_HW_BAD_VALUE'],
      ['MCR string', () => port.writeRegister(UART_MCR, '1' as never), 'ERR_HW_BAD_VALUE'],
      ['host string', () => port.hostTransmit('abc' as never), 'ERR_HW_BAD_ARGUMENT'],
      ['host array', () => port.hostTransmit([1, 2] as never), 'ERR_HW_BAD_ARGUMENT'],
      ...model.hostile(port),
    ];
    for (const [name, fn, code] of attempts) t.throws(fn, { code }, name);
    t.same(port.snapshot(), before, 'state unchanged');
    t.equal(irqs.length, irqCount, 'no interrupt edges');
  });
}

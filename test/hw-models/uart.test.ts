/** The AST2500 UART's own part: the serial line (modem inputs, modem-status interrupt), FIFO depth. The 16550 part is uart-16550.test.ts, run on the UART too. */
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import {
  FCR_ENABLE_FIFO,
  IER_MSI,
  IER_RDI,
  IER_RLSI,
  IER_THRI,
  LSR_DR,
  LSR_TEMT,
  LSR_THRE,
  MCR_DTR,
  MCR_LOOP,
  MCR_OUT2,
  MCR_RTS,
  MSR_CTS,
  MSR_DCD,
  MSR_DCTS,
  MSR_DDCD,
  MSR_DDSR,
  MSR_DSR,
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
import { Uart } from '../../hw-models/uart.js';

const LINE_UP = MSR_DCD | MSR_DSR | MSR_CTS;
const ALL_DELTAS = MSR_DDCD | MSR_DDSR | MSR_DCTS;

/** A UART with FIFOs on and the given interrupts enabled, on a manual clock. */
function opened(fcr = FCR_ENABLE_FIFO, ier = 0, fifoSize?: number) {
  const clock = new ManualClock();
  const uart = new Uart({ clock, ...(fifoSize !== undefined && { fifoSize }) });
  const toHost: Buffer[] = [];
  const irqs: boolean[] = [];
  uart.on('host-rx', (b) => toHost.push(b));
  uart.on('irq', (level) => irqs.push(level));
  uart.writeRegister(UART_FCR, fcr);
  uart.writeRegister(UART_IER, ier);
  return { uart, clock, toHost, irqs };
}

function readRx(uart: Uart): number[] {
  const out: number[] = [];
  while (uart.readRegister(UART_LSR) & LSR_DR) out.push(uart.readRegister(UART_RBR));
  return out;
}

t.test('reset values: a 16550 with its line disconnected, nothing past SCR', async (t) => {
  const uart = new Uart();
  const regs: [string, number, number][] = [
    ['IER', UART_IER, 0x00],
    ['IIR', UART_IIR, 0x01],
    ['LCR', UART_LCR, 0x00],
    ['MCR', UART_MCR, 0x00],
    ['LSR', UART_LSR, LSR_THRE | LSR_TEMT],
    ['MSR', UART_MSR, 0x00],
    ['SCR', UART_SCR, 0x00],
  ];
  for (const [name, offset, value] of regs) t.equal(uart.readRegister(offset), value, name);
  t.equal(uart.lineConnected, false);
  t.equal(uart.fifoSize, 16, 'the AST2500 FIFO depth');
  t.same([UART_IIR, UART_LCR, UART_LSR, UART_SCR], [0x08, 0x0c, 0x14, 0x1c], 'registers 4 bytes apart');
  t.throws(() => uart.readRegister(0x20), { code: 'ERR_HW_BAD_OFFSET' }, 'no VUART general control here');
  t.throws(() => uart.writeRegister(0x2c, 0), { code: 'ERR_HW_BAD_OFFSET' });
});

t.test('FIFO depth is configurable; trigger levels scale with it; impossible depths refused', async (t) => {
  const { uart } = opened(0xc1, IER_RDI, 64); // trigger level 3 of 4: depth - 2
  t.equal(uart.hostTransmitRoom(), 64);
  uart.hostTransmit(Buffer.alloc(61));
  t.equal(uart.readRegister(UART_IIR), 0xcc, 'below the trigger: character timeout');
  uart.hostTransmit(Buffer.alloc(1));
  t.equal(uart.readRegister(UART_IIR), 0xc4, 'at 62: received data available');
  for (const fifoSize of [0, -1, 1.5, 5000, Number.NaN]) {
    t.throws(() => new Uart({ fifoSize }), { code: 'ERR_BAD_CONFIG' }, `fifoSize ${fifoSize}`);
  }
});

t.test('IIR priorities with modem status the lowest (table)', async (t) => {
  interface Row {
    name: string;
    ier: number;
    act: (u: Uart) => void;
    iir: number[];
  }
  const rows: Row[] = [
    { name: 'modem status on a line change', ier: IER_MSI, act: (u) => u.setLineConnected(true), iir: [0xc0, 0xc0] },
    { name: 'line change without IER.MSI: nothing', ier: 0, act: (u) => u.setLineConnected(true), iir: [0xc1] },
    {
      name: 'MSR read acknowledges it',
      ier: IER_MSI,
      act: (u) => {
        u.setLineConnected(true);
        u.readRegister(UART_MSR);
      },
      iir: [0xc1],
    },
    {
      name: 'RX data beats modem status',
      ier: IER_RDI | IER_MSI,
      act: (u) => {
        u.setLineConnected(true);
        u.hostTransmit(Buffer.from([7]));
        t.equal(u.readRegister(UART_IIR), 0xc4, 'RX first');
        u.readRegister(UART_RBR);
      },
      iir: [0xc0],
    },
    {
      name: 'THRE beats modem status; the IIR read acknowledging THRE leaves MSI',
      ier: IER_THRI | IER_MSI,
      act: (u) => u.setLineConnected(true),
      iir: [0xc2, 0xc0],
    },
    {
      name: 'line status beats everything',
      ier: IER_RLSI | IER_RDI | IER_MSI,
      act: (u) => {
        u.setLineConnected(true);
        u.hostTransmit(Buffer.alloc(17));
      },
      iir: [0xc6, 0xc6],
    },
  ];
  for (const row of rows) {
    const { uart } = opened(FCR_ENABLE_FIFO, row.ier);
    row.act(uart);
    t.same(
      row.iir.map(() => uart.readRegister(UART_IIR)),
      row.iir,
      row.name,
    );
  }
});

t.test('the line: DCD/DSR/CTS follow the far end, deltas latch until MSR is read', async (t) => {
  const { uart, irqs } = opened(FCR_ENABLE_FIFO, IER_MSI);
  let changes = 0;
  uart.on('change', () => changes++);
  uart.setLineConnected(true);
  t.same(irqs, [true], 'modem-status interrupt');
  t.equal(uart.readRegister(UART_MSR), LINE_UP | ALL_DELTAS, 'levels and deltas');
  t.same(irqs, [true, false], 'reading MSR acknowledged it');
  t.equal(uart.readRegister(UART_MSR), LINE_UP, 'deltas cleared on read');
  uart.setLineConnected(true);
  t.equal(changes, 1, 'the same state again is no change');
  t.same(irqs, [true, false]);
  uart.setLineConnected(false);
  t.equal(uart.readRegister(UART_MSR), ALL_DELTAS, 'carrier lost: levels down, deltas up');
  t.equal(changes, 2);
  // Two edges before the driver looks: both levels seen, one interrupt, deltas latched.
  uart.setLineConnected(true);
  uart.setLineConnected(false);
  t.equal(uart.readRegister(UART_MSR), ALL_DELTAS, 'a connect and a disconnect in between are not lost');
  t.equal(uart.snapshot().lineConnected, false);
});

t.test('reset: registers to 16550 values; the line, the counters and the modem levels survive', async (t) => {
  const { uart } = opened(FCR_ENABLE_FIFO, IER_MSI | IER_RDI);
  uart.setLineConnected(true);
  uart.hostTransmit(Buffer.alloc(20));
  uart.writeRegister(UART_SCR, 0x5a);
  uart.reset();
  t.equal(uart.readRegister(UART_MSR), LINE_UP, 'levels still there, deltas gone');
  t.equal(uart.readRegister(UART_LSR), LSR_THRE | LSR_TEMT, 'FIFOs empty, OE gone');
  t.equal(uart.readRegister(UART_SCR), 0);
  t.equal(uart.irqLevel, false);
  t.match(uart.counters, { resets: 1, hostDroppedFull: 4, bytesFromHost: 16 });
});

t.test('loopback: THR comes back in RBR, MSR mirrors MCR, the line is not heard', async (t) => {
  const { uart, clock, toHost } = opened(FCR_ENABLE_FIFO, IER_MSI);
  uart.writeRegister(UART_MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT2);
  t.equal(uart.readRegister(UART_MSR), MSR_DSR | MSR_CTS | MSR_DCD);
  uart.setLineConnected(true);
  t.equal(uart.readRegister(UART_MSR) & 0x0f, 0, 'no deltas from the line in loopback');
  t.equal(uart.irqLevel, false);
  uart.writeRegister(UART_THR, 0x55);
  clock.advance(0);
  t.same(toHost, [], 'nothing to the far end');
  t.same(readRx(uart), [0x55]);
  t.equal(uart.counters.bytesFromHost, 0, 'not counted as far-end bytes');
  uart.writeRegister(UART_MCR, 0);
  t.equal(uart.readRegister(UART_MSR), LINE_UP, 'out of loopback the line levels show again');
});

t.test('read-only registers ignore writes; snapshot is plain JSON', async (t) => {
  const uart = new Uart();
  uart.writeRegister(UART_LSR, 0);
  uart.writeRegister(UART_MSR, 0xff);
  t.equal(uart.counters.ignoredWrites, 2);
  t.equal(uart.readRegister(UART_MSR), 0);
  uart.setLineConnected(true);
  const snap = uart.snapshot();
  t.match(snap, { lineConnected: true, rxFifo: 0, txFifo: 0, hostReady: true, regs: { msr: LINE_UP | ALL_DELTAS } });
  t.same(JSON.parse(JSON.stringify(snap)), snap, 'plain JSON');
  t.equal(uart.readRegister(UART_MSR) & 0x0f, ALL_DELTAS, 'the snapshot did not clear the deltas');
});

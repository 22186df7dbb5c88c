/** The UART wire server: one host side for both 16550-style ports, the VUART and the UART on a line. */
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import { FCR_ENABLE_FIFO, UART_FCR, UART_LSR, UART_RBR, LSR_DR, type UartHostPort } from '../../../hw-models/uart-16550.js';
import { Uart } from '../../../hw-models/uart.js';
import { Vuart } from '../../../hw-models/vuart.js';
import { UartWire } from '../../../hw-models/wire-servers/uart-wire-server.js';
import { ChardevSocket } from '../../../transport/chardev-socket.js';
import { memoryLinkPair, nextEvent, shortTempDir } from '../../transport/helpers/util.js';

t.test('a UART on the wire: a peer attaching or leaving is the line coming and going', async (t) => {
  const uart = new Uart({ clock: new ManualClock() });
  const { a, b, connect } = memoryLinkPair();
  const wire = new UartWire(uart, a);
  t.equal(uart.lineConnected, false, 'no peer yet');
  connect();
  t.equal(uart.lineConnected, true);
  b.disconnect();
  t.equal(uart.lineConnected, false);
  wire.detach();
  connect();
  t.equal(uart.lineConnected, false, 'detached: no longer followed');
  t.equal(a.listenerCount('connect') + a.listenerCount('disconnect') + a.listenerCount('data'), 0);
  t.equal(uart.listenerCount('host-rx') + uart.listenerCount('host-tx-ready'), 0);
});

t.test('the line state at attach time is taken from the link', async (t) => {
  const uart = new Uart();
  const { a, connect } = memoryLinkPair();
  connect();
  new UartWire(uart, a);
  t.equal(uart.lineConnected, true);
});

t.test('bytes both ways; the backlog feeds the FIFO as the BMC reads', async (t) => {
  const clock = new ManualClock();
  const uart = new Uart({ clock });
  uart.writeRegister(UART_FCR, FCR_ENABLE_FIFO);
  const { a, b, connect } = memoryLinkPair();
  const wire = new UartWire(uart, a);
  connect();
  b.write(Buffer.from('0123456789abcdefghij')); // 20 bytes, 16 fit
  t.equal(wire.stats().backlogBytes, 4);
  const got: number[] = [];
  while (uart.readRegister(UART_LSR) & LSR_DR) got.push(uart.readRegister(UART_RBR));
  t.equal(Buffer.from(got).toString(), '0123456789abcdefghij', 'the backlog followed as room appeared');
  t.equal(uart.counters.hostDroppedFull, 0);
  uart.writeRegister(0, 0x21);
  clock.advance(0);
  t.same(Buffer.concat(a.sent), Buffer.from('!'));
  t.match(wire.stats(), { bytesFromHost: 20, chunksFromHost: 1, bytesToHost: 1, droppedBacklog: 0, backlogBytes: 0, backlogPeak: 4 });
  b.write(Buffer.from('kl'));
  t.match(wire.stats(), { bytesFromHost: 22, chunksFromHost: 2, backlogPeak: 4 }, 'the peak is what waited, not what arrived');
});

t.test('the VUART has no line: connects and disconnects change nothing', async (t) => {
  const vuart = new Vuart();
  const { a, b, connect } = memoryLinkPair();
  new UartWire(vuart, a);
  const before = vuart.snapshot();
  connect();
  b.disconnect();
  t.same(vuart.snapshot(), before);
});

/** A host port that takes everything at once and lets the test play the BMC sending. */
class FakePort extends EventEmitter {
  line: boolean[] = [];
  hostTransmitRoom(): number {
    return 16;
  }
  hostTransmit(b: Uint8Array): number {
    return Math.min(16, b.length);
  }
  setLineConnected(c: boolean): void {
    this.line.push(c);
  }
}

t.test('a console peer that never reads is dropped at the link bound; later output is counted as dropped', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'console.sock');
  const bound = 16 * 1024;
  const link = new ChardevSocket({ endpoint: { kind: 'unix', path: p }, role: 'server', maxQueuedBytes: bound });
  const port = new FakePort();
  const wire = new UartWire(port as unknown as UartHostPort, link);
  t.teardown(async () => {
    wire.detach();
    await link.close();
  });
  await link.listen();
  const peer = net.createConnection({ path: p });
  peer.on('error', () => {});
  peer.pause();
  t.teardown(() => peer.destroy());
  await Promise.all([once(peer, 'connect'), nextEvent(link, 'connect')]);
  const gone = nextEvent(link, 'disconnect');
  const chunk = Buffer.alloc(4096, 0x2e);
  let sent = 0;
  while (link.stats().overflowDisconnects === 0 && sent < 64 << 20) {
    port.emit('host-rx', chunk);
    sent += chunk.length;
  }
  await gone;
  t.ok(sent < 64 << 20, `dropped after ${sent} bytes`);
  t.same(port.line, [false, true, false], 'the line went down with the peer');
  t.match(link.stats(), { overflowDisconnects: 1, queuedBytes: 0 });
  const before = wire.stats().droppedToHost;
  t.equal(before, chunk.length, 'the write that did not fit');
  port.emit('host-rx', chunk);
  t.match(wire.stats(), { bytesToHost: sent + chunk.length, droppedToHost: before + chunk.length });
});

t.test('a backlog that could hold nothing is a configuration error', async (t) => {
  const { a } = memoryLinkPair();
  for (const bad of [0, -1, 1.5]) t.throws(() => new UartWire(new Vuart(), a, { backlogBytes: bad }), { code: 'ERR_BAD_CONFIG' });
});

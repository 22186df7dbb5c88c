/**
 * The guest's serial tty for the MCTP serial binding: 8-bit clean both ways
 * (Node's own raw mode would turn LF into CR LF on output), on a pty relayed
 * to a UNIX socket as QEMU relays ttyS1 to the BMC's UART socket.
 */
import path from 'node:path';
import t from 'tap';
import { openSerialTty } from '../../host/guest/serial-tty.js';
import { shortTempDir, until } from '../transport/helpers/util.js';
import { peerServer } from './helpers/peer-server.js';
import { startPtyRelay } from './helpers/pty-relay.js';

t.test('a raw serial tty: every byte value, both ways', async (t) => {
  const dir = shortTempDir(t);
  const sock = path.join(dir, 'uart.sock');
  const srv = await peerServer(t, sock);
  const relay = await startPtyRelay(sock);
  t.teardown(() => relay.stop());
  await relay.waitLine('connected');

  const tty = openSerialTty(relay.tty);
  t.teardown(() => tty.destroy());
  const rx: Buffer[] = [];
  tty.on('data', (d: Buffer) => rx.push(d));
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  tty.write(all);
  await until(() => srv.received().length >= 256, { what: 'bytes at the UART socket' });
  t.same(srv.received(), all, 'out: unchanged (no CR added before LF, nothing eaten)');
  srv.peer()!.write(all);
  await until(() => Buffer.concat(rx).length >= 256, { what: 'bytes at the tty' });
  t.same(Buffer.concat(rx), all, 'in: unchanged (no echo, no CR/LF mapping, no signals)');
  t.equal(srv.received().length, 256, 'and nothing was echoed back');
});

t.test('errors', async (t) => {
  t.throws(() => openSerialTty('/dev/null'), { message: /cannot set \/dev\/null to raw mode: .*/ });
  t.throws(() => openSerialTty('/nonexistent/ttyS1'), { message: /cannot set \/nonexistent\/ttyS1 to raw mode/ });
});

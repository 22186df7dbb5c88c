/**
 * The console's other end: the served chardev socket (QEMU's console
 * connects to it as a client), or a handed-in link that is only tapped;
 * bytes reach the ConsoleLog, typing reaches the peer, and the wait for
 * QEMU's connection ends on connect, timeout or abort.
 */
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import type { MachineSpec } from '../../qemu/cmdline.js';
import { ConsoleLog } from '../../qemu/console-log.js';
import { ConsoleWire } from '../../qemu/console-wire.js';
import { HOST_CONSOLE_SOCKET } from '../../transport/runtime-files.js';
import type { ByteLink } from '../../transport/byte-link.js';
import { fakeMachine, shortTempDir } from './helpers/util.js';

function withConsoleAt(spec: MachineSpec, p: string): MachineSpec {
  return { ...spec, chardevs: spec.chardevs.map((c) => (c.id === spec.serials[0] ? { ...c, path: p } : c)) };
}

t.test('serves the first serial chardev: QEMU connects, prints, and is typed to', async (t) => {
  const dir = shortTempDir(t);
  const log = new ConsoleLog();
  const wire = new ConsoleWire(log);
  t.teardown(() => wire.close());
  t.equal(wire.link, undefined, 'nothing served before the first spec');
  const spec = fakeMachine(dir);
  await wire.serve(spec);
  const sockPath = path.join(dir, HOST_CONSOLE_SOCKET);
  t.ok(fs.lstatSync(sockPath).isSocket(), 'listening at the console chardev path');
  const link = wire.link;
  await wire.serve(spec);
  t.equal(wire.link, link, 'the same path keeps the same listener');
  t.equal(wire.connected, false);

  const connected = wire.waitConnected(5000);
  const qemu = net.createConnection({ path: sockPath });
  t.teardown(() => qemu.destroy());
  t.equal(await connected, true);
  t.equal(wire.connected, true);
  qemu.write('guest: hello\r\n');
  const line = await log.waitForLine('guest: hello', { after: 0, timeoutMs: 5000 });
  t.equal(line.text, 'guest: hello');
  const typed = once(qemu, 'data');
  t.equal(wire.write('ls\n'), true);
  t.equal(String((await typed)[0]), 'ls\n');
  t.equal(await wire.waitConnected(1), true, 'already connected: at once');

  const moved = withConsoleAt(spec, path.join(dir, 'other-console.sock'));
  await wire.serve(moved);
  t.not(wire.link, link, 'a new path gets a new listener');
  t.ok(fs.existsSync(path.join(dir, 'other-console.sock')));
  await wire.close();
  t.notOk(fs.existsSync(path.join(dir, 'other-console.sock')), 'close removes the socket');
});

t.test('waiting for the peer ends on timeout or abort, without it', async (t) => {
  const dir = shortTempDir(t);
  const wire = new ConsoleWire(new ConsoleLog());
  t.teardown(() => wire.close());
  await wire.serve(fakeMachine(dir));
  const t0 = Date.now();
  t.equal(await wire.waitConnected(50), false, 'no peer within the time');
  t.ok(Date.now() - t0 < 2000);
  const ac = new AbortController();
  const waiting = wire.waitConnected(60_000, ac.signal);
  ac.abort();
  t.equal(await waiting, false, 'QEMU exited: no point waiting');
});

t.test('a handed-in link is only tapped, never served', async (t) => {
  const dir = shortTempDir(t);
  const sent: Buffer[] = [];
  const given = Object.assign(new EventEmitter(), {
    connected: true,
    write: (b: Uint8Array) => sent.push(Buffer.from(b)) > 0,
    disconnect: () => {},
  }) as unknown as ByteLink;
  const log = new ConsoleLog();
  const wire = new ConsoleWire(log, given);
  await wire.serve(fakeMachine(dir));
  t.notOk(fs.existsSync(path.join(dir, HOST_CONSOLE_SOCKET)), 'no socket served');
  t.equal(wire.link, given);
  given.emit('data', Buffer.from('from the vuart\n'));
  t.equal(log.lines().at(-1)?.text, 'from the vuart');
  t.equal(wire.write('x'), true);
  t.same(sent, [Buffer.from('x')]);
  t.equal(await wire.waitConnected(10), true);
  await wire.close();
});

t.test('a machine without a serial console: nothing to serve, nothing to wait for', async (t) => {
  const dir = shortTempDir(t);
  const wire = new ConsoleWire(new ConsoleLog());
  await wire.serve({ ...fakeMachine(dir), serials: [] });
  t.equal(wire.link, undefined);
  t.equal(wire.write('x'), false, 'typing goes nowhere');
  t.equal(await wire.waitConnected(10), true);
  await wire.close();
});

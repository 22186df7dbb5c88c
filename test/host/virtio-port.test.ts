/**
 * The KCS wire's transport in the guest: finding the named virtio-serial port,
 * and CharDeviceLink over stand-ins for the port's character device — a pty
 * (one read-write path, as /dev/vportNpM) and a pair of FIFOs, which can
 * reproduce virtio_console's "end of file while the host side is
 * disconnected, data again once it reconnects".
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CharDeviceLink } from '../../host/guest/char-device-link.js';
import { findVirtioPort, listVirtioPorts, openVirtioPort } from '../../host/guest/virtio-port.js';
import { shortTempDir, until } from '../transport/helpers/util.js';
import { addVirtioPort } from './helpers/fake-sysfs.js';
import { peerServer } from './helpers/peer-server.js';
import { startPtyRelay } from './helpers/pty-relay.js';

t.test('find the port by name', async (t) => {
  const dir = shortTempDir(t);
  const sys = path.join(dir, 'sys');
  const dev = path.join(dir, 'dev');
  fs.mkdirSync(dev);
  addVirtioPort(sys, dev, 'vport0p0', null);
  addVirtioPort(sys, dev, 'vport0p1', 'org.qemu.guest_agent.0', os.devNull);
  addVirtioPort(sys, dev, 'vport1p2', 'bmcemu.kcs.3', os.devNull);
  t.same(listVirtioPorts(sys), [
    { name: 'org.qemu.guest_agent.0', id: 'vport0p1' },
    { name: 'bmcemu.kcs.3', id: 'vport1p2' },
  ]);
  t.same(findVirtioPort(undefined, { sysfs: sys, devDir: dev }), { name: 'bmcemu.kcs.3', id: 'vport1p2', devPath: path.join(dev, 'vport1p2') });
  t.throws(() => findVirtioPort('bmcemu.kcs.2', { sysfs: sys, devDir: dev }), {
    code: 'ENODEV',
    message: /no virtio-serial port named bmcemu.kcs.2 .*named ports: vport0p1=org.qemu.guest_agent.0, vport1p2=bmcemu.kcs.3\): is QEMU started with -device virtio-serial-pci -device virtserialport,chardev=...,name=bmcemu.kcs.2\?/,
  });
  t.throws(() => findVirtioPort('x', { sysfs: path.join(dir, 'none') }), { code: 'ENODEV', message: /no named ports/ });
  addVirtioPort(sys, dev, 'vport2p1', 'no.node');
  t.throws(() => findVirtioPort('no.node', { sysfs: sys, devDir: dev }), { code: 'ENOENT', message: /vport2p1 does not exist: is devtmpfs mounted/ });
});

t.test('a pty as the port: bytes both ways, unchanged and in order; hang-up', async (t) => {
  const dir = shortTempDir(t);
  const sock = path.join(dir, 'kcs.sock');
  const srv = await peerServer(t, sock);
  const relay = await startPtyRelay(sock);
  t.teardown(() => relay.stop());
  await relay.waitLine('connected');

  const sys = path.join(dir, 'sys');
  const dev = path.join(dir, 'dev');
  addVirtioPort(sys, dev, 'vport0p1', 'bmcemu.kcs.3', relay.tty);
  const link = openVirtioPort(findVirtioPort('bmcemu.kcs.3', { sysfs: sys, devDir: dev }));
  t.teardown(() => link.close());
  const events: string[] = [];
  link.on('connect', () => events.push('connect'));
  link.on('disconnect', () => events.push('disconnect'));
  const rx: Buffer[] = [];
  link.on('data', (d: Buffer) => rx.push(d));
  t.ok(link.connected, 'connected while the port is open');

  // Every byte value, including the ones a tty would translate (LF, CR, ^C, ^Z, DEL).
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  for (let i = 0; i < 100; i++) t.equal(link.write(Buffer.from([0x01, 0x01, i])), true);
  link.write(all);
  await until(() => srv.received().length === 300 + 256, { what: 'bytes at the peer' });
  const sent = srv.received();
  t.same([...sent.subarray(0, 6)], [1, 1, 0, 1, 1, 1], 'frames in order');
  t.same(sent.subarray(300), all, 'all 256 byte values arrive unchanged');

  srv.peer()!.write(all);
  await until(() => Buffer.concat(rx).length === 256, { what: 'bytes at the link' });
  t.same(Buffer.concat(rx), all, 'and the other way');
  t.match(link.stats(), { bytesOut: 556, bytesIn: 256, writesDropped: 0, hangups: 0 });

  // The relay goes away: the master closes, the pty hangs up (EIO).
  await relay.stop();
  await until(() => !link.connected, { what: 'link down after the hang-up' });
  t.same(events, ['disconnect']);
  t.equal(link.write(Buffer.of(1, 2, 3)), false, 'writes are refused while disconnected');
  t.match(link.stats(), { writesDropped: 1, bytesDropped: 3 });
  t.ok(link.stats().hangups >= 1);
  link.close();
  t.notOk(link.stats().open);
});

/**
 * Two FIFOs: the link reads one and writes the other. Closing every writer of
 * the read FIFO gives the reader end-of-file, as virtio_console does while
 * the host side is disconnected; opening a writer again brings data back.
 */
t.test('FIFOs as the port: end of file is a disconnect, data brings the link back', async (t) => {
  const dir = shortTempDir(t);
  const toAgent = path.join(dir, 'to-agent');
  const fromAgent = path.join(dir, 'from-agent');
  execFileSync('mkfifo', [toAgent, fromAgent]);
  const { O_RDWR, O_WRONLY, O_RDONLY, O_NONBLOCK } = fs.constants;
  // Opening order matters for FIFOs: a writer must exist when the link opens
  // its read end (else it reads end of file at once), and a reader before it
  // opens its write end (else ENXIO).
  const holdW = fs.openSync(toAgent, O_RDWR);
  const sink = fs.openSync(fromAgent, O_RDONLY | O_NONBLOCK);
  const sinkSock = new net.Socket({ fd: sink, readable: true, writable: false });
  const fromLink: Buffer[] = [];
  sinkSock.on('data', (d) => fromLink.push(d));
  t.teardown(() => sinkSock.destroy());

  const link = new CharDeviceLink({ readPath: toAgent, writePath: fromAgent, polling: { reconnectMinMs: 10, reconnectMaxMs: 40 } });
  t.teardown(() => link.close());
  const events: string[] = [];
  link.on('connect', () => events.push('connect'));
  link.on('disconnect', () => events.push('disconnect'));
  const rx: Buffer[] = [];
  link.on('data', (d: Buffer) => rx.push(d));

  let writer = fs.openSync(toAgent, O_WRONLY);
  fs.closeSync(holdW);
  fs.writeSync(writer, Buffer.from('hello'));
  await until(() => Buffer.concat(rx).toString() === 'hello', { what: 'first bytes' });
  link.write(Buffer.from('up'));
  await until(() => Buffer.concat(fromLink).toString() === 'up', { what: 'bytes from the link' });

  // "The BMC goes away": the last writer closes -> read() returns 0.
  fs.closeSync(writer);
  await until(() => !link.connected, { what: 'disconnect on end of file' });
  t.same(events, ['disconnect'], 'end of file is a disconnect');
  t.equal(link.write(Buffer.from('lost')), false, 'nothing is written while disconnected');
  await new Promise((r) => setTimeout(r, 100));
  t.ok(link.stats().hangups >= 2, `it keeps looking, with backoff (${link.stats().hangups} end-of-file reads)`);

  // "The BMC is back and speaks first": data -> connect, then the data.
  writer = fs.openSync(toAgent, O_WRONLY | O_NONBLOCK);
  t.teardown(() => fs.closeSync(writer));
  fs.writeSync(writer, Buffer.from([0x80, 0x01, 0x03]));
  await until(() => link.connected, { what: 'connected again' });
  t.same(events, ['disconnect', 'connect']);
  await until(() => rx.length >= 2, { what: 'data after reconnect' });
  t.same([...rx[rx.length - 1]!], [0x80, 0x01, 0x03], "'connect' came first, then the bytes");
  link.write(Buffer.from('again'));
  await until(() => Buffer.concat(fromLink).toString() === 'upagain', { what: 'writes flow again' });

  // A protocol-level disconnect() restarts the session on the same stream.
  link.disconnect();
  t.equal(link.connected, false);
  await once(link, 'connect');
  t.same(events, ['disconnect', 'connect', 'disconnect', 'connect'], 'disconnect() = disconnect, then connect on the next tick');
  t.match(link.stats(), { connects: 2, disconnects: 2, writeErrors: 0, readErrors: 0 });

  // close() is immediate: nothing is parked in the kernel.
  link.close();
  t.notOk(link.stats().open);
  t.equal(link.connected, false);
  t.same(events.at(-1), 'disconnect', 'close reports the disconnect');
  t.throws(() => fs.writeSync(writer, Buffer.from('x')), { code: 'EPIPE' }, 'its read end is really closed');
});

t.test('constructor errors', async (t) => {
  t.throws(() => new CharDeviceLink({}), TypeError);
  t.throws(() => new CharDeviceLink({ path: '/nonexistent/vport0p1' }), { code: 'ENOENT' });
  t.throws(() => openVirtioPort({ name: 'bmcemu.kcs.3', id: 'vport9p9', devPath: '/nonexistent/vport9p9' }), {
    message: /cannot open virtio port bmcemu.kcs.3 \(\/nonexistent\/vport9p9\): ENOENT/,
  });
});

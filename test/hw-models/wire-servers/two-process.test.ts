/**
 * The model (fake KCS + wire server + window file owner) here; the host in a
 * child process, as a QEMU guest's agent would be. Everything crosses a real
 * process boundary: KCS accesses over a UNIX socket, data through the file.
 */
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ChardevSocket } from '../../../transport/chardev-socket.js';
import { KcsWireServer } from '../../../hw-models/wire-servers/kcs-wire-server.js';
import { MCTP_WINDOW_SIZE, WindowFile, createWindowFile, windowFilePath } from '../../../transport/window-file.js';
import { ChildHost } from '../../transport/helpers/child.js';
import { CD, FakeKcsChannel, IBF, OBF } from '../../transport/helpers/fake-kcs.js';
import { HOST_CHILD_FLAG } from '../../transport/helpers/host-child.js';
import { shortTempDir, until } from '../../transport/helpers/util.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'transport', 'helpers', 'host-child.ts');
const b64 = (b: Buffer): string => b.toString('base64');
const unb64 = (s: unknown): Buffer => Buffer.from(s as string, 'base64');

t.test('host in a child process drives the KCS model and shares the window', async (t) => {
  const dir = shortTempDir(t);
  const socketPath = path.join(dir, 'kcs1.sock');
  const windowPath = windowFilePath(dir);
  createWindowFile(windowPath, MCTP_WINDOW_SIZE);
  const bmcWindow = WindowFile.open(windowPath, { size: MCTP_WINDOW_SIZE });
  const kcs = new FakeKcsChannel();
  const chardev = new ChardevSocket({ endpoint: { kind: 'unix', path: socketPath }, role: 'server' });
  const server = new KcsWireServer(kcs, chardev, { channel: 1 });
  await chardev.listen();
  t.teardown(async () => {
    server.detach();
    await chardev.close();
    bmcWindow.close();
  });

  const host = new ChildHost(CHILD, [HOST_CHILD_FLAG]);
  t.teardown(() => host.kill());
  await host.started;
  const irqs: number[] = [];
  host.on('interrupt', (m: { str: number }) => irqs.push(m.str));

  t.same(await host.call('open', { socket: socketPath, window: windowPath, size: MCTP_WINDOW_SIZE }), {
    version: 1,
    channel: 1,
  });
  t.same(irqs, [], 'no interrupt: OBF was clear at connect');

  // BMC init, as libmctp does it: control area at offset 0, STR 0x80, then ODR 0xFF.
  const header = Buffer.alloc(32);
  header.write('MCTP', 0);
  header.writeUInt16BE(3, 6);
  bmcWindow.write(0, header);
  kcs.bmcWriteStatus(0x80);
  kcs.bmcWriteData(0xff);
  await until(() => irqs.length === 1, { what: 'interrupt in the child' });
  t.same(irqs, [0x80 | OBF], 'the child got the interrupt with STR');

  t.equal(await host.call('read', { reg: 1 }), 0x81, 'host reads STR');
  t.ok(unb64(await host.call('winRead', { offset: 0, length: 32 })).equals(header), 'host sees the BMC header');
  t.equal(await host.call('read', { reg: 0 }), 0xff, 'host reads ODR');
  t.equal(kcs.str & OBF, 0, 'that cleared OBF in the model');

  // Host → BMC: packet into the window, then "Tx begin" (data 0x01).
  const packet = Buffer.alloc(72);
  for (let i = 0; i < packet.length; i++) packet[i] = (i * 7) & 0xff;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(packet.length);
  await host.call('winWrite', { offset: 0x14c, data: b64(Buffer.concat([len, packet])) });
  t.equal(await host.call('write', { reg: 0, value: 0x01 }), 0x80 | IBF, 'data write: IBF set, C/D clear');
  t.equal(kcs.str & (IBF | CD), IBF);
  t.equal(kcs.bmcReadData(), 0x01);
  t.equal(bmcWindow.read(0x14c, 4).readUInt32BE(0), 72);
  t.ok(bmcWindow.read(0x150, 72).equals(packet), 'the BMC reads what the host wrote');

  // A command write sets C/D.
  t.equal(await host.call('write', { reg: 1, value: 0x00 }), 0x80 | IBF | CD, 'command write: IBF and C/D');
  kcs.bmcReadData();

  // BMC → host: "Rx complete" (0x02) raises the interrupt again.
  kcs.bmcWriteData(0x02);
  await until(() => irqs.length === 2, { what: 'second interrupt' });

  // Many requests in flight at once come back in order.
  const ops = Array.from({ length: 200 }, (_, i) => (i % 2 ? ['r', 1, 0] : ['w', 0, i & 0xff]));
  const results = await host.call<number[]>('pipeline', { ops });
  t.equal(results.length, 200);
  t.ok(
    results.every((v) => v === (0x80 | OBF | IBF)),
    'every ack and status read shows IBF (host wrote) and OBF (BMC data pending)',
  );
  t.equal(kcs.idr, 198, 'the last data write landed');
  t.equal(server.stats().writes, 2 + 100);

  // The host crashes with OBF set; a new host process must learn about the pending data.
  const gone = once(chardev, 'disconnect');
  await host.kill();
  await gone;
  const host2 = new ChildHost(CHILD, [HOST_CHILD_FLAG]);
  t.teardown(() => host2.kill());
  await host2.started;
  const irqs2: number[] = [];
  host2.on('interrupt', (m: { str: number }) => irqs2.push(m.str));
  await host2.call('open', { socket: socketPath, window: windowPath, size: MCTP_WINDOW_SIZE });
  await until(() => irqs2.length === 1, { what: 'connect-time interrupt' });
  t.equal(irqs2[0]! & OBF, OBF, 'hello was followed by 0x90 because OBF was set');
  t.equal(await host2.call('read', { reg: 0 }), 0x02, 'the pending ODR byte is still there');
  t.equal(kcs.str & OBF, 0);
  t.ok(unb64(await host2.call('winRead', { offset: 0x150, length: 72 })).equals(packet), 'window content persisted');
  t.equal(await host2.call('exit'), true);
  t.equal(await host2.exited, 0, 'child exited cleanly');
  t.equal(server.stats().connections, 2);
});

/**
 * Finding and opening the guest agent's devices on a fake sysfs: a device
 * that is merely absent is looked for again (on the clock) until the wait
 * runs out, anything else fails at once, and an abort gives up the wait.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DEVICE_POLL_MS, openGuestDevices, type GuestDeviceOptions } from '../../host/guest/guest-devices.js';
import { ManualClock } from '../../lib/clock.js';
import { shortTempDir } from '../transport/helpers/util.js';
import { addIvshmem, addVirtioPort } from './helpers/fake-sysfs.js';

const WINDOW = 1 << 20;
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

function setup(t: { teardown(fn: () => void): void }, waitMs: number) {
  const dir = shortTempDir(t);
  const sys = path.join(dir, 'sys');
  const dev = path.join(dir, 'dev');
  fs.mkdirSync(path.join(sys, 'bus', 'pci', 'devices'), { recursive: true });
  const clock = new ManualClock();
  const waited: string[] = [];
  const opts: GuestDeviceOptions = {
    sysfs: sys,
    dev,
    portName: 'bmcemu.kcs.3',
    windowSize: WINDOW,
    idlePollMs: 50,
    waitMs,
    clock,
    onWaiting: (what, ms) => waited.push(`${what} ${ms}`),
  };
  /** A FIFO stands in for the port's character device. */
  const addPort = (): void => {
    const node = path.join(dir, 'port-node');
    execFileSync('mkfifo', [node]);
    addVirtioPort(sys, dev, 'vport0p1', 'bmcemu.kcs.3', node);
  };
  return { dir, sys, dev, clock, waited, opts, addPort };
}

t.test('devices that appear while waited for: each waited for once, then opened', async (t) => {
  const s = setup(t, 5000);
  let result: Awaited<ReturnType<typeof openGuestDevices>> | undefined;
  const opening = openGuestDevices(s.opts).then((r) => (result = r));
  await settle();
  t.same(s.waited, ['the ivshmem device 5000'], 'told once, with the budget');
  s.clock.advance(DEVICE_POLL_MS);
  await settle();
  t.same(s.waited, ['the ivshmem device 5000'], 'not again for the same device');
  addIvshmem(s.sys, '0000:00:04.0', WINDOW);
  s.clock.advance(DEVICE_POLL_MS);
  await settle();
  t.same(s.waited, ['the ivshmem device 5000', 'virtio port bmcemu.kcs.3 5000'], 'the BAR was found; now the port');
  s.addPort();
  s.clock.advance(DEVICE_POLL_MS);
  await opening;
  t.ok(result);
  t.equal(result!.windowDesc, 'ivshmem 0000:00:04.0 BAR2 (enabled it)');
  t.equal(result!.kcsDesc, `${path.join(s.dev, 'vport0p1')} (bmcemu.kcs.3)`);
  t.equal(result!.window.size, WINDOW);
  t.ok(result!.kcs.connected);
  result!.close();
  t.ok(result!.window.closed, 'close() closes the window');
  t.notOk(result!.kcs.connected, 'and the port');
});

t.test('still absent when the wait runs out: the lookup error, which names the fix', async (t) => {
  const s = setup(t, 1000);
  const opening = openGuestDevices(s.opts);
  opening.catch(() => {});
  for (let i = 0; i < 1000 / DEVICE_POLL_MS; i++) {
    await settle();
    s.clock.advance(DEVICE_POLL_MS);
  }
  await t.rejects(opening, { name: 'PciDiscoveryError', code: 'ENODEV', message: /is QEMU started with -device ivshmem-plain\?/ });
  t.equal(s.waited.length, 1);

  const now = setup(t, 0);
  await t.rejects(openGuestDevices(now.opts), { code: 'ENODEV' }, '--wait 0: at once');
  t.same(now.waited, [], 'without a word about waiting');
});

t.test('other failures are final at once; an abort gives up the wait', async (t) => {
  const s = setup(t, 5000);
  addIvshmem(s.sys, '0000:00:04.0', WINDOW);
  addIvshmem(s.sys, '0000:00:05.0', WINDOW);
  await t.rejects(openGuestDevices(s.opts), { code: 'EAMBIGUOUS' }, 'two candidates is not a device still to come');
  t.same(s.waited, []);

  const a = setup(t, 5000);
  const win = path.join(a.dir, 'window');
  fs.writeFileSync(win, '');
  fs.truncateSync(win, WINDOW);
  const ctl = new AbortController();
  const opening = openGuestDevices({ ...a.opts, window: win, signal: ctl.signal });
  opening.catch(() => {});
  await settle();
  t.same(a.waited, ['virtio port bmcemu.kcs.3 5000'], 'the window file opened, the port awaited');
  ctl.abort();
  await t.rejects(opening, { code: 'ERR_WAIT_ABORTED' });
});

/** ivshmem BAR discovery on fake sysfs trees. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { barSize, findIvshmemBar, listIvshmemDevices } from '../../host/guest/pci.js';
import { addIvshmem, addPciDevice } from './helpers/fake-sysfs.js';

function sysfs(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bsys-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'bus', 'pci', 'devices'), { recursive: true });
  return dir;
}

const enableOf = (dir: string): string => fs.readFileSync(path.join(dir, 'enable'), 'utf8').trim();

t.test('one ivshmem device among others: found and enabled', async (t) => {
  const root = sysfs(t);
  addPciDevice(root, { address: '0000:00:00.0', vendor: 0x8086, device: 0x1237 });
  addPciDevice(root, { address: '0000:00:03.0', vendor: 0x1af4, device: 0x1003, bars: { 1: 4096 } }); // virtio-serial
  const dir = addIvshmem(root, '0000:00:04.0');
  const bar = findIvshmemBar({ sysfs: root });
  t.match(bar, { address: '0000:00:04.0', dir, resourcePath: path.join(dir, 'resource2'), size: 1 << 20, enabledNow: true });
  t.equal(enableOf(dir), '1', 'wrote 1 to enable');
  t.equal(findIvshmemBar({ sysfs: root }).enabledNow, false, 'already enabled: left alone (each write would take another reference)');
});

t.test('absent: the error says what QEMU needs', async (t) => {
  const root = sysfs(t);
  addPciDevice(root, { address: '0000:00:00.0', vendor: 0x8086, device: 0x1237 });
  t.throws(() => findIvshmemBar({ sysfs: root }), {
    name: 'PciDiscoveryError',
    code: 'ENODEV',
    message: /no ivshmem device \(1af4:1110\) in .*: is QEMU started with -device ivshmem-plain\?/,
  });
  t.throws(() => findIvshmemBar({ sysfs: path.join(root, 'nope') }), { code: 'ENODEV', message: /is sysfs mounted\?/ });
});

t.test('several devices: by window size, by address, or an error listing them', async (t) => {
  const root = sysfs(t);
  addIvshmem(root, '0000:00:05.0', 4 << 20);
  addIvshmem(root, '0000:00:04.0', 1 << 20);
  addIvshmem(root, '0000:00:06.0', 1 << 20);
  t.same(
    listIvshmemDevices(root).map((d) => d.address),
    ['0000:00:04.0', '0000:00:05.0', '0000:00:06.0'],
    'listed in address order',
  );
  t.throws(() => findIvshmemBar({ sysfs: root }), {
    code: 'EAMBIGUOUS',
    message: /several ivshmem devices fit: 0000:00:04.0 \(BAR2 1048576 bytes\), 0000:00:05.0 \(BAR2 4194304 bytes\), 0000:00:06.0 .*choose one by PCI address/,
  });
  t.equal(findIvshmemBar({ sysfs: root, size: 4 << 20 }).address, '0000:00:05.0', 'the only one with the window size');
  t.throws(() => findIvshmemBar({ sysfs: root, size: 1 << 20 }), { code: 'EAMBIGUOUS' }, 'two with the window size');
  t.equal(findIvshmemBar({ sysfs: root, address: '0000:00:06.0', size: 1 << 20 }).address, '0000:00:06.0', 'chosen by address');
  t.throws(() => findIvshmemBar({ sysfs: root, address: '0000:00:07.0' }), { code: 'ENODEV', message: /0000:00:07.0 is not an ivshmem device; found: / });
  t.throws(() => findIvshmemBar({ sysfs: root, size: 2 << 20 }), { code: 'EBAR', message: /no ivshmem device has a 2097152-byte BAR2/ });
});

t.test('disabled, enable refused, no BAR2, size from the resource file', async (t) => {
  const root = sysfs(t);
  const dir = addIvshmem(root, '0000:00:04.0', 1 << 20, { enabled: false });
  t.equal(findIvshmemBar({ sysfs: root, enable: false }).enabledNow, false, 'enable: false leaves it disabled');
  t.equal(enableOf(dir), '0');
  if (process.getuid?.() !== 0) {
    fs.chmodSync(path.join(dir, 'enable'), 0o444);
    t.throws(() => findIvshmemBar({ sysfs: root }), { code: 'EENABLE', message: /cannot enable PCI device 0000:00:04.0.*run the agent as root/ });
    fs.chmodSync(path.join(dir, 'enable'), 0o644);
  }
  fs.rmSync(path.join(dir, 'enable'));
  t.throws(() => findIvshmemBar({ sysfs: root }), { code: 'EENABLE', message: /cannot read .*enable/ });

  const root2 = sysfs(t);
  addPciDevice(root2, { address: '0000:00:04.0', vendor: 0x1af4, device: 0x1110, bars: { 0: 256 } });
  t.throws(() => findIvshmemBar({ sysfs: root2 }), { code: 'EBAR', message: /has no BAR2 .*was it given a memdev\?/ });

  const root3 = sysfs(t);
  const d3 = addIvshmem(root3, '0000:00:04.0', 1 << 20, { noResourceFile: true });
  t.equal(barSize(d3, 2), 1 << 20, 'no resource file: the size of resource2');
  t.equal(barSize(d3, 4), 0, 'an absent BAR has size 0');
  const d4 = addIvshmem(root3, '0000:00:05.0', 1 << 20);
  fs.truncateSync(path.join(d4, 'resource2'), 0);
  t.equal(barSize(d4, 2), 1 << 20, 'the resource file wins over the file size');
});

/**
 * Fake sysfs and /dev trees for the guest agent's discovery code: PCI devices
 * under bus/pci/devices/<addr>/ (vendor, device, enable, resource, resourceN)
 * and virtio-serial ports under class/virtio-ports/<id>/name.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface FakePciDevice {
  address: string;
  vendor: number;
  device: number;
  enabled?: boolean;
  /** BAR sizes by index; BAR2 also gets a resource2 file of that size unless `bar2File` is given. */
  bars?: Record<number, number>;
  /** Make resource2 a symlink to this file (the BMC's window file) instead of a sparse file. */
  bar2File?: string;
  /** Leave the `resource` file out (size then comes from resourceN's size). */
  noResourceFile?: boolean;
}

const hexId = (n: number): string => `0x${n.toString(16).padStart(4, '0')}\n`;
const hex64 = (n: bigint): string => `0x${n.toString(16).padStart(16, '0')}`;

export function addPciDevice(sysfs: string, d: FakePciDevice): string {
  const dir = path.join(sysfs, 'bus', 'pci', 'devices', d.address);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'vendor'), hexId(d.vendor));
  fs.writeFileSync(path.join(dir, 'device'), hexId(d.device));
  fs.writeFileSync(path.join(dir, 'enable'), d.enabled ? '1\n' : '0\n');
  const lines: string[] = [];
  let base = 0xfe000000n;
  for (let i = 0; i < 13; i++) {
    const size = d.bars?.[i];
    if (!size) {
      lines.push(`${hex64(0n)} ${hex64(0n)} ${hex64(0n)}`);
      continue;
    }
    lines.push(`${hex64(base)} ${hex64(base + BigInt(size) - 1n)} ${hex64(0x14220cn)}`);
    base += BigInt(size);
    const file = path.join(dir, `resource${i}`);
    if (i === 2 && d.bar2File) fs.symlinkSync(d.bar2File, file);
    else {
      fs.writeFileSync(file, '');
      fs.truncateSync(file, size);
    }
  }
  if (!d.noResourceFile) fs.writeFileSync(path.join(dir, 'resource'), lines.join('\n') + '\n');
  return dir;
}

export function addIvshmem(sysfs: string, address: string, size = 1 << 20, extra: Partial<FakePciDevice> = {}): string {
  return addPciDevice(sysfs, { address, vendor: 0x1af4, device: 0x1110, bars: { 0: 256, 2: size }, ...extra });
}

export function addVirtioPort(sysfs: string, devDir: string, id: string, name: string | null, target?: string): void {
  const dir = path.join(sysfs, 'class', 'virtio-ports', id);
  fs.mkdirSync(dir, { recursive: true });
  if (name !== null) fs.writeFileSync(path.join(dir, 'name'), `${name}\n`);
  if (target) {
    fs.mkdirSync(devDir, { recursive: true });
    fs.symlinkSync(target, path.join(devDir, id));
  }
}

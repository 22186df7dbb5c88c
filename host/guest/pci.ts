/**
 * Find the LPC window inside the guest: BAR2 of the ivshmem-plain PCI device
 * (1af4:1110) that QEMU backs with the BMC's window file. No driver binds it,
 * so the agent enables the device through sysfs and maps `resource2`
 * (mapped-window.ts). The sysfs root is a parameter so tests can point it at
 * a fake tree.
 */
import fs from 'node:fs';
import path from 'node:path';

export const IVSHMEM_VENDOR_ID = 0x1af4;
export const IVSHMEM_DEVICE_ID = 0x1110;
/** ivshmem-plain puts the shared memory in BAR2. */
export const IVSHMEM_SHM_BAR = 2;

export type PciDiscoveryErrorCode = 'ENODEV' | 'EAMBIGUOUS' | 'EBAR' | 'EENABLE';

export class PciDiscoveryError extends Error {
  constructor(
    readonly code: PciDiscoveryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PciDiscoveryError';
  }
}

export interface IvshmemBar {
  /** PCI address, e.g. 0000:00:04.0. */
  address: string;
  /** The device's sysfs directory. */
  dir: string;
  /** The file to map: <dir>/resource2. */
  resourcePath: string;
  /** BAR size in bytes. */
  size: number;
  /** The device was disabled and this call enabled it. */
  enabledNow: boolean;
}

export interface FindIvshmemOptions {
  /** sysfs mount point (default /sys). */
  sysfs?: string;
  /** Pick this PCI address when there are several ivshmem devices. */
  address?: string;
  /** Among several devices, keep those whose BAR2 has this size (the window size). */
  size?: number;
  /** Enable the device if it is disabled (default true). */
  enable?: boolean;
}

function readHexId(file: string): number | null {
  try {
    return Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 16);
  } catch {
    return null;
  }
}

/** The ivshmem devices under <sysfs>/bus/pci/devices, in address order. */
export function listIvshmemDevices(sysfs = '/sys'): { address: string; dir: string }[] {
  const root = path.join(sysfs, 'bus', 'pci', 'devices');
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch (err) {
    throw new PciDiscoveryError('ENODEV', `cannot list PCI devices in ${root}: ${(err as Error).message}; is sysfs mounted?`);
  }
  return names
    .sort()
    .map((address) => ({ address, dir: path.join(root, address) }))
    .filter(
      ({ dir }) =>
        readHexId(path.join(dir, 'vendor')) === IVSHMEM_VENDOR_ID && readHexId(path.join(dir, 'device')) === IVSHMEM_DEVICE_ID,
    );
}

/**
 * Size of BAR `bar` from the device's `resource` file (one line per resource:
 * start, end, flags), or from the size of the `resourceN` file, which sysfs
 * sets to the BAR size. 0 if the BAR is not assigned.
 */
export function barSize(dir: string, bar: number): number {
  try {
    const line = fs.readFileSync(path.join(dir, 'resource'), 'utf8').split('\n')[bar];
    const [start, end] = (line ?? '').trim().split(/\s+/).map((s) => BigInt(s));
    if (start !== undefined && end !== undefined) return end > start ? Number(end - start + 1n) : 0;
  } catch {
    // fall back to the resource file's size
  }
  try {
    return fs.statSync(path.join(dir, `resource${bar}`)).size;
  } catch {
    return 0;
  }
}

/** Enable memory decoding, as a driver's pci_enable_device() would. Writes only if needed: each write takes a reference. */
function enableDevice(dir: string, address: string): boolean {
  const file = path.join(dir, 'enable');
  let current: string;
  try {
    current = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new PciDiscoveryError('EENABLE', `cannot read ${file}: ${(err as Error).message}`);
  }
  if (current !== '0') return false;
  try {
    fs.writeFileSync(file, '1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A bound driver (say uio_pci_generic) has enabled it already.
    if (code === 'EBUSY') return false;
    const hint = code === 'EPERM' || code === 'EACCES' ? ': run the agent as root (it needs CAP_SYS_ADMIN)' : '';
    throw new PciDiscoveryError('EENABLE', `cannot enable PCI device ${address} (write 1 to ${file}): ${(err as Error).message}${hint}`);
  }
  return true;
}

/** Find the ivshmem device, enable it, and say what to map. */
export function findIvshmemBar(opts: FindIvshmemOptions = {}): IvshmemBar {
  const sysfs = opts.sysfs ?? '/sys';
  const all = listIvshmemDevices(sysfs);
  if (all.length === 0) {
    throw new PciDiscoveryError(
      'ENODEV',
      `no ivshmem device (${IVSHMEM_VENDOR_ID.toString(16)}:${IVSHMEM_DEVICE_ID.toString(16)}) in ${path.join(sysfs, 'bus/pci/devices')}: is QEMU started with -device ivshmem-plain?`,
    );
  }
  const sized = all.map((d) => ({ ...d, size: barSize(d.dir, IVSHMEM_SHM_BAR) }));
  const describe = (list: typeof sized): string => list.map((d) => `${d.address} (BAR2 ${d.size} bytes)`).join(', ');
  let pick: (typeof sized)[number];
  if (opts.address !== undefined) {
    const found = sized.find((d) => d.address === opts.address);
    if (!found) throw new PciDiscoveryError('ENODEV', `PCI device ${opts.address} is not an ivshmem device; found: ${describe(sized)}`);
    pick = found;
  } else {
    const fits = opts.size === undefined ? sized : sized.filter((d) => d.size === opts.size);
    if (fits.length === 0) {
      throw new PciDiscoveryError('EBAR', `no ivshmem device has a ${opts.size}-byte BAR2; found: ${describe(sized)}`);
    }
    if (fits.length > 1) {
      throw new PciDiscoveryError('EAMBIGUOUS', `several ivshmem devices fit: ${describe(fits)}; choose one by PCI address`);
    }
    pick = fits[0]!;
  }
  const resourcePath = path.join(pick.dir, `resource${IVSHMEM_SHM_BAR}`);
  if (pick.size === 0 || !fs.existsSync(resourcePath)) {
    throw new PciDiscoveryError('EBAR', `ivshmem device ${pick.address} has no BAR2 (${resourcePath}): was it given a memdev?`);
  }
  const enabledNow = opts.enable === false ? false : enableDevice(pick.dir, pick.address);
  return { address: pick.address, dir: pick.dir, resourcePath, size: pick.size, enabledNow };
}

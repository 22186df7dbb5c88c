/**
 * Find the guest's virtio-serial port that carries the KCS wire. QEMU names
 * ports (`-device virtserialport,name=bmcemu.kcs.3`); the guest's
 * virtio_console driver publishes the name in
 * /sys/class/virtio-ports/vportNpM/name and the device as /dev/vportNpM.
 * Roots are parameters so tests can use fake trees.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CharDeviceLink, type CharDeviceLinkOptions } from './char-device-link.js';

/** The launcher's name for the port carrying the MCTP KCS channel (channel 3). */
export const DEFAULT_KCS_PORT_NAME = 'bmcemu.kcs.3';

export class VirtioPortError extends Error {
  constructor(
    readonly code: 'ENODEV' | 'ENOENT',
    message: string,
  ) {
    super(message);
    this.name = 'VirtioPortError';
  }
}

export interface VirtioPort {
  name: string;
  /** The kernel's port id, e.g. vport0p1. */
  id: string;
  /** The character device, e.g. /dev/vport0p1. */
  devPath: string;
}

export interface FindVirtioPortOptions {
  /** sysfs mount point (default /sys). */
  sysfs?: string;
  /** Where device nodes live (default /dev). */
  devDir?: string;
}

/** Every named virtio port: name -> id (ports without a name are skipped). */
export function listVirtioPorts(sysfs = '/sys'): { name: string; id: string }[] {
  const root = path.join(sysfs, 'class', 'virtio-ports');
  let ids: string[];
  try {
    ids = fs.readdirSync(root).sort();
  } catch {
    return [];
  }
  const ports: { name: string; id: string }[] = [];
  for (const id of ids) {
    try {
      const name = fs.readFileSync(path.join(root, id, 'name'), 'utf8').trim();
      if (name) ports.push({ name, id });
    } catch {
      // no name attribute: an unnamed port
    }
  }
  return ports;
}

export function findVirtioPort(name: string = DEFAULT_KCS_PORT_NAME, opts: FindVirtioPortOptions = {}): VirtioPort {
  const sysfs = opts.sysfs ?? '/sys';
  const ports = listVirtioPorts(sysfs);
  const port = ports.find((p) => p.name === name);
  if (!port) {
    const seen = ports.length ? `named ports: ${ports.map((p) => `${p.id}=${p.name}`).join(', ')}` : 'no named ports';
    throw new VirtioPortError(
      'ENODEV',
      `no virtio-serial port named ${name} in ${path.join(sysfs, 'class/virtio-ports')} (${seen}): is QEMU started with -device virtio-serial-pci -device virtserialport,chardev=...,name=${name}?`,
    );
  }
  const devPath = path.join(opts.devDir ?? '/dev', port.id);
  if (!fs.existsSync(devPath)) {
    throw new VirtioPortError('ENOENT', `virtio port ${name} is ${port.id}, but ${devPath} does not exist: is devtmpfs mounted on ${opts.devDir ?? '/dev'}?`);
  }
  return { name, id: port.id, devPath };
}

/** Open a found port as a ByteLink for the KCS wire. */
export function openVirtioPort(port: VirtioPort, opts: Omit<CharDeviceLinkOptions, 'path' | 'readPath' | 'writePath'> = {}): CharDeviceLink {
  try {
    return new CharDeviceLink({ ...opts, path: port.devPath });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'EBUSY' ? ': another process has the port open (is a second agent running?)' : '';
    throw new Error(`cannot open virtio port ${port.name} (${port.devPath}): ${(err as Error).message}${hint}`, { cause: err });
  }
}

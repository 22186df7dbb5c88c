/**
 * The guest agent's two devices, found and opened: the LPC window (BAR2 of
 * the ivshmem device, mapped — or a file given explicitly, outside a guest)
 * and the KCS wire (the named virtio-serial port — or a character device
 * given explicitly). A device that is merely absent is looked for again
 * until `waitMs` has passed (the guest may still be probing it; a port's
 * name arrives from QEMU asynchronously); any other failure is final at once.
 * sysfs has no events to wait on, so this one wait polls.
 */
import { systemClock, type Clock } from '../../lib/clock.js';
import { delay } from '../../lib/wait.js';
import { CharDeviceLink } from './char-device-link.js';
import { MappedWindow } from './mapped-window.js';
import { findIvshmemBar, PciDiscoveryError } from './pci.js';
import { findVirtioPort, openVirtioPort, VirtioPortError } from './virtio-port.js';

/** Between two looks at sysfs for a device that is not there yet. */
export const DEVICE_POLL_MS = 250;

export interface GuestDeviceOptions {
  /** sysfs mount point. */
  sysfs: string;
  /** Device node directory. */
  dev: string;
  /** The virtio-serial port carrying the KCS wire. */
  portName: string;
  /** Use this character device as the KCS wire instead of looking the port up. */
  kcsPort?: string | undefined;
  /** The ivshmem device to use when there are several. */
  pciDevice?: string | undefined;
  /** Map this file as the LPC window instead of the ivshmem BAR. */
  window?: string | undefined;
  windowSize: number;
  /** Longest interval between polls of the idle KCS port. */
  idlePollMs: number;
  /** How long to wait for an absent device. */
  waitMs: number;
  clock?: Clock;
  /** Told once per device that is absent at first, before waiting for it. */
  onWaiting?: (what: string, waitMs: number) => void;
  /** Gives up the wait (the promise rejects); what was opened is closed. */
  signal?: AbortSignal;
}

export interface GuestDevices {
  window: MappedWindow;
  kcs: CharDeviceLink;
  /** For the "started" line: `ivshmem 0000:00:04.0 BAR2 (enabled it)`, or the file. */
  windowDesc: string;
  /** For the "started" line: `/dev/vport0p1 (bmcemu.kcs.3)`, or the device. */
  kcsDesc: string;
  close(): void;
}

export async function openGuestDevices(opts: GuestDeviceOptions): Promise<GuestDevices> {
  const clock = opts.clock ?? systemClock;
  let window: MappedWindow | undefined;
  try {
    let windowDesc: string;
    if (opts.window) {
      window = MappedWindow.open(opts.window, opts.windowSize);
      windowDesc = opts.window;
    } else {
      const bar = await waitForDevice(
        () => findIvshmemBar({ sysfs: opts.sysfs, size: opts.windowSize, ...(opts.pciDevice ? { address: opts.pciDevice } : {}) }),
        'the ivshmem device',
        opts,
        clock,
      );
      window = MappedWindow.open(bar.resourcePath, opts.windowSize);
      windowDesc = `ivshmem ${bar.address} BAR2${bar.enabledNow ? ' (enabled it)' : ''}`;
    }

    let kcs: CharDeviceLink;
    let kcsDesc: string;
    if (opts.kcsPort) {
      kcs = new CharDeviceLink({ path: opts.kcsPort, polling: { idleMaxMs: opts.idlePollMs } });
      kcsDesc = opts.kcsPort;
    } else {
      const port = await waitForDevice(() => findVirtioPort(opts.portName, { sysfs: opts.sysfs, devDir: opts.dev }), `virtio port ${opts.portName}`, opts, clock);
      kcs = openVirtioPort(port, { polling: { idleMaxMs: opts.idlePollMs } });
      kcsDesc = `${port.devPath} (${port.name})`;
    }
    const opened = window;
    return {
      window: opened,
      kcs,
      windowDesc,
      kcsDesc,
      close() {
        kcs.close();
        opened.close();
      },
    };
  } catch (err) {
    window?.close();
    throw err;
  }
}

function isAbsent(err: unknown): boolean {
  return (err instanceof PciDiscoveryError || err instanceof VirtioPortError) && (err.code === 'ENODEV' || err.code === 'ENOENT');
}

async function waitForDevice<T>(find: () => T, what: string, opts: GuestDeviceOptions, clock: Clock): Promise<T> {
  const deadline = clock.now() + opts.waitMs;
  let told = false;
  for (;;) {
    try {
      return find();
    } catch (err) {
      if (!isAbsent(err) || clock.now() >= deadline) throw err;
      if (!told) opts.onWaiting?.(what, opts.waitMs);
      told = true;
      await delay(DEVICE_POLL_MS, { clock, ...(opts.signal ? { signal: opts.signal } : {}) });
    }
  }
}

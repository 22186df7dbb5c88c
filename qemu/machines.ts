/**
 * The machines bmcemu boots as "the host", as data: which devices, which
 * wires, which files. cmdline.ts turns a MachineSpec into QEMU's argv.
 *
 * The x86 host (q35; TCG unless KVM proves usable):
 *
 *   ttyS0 (COM1)      -serial chardev:console   → <rt>/host-console.sock  BMC listens (VUART host side / console log)
 *   ttyS1 (COM2)      -serial chardev:mctp-serial → <rt>/mctp-serial.sock BMC listens (MCTP serial binding, DSP0253)
 *   virtio-serial port "bmcemu.kcs.3"          → <rt>/kcs-mctp.sock      BMC listens (KCS wire, docs/kcs-wire.md)
 *   ivshmem-plain BAR2 ← memory-backend-file   ← <rt>/lpc-fw-window      shared file (docs/lpc-window.md)
 *   virtio-9p "hostroot"                       ← / (read-only)           the guest's root for the host agent
 *   QMP                                        → <rt>/qmp.sock           QEMU listens (server=on,wait=off)
 *   [isa-ipmi-kcs + ipmi-bmc-extern]           → <rt>/ipmi.sock          BMC listens (optional, off by default)
 *
 * Every path is inside the instance's runtime directory, so instances never
 * share a file. Byte wires are QEMU-as-client (reconnect every second): the
 * BMC owns its sockets for its whole life, QEMU comes and goes with host
 * power, and a BMC restart is survived by QEMU reconnecting. QMP is the one
 * socket QEMU serves, because it is QEMU's own control channel and exists
 * exactly as long as QEMU does.
 */
import path from 'node:path';
import {
  HOST_CONSOLE_SOCKET,
  IPMI_SOCKET,
  KCS_MCTP_SOCKET,
  LPC_FW_WINDOW_FILENAME,
  MCTP_SERIAL_SOCKET,
  QMP_SOCKET,
} from '../transport/runtime-files.js';
import type { OnExit } from '../images/guest-init.js';
import type { MachineSpec } from './cmdline.js';

/** The virtio-serial port name the guest agent looks for in /sys/class/virtio-ports/<port>/name. */
export const KCS_PORT_NAME = 'bmcemu.kcs.3';
/** The 9p mount tag of the host root. */
export const HOST_ROOT_TAG = 'hostroot';
/** Size of the LPC FW window (a power of two: it is a PCI BAR). */
export const LPC_WINDOW_BYTES = 1 << 20;
/** x86 COMMAND_LINE_SIZE, including the terminating NUL. */
export const KERNEL_CMDLINE_MAX = 2048;

export interface HostPaths {
  runtimeDir: string;
  console: string;
  mctpSerial: string;
  kcs: string;
  window: string;
  qmp: string;
  ipmi: string;
}

export function hostPaths(runtimeDir: string): HostPaths {
  const p = (f: string): string => path.join(runtimeDir, f);
  return {
    runtimeDir,
    console: p(HOST_CONSOLE_SOCKET),
    mctpSerial: p(MCTP_SERIAL_SOCKET),
    kcs: p(KCS_MCTP_SOCKET),
    window: p(LPC_FW_WINDOW_FILENAME),
    qmp: p(QMP_SOCKET),
    ipmi: p(IPMI_SOCKET),
  };
}

export interface GuestBootOptions {
  /** A /bin/sh -c command run in the host root (chrooted) once it is mounted. */
  command?: string;
  /** What init does when the command exits (default 'shell'). */
  onExit?: OnExit;
  /** Directories of the host root to cover with a writable tmpfs in the guest (e.g. ['/tmp']). */
  tmpfs?: string[];
  /** 9p cache mode for the host root (default 'loose': the export is read-only). */
  rootCache?: 'loose' | 'none' | 'mmap' | 'fscache';
  /** Kernel messages on the console: 'quiet' (warnings and errors, default) or 'verbose'. */
  kernelLog?: 'quiet' | 'verbose';
  /** More kernel parameters, appended. */
  extraKernelArgs?: string[];
}

/** The kernel command line for the x86 host image (images/guest-init.ts reads the bmcemu.* ones). */
export function x86GuestCmdline(opts: GuestBootOptions = {}): string {
  const args = ['console=ttyS0,115200'];
  if ((opts.kernelLog ?? 'quiet') === 'quiet') args.push('quiet');
  // A panicking guest stops rather than rebooting in a loop; its last words stay on the console.
  args.push('panic=0');
  if (opts.command !== undefined) {
    if (opts.command.trim() === '') throw new RangeError('guest command is empty');
    args.push(`bmcemu.cmd=${Buffer.from(opts.command, 'utf8').toString('base64')}`);
  }
  if (opts.onExit) args.push(`bmcemu.on_exit=${opts.onExit}`);
  if (opts.tmpfs?.length) {
    for (const d of opts.tmpfs) {
      if (!/^\/[A-Za-z0-9._/-]*$/.test(d) || d.split('/').includes('..')) throw new RangeError(`bad guest tmpfs directory "${d}"`);
    }
    args.push(`bmcemu.tmpfs=${opts.tmpfs.join(',')}`);
  }
  if (opts.rootCache) args.push(`bmcemu.9p_cache=${opts.rootCache}`);
  for (const a of opts.extraKernelArgs ?? []) {
    if (/\s/.test(a) || a === '') throw new RangeError(`kernel argument "${a}" must be one word`);
    args.push(a);
  }
  const line = args.join(' ');
  if (line.length >= KERNEL_CMDLINE_MAX) {
    throw new RangeError(`kernel command line is ${line.length} bytes, over the ${KERNEL_CMDLINE_MAX - 1}-byte x86 limit (is the guest command too long?)`);
  }
  return line;
}

export interface X86HostOptions {
  runtimeDir: string;
  /** Instance name, for -name (default: the runtime directory's base name). */
  instance?: string;
  image: { kernel: string; initrd: string };
  accel: 'tcg' | 'kvm';
  guest?: GuestBootOptions;
  /** 'q35' (default: ICH9 with an LPC bridge, like a real server board) or 'pc'. */
  machine?: 'q35' | 'pc';
  memoryMiB?: number;
  smp?: number;
  binary?: string;
  /** Export this directory as the guest's root (default '/'). */
  hostRoot?: string;
  /** Give the guest the MCTP serial port on ttyS1 (default true). */
  mctpSerial?: boolean;
  /** Add isa-ipmi-kcs + ipmi-bmc-extern on <rt>/ipmi.sock (default false: no BMC IPMI service yet). */
  ipmi?: boolean;
  /** Start with vCPUs stopped (default true; HostPower sends `cont` once attached). */
  startPaused?: boolean;
}

export const X86_QEMU_BINARY = 'qemu-system-x86_64';

export function x86HostMachine(opts: X86HostOptions): MachineSpec {
  const paths = hostPaths(opts.runtimeDir);
  const instance = opts.instance ?? path.basename(opts.runtimeDir);
  const spec: MachineSpec = {
    binary: opts.binary ?? X86_QEMU_BINARY,
    name: `bmcemu-host-${instance}`,
    machine: opts.machine ?? 'q35',
    accel: opts.accel,
    // TCG: everything TCG can emulate; KVM: the real CPU.
    cpu: opts.accel === 'kvm' ? 'host' : 'max',
    memoryMiB: opts.memoryMiB ?? 512,
    smp: opts.smp ?? 1,
    kernel: { kernel: opts.image.kernel, initrd: opts.image.initrd, append: x86GuestCmdline(opts.guest) },
    chardevs: [
      { id: 'qmp', path: paths.qmp, qemuRole: 'server' },
      { id: 'console', path: paths.console, qemuRole: 'client' },
    ],
    serials: ['console'],
    objects: [],
    devices: [],
    virtfs: [
      {
        path: opts.hostRoot ?? '/',
        mountTag: HOST_ROOT_TAG,
        securityModel: 'none',
        readonly: true,
        multidevsRemap: true,
      },
    ],
    qmp: 'qmp',
    startPaused: opts.startPaused ?? true,
  };
  if (opts.mctpSerial ?? true) {
    spec.chardevs.push({ id: 'mctp-serial', path: paths.mctpSerial, qemuRole: 'client' });
    spec.serials.push('mctp-serial');
  }
  // KCS wire on a named virtio-serial port.
  spec.chardevs.push({ id: 'kcs3', path: paths.kcs, qemuRole: 'client' });
  spec.devices.push(
    { driver: 'virtio-serial-pci', props: { id: 'vser0' } },
    { driver: 'virtserialport', props: { bus: 'vser0.0', chardev: 'kcs3', name: KCS_PORT_NAME } },
  );
  // LPC FW window: the shared file as ivshmem BAR2. share=on is essential (docs/lpc-window.md).
  spec.objects.push({
    type: 'memory-backend-file',
    id: 'lpcfw',
    props: { share: true, 'mem-path': paths.window, size: LPC_WINDOW_BYTES },
  });
  spec.devices.push({ driver: 'ivshmem-plain', props: { id: 'lpcfw0', memdev: 'lpcfw' } });
  if (opts.ipmi) {
    spec.chardevs.push({ id: 'ipmi', path: paths.ipmi, qemuRole: 'client' });
    spec.devices.push(
      { driver: 'ipmi-bmc-extern', props: { id: 'bmc0', chardev: 'ipmi' } },
      { driver: 'isa-ipmi-kcs', props: { bmc: 'bmc0' } },
    );
  }
  return spec;
}

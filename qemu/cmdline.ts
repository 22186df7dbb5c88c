/**
 * QEMU command-line syntax: turns a MachineSpec (plain data, see
 * machines.ts) into argv for a given QEMU version. Everything that depends
 * on QEMU's option grammar or on its version lives here and nowhere else:
 * comma escaping, the chardev reconnect spelling, UNIX socket path limits.
 * A spec it cannot express is refused with QemuError ERR_QEMU_CMDLINE
 * before anything is started.
 */
import { QemuError } from './errors.js';

export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
}

/** "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)" → 7.2.22 */
export function parseQemuVersion(text: string): QemuVersion {
  const m = /version\s+(\d+)\.(\d+)(?:\.(\d+))?/i.exec(text);
  if (!m) throw new QemuError('ERR_QEMU_VERSION', `cannot parse a QEMU version from: ${text.split('\n')[0]}`);
  return { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3] ?? 0) };
}

export function versionAtLeast(v: QemuVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** A chardev socket on a UNIX path. */
export interface ChardevSocketSpec {
  id: string;
  path: string;
  /**
   * Who listens. 'client': QEMU connects to a server the BMC runs, retrying
   * every second (reconnect), so the BMC may start before or after QEMU and
   * may restart. 'server': QEMU listens (never waits for a client at start).
   * Both avoid QEMU 7.2's start-up crash with ipmi-bmc-extern, which needs a
   * chardev that is not yet connected when the device is realised.
   */
  qemuRole: 'client' | 'server';
}

export interface DeviceSpec {
  driver: string;
  props?: Record<string, string | number | boolean>;
}

export interface ObjectSpec {
  type: string;
  id: string;
  props?: Record<string, string | number | boolean>;
}

export interface VirtfsSpec {
  path: string;
  mountTag: string;
  securityModel: 'none' | 'mapped-xattr' | 'passthrough';
  readonly: boolean;
  /** Remap inode numbers of files on other host devices (the export spans mounts). */
  multidevsRemap: boolean;
}

export interface MachineSpec {
  /** The QEMU binary (name on PATH or a path). */
  binary: string;
  /** -name: shows in ps and in QMP. */
  name: string;
  machine: string;
  accel: 'tcg' | 'kvm';
  cpu: string;
  memoryMiB: number;
  smp: number;
  kernel?: { kernel: string; initrd?: string; append: string };
  chardevs: ChardevSocketSpec[];
  /** Chardev ids of the 16550 serial ports, in order: ttyS0, ttyS1, ... */
  serials: string[];
  objects: ObjectSpec[];
  devices: DeviceSpec[];
  virtfs: VirtfsSpec[];
  /** Chardev id of the QMP monitor (must be a qemuRole 'server' chardev). */
  qmp: string;
  /** Start with the vCPUs stopped (-S): the launcher attaches, then sends `cont`. */
  startPaused: boolean;
  /** Arguments appended verbatim (escape hatch; avoid). */
  extraArgs?: string[];
}

/** Linux sun_path holds 108 bytes including the terminating NUL. */
export const UNIX_PATH_MAX = 107;

function cmdlineError(message: string): QemuError {
  return new QemuError('ERR_QEMU_CMDLINE', message);
}

/** QEMU's option parser splits on ','; a literal comma in a value is written ',,'. */
export function escapeOptValue(v: string): string {
  return v.replace(/,/g, ',,');
}

function checkId(id: string): string {
  // QEMU ids: a letter, then letters, digits, '-', '.', '_'.
  if (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(id)) throw cmdlineError(`invalid QEMU id "${id}"`);
  return id;
}

function checkSocketPath(p: string, what: string): string {
  if (Buffer.byteLength(p) > UNIX_PATH_MAX) {
    throw cmdlineError(
      `${what} socket path is ${Buffer.byteLength(p)} bytes, over the ${UNIX_PATH_MAX}-byte limit of UNIX sockets: ${p}; ` +
        'use a shorter runtime directory',
    );
  }
  return p;
}

function props(p: Record<string, string | number | boolean> | undefined): string {
  if (!p) return '';
  return Object.entries(p)
    .map(([k, v]) => `,${k}=${typeof v === 'boolean' ? (v ? 'on' : 'off') : escapeOptValue(String(v))}`)
    .join('');
}

/** The -chardev value for a socket chardev, spelled for this QEMU version. */
export function chardevArg(c: ChardevSocketSpec, version: QemuVersion): string {
  const base = `socket,id=${checkId(c.id)},path=${escapeOptValue(checkSocketPath(c.path, `chardev ${c.id}`))}`;
  if (c.qemuRole === 'server') return `${base},server=on,wait=off`;
  // reconnect-ms arrived in 9.2, and plain reconnect (seconds) was removed in 10.2.
  return versionAtLeast(version, 9, 2) ? `${base},reconnect-ms=1000` : `${base},reconnect=1`;
}

export function buildQemuArgv(spec: MachineSpec, version: QemuVersion): string[] {
  const chardevIds = new Set<string>();
  for (const c of spec.chardevs) {
    if (chardevIds.has(c.id)) throw cmdlineError(`duplicate chardev id "${c.id}"`);
    chardevIds.add(c.id);
  }
  const needChardev = (id: string, what: string): string => {
    if (!chardevIds.has(id)) throw cmdlineError(`${what} refers to unknown chardev "${id}"`);
    return id;
  };
  const qmpDev = spec.chardevs.find((c) => c.id === spec.qmp);
  if (!qmpDev) throw cmdlineError(`QMP refers to unknown chardev "${spec.qmp}"`);
  if (qmpDev.qemuRole !== 'server') throw cmdlineError('the QMP chardev must be a server (QEMU listens, bmcemu connects)');

  const argv: string[] = [
    '-name',
    `${escapeOptValue(spec.name)},debug-threads=on`,
    '-machine',
    spec.machine,
    '-accel',
    spec.accel,
    '-cpu',
    spec.cpu,
    '-m',
    `${spec.memoryMiB}M`,
    '-smp',
    String(spec.smp),
    // No default devices, no config files from /etc/qemu, no display, no
    // stdio: every device and wire is on this command line.
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
  ];
  if (spec.startPaused) argv.push('-S');
  if (spec.kernel) {
    argv.push('-kernel', spec.kernel.kernel);
    if (spec.kernel.initrd) argv.push('-initrd', spec.kernel.initrd);
    argv.push('-append', spec.kernel.append);
  }
  for (const c of spec.chardevs) argv.push('-chardev', chardevArg(c, version));
  argv.push('-mon', `chardev=${spec.qmp},mode=control`);
  for (const s of spec.serials) argv.push('-serial', `chardev:${needChardev(s, 'serial port')}`);
  for (const o of spec.objects) argv.push('-object', `${o.type},id=${checkId(o.id)}${props(o.props)}`);
  for (const d of spec.devices) {
    if (typeof d.props?.chardev === 'string') needChardev(d.props.chardev, `device ${d.driver}`);
    argv.push('-device', `${d.driver}${props(d.props)}`);
  }
  for (const v of spec.virtfs) {
    argv.push(
      '-virtfs',
      `local,path=${escapeOptValue(v.path)},mount_tag=${escapeOptValue(v.mountTag)},security_model=${v.securityModel}` +
        `${v.readonly ? ',readonly=on' : ''}${v.multidevsRemap ? ',multidevs=remap' : ''}`,
    );
  }
  if (spec.extraArgs) argv.push(...spec.extraArgs);
  return argv;
}

/** argv as one shell-pasteable line (for logs and docs). */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

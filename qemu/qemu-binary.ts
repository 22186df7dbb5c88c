/**
 * Which QEMU will run, and which version it is: the binary a MachineSpec
 * names, resolved on PATH, and its `--version`, asked once per binary (the
 * answer only changes when QEMU is reinstalled, and asking costs a process).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { parseQemuVersion, type QemuVersion } from './cmdline.js';
import { QemuError } from './errors.js';
import { whichSync } from './which.js';

export interface QemuBinary {
  /** The executable's path. */
  path: string;
  version: QemuVersion;
  /** The first line of `--version`, for logs ("QEMU emulator version 7.2.22 (Debian ...)"). */
  versionText: string;
}

/** The install hint for a missing QEMU binary. */
export function qemuMissingMessage(binary: string): string {
  return (
    `${binary} not found on PATH. Install QEMU: run scripts/install-system-deps.sh as root ` +
    `(it runs apt-get install qemu-system-x86), or: sudo apt-get install --no-install-recommends qemu-system-x86`
  );
}

const versions = new Map<string, { version: QemuVersion; versionText: string }>();

/** Resolve `binary` (a name on PATH or a path) and read its version; ERR_QEMU_MISSING if it is not there. */
export async function findQemuBinary(binary: string): Promise<QemuBinary> {
  const resolved = binary.includes('/') ? binary : whichSync(binary);
  if (!resolved || !fs.existsSync(resolved)) throw new QemuError('ERR_QEMU_MISSING', qemuMissingMessage(binary));
  let known = versions.get(resolved);
  if (!known) {
    const { stdout } = await promisify(execFile)(resolved, ['--version'], { timeout: 15_000 });
    known = { version: parseQemuVersion(stdout), versionText: stdout.split('\n')[0]!.trim() };
    versions.set(resolved, known);
  }
  return { path: resolved, ...known };
}

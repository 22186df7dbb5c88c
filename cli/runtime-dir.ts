/**
 * Per-instance runtime directories: every socket and the window file of one
 * bmcemu instance live in its own directory, on tmpfs where there is one
 * (QEMU maps the window file; tmpfs keeps it in memory), so several instances
 * run side by side. A pid file claims the directory; a stale claim (its
 * process is gone) is taken over.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { pidAlive } from '../lib/pid-alive.js';
import { PID_FILE } from '../transport/runtime-files.js';
import { CliError } from './errors.js';

/** Where instances live by default: /dev/shm/bmcemu-<uid> (tmpfs), else the temp dir. */
export function defaultRuntimeBase(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const shm = '/dev/shm';
  const base = fs.existsSync(shm) ? shm : os.tmpdir();
  return path.join(base, `bmcemu-${uid}`);
}

export function instanceDir(instance: string, runtimeDir?: string): string {
  if (runtimeDir) return path.resolve(runtimeDir);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(instance) || instance.startsWith('.')) {
    throw new ConfigError(`instance name "${instance}" must be 1-64 letters, digits, '_', '-' or '.' (not starting with '.')`);
  }
  return path.join(process.env.BMCEMU_RUNTIME_BASE ?? defaultRuntimeBase(), instance);
}

export interface ClaimedDir {
  dir: string;
  release(): void;
}

/** Create (0700) and claim the directory for this process; refuse one a live bmcemu holds. */
export function claimRuntimeDir(dir: string): ClaimedDir {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pidPath = path.join(dir, PID_FILE);
  try {
    const pid = Number(fs.readFileSync(pidPath, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
      throw new CliError('ERR_INSTANCE_BUSY', `runtime directory ${dir} is in use by bmcemu pid ${pid}; stop it or choose another --instance`);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.writeFileSync(pidPath, `${process.pid}\n`);
  return {
    dir,
    release() {
      try {
        if (fs.readFileSync(pidPath, 'utf8').trim() === String(process.pid)) fs.rmSync(pidPath);
      } catch {
        /* already gone */
      }
    },
  };
}

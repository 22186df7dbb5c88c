/**
 * Per-instance runtime directories: every socket and the window file of one
 * bmcemu instance live in its own directory, on tmpfs where there is one
 * (QEMU maps the window file; tmpfs keeps it in memory), so several instances
 * run side by side. A pid file claims the directory. An instance sweeps its
 * files out when it exits (release, also from the exit hook of a crash); a
 * claim whose process is gone (killed, or crashed before its sweep) is taken
 * over, and what that process left is cleared and reported, so a new start
 * never silently reuses a dead instance's api.json or sockets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { pidAlive } from '../lib/pid-alive.js';
import {
  API_JSON,
  HOST_CONSOLE_SOCKET,
  IPMI_SOCKET,
  KCS_MCTP_SOCKET,
  LPC_FW_WINDOW_FILENAME,
  MCTP_SERIAL_SOCKET,
  PID_FILE,
  QMP_SOCKET,
} from '../transport/runtime-files.js';
import { CliError } from './errors.js';

/** Where instances live by default: /dev/shm/bmcemu-<uid> (tmpfs), else the temp dir. */
export function defaultRuntimeBase(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const shm = '/dev/shm';
  const base = fs.existsSync(shm) ? shm : os.tmpdir();
  return path.join(base, `bmcemu-${uid}`);
}

/** The instance a command is about: --instance, else $BMCEMU_INSTANCE, else "default". */
export function instanceName(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? (env.BMCEMU_INSTANCE || 'default');
}

export function instanceDir(instance: string, runtimeDir?: string): string {
  if (runtimeDir) return path.resolve(runtimeDir);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(instance) || instance.startsWith('.')) {
    throw new ConfigError(`instance name "${instance}" must be 1-64 letters, digits, '_', '-' or '.' (not starting with '.')`);
  }
  return path.join(process.env.BMCEMU_RUNTIME_BASE ?? defaultRuntimeBase(), instance);
}

/** The sockets an instance's processes listen on (the BMC's wires, QEMU's QMP). */
const SOCKETS = [KCS_MCTP_SOCKET, MCTP_SERIAL_SOCKET, HOST_CONSOLE_SOCKET, QMP_SOCKET, IPMI_SOCKET];

/** api.json and the temporary file it is renamed from (firmware/services/api/server.ts). */
const isApiFile = (name: string): boolean => name === API_JSON || (name.startsWith(`${API_JSON}.`) && name.endsWith('.tmp'));

/**
 * Remove what a running instance keeps in `dir` — sockets (only if they are
 * sockets), api.json, and with `window` the LPC window file — and return the
 * names removed. Captures (capture-*.pcap) are the user's and stay; so does
 * anything else. The pid file is the caller's business.
 */
function removeInstanceFiles(dir: string, window: boolean): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch {
      continue;
    }
    const ours =
      (SOCKETS.includes(name) && st.isSocket()) || (isApiFile(name) && st.isFile()) || (window && name === LPC_FW_WINDOW_FILENAME && st.isFile());
    if (!ours) continue;
    try {
      fs.rmSync(file);
      removed.push(name);
    } catch {
      /* raced with its owner's own cleanup */
    }
  }
  return removed;
}

/** A claim found held by a process that is gone, and what of it was cleared. */
export interface StaleClaim {
  /** The dead holder's pid, or null when the pid file did not hold one. */
  pid: number | null;
  /** The files removed, pid file included. */
  removed: string[];
}

export interface ClaimOptions {
  /**
   * Remove the LPC window file on release. Only when nothing can map it any
   * more: this instance's own QEMU has exited (or dies with us), whereas a
   * host agent in another process (`run --no-host`) may still map it, and a
   * new file would split it from the next BMC (docs/lpc-window.md).
   */
  removeWindow?: boolean;
  /** Remove the directory itself on release when nothing else is left in it (it is ours: the default location). */
  removeDir?: boolean;
}

export interface ClaimedDir {
  dir: string;
  /** A dead instance's leftovers cleared by this claim, for one line of report; null when there were none. */
  stale: StaleClaim | null;
  /**
   * Sweep this instance's files out of the directory, then the pid file
   * (and the directory, with removeDir, if then empty) — only while the claim
   * is still ours. Synchronous and idempotent: it runs after a clean stop and
   * again from the process's exit hook, whatever the exit path.
   */
  release(): void;
}

function readPid(pidPath: string): { found: boolean; pid: number | null } {
  let text: string;
  try {
    text = fs.readFileSync(pidPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { found: false, pid: null };
    throw e;
  }
  const pid = Number(text.trim());
  return { found: true, pid: Number.isInteger(pid) && pid > 0 ? pid : null };
}

/**
 * Create (0700) and claim the directory for this process; refuse one a live
 * bmcemu holds. A claim whose holder is gone is taken over after clearing its
 * sockets and api.json (`stale` says what); its window file is reused in
 * place, as docs/lpc-window.md requires of a BMC restart.
 */
export function claimRuntimeDir(dir: string, opts: ClaimOptions = {}): ClaimedDir {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pidPath = path.join(dir, PID_FILE);
  const held = readPid(pidPath);
  let stale: StaleClaim | null = null;
  if (held.found) {
    if (held.pid !== null && held.pid !== process.pid && pidAlive(held.pid)) {
      throw new CliError('ERR_INSTANCE_BUSY', `runtime directory ${dir} is in use by bmcemu pid ${held.pid}; stop it or choose another --instance`);
    }
    if (held.pid !== process.pid) stale = { pid: held.pid, removed: [PID_FILE, ...removeInstanceFiles(dir, false)] };
  }
  fs.writeFileSync(pidPath, `${process.pid}\n`);
  let released = false;
  return {
    dir,
    stale,
    release() {
      if (released) return;
      released = true;
      try {
        if (readPid(pidPath).pid !== process.pid) return; // taken over: nothing here is ours any more
        removeInstanceFiles(dir, opts.removeWindow ?? false);
        fs.rmSync(pidPath);
        if (opts.removeDir) fs.rmdirSync(dir);
      } catch {
        /* unreadable, gone already, or the directory holds something else (a capture): leave it */
      }
    },
  };
}

/** The one line that says a dead instance's leftovers were cleared. */
export function describeStaleClaim(dir: string, stale: StaleClaim): string {
  const who = stale.pid === null ? 'a bmcemu (unreadable pid file)' : `bmcemu pid ${stale.pid}`;
  return `runtime directory ${dir}: ${who} exited without cleaning up; removed its ${stale.removed.join(', ')}`;
}

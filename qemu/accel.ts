/**
 * TCG or KVM. KVM is used only when a probe proves it works: /dev/kvm can
 * exist and even run trivial real-mode code while a real kernel hangs under
 * it (seen on nested or sandboxed machines: SeaBIOS runs, Linux never prints
 * a line), so the probe boots the actual guest kernel with no root file
 * system under KVM: a working KVM reaches the "VFS: Unable to mount root"
 * panic in well under a second, and -no-reboot turns the panic's reboot into
 * a QEMU exit. No exit within the timeout means KVM is not usable.
 *
 * The answer is remembered in the cache per host boot (boot_id), QEMU
 * binary and kernel, so only the first start after a reboot pays for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isCodedError } from '../lib/errors.js';
import { waitFor } from '../lib/wait.js';
import { guardChild, pdeathsigPrefix } from './process-guard.js';
import { whichSync } from './which.js';

export { whichSync } from './which.js';

export type Accel = 'tcg' | 'kvm';
export type AccelPreference = Accel | 'auto';

export interface KvmProbeResult {
  usable: boolean;
  reason: string;
  /** true when the answer came from the cache file. */
  cached: boolean;
}

export interface KvmProbeOptions {
  qemuBinary: string;
  kernel: string;
  /** Default 5 s: generous for a working KVM (< 1 s), short enough to pay once. */
  timeoutMs?: number;
  /** Where to remember the answer (a JSON file); none = always probe. */
  cacheFile?: string;
  /** For tests: the device to check (default /dev/kvm). */
  kvmDevice?: string;
  /** For tests: probe another accelerator with the same mechanism. */
  accel?: Accel;
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function probeKey(opts: KvmProbeOptions): string {
  let binStat = '';
  try {
    const resolved = opts.qemuBinary.includes('/') ? opts.qemuBinary : whichSync(opts.qemuBinary) ?? opts.qemuBinary;
    const st = fs.statSync(resolved);
    binStat = `${resolved}:${st.size}:${st.mtimeMs}`;
  } catch {
    binStat = opts.qemuBinary;
  }
  return createHash('sha256')
    .update(`${bootId()}\n${binStat}\n${opts.kernel}\n${opts.accel ?? 'kvm'}`)
    .digest('hex')
    .slice(0, 32);
}

/** Is KVM usable for our guest? Never throws; never takes longer than about timeoutMs. */
export async function probeKvm(opts: KvmProbeOptions): Promise<KvmProbeResult> {
  const accel = opts.accel ?? 'kvm';
  if (accel === 'kvm') {
    const dev = opts.kvmDevice ?? '/dev/kvm';
    try {
      fs.accessSync(dev, fs.constants.R_OK | fs.constants.W_OK);
    } catch (e) {
      return { usable: false, reason: `${dev} not accessible (${(e as NodeJS.ErrnoException).code})`, cached: false };
    }
  }
  const key = probeKey(opts);
  if (opts.cacheFile) {
    try {
      const saved = JSON.parse(fs.readFileSync(opts.cacheFile, 'utf8')) as Record<string, { usable: boolean; reason: string }>;
      const hit = saved[key];
      if (hit) return { ...hit, cached: true };
    } catch {
      /* no cache yet */
    }
  }
  const result = await runProbe(opts, accel);
  if (opts.cacheFile) {
    try {
      let saved: Record<string, unknown> = {};
      try {
        saved = JSON.parse(fs.readFileSync(opts.cacheFile, 'utf8')) as Record<string, unknown>;
      } catch {
        /* start afresh */
      }
      saved[key] = result;
      fs.mkdirSync(path.dirname(opts.cacheFile), { recursive: true });
      const tmp = `${opts.cacheFile}.${process.pid}`;
      fs.writeFileSync(tmp, JSON.stringify(saved));
      fs.renameSync(tmp, opts.cacheFile);
    } catch {
      /* caching is an optimisation */
    }
  }
  return { ...result, cached: false };
}

async function runProbe(opts: KvmProbeOptions, accel: Accel): Promise<{ usable: boolean; reason: string }> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const args = [
    '-accel', accel,
    '-cpu', accel === 'kvm' ? 'host' : 'max',
    '-machine', 'q35',
    '-m', '128M',
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', 'stdio',
    '-kernel', opts.kernel,
    '-append', 'console=ttyS0 panic=-1 loglevel=4',
  ];
  let child: ChildProcess;
  try {
    // Under setpriv --pdeathsig too: a probe stuck in a hung KVM must not outlive us.
    const [cmd, ...rest] = [...pdeathsigPrefix(), opts.qemuBinary, ...args];
    child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    guardChild(child);
    // The first error is reported by the wait below; a later one (a failed kill) must not go unhandled.
    child.on('error', () => {});
  } catch (e) {
    return { usable: false, reason: `cannot start ${opts.qemuBinary}: ${(e as Error).message}` };
  }
  let out = '';
  const collect = (b: Buffer): void => {
    if (out.length < 65536) out += b.toString('latin1');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let code: number | null;
  let signal: NodeJS.Signals | null;
  try {
    // 'close', not 'exit': all output has been read by then.
    [code, signal] = await waitFor<[number | null, NodeJS.Signals | null]>(child, 'close', undefined, {
      timeoutMs,
      failOn: ['error'],
      what: `the ${accel.toUpperCase()} probe to exit`,
    });
  } catch (e) {
    if (!isCodedError(e, 'ERR_WAIT_TIMEOUT')) {
      return { usable: false, reason: `cannot start ${opts.qemuBinary}: ${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}` };
    }
    child.kill('SIGKILL');
    // A process stuck in the kernel may outlive SIGKILL for a while; do not
    // let it hold this process open.
    child.unref();
    child.stdout?.destroy();
    child.stderr?.destroy();
    return { usable: false, reason: `a kernel made no progress under ${accel.toUpperCase()} within ${timeoutMs} ms` };
  }
  if (/Kernel panic|VFS: Unable to mount root/.test(out)) return { usable: true, reason: `a kernel booted to its first panic under ${accel.toUpperCase()}` };
  const last = out.trim().split('\n').slice(-2).join(' | ');
  return { usable: false, reason: `QEMU exited (${signal ?? `code ${code}`}) before the kernel ran: ${last || 'no output'}` };
}

/** Resolve a preference to the accelerator to use. */
export async function chooseAccel(
  pref: AccelPreference,
  probe: () => Promise<KvmProbeResult>,
): Promise<{ accel: Accel; reason: string }> {
  if (pref === 'tcg') return { accel: 'tcg', reason: 'TCG requested' };
  if (pref === 'kvm') return { accel: 'kvm', reason: 'KVM requested' };
  const r = await probe();
  return r.usable ? { accel: 'kvm', reason: `KVM: ${r.reason}` } : { accel: 'tcg', reason: `TCG (KVM not usable: ${r.reason})` };
}

/**
 * The x86 host, assembled: the image from the cache (built on first use),
 * the accelerator (KVM only when the probe proves it), the machine spec
 * for this instance's runtime directory, and a HostPower that starts it.
 */
import path from 'node:path';
import { ConfigError } from '../lib/errors.js';
import type { ByteLink } from '../transport/byte-link.js';
import { cacheRoot } from '../images/cache.js';
import { ensureX86HostImage } from '../images/x86-host-image.js';
import { chooseAccel, probeKvm, type Accel, type AccelPreference } from './accel.js';
import { HostPower, type HostPowerOptions } from './host-power.js';
import { X86_QEMU_BINARY, x86HostMachine, type GuestBootOptions, type X86HostOptions } from './machines.js';

export interface X86HostConfig {
  runtimeDir: string;
  instance?: string;
  /** 'auto' (default; env BMCEMU_ACCEL overrides): KVM if the probe proves it, else TCG. */
  accel?: AccelPreference;
  guest?: GuestBootOptions;
  machine?: X86HostOptions['machine'];
  memoryMiB?: number;
  smp?: number;
  ipmi?: boolean;
  mctpSerial?: boolean;
  hostRoot?: string;
  /** Use this kernel/initrd instead of the cached image. */
  image?: { kernel: string; initrd: string };
  cacheDir?: string;
  /** The guest console's other end (default: HostPower serves it). */
  console?: ByteLink;
  /** Image build and accelerator progress lines. */
  onProgress?: (line: string) => void;
  power?: Omit<HostPowerOptions, 'machine' | 'console'>;
}

export function accelPreferenceFromEnv(env: NodeJS.ProcessEnv = process.env): AccelPreference | undefined {
  const v = env.BMCEMU_ACCEL?.toLowerCase();
  if (v === 'tcg' || v === 'kvm' || v === 'auto') return v;
  if (v) throw new ConfigError(`BMCEMU_ACCEL must be tcg, kvm or auto, not "${env.BMCEMU_ACCEL}"`);
  return undefined;
}

export function createX86Host(cfg: X86HostConfig): HostPower {
  const progress = (line: string): void => cfg.onProgress?.(line);
  let accel: Accel | undefined;
  const machine = async () => {
    const image = cfg.image ?? (await ensureX86HostImage({ ...(cfg.cacheDir ? { cacheDir: cfg.cacheDir } : {}), onProgress: progress }));
    if (!accel) {
      const pref = accelPreferenceFromEnv() ?? cfg.accel ?? 'auto';
      const root = cfg.cacheDir ?? cacheRoot();
      const choice = await chooseAccel(pref, () =>
        probeKvm({ qemuBinary: X86_QEMU_BINARY, kernel: image.kernel, cacheFile: path.join(root, 'kvm-probe.json') }),
      );
      accel = choice.accel;
      progress(`accelerator: ${choice.reason}`);
    }
    const opts: X86HostOptions = {
      runtimeDir: cfg.runtimeDir,
      image: { kernel: image.kernel, initrd: image.initrd },
      accel,
      ...(cfg.instance ? { instance: cfg.instance } : {}),
      ...(cfg.guest ? { guest: cfg.guest } : {}),
      ...(cfg.machine ? { machine: cfg.machine } : {}),
      ...(cfg.memoryMiB ? { memoryMiB: cfg.memoryMiB } : {}),
      ...(cfg.smp ? { smp: cfg.smp } : {}),
      ...(cfg.ipmi !== undefined ? { ipmi: cfg.ipmi } : {}),
      ...(cfg.mctpSerial !== undefined ? { mctpSerial: cfg.mctpSerial } : {}),
      ...(cfg.hostRoot ? { hostRoot: cfg.hostRoot } : {}),
    };
    return x86HostMachine(opts);
  };
  return new HostPower({ ...cfg.power, machine, ...(cfg.console ? { console: cfg.console } : {}) });
}

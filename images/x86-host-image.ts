/**
 * The x86_64 host image: a Debian kernel and a busybox initramfs whose /init
 * mounts the machine's root read-only over virtio-9p and runs a command in
 * it (see guest-init.ts). Built from Debian packages only, cached by a hash
 * of everything that goes into it, so only the first run builds.
 *
 * Inputs (all hashed into the cache key): the exact versions of the
 * versioned kernel image package behind linux-image-amd64 and of
 * busybox-static, the generated scripts, the module list, and RECIPE_VERSION
 * (bumped whenever this builder changes what it produces from the same
 * inputs).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  cacheLayout,
  cacheRoot,
  ensureCacheDirs,
  makeBuildDir,
  withCacheLock,
  type CacheLayout,
} from './cache.js';
import { writeNewc, type CpioEntry } from './cpio.js';
import { Apt, aptStateFingerprint, debFileName, extractDeb, type DebPackage } from './debian-packages.js';
import { ImageError, isImageError } from './errors.js';
import {
  INIT_SCRIPT,
  POWER_BUTTON_SCRIPT,
  SHUTDOWN_SCRIPT,
  modulesFile,
  type GuestModule,
} from './guest-init.js';
import { indexModuleFiles, loadOrder, modinfoDepends, readBuiltinModules, readModinfo } from './kmod.js';

/** Bump when the builder's output changes for unchanged inputs. */
export const RECIPE_VERSION = 1;

export const KERNEL_METAPACKAGE = 'linux-image-amd64';
export const BUSYBOX_PACKAGE = 'busybox-static';

/**
 * The modules the guest loads; their dependencies (virtio, virtio_ring,
 * virtio_pci_modern_dev/legacy_dev, 9pnet, netfs, fscache, ipmi_msghandler)
 * are added from the modules' own metadata, in dependency order.
 */
export const X86_GUEST_MODULES: readonly GuestModule[] = [
  { name: 'virtio_pci', required: true }, // PCI transport for every virtio device
  { name: 'virtio_console', required: true }, // virtio-serial: the KCS wire port
  { name: '9pnet_virtio', required: true }, // 9p over virtio
  { name: '9p', required: true }, // the host root file system
  { name: 'ipmi_devintf', required: false }, // /dev/ipmi0 (for ipmi-bmc-extern hosts)
  { name: 'ipmi_si', required: false }, // KCS system interface driver
  { name: 'button', required: false }, // ACPI power button → soft power-off
  { name: 'evdev', required: false }, // /dev/input/event*: what acpid reads
];

export interface X86HostImage {
  /** bzImage */
  kernel: string;
  /** gzip'd newc cpio */
  initrd: string;
  /** uname -r of the kernel, e.g. 6.1.0-56-amd64 */
  kernelVersion: string;
  /** The cache key (hash of the inputs); the image's directory name. */
  key: string;
  dir: string;
  packages: DebPackage[];
  /** Module names in load order, with whether each is required. */
  modules: GuestModule[];
  /** true if this call built the image, false if it came from the cache. */
  built: boolean;
}

export interface EnsureImageOptions {
  /** Cache root (default: BMCEMU_CACHE_DIR, XDG_CACHE_HOME/bmcemu or ~/.cache/bmcemu). */
  cacheDir?: string;
  /** One line per step, for a CLI or a log. */
  onProgress?: (line: string) => void;
  /** Let apt refresh its lists (as root) when a package cannot be found or fetched. Default true. */
  allowAptUpdate?: boolean;
}

interface Manifest {
  key: string;
  recipeVersion: number;
  recipeHash: string;
  kernelVersion: string;
  packages: DebPackage[];
  modules: GuestModule[];
  createdAt: string;
}

const MANIFEST = 'manifest.json';
const KERNEL_FILE = 'vmlinuz';
const INITRD_FILE = 'initrd.img';

/** Everything but the package versions: if only apt's lists are unavailable, an image with the same recipe is still good. */
function recipeHash(): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        recipe: RECIPE_VERSION,
        init: INIT_SCRIPT,
        shutdown: SHUTDOWN_SCRIPT,
        powerButton: POWER_BUTTON_SCRIPT,
        modules: X86_GUEST_MODULES,
      }),
    )
    .digest('hex');
}

/** The cache key for a set of resolved packages. */
export function imageKey(packages: readonly DebPackage[]): string {
  const h = createHash('sha256');
  h.update(recipeHash());
  for (const p of [...packages].sort((a, b) => a.name.localeCompare(b.name))) h.update(`\n${p.name}=${p.version}:${p.architecture}`);
  return `x86-host-${h.digest('hex').slice(0, 16)}`;
}

function readManifest(dir: string): Manifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest;
    if (fs.existsSync(path.join(dir, KERNEL_FILE)) && fs.existsSync(path.join(dir, INITRD_FILE))) return m;
  } catch {
    /* absent or damaged: not an image */
  }
  return undefined;
}

function toImage(dir: string, m: Manifest, built: boolean): X86HostImage {
  return {
    kernel: path.join(dir, KERNEL_FILE),
    initrd: path.join(dir, INITRD_FILE),
    kernelVersion: m.kernelVersion,
    key: m.key,
    dir,
    packages: m.packages,
    modules: m.modules,
    built,
  };
}

/** The newest cached image built from the same recipe (any package versions). */
function newestWithRecipe(layout: CacheLayout): X86HostImage | undefined {
  if (!fs.existsSync(layout.images)) return undefined;
  const want = recipeHash();
  let best: { img: X86HostImage; at: string } | undefined;
  for (const name of fs.readdirSync(layout.images)) {
    const dir = path.join(layout.images, name);
    const m = readManifest(dir);
    if (m && m.recipeHash === want && (!best || m.createdAt > best.at)) best = { img: toImage(dir, m, false), at: m.createdAt };
  }
  return best?.img;
}

/**
 * The kernel and busybox packages apt would pick now. The answer is kept in
 * the cache with a fingerprint of apt's state and reused while that is
 * unchanged, so finding a cached image costs no apt call.
 */
async function resolvePackages(layout: CacheLayout, apt: Apt): Promise<DebPackage[]> {
  const file = path.join(layout.root, 'resolved-x86-host.json');
  const fingerprint = aptStateFingerprint();
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { fingerprint: string; packages: DebPackage[] };
    if (saved.fingerprint === fingerprint && Array.isArray(saved.packages) && saved.packages.length === 2) return saved.packages;
  } catch {
    /* none yet */
  }
  const packages = await apt.resolveWithKernel(KERNEL_METAPACKAGE, [BUSYBOX_PACKAGE]);
  const tmp = `${file}.${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify({ fingerprint, packages }));
  fs.renameSync(tmp, file);
  return packages;
}

/**
 * The x86 host image for the current Debian package versions: from the
 * cache, or built now (downloading what is missing). Safe to call from
 * several processes at once: one builds, the others wait for it.
 */
export async function ensureX86HostImage(opts: EnsureImageOptions = {}): Promise<X86HostImage> {
  const progress = (line: string): void => opts.onProgress?.(line);
  const layout = cacheLayout(opts.cacheDir ? path.resolve(opts.cacheDir) : cacheRoot());
  ensureCacheDirs(layout);
  const apt = new Apt({ onProgress: progress, allowUpdate: opts.allowAptUpdate ?? true });

  let packages: DebPackage[];
  try {
    packages = await resolvePackages(layout, apt);
  } catch (e) {
    // Offline, or apt's lists are gone: an image built earlier from the same
    // recipe is better than no host at all.
    const fallback = isImageError(e) ? newestWithRecipe(layout) : undefined;
    if (!fallback) throw e;
    progress(`cannot resolve package versions (${(e as Error).message.split('\n')[0]}); using cached image ${fallback.key}`);
    return fallback;
  }

  const key = imageKey(packages);
  const dir = path.join(layout.images, key);
  const cached = readManifest(dir);
  if (cached) {
    progress(`x86 host image ${key} (kernel ${cached.kernelVersion}) from the cache`);
    return toImage(dir, cached, false);
  }

  return withCacheLock(
    layout,
    key,
    async () => {
      const again = readManifest(dir);
      if (again) {
        progress(`x86 host image ${key} was built by another process`);
        return toImage(dir, again, false);
      }
      return build(layout, apt, packages, key, dir, progress);
    },
    (pid) => progress(`waiting for process ${pid}, which is building image ${key}`),
  );
}

async function build(
  layout: CacheLayout,
  apt: Apt,
  packages: DebPackage[],
  key: string,
  finalDir: string,
  progress: (line: string) => void,
): Promise<X86HostImage> {
  const t0 = Date.now();
  progress(`building x86 host image ${key}: ${packages.map((p) => `${p.name} ${p.version}`).join(', ')}`);
  const work = makeBuildDir(layout, key);
  try {
    const [kernelPkg, busyboxPkg] = packages as [DebPackage, DebPackage];
    const kernelDeb = await apt.download(kernelPkg, layout.debs, layout.tmp);
    const busyboxDeb = await apt.download(busyboxPkg, layout.debs, layout.tmp);

    progress(`unpacking ${kernelPkg.name}`);
    const kroot = path.join(work, 'kernel');
    await extractDeb(kernelDeb, kroot);
    const broot = path.join(work, 'busybox');
    await extractDeb(busyboxDeb, broot);

    const modRoot = path.join(kroot, 'lib', 'modules');
    const kvers = fs.existsSync(modRoot) ? fs.readdirSync(modRoot) : [];
    if (kvers.length !== 1) {
      throw new ImageError('ERR_IMAGE_CONTENT', `${kernelPkg.name} holds ${kvers.length} module trees under /lib/modules (expected 1)`);
    }
    const kernelVersion = kvers[0]!;
    const vmlinuz = path.join(kroot, 'boot', `vmlinuz-${kernelVersion}`);
    if (!fs.existsSync(vmlinuz)) throw new ImageError('ERR_IMAGE_CONTENT', `${kernelPkg.name} has no /boot/vmlinuz-${kernelVersion}`);
    const busybox = path.join(broot, 'bin', 'busybox');
    if (!fs.existsSync(busybox)) throw new ImageError('ERR_IMAGE_CONTENT', `${busyboxPkg.name} has no /bin/busybox`);

    const modules = resolveModules(path.join(modRoot, kernelVersion), progress);
    progress(`modules in load order: ${modules.list.map((m) => m.name).join(' ')}`);

    const entries: CpioEntry[] = [
      { type: 'char', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
      { type: 'char', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
      ...['proc', 'sys', 'mnt', 'run', 'tmp', 'root', 'var/log'].map((p): CpioEntry => ({ type: 'dir', path: p })),
      { type: 'file', path: 'bin/busybox', data: fs.readFileSync(busybox), mode: 0o755 },
      { type: 'symlink', path: 'bin/sh', target: 'busybox' },
      { type: 'file', path: 'init', data: Buffer.from(INIT_SCRIPT), mode: 0o755 },
      { type: 'file', path: 'etc/bmcemu/modules', data: Buffer.from(modulesFile(modules.list)) },
      { type: 'file', path: 'etc/bmcemu/shutdown', data: Buffer.from(SHUTDOWN_SCRIPT), mode: 0o755 },
      { type: 'file', path: 'etc/acpi/PWRF/00000080', data: Buffer.from(POWER_BUTTON_SCRIPT), mode: 0o755 },
      ...modules.list.map(
        (m): CpioEntry => ({
          type: 'file',
          path: `lib/modules/${kernelVersion}/${m.name}.ko`,
          data: fs.readFileSync(modules.files.get(m.name)!),
        }),
      ),
    ];
    const cpio = writeNewc(entries);
    const initrd = gzipSync(cpio, { level: 9 });

    const out = path.join(work, 'out');
    fs.mkdirSync(out);
    fs.copyFileSync(vmlinuz, path.join(out, KERNEL_FILE));
    fs.writeFileSync(path.join(out, INITRD_FILE), initrd);
    const manifest: Manifest = {
      key,
      recipeVersion: RECIPE_VERSION,
      recipeHash: recipeHash(),
      kernelVersion,
      packages,
      modules: modules.list,
      createdAt: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    // Publish atomically: a reader sees either no image or a complete one.
    // (We hold the lock, so anything already at finalDir is a damaged leftover.)
    fs.rmSync(finalDir, { recursive: true, force: true });
    fs.renameSync(out, finalDir);
    pruneCache(layout, key, progress);
    progress(
      `built x86 host image ${key} in ${((Date.now() - t0) / 1000).toFixed(1)} s ` +
        `(kernel ${kernelVersion}, initrd ${(initrd.length / 1024).toFixed(0)} KiB, ${modules.list.length} modules)`,
    );
    return toImage(finalDir, manifest, true);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The guest modules plus their dependencies, in load order; optional ones the kernel lacks are left out. */
function resolveModules(
  modDir: string,
  progress: (line: string) => void,
): { list: GuestModule[]; files: Map<string, string> } {
  const files = indexModuleFiles(path.join(modDir, 'kernel'));
  const builtin = readBuiltinModules(path.join(modDir, 'modules.builtin'));
  const depsCache = new Map<string, string[]>();
  const depsOf = (name: string): string[] | undefined => {
    const f = files.get(name);
    if (!f) return undefined;
    let d = depsCache.get(name);
    if (!d) {
      d = modinfoDepends(readModinfo(fs.readFileSync(f), f));
      depsCache.set(name, d);
    }
    return d;
  };
  const isBuiltin = (n: string): boolean => builtin.has(n);

  const required = X86_GUEST_MODULES.filter((m) => m.required).map((m) => m.name);
  const requiredOrder = loadOrder(required, depsOf, isBuiltin);
  const list: GuestModule[] = requiredOrder.map((name) => ({ name, required: true }));
  const seen = new Set(requiredOrder);
  for (const m of X86_GUEST_MODULES.filter((x) => !x.required)) {
    let order: string[];
    try {
      order = loadOrder([m.name], depsOf, isBuiltin);
    } catch (e) {
      if (!isImageError(e, 'ERR_IMAGE_MODULES')) throw e;
      progress(`optional module ${m.name} left out: ${e.message}`);
      continue;
    }
    for (const name of order) {
      if (seen.has(name)) continue;
      seen.add(name);
      list.push({ name, required: false });
    }
  }
  return { list, files };
}

/** How many images to keep (the newest; the one just built is always kept). */
export const IMAGES_KEPT = 3;

/**
 * Drop all but the newest IMAGES_KEPT images, and the downloaded packages no
 * kept image was built from. A running QEMU does not need its image files
 * any more (it loaded kernel and initrd at start-up, resets included).
 */
function pruneCache(layout: CacheLayout, keep: string, progress: (line: string) => void): void {
  try {
    const images = fs
      .readdirSync(layout.images)
      .map((name) => ({ name, m: readManifest(path.join(layout.images, name)) }))
      .sort((a, b) => (b.m?.createdAt ?? '').localeCompare(a.m?.createdAt ?? ''));
    const kept = images.filter((i) => i.name === keep || i.m).slice(0, IMAGES_KEPT);
    if (!kept.some((i) => i.name === keep)) kept.push({ name: keep, m: readManifest(path.join(layout.images, keep)) });
    const keptNames = new Set(kept.map((i) => i.name));
    for (const i of images) {
      if (keptNames.has(i.name)) continue;
      fs.rmSync(path.join(layout.images, i.name), { recursive: true, force: true });
      progress(`removed old image ${i.name} from the cache`);
    }
    const debs = new Set(kept.flatMap((i) => i.m?.packages.map(debFileName) ?? []));
    for (const f of fs.readdirSync(layout.debs)) {
      if (f.endsWith('.deb') && !debs.has(f)) fs.rmSync(path.join(layout.debs, f), { force: true });
    }
  } catch (e) {
    progress(`cache clean-up skipped: ${(e as Error).message}`);
  }
}

/**
 * Where bmcemu keeps what it downloads and builds for guests: outside the
 * work tree (a clone stays clean and `git clean` never costs a rebuild), per
 * user, shared by every checkout and every instance.
 *
 *   $BMCEMU_CACHE_DIR                    if set
 *   $XDG_CACHE_HOME/bmcemu               if XDG_CACHE_HOME is set
 *   ~/.cache/bmcemu                      otherwise
 *
 * Layout: `debs/` (downloaded .deb files, kept so a rebuild with a changed
 * init script does not download again), `images/<key>/` (finished images,
 * one directory per input hash, published by an atomic rename), `tmp/`
 * (builds in progress), `locks/`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processClock } from '../lib/clock.js';
import { pidAlive } from '../lib/pid-alive.js';
import { projectDir } from '../lib/project-dir.js';
import { delay } from '../lib/wait.js';
import { ImageError } from './errors.js';


function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The cache root for this user and environment (not created). */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  let root: string;
  if (env.BMCEMU_CACHE_DIR) root = path.resolve(env.BMCEMU_CACHE_DIR);
  else if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) root = path.join(env.XDG_CACHE_HOME, 'bmcemu');
  else root = path.join(env.HOME || os.homedir(), '.cache', 'bmcemu');
  if (isInside(root, projectDir())) {
    throw new ImageError(
      'ERR_IMAGE_CACHE_IN_TREE',
      `the bmcemu cache directory ${root} is inside the project (${projectDir()}); ` +
        'set BMCEMU_CACHE_DIR (or XDG_CACHE_HOME) to a directory outside the work tree',
    );
  }
  return root;
}

export interface CacheLayout {
  root: string;
  debs: string;
  images: string;
  tmp: string;
  locks: string;
}

export function cacheLayout(root: string): CacheLayout {
  return {
    root,
    debs: path.join(root, 'debs'),
    images: path.join(root, 'images'),
    tmp: path.join(root, 'tmp'),
    locks: path.join(root, 'locks'),
  };
}

export function ensureCacheDirs(layout: CacheLayout): void {
  for (const d of [layout.debs, layout.images, layout.tmp, layout.locks]) {
    try {
      fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new ImageError(
        'ERR_IMAGE_CACHE',
        `cannot create the cache directory ${d}: ${(e as Error).message}; set BMCEMU_CACHE_DIR to a writable directory`,
      );
    }
  }
}

/**
 * Run fn while holding a per-name lock shared by every process using this
 * cache (a directory created with mkdir, which is atomic; it holds the
 * owner's pid). Two test files or two `make` runs that want the same image at
 * once then build it once: the second waits and finds it done. A lock whose
 * owner died is taken over.
 */
export async function withCacheLock<T>(
  layout: CacheLayout,
  name: string,
  fn: () => Promise<T>,
  onWait?: (ownerPid: number) => void,
  pollMs = 250,
): Promise<T> {
  const lockDir = path.join(layout.locks, `${name}.lock`);
  const ownerFile = path.join(lockDir, 'pid');
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(ownerFile, `${process.pid}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(ownerFile, 'utf8').trim());
    } catch {
      /* being created or removed right now */
    }
    let stale = Number.isInteger(owner) && owner > 0 && !pidAlive(owner);
    if (!Number.isInteger(owner)) {
      // No pid yet: normal for a moment after mkdir; a lock left like that
      // for long means its creator died between mkdir and writing the pid.
      try {
        stale = Date.now() - fs.statSync(lockDir).mtimeMs > 10_000;
      } catch {
        continue; // removed meanwhile: try again
      }
    }
    if (stale) {
      // The owner died mid-build. Its partial output lives under tmp/ and is
      // never published, so taking over is safe.
      fs.rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!told && Number.isInteger(owner)) {
      onWait?.(owner);
      told = true;
    }
    // processClock: waiting for the other build may be all this process is doing.
    await delay(pollMs, { clock: processClock });
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

/** A fresh private directory under tmp/ for one build; removed by the caller. */
export function makeBuildDir(layout: CacheLayout, prefix: string): string {
  return fs.mkdtempSync(path.join(layout.tmp, `${prefix}-`));
}

/**
 * Loader for native/mmap, the project's only native code (an N-API addon
 * that mmaps a file descriptor with MAP_SHARED; see native/mmap/mmap.c).
 *
 * It is a local package (`@bmcemu/mmap`, a `file:` dependency that npm
 * builds with node-gyp at install). If node_modules does not have it — a
 * checkout where only `node-gyp rebuild` was run in native/mmap — the
 * package directory is found by walking up from this module, which works
 * from the sources (tests) and from dist/ alike.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MmapAddon {
  /** mmap(MAP_SHARED) `length` bytes of `fd` at `offset` (a multiple of pageSize). */
  map(fd: number, length: number, offset?: number, writable?: boolean): ArrayBuffer;
  /** Detach a mapping from map(); the memory is unmapped on the next event-loop turn. */
  unmap(mapping: ArrayBuffer): void;
  readonly pageSize: number;
}

const PACKAGE = '@bmcemu/mmap';
let cached: MmapAddon | null = null;

function findPackageDir(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'native', 'mmap');
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The addon, loaded once. Throws an Error that says how to build it. */
export function loadMmapAddon(): MmapAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    cached = require(PACKAGE) as MmapAddon;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'MODULE_NOT_FOUND') throw err;
    const dir = findPackageDir();
    if (!dir) {
      throw new Error(`the ${PACKAGE} addon is not installed: run "npm ci" in the bmcemu checkout (it builds native/mmap with node-gyp)`, {
        cause: err,
      });
    }
    // native/mmap/index.js itself explains a missing build/ directory.
    cached = require(dir) as MmapAddon;
  }
  return cached;
}

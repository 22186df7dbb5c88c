/**
 * This checkout's root: the nearest directory above the calling module whose
 * package.json is bmcemu's. Works from sources (tap runs them) and from
 * dist/ alike, so files beside the code (web/, dist/, the guest agent's
 * entry point) are found without machine-specific paths.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

export function projectDir(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'bmcemu') return (cached = dir);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the bmcemu checkout above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

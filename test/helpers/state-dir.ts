import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory under the system temp dir, removed when the test ends (a stand-in for an instance's state dir). */
export function stateDir(t: { teardown(fn: () => void): void }, prefix = 'bmcemu-state-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

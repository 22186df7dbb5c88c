import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cacheLayout, cacheRoot, ensureCacheDirs, withCacheLock } from '../../images/cache.js';
import { projectDir } from '../../lib/project-dir.js';

t.test('cache root: BMCEMU_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', async (t) => {
  t.equal(cacheRoot({ BMCEMU_CACHE_DIR: '/var/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/var/c');
  t.equal(cacheRoot({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/bmcemu');
  t.equal(cacheRoot({ XDG_CACHE_HOME: 'relative', HOME: '/h' }), '/h/.cache/bmcemu', 'a relative XDG_CACHE_HOME is ignored (XDG spec)');
  t.equal(cacheRoot({ HOME: '/h' }), '/h/.cache/bmcemu');
});

t.test('never inside the work tree', async (t) => {
  t.ok(fs.existsSync(path.join(projectDir(), 'package.json')), 'projectDir finds the project');
  t.throws(() => cacheRoot({ BMCEMU_CACHE_DIR: path.join(projectDir(), 'cache') }), { code: 'ERR_IMAGE_CACHE_IN_TREE' });
  t.throws(() => cacheRoot({ HOME: projectDir() }), { code: 'ERR_IMAGE_CACHE_IN_TREE' });
});

t.test('the cache lock serialises builders and takes over a dead owner', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bc-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const layout = cacheLayout(root);
  ensureCacheDirs(layout);
  const order: string[] = [];
  let waited = 0;
  const a = withCacheLock(layout, 'k', async () => {
    order.push('a-in');
    await new Promise((r) => setTimeout(r, 100));
    order.push('a-out');
  });
  await new Promise((r) => setTimeout(r, 10));
  const b = withCacheLock(
    layout,
    'k',
    async () => {
      order.push('b-in');
    },
    () => waited++,
    10,
  );
  await Promise.all([a, b]);
  t.same(order, ['a-in', 'a-out', 'b-in']);
  t.equal(waited, 1, 'the waiter was told once');

  // A lock left by a process that no longer exists.
  const lockDir = path.join(layout.locks, 'k.lock');
  fs.mkdirSync(lockDir);
  fs.writeFileSync(path.join(lockDir, 'pid'), '999999999\n');
  let ran = false;
  await withCacheLock(layout, 'k', async () => {
    ran = true;
  });
  t.ok(ran, 'stale lock taken over');
  t.notOk(fs.existsSync(lockDir), 'lock released');
});

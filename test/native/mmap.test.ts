/**
 * native/mmap, the project's only native code: mapping regular files with
 * MAP_SHARED, coherence with positional I/O on the same file both ways (what
 * the BMC side does while the guest maps the BAR), argument and errno errors,
 * explicit unmap, and the finaliser unmapping after garbage collection.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadMmapAddon } from '../../host/guest/mmap-addon.js';

const ADDON_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'mmap');
const mm = loadMmapAddon();

function tempFile(t: { teardown(fn: () => void): void }, size: number): { file: string; fd: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmm-'));
  const file = path.join(dir, 'window');
  fs.writeFileSync(file, Buffer.alloc(size));
  const fd = fs.openSync(file, 'r+');
  t.teardown(() => {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { file, fd };
}

/** Lines of /proc/self/maps that map `file`. */
const mappings = (file: string): number => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(file)).length;

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('map: a MAP_SHARED view that positional I/O sees, and vice versa', async (t) => {
  const size = 1 << 20;
  const { file, fd } = tempFile(t, size);
  t.equal(mm.pageSize % 4096, 0, 'page size is a multiple of 4 KiB');
  const ab = mm.map(fd, size);
  t.equal(ab.byteLength, size);
  const view = new Uint8Array(ab);
  t.equal(mappings(file), 1, 'one mapping of the file');

  // Through the mapping -> pread.
  view.set([1, 2, 3, 4], 0x1000);
  view[size - 1] = 0xee;
  const got = Buffer.alloc(4);
  fs.readSync(fd, got, 0, 4, 0x1000);
  t.same([...got], [1, 2, 3, 4], 'pread sees bytes stored through the mapping');
  const last = Buffer.alloc(1);
  fs.readSync(fd, last, 0, 1, size - 1);
  t.equal(last[0], 0xee, 'last byte too');

  // pwrite -> through the mapping.
  fs.writeSync(fd, Buffer.from('MCTP'), 0, 4, 0);
  t.equal(Buffer.from(ab, 0, 4).toString(), 'MCTP', 'the mapping sees bytes written with pwrite');

  // A second descriptor on the same file (as QEMU and the BMC have) agrees.
  const fd2 = fs.openSync(file, 'r+');
  fs.writeSync(fd2, Buffer.from([0x5a]), 0, 1, 0x8000);
  fs.closeSync(fd2);
  t.equal(view[0x8000], 0x5a, 'a write through another descriptor is visible');

  mm.unmap(ab);
  t.equal(ab.byteLength, 0, 'unmap detaches: the ArrayBuffer is empty');
  t.equal(view.length, 0, 'and so are its views, so nothing can touch the old memory');
  mm.unmap(ab);
  t.pass('unmap twice is harmless');
  await nextTurn();
  await nextTurn();
  t.equal(mappings(file), 0, 'the finaliser unmapped it on the next loop turn');
});

t.test('map at an offset, read-only mappings', async (t) => {
  const { file, fd } = tempFile(t, 4 * mm.pageSize);
  fs.writeSync(fd, Buffer.from('page2'), 0, 5, 2 * mm.pageSize);
  const ab = mm.map(fd, mm.pageSize, 2 * mm.pageSize, false);
  t.equal(Buffer.from(ab, 0, 5).toString(), 'page2', 'offset is honoured');
  mm.unmap(ab);

  const ro = fs.openSync(file, 'r');
  t.teardown(() => fs.closeSync(ro));
  const rab = mm.map(ro, mm.pageSize, 0, false);
  t.equal(rab.byteLength, mm.pageSize, 'a read-only descriptor maps read-only');
  mm.unmap(rab);
  t.throws(() => mm.map(ro, mm.pageSize), { errno: 13, syscall: 'mmap', message: /mmap failed: Permission denied/ }, 'but not writable: EACCES with its errno text');
});

t.test('arguments are checked before anything is mapped', async (t) => {
  const { fd } = tempFile(t, 8192);
  t.throws(() => (mm.map as (...a: unknown[]) => unknown)(), { name: 'TypeError', message: /needs fd and length/ });
  t.throws(() => (mm.map as (...a: unknown[]) => unknown)('3', 10), { name: 'TypeError', message: /fd must be a number/ });
  t.throws(() => mm.map(-1, 4096), { name: 'RangeError', message: /fd must be a non-negative integer/ });
  t.throws(() => mm.map(fd, 0), { name: 'RangeError', message: /length must be at least 1 byte/ });
  t.throws(() => mm.map(fd, 1.5), { name: 'RangeError', message: /length must be a non-negative integer/ });
  t.throws(() => mm.map(fd, 4096, 100), { name: 'RangeError', message: /offset 100 is not a multiple of the page size/ });
  t.throws(() => mm.map(fd, 8193), { name: 'RangeError', message: /beyond the end of the file \(8192 bytes\)/ }, 'a length past EOF would SIGBUS on access: refused');
  t.throws(() => mm.map(fd, 4096, 8192), { message: /beyond the end of the file/ }, 'so is an offset at EOF');
  t.throws(() => (mm.map as (...a: unknown[]) => unknown)(fd, 4096, 0, 'yes'), { name: 'TypeError', message: /writable must be a boolean/ });
  const closed = fs.openSync(os.devNull, 'r');
  fs.closeSync(closed);
  t.throws(() => mm.map(closed, 4096), { errno: 9, syscall: 'fstat', message: /Bad file descriptor/ }, 'a closed descriptor: EBADF');
  const dir = fs.openSync(os.tmpdir(), 'r');
  t.teardown(() => fs.closeSync(dir));
  t.throws(() => mm.map(dir, 4096, 0, false), { syscall: 'mmap', errno: 19, message: /No such device/ }, 'a directory: ENODEV from mmap');
  t.throws(() => mm.unmap(new Uint8Array(4) as unknown as ArrayBuffer), { name: 'TypeError', message: /needs the ArrayBuffer/ });
});

t.test('the finaliser unmaps garbage-collected mappings (child with --expose-gc)', async (t) => {
  const { file } = tempFile(t, 1 << 16);
  // Plain JavaScript in a child, so --expose-gc applies and a crash cannot take the test runner down.
  const child = `
    const fs = require('node:fs');
    const mm = require(${JSON.stringify(ADDON_DIR)});
    const file = ${JSON.stringify(file)};
    const count = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith(file)).length;
    const fd = fs.openSync(file, 'r+');
    (function churn() {
      for (let i = 0; i < 200; i++) {
        const v = new Uint8Array(mm.map(fd, 1 << 16));
        v[i] = i; // touch it
      }
    })();
    const before = count();
    fs.closeSync(fd);
    const settle = (n) => new Promise((r) => (function go(k) { global.gc(); k ? setImmediate(() => go(k - 1)) : r(); })(n));
    settle(20).then(() => {
      const v = Buffer.alloc(200);
      fs.readSync(fs.openSync(file, 'r'), v, 0, 200, 0);
      console.log(JSON.stringify({ before, after: count(), data: v[199] }));
    });
  `;
  const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', child], { encoding: 'utf8' }));
  t.ok(out.before > 0, `mappings were alive before GC (${out.before})`);
  t.equal(out.after, 0, 'all 200 unmapped by their finalisers after GC');
  t.equal(out.data, 199, 'stores through them reached the file');
});

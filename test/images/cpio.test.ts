import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, readNewc, writeNewc } from '../../images/cpio.js';

t.test('newc round trip: files, dirs, symlinks, device nodes, parents added, sorted', async (t) => {
  const buf = writeNewc([
    { type: 'file', path: 'init', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    { type: 'file', path: 'lib/modules/6.1/virtio.ko', data: Buffer.alloc(5, 1) },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'char', path: 'dev/console', major: 5, minor: 1 },
    { type: 'dir', path: 'proc' },
  ]);
  const recs = readNewc(buf);
  t.same(
    recs.map((r) => r.name),
    ['bin', 'bin/sh', 'dev', 'dev/console', 'init', 'lib', 'lib/modules', 'lib/modules/6.1', 'lib/modules/6.1/virtio.ko', 'proc'],
    'parents first, in path order',
  );
  const by = new Map(recs.map((r) => [r.name, r]));
  t.equal(by.get('init')!.mode, S_IFREG | 0o755);
  t.equal(by.get('init')!.data.toString(), '#!/bin/sh\n');
  t.equal(by.get('lib')!.mode & S_IFMT, S_IFDIR);
  t.equal(by.get('bin/sh')!.mode & S_IFMT, S_IFLNK);
  t.equal(by.get('bin/sh')!.data.toString(), 'busybox');
  t.match(by.get('dev/console'), { mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 });
  t.equal(by.get('lib/modules/6.1/virtio.ko')!.data.length, 5);
  t.equal(buf.length % 4, 0, 'archive is 4-byte aligned');
});

t.test('deterministic output; bad input refused', async (t) => {
  const entries = [{ type: 'file' as const, path: 'a/b', data: Buffer.from('x') }];
  t.same(writeNewc(entries), writeNewc(entries));
  t.throws(() => writeNewc([...entries, { type: 'dir', path: '/a/b/' }]), /duplicate/);
  t.throws(() => writeNewc([{ type: 'dir', path: '../x' }]), /bad cpio path/);
  t.throws(() => writeNewc([{ type: 'file', path: 'f', data: Buffer.alloc(0) }, { type: 'file', path: 'f/g', data: Buffer.alloc(0) }]), /both a file and a directory/);
  t.throws(() => readNewc(Buffer.from('070707')), RangeError);
});

t.test("Debian's cpio reads our archives, if it is installed", async (t) => {
  let cpio = '';
  try {
    cpio = execFileSync('sh', ['-c', 'command -v cpio'], { encoding: 'utf8' }).trim();
  } catch {
    /* not installed: covered by readNewc above */
  }
  if (!cpio) {
    t.pass('cpio not installed; the reader above checks the format');
    return;
  }
  const buf = writeNewc([{ type: 'file', path: 'x/y.txt', data: Buffer.from('hello'), mode: 0o640 }]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpio-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const listing = execFileSync(cpio, ['-t', '--quiet'], { input: buf, encoding: 'utf8' });
  t.same(listing.trim().split('\n'), ['x', 'x/y.txt']);
});

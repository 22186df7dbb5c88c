import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { LPC_FW_WINDOW_FILENAME } from '../../transport/runtime-files.js';
import {
  MCTP_WINDOW_SIZE,
  WindowFile,
  createWindowFile,
  windowFilePath,
} from '../../transport/window-file.js';
import { shortTempDir } from './helpers/util.js';

t.test('location convention and size', async (t) => {
  t.equal(LPC_FW_WINDOW_FILENAME, 'lpc-fw-window');
  t.equal(MCTP_WINDOW_SIZE, 1024 * 1024);
  t.equal(windowFilePath('/run/bmcemu/a'), '/run/bmcemu/a/lpc-fw-window');
});

t.test('round trip: file offset = window offset', async (t) => {
  const dir = shortTempDir(t);
  const p = windowFilePath(dir);
  createWindowFile(p, MCTP_WINDOW_SIZE);
  t.equal(fs.statSync(p).size, MCTP_WINDOW_SIZE);
  const w = WindowFile.open(p, { size: MCTP_WINDOW_SIZE });
  t.teardown(() => w.close());
  t.same([...w.read(0, 4)], [0, 0, 0, 0], 'zero-filled');
  w.write(0x100, Buffer.from('hello'));
  t.equal(w.read(0x100, 5).toString(), 'hello');
  // Seen through a different descriptor at the same file offset (what the BMC side does).
  const fd = fs.openSync(p, 'r');
  const b = Buffer.alloc(5);
  fs.readSync(fd, b, 0, 5, 0x100);
  fs.closeSync(fd);
  t.equal(b.toString(), 'hello');
  // Last byte of the window; zero-length access at the very end.
  w.write(MCTP_WINDOW_SIZE - 1, Buffer.of(0xab));
  t.same([...w.read(MCTP_WINDOW_SIZE - 1, 1)], [0xab]);
  t.equal(w.read(MCTP_WINDOW_SIZE, 0).length, 0);
  const into = Buffer.alloc(3);
  w.readInto(0x101, into);
  t.equal(into.toString(), 'ell');
  // A large access spanning most of the window.
  const big = Buffer.alloc(0x80000, 0x5a);
  w.write(0x7ff00, big);
  t.ok(w.read(0x7ff00, big.length).equals(big));
  t.equal(fs.statSync(p).size, MCTP_WINDOW_SIZE, 'size never changes');
});

t.test('bounds are checked with clear errors', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'w');
  createWindowFile(p, 4096);
  const w = WindowFile.open(p, { size: 4096 });
  t.teardown(() => w.close());
  t.throws(() => w.read(4096, 1), { name: 'RangeError', message: /out of bounds: offset 0x1000 \+ length 0x1 exceeds window size 0x1000/ });
  t.throws(() => w.read(4000, 97), RangeError);
  t.throws(() => w.write(4095, Buffer.alloc(2)), { message: /window write out of bounds/ });
  t.throws(() => w.read(-1, 1), { message: /offset must be a non-negative integer/ });
  t.throws(() => w.read(0.5, 1), RangeError);
  t.throws(() => w.read(0, -1), { message: /length must be a non-negative integer/ });
  t.throws(() => w.read(Number.MAX_SAFE_INTEGER, 1), RangeError);
  t.equal(fs.statSync(p).size, 4096, 'failed writes did not extend the file');
});

t.test('open refuses the wrong size, non-regular files and missing files', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'w');
  createWindowFile(p, 4096);
  t.throws(() => WindowFile.open(p, { size: MCTP_WINDOW_SIZE }), {
    name: 'TransportError',
    code: 'ESIZE',
    message: /is 4096 bytes \(0x1000\), expected exactly 1048576 \(0x100000\)/,
  });
  t.equal(fs.statSync(p).size, 4096, 'never resized to fit');
  t.throws(() => WindowFile.open(dir, { size: 4096 }), { code: 'EISDIR' }, 'a directory');
  t.throws(() => WindowFile.open(path.join(dir, 'missing'), { size: 4096 }), { code: 'ENOENT' });
  t.throws(() => WindowFile.open(p, { size: 0 }), { name: 'ConfigError', code: 'ERR_BAD_CONFIG', message: /window size must be a positive integer, got 0/ });
  t.throws(() => createWindowFile(p, -1), { code: 'ERR_BAD_CONFIG' });
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  t.throws(() => WindowFile.open(fifo, { size: 4096, readOnly: true }), { code: 'ENOTREG' }, 'a FIFO, without hanging');
  t.throws(() => WindowFile.open('/dev/null', { size: 4096 }), { code: 'ENOTREG' }, 'a device');
});

t.test('close and read-only', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'w');
  createWindowFile(p, 4096);
  const ro = WindowFile.open(p, { size: 4096, readOnly: true });
  t.throws(() => ro.write(0, Buffer.of(1)), { code: 'EREADONLY' });
  t.same([...ro.read(0, 1)], [0]);
  ro.close();
  ro.close();
  t.ok(ro.closed);
  t.throws(() => ro.read(0, 1), { code: 'ECLOSED', message: /is closed/ });
  t.ok(fs.existsSync(p), 'closing never removes the file (the BMC side owns it)');
});

t.test('a window truncated under us is reported, not read as zeros', async (t) => {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'w');
  createWindowFile(p, 4096);
  const w = WindowFile.open(p, { size: 4096 });
  t.teardown(() => w.close());
  fs.truncateSync(p, 100);
  t.throws(() => w.read(0, 200), { code: 'ESHORT', message: /truncated/ });
});

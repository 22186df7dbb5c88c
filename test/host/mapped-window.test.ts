/**
 * MappedWindow: the guest's view of the LPC window through the mmap addon,
 * checked against the BMC side's positional I/O (WindowFile) on one file.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { MappedWindow } from '../../host/guest/mapped-window.js';
import { createWindowFile, MCTP_WINDOW_SIZE, WindowFile } from '../../transport/window-file.js';

function windowFile(t: { teardown(fn: () => void): void }, size = MCTP_WINDOW_SIZE): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmw-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'lpc-fw-window');
  createWindowFile(file, size);
  return file;
}

t.test('mapped window and positional I/O see each other', async (t) => {
  const file = windowFile(t);
  const mapped = MappedWindow.open(file, MCTP_WINDOW_SIZE);
  const bmc = WindowFile.open(file, { size: MCTP_WINDOW_SIZE });
  t.teardown(() => {
    mapped.close();
    bmc.close();
  });

  const pkt = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff));
  mapped.write(0x100, pkt);
  t.same(bmc.read(0x100, pkt.length), pkt, 'guest store -> BMC pread');
  bmc.write(0x20000, Buffer.from('from the BMC'));
  t.equal(mapped.read(0x20000, 12).toString(), 'from the BMC', 'BMC pwrite -> guest load');

  const copy = mapped.read(0x100, 16);
  bmc.write(0x100, Buffer.alloc(16));
  t.equal(copy[1], 7, 'read() returns a copy: later writes by the peer do not change it');
  const into = Buffer.alloc(12);
  mapped.readInto(0x20000, into);
  t.equal(into.toString(), 'from the BMC', 'readInto');

  mapped.write(MCTP_WINDOW_SIZE - 2, Buffer.from([0xaa, 0xbb]));
  t.same([...bmc.read(MCTP_WINDOW_SIZE - 2, 2)], [0xaa, 0xbb], 'the last bytes of the window');
  t.equal(mapped.read(0, 0).length, 0, 'empty read at 0');
  t.equal(mapped.read(MCTP_WINDOW_SIZE, 0).length, 0, 'empty read at the end');
});

t.test('bounds, read-only and close', async (t) => {
  const file = windowFile(t, 64 * 1024);
  const w = MappedWindow.open(file, 64 * 1024);
  t.throws(() => w.read(64 * 1024 - 4, 5), { name: 'RangeError', message: /out of bounds: offset 0xfffc \+ length 0x5 exceeds window size 0x10000/ });
  t.throws(() => w.write(-1, Buffer.alloc(1)), { name: 'RangeError', message: /offset must be a non-negative integer/ });
  t.throws(() => w.read(0, 1.5), { name: 'RangeError', message: /length must be/ });
  t.throws(() => w.write(64 * 1024, Buffer.alloc(1)), RangeError);
  w.close();
  t.ok(w.closed);
  t.throws(() => w.read(0, 1), { message: /is unmapped/ }, 'no access after close');
  w.close();
  t.pass('close is idempotent');

  const ro = MappedWindow.open(file, 4096, { readOnly: true });
  t.equal(ro.read(0, 4).length, 4);
  t.throws(() => ro.write(0, Buffer.alloc(1)), { message: /mapped read-only/ });
  ro.close();

  const smaller = MappedWindow.open(file, 4096);
  t.equal(smaller.size, 4096, 'mapping a prefix of a larger file (a BAR larger than the window) is fine');
  smaller.close();
  t.throws(() => MappedWindow.open(file, 128 * 1024), { message: /is 65536 bytes \(0x10000\), smaller than the 131072-byte \(0x20000\) window/ });
  t.throws(() => MappedWindow.open(path.join(path.dirname(file), 'missing'), 4096), { code: 'ENOENT' });
  const fifo = path.join(path.dirname(file), 'fifo');
  execFileSync('mkfifo', [fifo]);
  t.throws(() => MappedWindow.open(fifo, 4096), { message: /neither a regular file nor a character device/ });
  t.throws(() => MappedWindow.open(file, 0), RangeError);
});

import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  HICR5_ENFWH,
  HICR5_ENL2H,
  LPC_HICR5,
  LPC_HICR7,
  LPC_HICR8,
  LpcCtrl,
  MCTP_WINDOW_SIZE,
  decodeFwWindow,
  encodeFwWindow,
  encodeHicr7,
  encodeHicr8,
  topOfFwSpace,
  type LpcRefusedAccess,
} from '../../hw-models/lpc-ctrl.js';

const MiB = 1024 * 1024;

/** All the helpers need from a tap test. */
interface Teardown {
  teardown(fn: () => void): void;
}

function tmpDir(t: Teardown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmcemu-lpc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function model(t: Teardown, options: Partial<ConstructorParameters<typeof LpcCtrl>[0]> = {}): LpcCtrl {
  const lpc = new LpcCtrl({ runtimeDir: tmpDir(t), ...options });
  t.teardown(() => lpc.close());
  return lpc;
}

/** Program the window as libmctp does: the whole region at the top of LPC FW space. */
function mapWholeRegion(lpc: LpcCtrl): void {
  const { hicr7, hicr8 } = encodeFwWindow({
    ahbAddr: lpc.reservedBase,
    lpcAddr: topOfFwSpace(lpc.reservedSize),
    size: lpc.reservedSize,
  });
  lpc.writeRegister(LPC_HICR7, hicr7);
  lpc.writeRegister(LPC_HICR8, hicr8);
  lpc.writeRegister(LPC_HICR5, HICR5_ENFWH | HICR5_ENL2H);
}

t.test('HICR7/HICR8 formulas', async (t) => {
  // The reference example: mem_base 0x98000000, 32 MiB region at the top of FW space.
  t.equal(topOfFwSpace(32 * MiB), 0x0e000000);
  t.equal(encodeHicr7(0x98000000, 0x0e000000), 0x98000e00);
  t.equal(encodeHicr8(32 * MiB), 0xfe0001ff);
  t.same(encodeFwWindow({ ahbAddr: 0x98000000, lpcAddr: 0x0e000000, size: 32 * MiB }), {
    hicr7: 0x98000e00,
    hicr8: 0xfe0001ff,
  });
  t.equal(topOfFwSpace(2 * MiB), 0x0fe00000);
  t.equal(topOfFwSpace(1 * MiB), 0x0ff00000);
  t.equal(topOfFwSpace(256 * MiB), 0);
  t.equal(encodeHicr8(64 * 1024), 0xffff0000);
  t.equal(encodeHicr8(2 * MiB), 0xffe0001f);
  t.same(decodeFwWindow(0x98000e00, 0xfe0001ff), { ahbAddr: 0x98000000, lpcAddr: 0x0e000000, size: 32 * MiB });
});

t.test('FW window validation', async (t) => {
  const bad: [string, { ahbAddr: number; lpcAddr: number; size: number }, RegExp][] = [
    ['size not 64 KiB multiple', { ahbAddr: 0x98000000, lpcAddr: 0, size: 0x18000 }, /multiple of 64 KiB/],
    ['size below 64 KiB', { ahbAddr: 0x98000000, lpcAddr: 0, size: 0x1000 }, /multiple of 64 KiB/],
    ['size zero', { ahbAddr: 0x98000000, lpcAddr: 0, size: 0 }, /multiple of 64 KiB/],
    ['size not a power of two', { ahbAddr: 0x98000000, lpcAddr: 0, size: 0x30000 }, /power of two/],
    ['AHB address misaligned', { ahbAddr: 0x98010000, lpcAddr: 0, size: 0x20000 }, /AHB address .* not aligned/],
    ['LPC address misaligned', { ahbAddr: 0x98000000, lpcAddr: 0x0ff10000, size: 0x20000 }, /LPC address .* not aligned/],
    ['LPC address past 28 bits', { ahbAddr: 0x98000000, lpcAddr: 0x10000000, size: 0x10000 }, /LPC address/],
    ['NaN size', { ahbAddr: 0x98000000, lpcAddr: 0, size: NaN }, /not an integer/],
    ['negative AHB', { ahbAddr: -0x10000, lpcAddr: 0, size: 0x10000 }, /outside/],
  ];
  for (const [name, mapping, message] of bad) {
    t.throws(() => encodeFwWindow(mapping), { code: 'ERR_HW_BAD_ARGUMENT', message }, name);
  }
});

t.test('backing file: exactly the window size, regular, reused in place', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'win.bin');
  fs.writeFileSync(file, 'abc');
  const inode = fs.statSync(file).ino;
  const lpc = new LpcCtrl({ runtimeDir: dir, fileName: 'win.bin' });
  t.teardown(() => lpc.close());
  const st = fs.statSync(file);
  t.equal(st.size, MCTP_WINDOW_SIZE, 'exactly 1 MiB');
  t.equal(MCTP_WINDOW_SIZE, MiB);
  t.ok(st.isFile());
  t.equal(st.ino, inode, 'same inode: a QEMU mapping of it stays valid');
  t.equal(lpc.bmcRead(lpc.windowAhbBase, 3).toString(), 'abc', 'contents kept');
  t.equal(lpc.filePath, file);

  const fresh = model(t);
  t.equal(fs.statSync(fresh.filePath).size, MiB, 'created at 1 MiB');
  t.equal(fs.statSync(fresh.filePath).mode & 0o777, 0o600, 'private to the owner');
});

t.test('backing file: symlinks and non-files refused', async (t) => {
  const dir = tmpDir(t);
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, '');
  fs.symlinkSync(target, path.join(dir, 'link'));
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'));
  fs.mkdirSync(path.join(dir, 'adir'));
  t.throws(() => new LpcCtrl({ runtimeDir: dir, fileName: 'link' }), { code: 'ERR_HW_UNSAFE_PATH', message: /symlink/ });
  t.throws(() => new LpcCtrl({ runtimeDir: dir, fileName: 'dangling' }), { code: 'ERR_HW_UNSAFE_PATH' });
  t.throws(() => new LpcCtrl({ runtimeDir: dir, fileName: 'adir' }), { code: 'ERR_HW_UNSAFE_PATH', message: /not a regular file/ });
  t.equal(fs.statSync(target).size, 0, 'symlink target untouched');
  t.notOk(fs.existsSync(path.join(dir, 'nowhere')), 'dangling link not followed');
});

t.test('configuration errors', async (t) => {
  const dir = tmpDir(t);
  const cases: [string, Record<string, unknown>][] = [
    ['missing dir', { runtimeDir: path.join(dir, 'missing') }],
    ['file name with slash', { runtimeDir: dir, fileName: 'a/b' }],
    ['file name ..', { runtimeDir: dir, fileName: '..' }],
    ['region not power of two', { runtimeDir: dir, reservedSize: 3 * MiB }],
    ['region smaller than window', { runtimeDir: dir, reservedSize: 512 * 1024 }],
    ['region above 256 MiB', { runtimeDir: dir, reservedSize: 512 * MiB, reservedBase: 0 }],
    ['base misaligned', { runtimeDir: dir, reservedBase: 0x98100000, reservedSize: 2 * MiB }],
    ['base past 4 GiB', { runtimeDir: dir, reservedBase: 0xffe00000 + 2 * MiB }],
    ['window not power of two', { runtimeDir: dir, windowSize: 3 * 64 * 1024 }],
  ];
  for (const [name, options] of cases) {
    t.throws(() => new LpcCtrl(options as never), { name: 'ConfigError', code: 'ERR_BAD_CONFIG' }, name);
  }
  const notDir = path.join(dir, 'plain');
  fs.writeFileSync(notDir, '');
  t.throws(() => new LpcCtrl({ runtimeDir: notDir }), { code: 'ERR_BAD_CONFIG', message: /not a directory/ });
});

t.test('host accesses refused while firmware cycles are disabled', async (t) => {
  const lpc = model(t);
  const refused: LpcRefusedAccess[] = [];
  lpc.on('refused', (a) => refused.push(a));
  t.equal(lpc.hostRead(0x0ff00000, 4), null, 'reset state: disabled');
  const { hicr7, hicr8 } = encodeFwWindow({ ahbAddr: 0x98000000, lpcAddr: 0x0fe00000, size: 2 * MiB });
  lpc.writeRegister(LPC_HICR7, hicr7);
  lpc.writeRegister(LPC_HICR8, hicr8);
  lpc.writeRegister(LPC_HICR5, HICR5_ENFWH);
  t.equal(lpc.hostWrite(0x0ff00000, Buffer.from('x')), false, 'ENFWH alone is not enough');
  lpc.writeRegister(LPC_HICR5, HICR5_ENL2H);
  t.equal(lpc.hostRead(0x0ff00000, 1), null, 'ENL2H alone is not enough');
  t.equal(lpc.counters.refusedDisabled, 3);
  t.same(refused[1], { op: 'write', lpcAddr: 0x0ff00000, length: 1, reason: 'disabled' });
  lpc.writeRegister(LPC_HICR5, HICR5_ENFWH | HICR5_ENL2H);
  t.same(lpc.hostRead(0x0ff00000, 1), Buffer.from([0]), 'enabled');
});

t.test('libmctp mapping: MCTP window at LPC 0x0FF00000, file offset = window offset', async (t) => {
  const lpc = model(t);
  mapWholeRegion(lpc);
  t.equal(lpc.readRegister(LPC_HICR7), 0x98000fe0);
  t.equal(lpc.readRegister(LPC_HICR8), 0xffe0001f);
  t.equal(lpc.readRegister(LPC_HICR5), 0x500);
  t.equal(lpc.translate(0x0ff00000), 0x98100000);
  t.equal(lpc.windowAhbBase, 0x98100000);

  t.ok(lpc.hostWrite(0x0ff00000, Buffer.from('MCTP')), 'host writes the window');
  // A second, independent descriptor sees the bytes at file offset 0 at once.
  const fd = fs.openSync(lpc.filePath, 'r+');
  t.teardown(() => fs.closeSync(fd));
  const seen = Buffer.alloc(4);
  fs.readSync(fd, seen, 0, 4, 0);
  t.equal(seen.toString(), 'MCTP', 'visible through a second descriptor');

  lpc.bmcWrite(lpc.windowAhbBase + 0x100, Buffer.from([1, 2, 3, 4]));
  fs.readSync(fd, seen, 0, 4, 0x100);
  t.same([...seen], [1, 2, 3, 4], 'BMC write lands at file offset 0x100');
  t.same([...(lpc.hostRead(0x0ff00100, 4) as Buffer)], [1, 2, 3, 4], 'host reads it back');

  // What QEMU (the other mapping) writes is what both sides read next: no caching.
  fs.writeSync(fd, Buffer.from('qemu'), 0, 4, MiB - 4);
  t.equal(lpc.hostRead(0x0ffffffc, 4)?.toString(), 'qemu');
  t.equal(lpc.bmcRead(lpc.windowAhbBase + MiB - 4, 4).toString(), 'qemu');
  t.equal(fs.fstatSync(fd).size, MiB, 'file still exactly 1 MiB');
  t.match(lpc.counters, { hostReads: 2, hostWrites: 1, hostBytesRead: 8, hostBytesWritten: 4 });
});

t.test('accesses outside the backed window are refused and counted, never wrapped', async (t) => {
  const lpc = model(t);
  mapWholeRegion(lpc);
  const refused: LpcRefusedAccess[] = [];
  lpc.on('refused', (a) => refused.push(a));
  const fileBefore = fs.readFileSync(lpc.filePath);
  const cases: [string, () => unknown, 'unmapped' | 'unbacked'][] = [
    ['below the mapped region', () => lpc.hostRead(0x0fdffffc, 4), 'unmapped'],
    ['far below', () => lpc.hostWrite(0x00000000, Buffer.from([1])), 'unmapped'],
    ['region, below the backed window', () => lpc.hostRead(0x0fe00000, 4), 'unbacked'],
    ['straddling unbacked/backed', () => lpc.hostWrite(0x0feffffe, Buffer.from([1, 2, 3, 4])), 'unbacked'],
    ['straddling the top of FW space', () => lpc.hostWrite(0x0ffffffe, Buffer.from([1, 2, 3, 4])), 'unmapped'],
    ['beyond 28 bits', () => lpc.hostRead(0x1ff00000, 4), 'unmapped'],
    ['at 0xFFFFFFFF', () => lpc.hostRead(0xffffffff, 1), 'unmapped'],
    ['longer than the window', () => lpc.hostRead(0x0ff00000, MiB + 1), 'unmapped'],
  ];
  for (const [name, fn, reason] of cases) {
    const result = fn();
    t.ok(result === null || result === false, `${name}: refused`);
    t.equal(refused.at(-1)?.reason, reason, `${name}: ${reason}`);
  }
  t.match(lpc.counters, { refusedUnmapped: 6, refusedUnbacked: 2, hostReads: 0, hostWrites: 0 });
  t.same(fs.readFileSync(lpc.filePath), fileBefore, 'nothing written anywhere');
  t.ok(lpc.hostRead(0x0ff00000, MiB), 'the whole window in one access is fine');
});

t.test('a window aimed anywhere but the backed memory is refused (no arbitrary BMC access)', async (t) => {
  const lpc = model(t);
  const { hicr7, hicr8 } = encodeFwWindow({ ahbAddr: 0x80000000, lpcAddr: 0x0ff00000, size: MiB });
  lpc.writeRegister(LPC_HICR7, hicr7);
  lpc.writeRegister(LPC_HICR8, hicr8);
  lpc.writeRegister(LPC_HICR5, HICR5_ENFWH | HICR5_ENL2H);
  t.equal(lpc.translate(0x0ff00010), 0x80000010);
  t.equal(lpc.hostRead(0x0ff00010, 4), null);
  t.equal(lpc.counters.refusedUnbacked, 1);
});

t.test('the kernel mapping only the MCTP window (offset 1 MiB, size 1 MiB)', async (t) => {
  const lpc = model(t);
  const { hicr7, hicr8 } = encodeFwWindow({ ahbAddr: 0x98100000, lpcAddr: 0x0ff00000, size: MiB });
  t.same([hicr7, hicr8], [0x98100ff0, 0xfff0000f]);
  lpc.writeRegister(LPC_HICR7, hicr7);
  lpc.writeRegister(LPC_HICR8, hicr8);
  lpc.writeRegister(LPC_HICR5, HICR5_ENFWH | HICR5_ENL2H);
  lpc.bmcWrite(0x98100000, Buffer.from('hi'));
  t.equal(lpc.hostRead(0x0ff00000, 2)?.toString(), 'hi');
  t.equal(lpc.hostRead(0x0fe00000, 2), null, 'the lower region is not mapped now');
  t.equal(lpc.counters.refusedUnmapped, 1);
});

t.test('BMC-side accesses outside the backed window', async (t) => {
  const lpc = model(t);
  t.throws(() => lpc.bmcRead(0x98000000, 4), { code: 'ERR_HW_UNBACKED' });
  t.throws(() => lpc.bmcWrite(0x980ffffe, Buffer.alloc(4)), { code: 'ERR_HW_UNBACKED' });
  t.equal(lpc.counters.bmcUnbacked, 2);
  t.throws(() => lpc.bmcRead(0x981ffffe, 4), { code: 'ERR_HW_BAD_ARGUMENT', message: /outside the reserved region/ });
  t.throws(() => lpc.bmcRead(0x90000000, 4), { code: 'ERR_HW_BAD_ARGUMENT' });
  t.equal(lpc.bmcRead(0x981ffffc, 4).length, 4, 'last 4 bytes are fine');
});

t.test('hostile values: clear errors, no state change', async (t) => {
  const lpc = model(t);
  mapWholeRegion(lpc);
  const regs = [LPC_HICR5, LPC_HICR7, LPC_HICR8].map((r) => lpc.readRegister(r));
  const fileBefore = fs.readFileSync(lpc.filePath);
  const attempts: [string, () => unknown, string][] = [
    ['HICR6 (not modelled)', () => lpc.writeRegister(0x84, 0), 'ERR_HW_BAD_OFFSET'],
    ['read offset 0x90', () => lpc.readRegister(0x90), 'ERR_HW_BAD_OFFSET'],
    ['read offset NaN', () => lpc.readRegister(NaN), 'ERR_HW_BAD_OFFSET'],
    ['HICR7 2^32', () => lpc.writeRegister(LPC_HICR7, 2 ** 32), 'ERR_HW_BAD_VALUE'],
    ['HICR8 -1', () => lpc.writeRegister(LPC_HICR8, -1), 'ERR_HW_BAD_VALUE'],
    ['HICR5 NaN', () => lpc.writeRegister(LPC_HICR5, NaN), 'ERR_HW_BAD_VALUE'],
    ['HICR5 1.5', () => lpc.writeRegister(LPC_HICR5, 1.5), 'ERR_HW_BAD_VALUE'],
    ['host read negative address', () => lpc.hostRead(-1, 4), 'ERR_HW_BAD_ARGUMENT'],
    ['host read NaN length', () => lpc.hostRead(0x0ff00000, NaN), 'ERR_HW_BAD_ARGUMENT'],
    ['host read negative length', () => lpc.hostRead(0x0ff00000, -4), 'ERR_HW_BAD_ARGUMENT'],
    ['host write a string', () => lpc.hostWrite(0x0ff00000, 'MCTP' as never), 'ERR_HW_BAD_ARGUMENT'],
    ['BMC read 1.5', () => lpc.bmcRead(1.5, 1), 'ERR_HW_BAD_ARGUMENT'],
    ['BMC write array', () => lpc.bmcWrite(0x98100000, [1, 2] as never), 'ERR_HW_BAD_ARGUMENT'],
  ];
  for (const [name, fn, code] of attempts) t.throws(fn, { code }, name);
  t.same(
    [LPC_HICR5, LPC_HICR7, LPC_HICR8].map((r) => lpc.readRegister(r)),
    regs,
    'registers unchanged',
  );
  t.same(fs.readFileSync(lpc.filePath), fileBefore, 'memory unchanged');
});

t.test('reset, snapshot, change and close', async (t) => {
  const lpc = model(t);
  let changes = 0;
  lpc.on('change', () => changes++);
  mapWholeRegion(lpc);
  t.equal(changes, 3);
  lpc.bmcWrite(lpc.windowAhbBase, Buffer.from('keep'));
  const snap = lpc.snapshot();
  t.same(JSON.parse(JSON.stringify(snap)), snap, 'plain JSON');
  t.match(snap, {
    hicr7: 0x98000fe0,
    fwCyclesEnabled: true,
    mapping: { ahbAddr: 0x98000000, lpcAddr: 0x0fe00000, size: 2 * MiB },
    reserved: { base: 0x98000000, size: 2 * MiB },
    backed: { ahbBase: 0x98100000, size: MiB, lpcAddrWhenRegionAtTop: 0x0ff00000 },
  });
  lpc.reset();
  t.equal(lpc.fwCyclesEnabled, false);
  t.equal(lpc.hostRead(0x0ff00000, 4), null, 'disabled after reset');
  t.equal(lpc.bmcRead(lpc.windowAhbBase, 4).toString(), 'keep', 'memory survives a reset');
  lpc.close();
  lpc.close();
  t.ok(lpc.closed);
  t.throws(() => lpc.bmcRead(lpc.windowAhbBase, 1), { code: 'ERR_HW_CLOSED' });
  t.throws(() => lpc.hostRead(0x0ff00000, 1), { code: 'ERR_HW_CLOSED' });
  t.ok(fs.existsSync(lpc.filePath), 'the file stays for QEMU');
});

t.test('a larger region keeps only the last 1 MiB backed', async (t) => {
  const lpc = model(t, { reservedSize: 32 * MiB });
  mapWholeRegion(lpc);
  t.equal(lpc.readRegister(LPC_HICR7), 0x98000e00);
  t.equal(lpc.readRegister(LPC_HICR8), 0xfe0001ff);
  t.equal(lpc.windowAhbBase, 0x99f00000);
  t.ok(lpc.hostWrite(0x0ff00000, Buffer.from([0xaa])));
  t.equal(lpc.bmcRead(0x99f00000, 1)[0], 0xaa);
  t.equal(lpc.hostRead(0x0e000000, 1), null, 'bottom of the region is unbacked');
  t.equal(fs.statSync(lpc.filePath).size, MiB);
});

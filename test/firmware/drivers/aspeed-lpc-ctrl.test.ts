import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LPC_HICR5, LPC_HICR7, LPC_HICR8, LpcCtrl } from '../../../hw-models/lpc-ctrl.js';
import {
  ASPEED_LPC_CTRL_WINDOW_FLASH,
  ASPEED_LPC_CTRL_WINDOW_MEMORY,
  AspeedLpcCtrl,
  topOfFwSpace,
  type AspeedLpcCtrlMapping,
} from '../../../firmware/drivers/aspeed-lpc-ctrl.js';

const MiB = 1024 * 1024;

function setup(t: { teardown(fn: () => void): void }, reservedSize = 2 * MiB): { lpc: LpcCtrl; drv: AspeedLpcCtrl } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmcemu-lpcdrv-'));
  const lpc = new LpcCtrl({ runtimeDir: dir, reservedSize });
  t.teardown(() => {
    lpc.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { lpc, drv: new AspeedLpcCtrl(lpc) };
}

function regs(lpc: LpcCtrl): number[] {
  return [LPC_HICR5, LPC_HICR7, LPC_HICR8].map((r) => lpc.readRegister(r));
}

/** What libmctp's fileio init does: GET_SIZE, place the region at the top of FW space, MAP it all. */
function mapLikeLibmctp(drv: AspeedLpcCtrl): number {
  const size = drv.getSize({ windowType: ASPEED_LPC_CTRL_WINDOW_MEMORY, windowId: 0 });
  drv.map({ windowType: ASPEED_LPC_CTRL_WINDOW_MEMORY, windowId: 0, flags: 0, addr: topOfFwSpace(size), offset: 0, size });
  return size;
}

t.test('GET_SIZE reports the reserved region; other windows EINVAL', async (t) => {
  const { drv } = setup(t);
  t.equal(drv.getSize(), 2 * MiB);
  t.equal(drv.windowSize, MiB);
  t.equal(drv.memBase, 0x98000000);
  t.throws(() => drv.getSize({ windowType: ASPEED_LPC_CTRL_WINDOW_FLASH }), { code: 'EINVAL' });
  t.throws(() => drv.getSize({ windowId: 1 }), { code: 'EINVAL' });
  t.throws(() => drv.getSize({ flags: 1 }), { code: 'EINVAL', errno: 22 });
});

t.test('MAP like libmctp: HICR5/7/8 programmed, MCTP window at LPC 0x0FF00000', async (t) => {
  const { lpc, drv } = setup(t);
  mapLikeLibmctp(drv);
  t.same(regs(lpc), [0x500, 0x98000fe0, 0xffe0001f]);
  drv.write(0, Buffer.from('MCTP'));
  t.equal(lpc.hostRead(0x0ff00000, 4)?.toString(), 'MCTP', 'host sees window offset 0 at 0x0FF00000');
  t.ok(lpc.hostWrite(0x0ff00100, Buffer.from([1, 2, 3])));
  t.same([...drv.read(0x100, 3)], [1, 2, 3], 'BMC reads what the host wrote');
  const fd = fs.openSync(lpc.filePath, 'r');
  t.teardown(() => fs.closeSync(fd));
  const b = Buffer.alloc(4);
  fs.readSync(fd, b, 0, 4, 0);
  t.equal(b.toString(), 'MCTP', 'file offset = window offset');
});

t.test('MAP: the reference example (32 MiB at 0x98000000)', async (t) => {
  const { lpc, drv } = setup(t, 32 * MiB);
  t.equal(mapLikeLibmctp(drv), 32 * MiB);
  t.same(regs(lpc).slice(1), [0x98000e00, 0xfe0001ff]);
  drv.write(MiB - 1, Buffer.from([0x5a]));
  t.same([...(lpc.hostRead(0x0fffffff, 1) as Buffer)], [0x5a], 'last window byte at the top of FW space');
});

t.test('MAP keeps the other HICR5 bits', async (t) => {
  const { lpc, drv } = setup(t);
  lpc.writeRegister(LPC_HICR5, 0x00f0a000);
  mapLikeLibmctp(drv);
  t.equal(lpc.readRegister(LPC_HICR5), 0x00f0a500);
});

t.test('MAP validation: kernel rules and mask rules, registers untouched on failure', async (t) => {
  const { lpc, drv } = setup(t);
  const base: AspeedLpcCtrlMapping = { addr: 0x0fe00000, offset: 0, size: 2 * MiB };
  const bad: [string, Partial<AspeedLpcCtrlMapping>, string][] = [
    ['flags', { flags: 1 }, 'EINVAL'],
    ['size not a 64 KiB multiple', { size: 0x18000 }, 'EINVAL'],
    ['offset not a 64 KiB multiple', { offset: 0x8000, size: 0x10000 }, 'EINVAL'],
    ['offset not a multiple of size', { offset: 0x10000, size: 0x20000, addr: 0x0ff00000 }, 'EINVAL'],
    ['flash window', { windowType: ASPEED_LPC_CTRL_WINDOW_FLASH }, 'ENODEV'],
    ['unknown window type', { windowType: 3 }, 'EINVAL'],
    ['window id 1', { windowId: 1 }, 'EINVAL'],
    ['past the region', { offset: 2 * MiB, size: 2 * MiB }, 'EINVAL'],
    ['bigger than the region', { size: 4 * MiB, addr: 0x0fc00000 }, 'EINVAL'],
    ['size zero', { size: 0 }, 'EINVAL'],
    ['size not a power of two', { size: 0x30000, addr: 0x0ff00000 }, 'EINVAL'],
    ['LPC address not aligned to size', { addr: 0x0ff00000 }, 'EINVAL'],
    ['LPC address past 28 bits', { addr: 0x10000000, size: MiB, offset: MiB }, 'EINVAL'],
    ['NaN size', { size: NaN }, 'EINVAL'],
    ['negative addr', { addr: -1 }, 'EINVAL'],
    ['offset 2^32', { offset: 2 ** 32 }, 'EINVAL'],
  ];
  const before = regs(lpc);
  for (const [name, change, code] of bad) {
    t.throws(() => drv.map({ ...base, ...change }), { name: 'DriverError', code }, name);
  }
  t.same(regs(lpc), before, 'no register written');
  t.doesNotThrow(() => drv.map({ addr: 0x0ff00000, offset: MiB, size: MiB }), 'just the MCTP window is fine');
  t.same(regs(lpc), [0x500, 0x98100ff0, 0xfff0000f]);
});

t.test('read/write bounds', async (t) => {
  const { drv } = setup(t);
  t.equal(drv.read(MiB - 4, 4).length, 4);
  t.throws(() => drv.read(MiB - 2, 4), { code: 'EFAULT' });
  t.throws(() => drv.write(MiB, Buffer.from([1])), { code: 'EFAULT' });
  t.throws(() => drv.read(-1, 1), { code: 'EINVAL' });
  t.throws(() => drv.read(0, NaN), { code: 'EINVAL' });
  t.throws(() => drv.read(0.5, 1), { code: 'EINVAL' });
  t.throws(() => drv.write(0, 'text' as never), { code: 'EINVAL' });
  t.equal(drv.read(0, 0).length, 0, 'empty read');
});

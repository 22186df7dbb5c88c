import t from 'tap';
import { FRU_CMD, fruCommands } from '../../../../firmware/ipmi/commands/storage-fru.js';
import { NETFN } from '../../../../firmware/ipmi/message.js';
import { parseFru } from '../../../../firmware/ipmi/storage/fru-format.js';
import { FruInventory } from '../../../../firmware/ipmi/storage/fru.js';
import { stateDir } from '../../../helpers/state-dir.js';
import { bytes, call } from './storage-helpers.js';

function setup(opts: { maxReadBytes?: number; dir?: string } = {}) {
  const fru = new FruInventory({ stateDir: opts.dir });
  const cmds = fruCommands({ fru, maxReadBytes: opts.maxReadBytes });
  const run = (cmd: number, data: number[]) => call(cmds, NETFN.STORAGE, cmd, data).then(bytes);
  return { fru, cmds, run };
}

t.test('Get FRU Inventory Area Info: 512 bytes, byte access; only device 0', async (t) => {
  const { run } = setup();
  t.same(await run(FRU_CMD.GET_FRU_INVENTORY_AREA_INFO, [0x00]), [0x00, 0x00, 0x02, 0x00]);
  t.same(await run(FRU_CMD.GET_FRU_INVENTORY_AREA_INFO, [0x01]), [0xcb]);
  t.same(await run(FRU_CMD.GET_FRU_INVENTORY_AREA_INFO, []), [0xc7]);
});

t.test('Read FRU Data: count then data; clipped at the end; hostile offsets and counts', async (t) => {
  const { run, fru } = setup({ maxReadBytes: 32 });
  const image = fru.image();
  t.same(await run(FRU_CMD.READ_FRU_DATA, [0x00, 0x00, 0x00, 8]), [0x00, 8, ...image.subarray(0, 8)], 'the common header');
  t.same(await run(FRU_CMD.READ_FRU_DATA, [0x00, 0x08, 0x00, 3]), [0x00, 3, ...image.subarray(8, 11)]);
  t.same(await run(FRU_CMD.READ_FRU_DATA, [0x00, 0xfe, 0x01, 16]), [0x00, 2, 0x00, 0x00], 'offset 510: the last two bytes');
  t.same(await run(FRU_CMD.READ_FRU_DATA, [0x00, 0x00, 0x02, 1]), [0xc9], 'offset 512 is past the end');
  t.same(await run(FRU_CMD.READ_FRU_DATA, [0x00, 0xff, 0xff, 1]), [0xc9]);
  t.same(await run(FRU_CMD.READ_FRU_DATA, [0x00, 0x00, 0x00, 33]), [0xca], 'more than this bus can carry');
  t.same(await run(FRU_CMD.READ_FRU_DATA, [0x00, 0x00, 0x00, 0]), [0x00, 0], 'zero bytes');
  t.same(await run(FRU_CMD.READ_FRU_DATA, [0x02, 0x00, 0x00, 1]), [0xcb]);
  t.same(await run(FRU_CMD.READ_FRU_DATA, [0x00, 0x00, 0x00]), [0xc7]);
});

t.test('Write FRU Data: count written; persisted; bounds', async (t) => {
  const dir = stateDir(t);
  const { run } = setup({ dir });
  t.same(await run(FRU_CMD.WRITE_FRU_DATA, [0x00, 0xf0, 0x01, 1, 2, 3]), [0x00, 3]);
  t.same(await run(FRU_CMD.READ_FRU_DATA, [0x00, 0xf0, 0x01, 4]), [0x00, 4, 1, 2, 3, 0]);
  t.same(await run(FRU_CMD.WRITE_FRU_DATA, [0x00, 0xff, 0x01, 1, 2]), [0xc9], 'would run past byte 511');
  t.same(await run(FRU_CMD.WRITE_FRU_DATA, [0x00, 0x00, 0x02]), [0xc9]);
  t.same(await run(FRU_CMD.WRITE_FRU_DATA, [0x00, 0x00, 0x00, ...Array(256).fill(0)]), [0xc8], 'the count would not fit its byte');
  t.same(await run(FRU_CMD.WRITE_FRU_DATA, [0x01, 0x00, 0x00, 1]), [0xcb]);
  t.same(await run(FRU_CMD.WRITE_FRU_DATA, [0x00, 0x00]), [0xc7]);
  const reloaded = setup({ dir });
  t.same(await reloaded.run(FRU_CMD.READ_FRU_DATA, [0x00, 0xf0, 0x01, 4]), [0x00, 4, 1, 2, 3, 0], 'after a reload');
});

t.test('an ipmitool-style read of the whole area (shrinking on CAh) parses cleanly', async (t) => {
  const { cmds } = setup({ maxReadBytes: 20 });
  const info = await call(cmds, NETFN.STORAGE, FRU_CMD.GET_FRU_INVENTORY_AREA_INFO, [0]);
  const size = info.data.readUInt16LE(0);
  const image = Buffer.alloc(size);
  let max = 255;
  for (let off = 0; off < size; ) {
    const n = Math.min(max, size - off);
    const r = await call(cmds, NETFN.STORAGE, FRU_CMD.READ_FRU_DATA, [0, off & 0xff, off >> 8, n]);
    if (r.cc === 0xca) {
      max -= max > 32 ? 16 : 1;
      continue;
    }
    t.equal(r.cc, 0);
    r.data.copy(image, off, 1, 1 + r.data[0]!);
    off += r.data[0]!;
  }
  const parsed = parseFru(image);
  t.same(parsed.problems, []);
  t.equal(parsed.product!.fields[1]!.text, 'Emulated server');
});

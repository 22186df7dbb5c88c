import t from 'tap';
import { SEL_CMD, selCommands } from '../../../../firmware/ipmi/commands/storage-sel.js';
import { NETFN, PRIVILEGE } from '../../../../firmware/ipmi/message.js';
import { SystemEventLog } from '../../../../firmware/ipmi/storage/sel.js';
import { bytes, call, u16, u32 } from './storage-helpers.js';

const T0S = 1_700_000_000;

function setup(capacity = 4) {
  let now = T0S * 1000;
  const sel = new SystemEventLog({ wallClock: () => now, capacity, reservationSeed: 0x0100 });
  const cmds = selCommands({ sel });
  const run = (cmd: number, data: number[] = []) => call(cmds, NETFN.STORAGE, cmd, data).then(bytes);
  return { sel, cmds, run, advance: (ms: number) => (now += ms) };
}

const EVENT = [0x41, 0x00, 0x04, 0x01, 0x10, 0x01, 0x57, 0x30, 0x2d]; // generator 41h, EvMRev, temp #10h, threshold, UNC going high…
const ADD = [0x00, 0x00, 0x02, 0, 0, 0, 0, ...EVENT]; // record ID and time are filled in by the SEL

t.test('registers the ten SEL commands on netfn 0Ah with sensible privileges', async (t) => {
  const { cmds } = setup();
  t.same(cmds.map((c) => c.cmd), [0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49]);
  t.ok(cmds.every((c) => c.netfn === NETFN.STORAGE && c.owner === 'ipmi/storage-sel'));
  t.same(cmds.filter((c) => c.privilege === PRIVILEGE.USER).map((c) => c.name), ['Get SEL Info', 'Get SEL Allocation Info', 'Reserve SEL', 'Get SEL Entry', 'Get SEL Time']);
});

t.test('Get SEL Info: exact bytes empty, after adds, and with overflow', async (t) => {
  const { run, advance } = setup(2);
  t.same(await run(SEL_CMD.GET_SEL_INFO), [0x00, 0x51, 0x00, 0x00, ...u16(32), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  await run(SEL_CMD.ADD_SEL_ENTRY, ADD);
  advance(3000);
  await run(SEL_CMD.ADD_SEL_ENTRY, ADD);
  t.same(await run(SEL_CMD.ADD_SEL_ENTRY, ADD), [0xc4], 'full: out of space');
  t.same(await run(SEL_CMD.GET_SEL_INFO), [0x00, 0x51, 0x02, 0x00, 0x00, 0x00, ...u32(T0S + 3), 0xff, 0xff, 0xff, 0xff, 0x8f]);
  t.same(await run(SEL_CMD.GET_SEL_INFO, [0]), [0xc7]);
});

t.test('Get SEL Allocation Info: one 16-byte unit per record', async (t) => {
  const { run } = setup(1024);
  t.same(await run(SEL_CMD.GET_SEL_ALLOCATION_INFO), [0x00, ...u16(1024), ...u16(16), ...u16(1024), ...u16(1024), 0x01]);
  await run(SEL_CMD.ADD_SEL_ENTRY, ADD);
  t.same(await run(SEL_CMD.GET_SEL_ALLOCATION_INFO), [0x00, ...u16(1024), ...u16(16), ...u16(1023), ...u16(1023), 0x01]);
});

t.test('Add SEL Entry: new ID back, time stamped; bad lengths and types refused', async (t) => {
  const { run } = setup();
  t.same(await run(SEL_CMD.ADD_SEL_ENTRY, ADD), [0x00, 0x01, 0x00]);
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 1, 0, 0, 0xff]), [0x00, 0xff, 0xff, 0x01, 0x00, 0x02, ...u32(T0S), ...EVENT]);
  t.same(await run(SEL_CMD.ADD_SEL_ENTRY, ADD.slice(0, 15)), [0xc7]);
  t.same(await run(SEL_CMD.ADD_SEL_ENTRY, [...ADD, 0]), [0xc7]);
  const reserved = [...ADD];
  reserved[2] = 0x10;
  t.same(await run(SEL_CMD.ADD_SEL_ENTRY, reserved), [0x80], 'record type not supported');
});

t.test('Get SEL Entry: first/last/next, partial reads, hostile offsets and IDs', async (t) => {
  const { run, sel } = setup();
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 0, 0, 0, 0xff]), [0xcb], 'empty SEL');
  for (let i = 0; i < 3; i++) await run(SEL_CMD.ADD_SEL_ENTRY, ADD);
  t.same((await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 0x00, 0x00, 0, 0xff])).slice(0, 5), [0x00, 0x02, 0x00, 0x01, 0x00], 'first → record 1, next 2');
  t.same((await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 0x02, 0x00, 0, 0xff])).slice(0, 5), [0x00, 0x03, 0x00, 0x02, 0x00]);
  t.same((await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 0xff, 0xff, 0, 0xff])).slice(0, 5), [0x00, 0xff, 0xff, 0x03, 0x00], 'last → record 3, next FFFFh');
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 0x09, 0x00, 0, 0xff]), [0xcb], 'no such record');
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 1, 0, 0, 16]), [0x00, 0x02, 0x00, 0x01, 0x00, 0x02, ...u32(T0S), ...EVENT], '16 bytes from 0 is a whole read');

  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 1, 0, 10, 3]), [0xc5], 'a partial read needs the reservation');
  const res = sel.reserve();
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [...u16(res), 1, 0, 10, 3]), [0x00, 0x02, 0x00, 0x01, 0x10, 0x01]);
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [...u16(res), 1, 0, 0, 5]), [0x00, 0x02, 0x00, 0x01, 0x00, 0x02, ...u32(T0S).slice(0, 2)]);
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [...u16(res), 1, 0, 14, 0xff]), [0x00, 0x02, 0x00, 0x30, 0x2d], 'FFh reads to the end');
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [...u16(res), 1, 0, 14, 9]), [0x00, 0x02, 0x00, 0x30, 0x2d], 'reads stop at the record end');
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [...u16(res), 1, 0, 16, 1]), [0xc9], 'offset past the record');
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [...u16(res), 1, 0, 0xff, 0xff]), [0xc9]);
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [...u16(res + 1), 1, 0, 1, 1]), [0xc5], 'wrong reservation');
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 1, 0, 0]), [0xc7]);
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 1, 0, 0, 0xff, 0]), [0xc7]);
});

t.test('Reserve SEL and Delete SEL Entry', async (t) => {
  const { run } = setup();
  for (let i = 0; i < 3; i++) await run(SEL_CMD.ADD_SEL_ENTRY, ADD);
  t.same(await run(SEL_CMD.RESERVE_SEL), [0x00, 0x01, 0x01]);
  t.same(await run(SEL_CMD.DELETE_SEL_ENTRY, [0x00, 0x00, 0x02, 0x00]), [0xc5], 'reservation 0000h is never valid');
  t.same(await run(SEL_CMD.DELETE_SEL_ENTRY, [0x01, 0x01, 0x02, 0x00]), [0x00, 0x02, 0x00]);
  t.same(await run(SEL_CMD.DELETE_SEL_ENTRY, [0x01, 0x01, 0x02, 0x00]), [0xcb], 'already gone; the reservation still holds (ipmitool deletes several under one)');
  t.same(await run(SEL_CMD.DELETE_SEL_ENTRY, [0x01, 0x01, 0xff, 0xff]), [0x00, 0x03, 0x00], 'FFFFh deletes the last');
  await run(SEL_CMD.ADD_SEL_ENTRY, ADD);
  t.same(await run(SEL_CMD.DELETE_SEL_ENTRY, [0x01, 0x01, 0x00, 0x00]), [0xc5], 'an added record cancelled it');
  t.same(await run(SEL_CMD.RESERVE_SEL), [0x00, 0x02, 0x01]);
  t.same(await run(SEL_CMD.DELETE_SEL_ENTRY, [0x02, 0x01, 0x00, 0x00]), [0x00, 0x01, 0x00], '0000h deletes the first');
  t.same(await run(SEL_CMD.DELETE_SEL_ENTRY, [0x02, 0x01, 0x00]), [0xc7]);
  t.same(await run(SEL_CMD.RESERVE_SEL, [1]), [0xc7]);
});

t.test('Clear SEL: CLR, AAh initiates, 00h reports completion; reservation checked', async (t) => {
  const { run, sel } = setup();
  await run(SEL_CMD.ADD_SEL_ENTRY, ADD);
  const res = u16(sel.reserve());
  t.same(await run(SEL_CMD.CLEAR_SEL, [...res, 0x43, 0x4c, 0x52, 0xaa]), [0x00, 0x01]);
  t.equal(sel.size, 0);
  t.same(await run(SEL_CMD.CLEAR_SEL, [...res, 0x43, 0x4c, 0x52, 0x00]), [0x00, 0x01], 'status query after the clear');
  t.same(await run(SEL_CMD.CLEAR_SEL, [...res, 0x43, 0x4c, 0x52, 0xaa]), [0xc5], 'the clear cancelled the reservation');
  const res2 = u16(sel.reserve());
  t.same(await run(SEL_CMD.CLEAR_SEL, [...res2, 0x43, 0x4c, 0x51, 0xaa]), [0xcc], 'not CLR');
  t.same(await run(SEL_CMD.CLEAR_SEL, [...res2, 0x43, 0x4c, 0x52, 0x55]), [0xcc], 'unknown action');
  t.same(await run(SEL_CMD.CLEAR_SEL, [...res2, 0x43, 0x4c, 0x52]), [0xc7]);
  t.same(await run(SEL_CMD.CLEAR_SEL, [...res2, 0x43, 0x4c, 0x52, 0xaa]), [0x00, 0x01]);
});

t.test('Partial Add SEL Entry: pieces, the announced ID, and every way to get it wrong', async (t) => {
  const { run, sel } = setup();
  const res = () => u16(sel.reserve());
  const r = res();
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r, 0, 0, 0, 0x00, ...ADD.slice(0, 7)]), [0x00, 0x01, 0x00], 'first piece: the ID the record will get');
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r, 0x01, 0x00, 5, 0x00, 0xaa]), [0xc9], 'offset must continue at 7');
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r, 0x01, 0x00, 7, 0x00, 0xaa]), [0xcb], 'a refused piece abandons the record');
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r, 0, 0, 0, 0x00, ...ADD.slice(0, 7)]), [0x00, 0x01, 0x00], 'start over');
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r, 0x07, 0x00, 7, 0x00, 0xaa]), [0xcb], 'unknown record ID');
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r, 0, 0, 0, 0x00, ...ADD.slice(0, 7)]), [0x00, 0x01, 0x00]);
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r, 0x01, 0x00, 7, 0x00, ...ADD.slice(7, 12)]), [0x00, 0x01, 0x00]);
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r, 0x01, 0x00, 12, 0x02, ...ADD.slice(12)]), [0xcc], 'in-progress must be 0 or 1');
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r, 0x01, 0x00, 12, 0x01, ...ADD.slice(12)]), [0x00, 0x01, 0x00], 'last piece: added');
  t.same(await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 1, 0, 0, 0xff]), [0x00, 0xff, 0xff, 0x01, 0x00, 0x02, ...u32(T0S), ...EVENT]);
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r, 0, 0, 0, 0x01, ...ADD]), [0xc5], 'the add cancelled the reservation');

  const r2 = res();
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r2, 0, 0, 0, 0x01, ...ADD.slice(0, 10)]), [0x80], 'last before 16 bytes');
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r2, 0, 0, 0, 0x00, ...ADD, 0x00]), [0xc8], 'more than 16 bytes');
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r2, 0x02, 0x00, 0, 0x00]), [0xcb], 'nothing in progress');
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r2, 0, 0, 0]), [0xc7]);
  t.same(await run(SEL_CMD.PARTIAL_ADD_SEL_ENTRY, [...r2, 0, 0, 0, 0x01, ...ADD]), [0x00, 0x02, 0x00], 'a whole record in one piece');
  t.equal(sel.size, 2);
});

t.test('Get/Set SEL Time', async (t) => {
  const { run, advance } = setup();
  t.same(await run(SEL_CMD.GET_SEL_TIME), [0x00, ...u32(T0S)]);
  t.same(await run(SEL_CMD.SET_SEL_TIME, u32(0x12345678)), [0x00]);
  advance(1500);
  t.same(await run(SEL_CMD.GET_SEL_TIME), [0x00, ...u32(0x12345679)]);
  await run(SEL_CMD.ADD_SEL_ENTRY, ADD);
  t.same((await run(SEL_CMD.GET_SEL_ENTRY, [0, 0, 0, 0, 0, 0xff])).slice(6, 10), u32(0x12345679), 'records carry SEL time');
  t.same(await run(SEL_CMD.SET_SEL_TIME, [1, 2, 3]), [0xc7]);
  t.same(await run(SEL_CMD.GET_SEL_TIME, [0]), [0xc7]);
});

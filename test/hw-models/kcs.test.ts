import t from 'tap';
import {
  KCS_DEFAULT_IO,
  KCS_REGISTER_OFFSETS,
  KCS_STR_BMC_OWNED,
  KCS_STR_CMD_DAT,
  KCS_STR_IBF,
  KCS_STR_OBF,
  KcsChannel,
  KcsController,
  LPC_IDR1,
  LPC_IDR3,
  LPC_IDR4,
  LPC_ODR2,
  LPC_ODR3,
  LPC_ODR4,
  LPC_STR3,
  LPC_STR4,
  type KcsCounters,
} from '../../hw-models/kcs.js';
import { isHwModelError } from '../../hw-models/errors.js';

interface Start {
  /** Software bits (7-4, 2). */
  sw?: number;
  ibf?: boolean;
  cd?: boolean;
  obf?: boolean;
  idr?: number;
  odr?: number;
}

/** Reach a starting state through the public API only. */
function channelIn(start: Start): KcsChannel {
  const ch = new KcsChannel({ channel: 3 });
  if (start.odr !== undefined || start.obf) {
    ch.bmcWriteOdr(start.odr ?? 0);
    if (!start.obf) ch.hostRead(0);
  }
  if (start.sw !== undefined) ch.bmcWriteStr((start.sw & KCS_STR_BMC_OWNED) | (start.obf ? KCS_STR_OBF : 0));
  if (start.idr !== undefined || start.ibf) {
    ch.hostWrite(start.cd ? 1 : 0, start.idr ?? 0);
    if (!start.ibf) ch.bmcReadIdr();
  }
  return ch;
}

type EventRecord = [string, ...unknown[]];

function record(ch: KcsChannel): EventRecord[] {
  const events: EventRecord[] = [];
  ch.on('host-irq', (str) => events.push(['host-irq', str]));
  ch.on('bmc-irq', (str) => events.push(['bmc-irq', str]));
  ch.on('obf-cleared', (str, cause) => events.push(['obf-cleared', str, cause]));
  return events;
}

function delta(before: KcsCounters, after: KcsCounters): Partial<KcsCounters> {
  const out: Partial<KcsCounters> = {};
  for (const k of Object.keys(after) as (keyof KcsCounters)[]) {
    if (after[k] !== before[k]) out[k] = after[k] - before[k];
  }
  return out;
}

interface Row {
  name: string;
  start: Start;
  access: (ch: KcsChannel) => number | void;
  returns?: number;
  str: number;
  idr: number;
  odr: number;
  events: EventRecord[];
  counters?: Partial<KcsCounters>;
}

const IBF = KCS_STR_IBF;
const OBF = KCS_STR_OBF;
const CD = KCS_STR_CMD_DAT;

const rows: Row[] = [
  // ---- host side ----
  {
    name: 'host data write, idle: IBF set, C/D clear, BMC IRQ',
    start: {},
    access: (ch) => ch.hostWrite(0, 0x5a),
    returns: IBF,
    str: IBF,
    idr: 0x5a,
    odr: 0,
    events: [['bmc-irq', IBF]],
    counters: { hostWrites: 1 },
  },
  {
    name: 'host command write, idle: IBF and C/D set, BMC IRQ',
    start: {},
    access: (ch) => ch.hostWrite(1, 0x00),
    returns: IBF | CD,
    str: IBF | CD,
    idr: 0x00,
    odr: 0,
    events: [['bmc-irq', IBF | CD]],
  },
  {
    name: 'host data write after a consumed command clears C/D',
    start: { idr: 0x61, cd: true },
    access: (ch) => ch.hostWrite(0, 0x01),
    returns: IBF,
    str: IBF,
    idr: 0x01,
    odr: 0,
    events: [['bmc-irq', IBF]],
  },
  {
    name: 'host write while IBF set overwrites IDR, no new IRQ, counted',
    start: { ibf: true, idr: 0x01 },
    access: (ch) => ch.hostWrite(1, 0x02),
    returns: IBF | CD,
    str: IBF | CD,
    idr: 0x02,
    odr: 0,
    events: [],
    counters: { hostWrites: 1, overrunWrites: 1 },
  },
  {
    name: 'host data read with OBF returns ODR and clears OBF',
    start: { sw: 0xc0, obf: true, odr: 0xff },
    access: (ch) => ch.hostRead(0),
    returns: 0xff,
    str: 0xc0,
    idr: 0,
    odr: 0xff,
    events: [['obf-cleared', 0xc0, 'host-read']],
    counters: { hostReads: 1 },
  },
  {
    name: 'host data read without OBF returns the stale ODR, no change',
    start: { odr: 0x42 },
    access: (ch) => ch.hostRead(0),
    returns: 0x42,
    str: 0,
    idr: 0,
    odr: 0x42,
    events: [],
    counters: { hostReads: 1, staleOdrReads: 1 },
  },
  {
    name: 'host status read has no side effect',
    start: { sw: 0x80, obf: true, ibf: true, odr: 0xff, idr: 3 },
    access: (ch) => ch.hostRead(1),
    returns: 0x80 | OBF | IBF,
    str: 0x80 | OBF | IBF,
    idr: 3,
    odr: 0xff,
    events: [],
  },
  // ---- BMC side ----
  {
    name: 'BMC IDR read with IBF returns IDR and clears IBF (C/D kept)',
    start: { ibf: true, cd: true, idr: 0x00 },
    access: (ch) => ch.bmcReadIdr(),
    returns: 0x00,
    str: CD,
    idr: 0x00,
    odr: 0,
    events: [],
    counters: { bmcReads: 1 },
  },
  {
    name: 'BMC IDR read without IBF returns the stale IDR, counted',
    start: { idr: 0x33 },
    access: (ch) => ch.bmcReadIdr(),
    returns: 0x33,
    str: 0,
    idr: 0x33,
    odr: 0,
    events: [],
    counters: { bmcReads: 1, staleIdrReads: 1 },
  },
  {
    name: 'BMC ODR write, OBF clear: OBF set, host IRQ with STR',
    start: { sw: 0x80 },
    access: (ch) => ch.bmcWriteOdr(0x01),
    str: 0x80 | OBF,
    idr: 0,
    odr: 0x01,
    events: [['host-irq', 0x80 | OBF]],
    counters: { bmcWrites: 1 },
  },
  {
    name: 'BMC dummy write 0xFF raises the host IRQ like any ODR write',
    start: { sw: 0xc0 },
    access: (ch) => ch.bmcWriteOdr(0xff),
    str: 0xc0 | OBF,
    idr: 0,
    odr: 0xff,
    events: [['host-irq', 0xc0 | OBF]],
  },
  {
    name: 'BMC ODR write with OBF already set: overwritten, no second IRQ, counted',
    start: { obf: true, odr: 0xff },
    access: (ch) => ch.bmcWriteOdr(0x02),
    str: OBF,
    idr: 0,
    odr: 0x02,
    events: [],
    counters: { bmcWrites: 1, odrOverwrites: 1 },
  },
  {
    name: 'stale OBF at start: BMC writes STR 0x80, OBF cleared',
    start: { obf: true, odr: 0xff },
    access: (ch) => ch.bmcWriteStr(0x80),
    str: 0x80,
    idr: 0,
    odr: 0xff,
    events: [['obf-cleared', 0x80, 'status-write']],
    counters: { bmcWrites: 1, obfClearedByStatusWrite: 1 },
  },
  {
    name: 'STR write with bit 0 set keeps OBF (0xC1 after init)',
    start: { sw: 0x80, obf: true, odr: 0xff },
    access: (ch) => ch.bmcWriteStr(0xc1),
    str: 0xc1,
    idr: 0,
    odr: 0xff,
    events: [],
  },
  {
    name: 'STR write with bit 0 set never sets OBF',
    start: { sw: 0x80 },
    access: (ch) => ch.bmcWriteStr(0x81),
    str: 0x80,
    idr: 0,
    odr: 0,
    events: [],
  },
  {
    name: 'STR write 0xFF cannot set IBF, C/D or OBF',
    start: {},
    access: (ch) => ch.bmcWriteStr(0xff),
    str: 0xf4,
    idr: 0,
    odr: 0,
    events: [],
  },
  {
    name: 'STR write 0x00 cannot clear IBF or C/D',
    start: { sw: 0xc0, ibf: true, cd: true, idr: 7 },
    access: (ch) => ch.bmcWriteStr(0x00),
    str: IBF | CD,
    idr: 7,
    odr: 0,
    events: [],
  },
  {
    name: 'STR write 0xC1 with IBF and OBF set keeps both',
    start: { sw: 0x80, ibf: true, obf: true, idr: 1, odr: 0xff },
    access: (ch) => ch.bmcWriteStr(0xc1),
    str: 0xc1 | IBF,
    idr: 1,
    odr: 0xff,
    events: [],
  },
  {
    name: 'STR write of software bit 2 (SMS_ATN) sticks',
    start: {},
    access: (ch) => ch.bmcWriteStr(0x04),
    str: 0x04,
    idr: 0,
    odr: 0,
    events: [],
  },
];

t.test('channel register semantics (table)', async (t) => {
  for (const row of rows) {
    const ch = channelIn(row.start);
    const events = record(ch);
    const before = ch.snapshot().counters;
    const returned = row.access(ch);
    const snap = ch.snapshot();
    t.same(
      { str: snap.str, idr: snap.idr, odr: snap.odr, events },
      { str: row.str, idr: row.idr, odr: row.odr, events: row.events },
      row.name,
    );
    if (row.returns !== undefined) t.equal(returned, row.returns, `${row.name}: returned value`);
    if (row.counters) t.same(delta(before, snap.counters), row.counters, `${row.name}: counters`);
  }
});

t.test('libmctp BMC init then host Init, register by register', async (t) => {
  const ch = new KcsChannel({ channel: 3 });
  const events = record(ch);
  // A stale OBF from a previous BMC life.
  ch.bmcWriteOdr(0xff);
  events.length = 0;
  ch.bmcWriteStr(0x80); // clears the stale OBF so the dummy write cannot block
  ch.bmcWriteOdr(0xff); // dummy: OBF rises, host IRQ
  t.equal(ch.peekStatus(), 0x81, 'STR 0x81 after BMC init');
  t.equal(ch.hostWrite(0, 0x00), 0x83, 'host Init (0x00) sets IBF');
  t.equal(ch.bmcReadStr(), 0x83);
  t.equal(ch.bmcReadIdr(), 0x00, 'BMC reads Init');
  ch.bmcWriteStr(0xc1);
  t.equal(ch.peekStatus(), 0xc1, 'STR 0xC1 (OBF preserved by the written bit 0)');
  t.equal(ch.hostRead(0), 0xff, 'host drains the pending dummy');
  ch.bmcWriteOdr(0xff);
  t.same(events, [
    ['obf-cleared', 0x80, 'status-write'],
    ['host-irq', 0x81],
    ['bmc-irq', 0x83],
    ['obf-cleared', 0xc0, 'host-read'],
    ['host-irq', 0xc1],
  ]);
});

t.test('change event on every register change, not on plain reads', async (t) => {
  const ch = new KcsChannel();
  let changes = 0;
  ch.on('change', () => changes++);
  ch.hostRead(1);
  ch.bmcReadStr();
  ch.hostRead(0); // OBF clear: nothing changes
  t.equal(changes, 0);
  ch.hostWrite(0, 1);
  ch.bmcReadIdr();
  ch.bmcWriteOdr(2);
  ch.hostRead(0);
  ch.bmcWriteStr(0x80);
  ch.bmcWriteStr(0x80); // same value: no change
  t.equal(changes, 5);
});

t.test('hostile values are refused with a coded error and change nothing', async (t) => {
  const ch = channelIn({ sw: 0x80, obf: true, odr: 0xff, ibf: true, idr: 5 });
  const events = record(ch);
  let changes = 0;
  ch.on('change', () => changes++);
  const before = ch.snapshot();
  const attempts: [string, () => unknown, string][] = [
    ['host write 0x100', () => ch.hostWrite(0, 0x100), 'ERR_HW_BAD_VALUE'],
    ['host write -1', () => ch.hostWrite(0, -1), 'ERR_HW_BAD_VALUE'],
    ['host write NaN', () => ch.hostWrite(1, NaN), 'ERR_HW_BAD_VALUE'],
    ['host write 1.5', () => ch.hostWrite(0, 1.5), 'ERR_HW_BAD_VALUE'],
    ['host write "7"', () => ch.hostWrite(0, '7' as unknown as number), 'ERR_HW_BAD_VALUE'],
    ['host reg 2', () => ch.hostWrite(2 as 0, 1), 'ERR_HW_BAD_OFFSET'],
    ['host reg -1 read', () => ch.hostRead(-1 as 0), 'ERR_HW_BAD_OFFSET'],
    ['host reg NaN read', () => ch.hostRead(NaN as 0), 'ERR_HW_BAD_OFFSET'],
    ['ODR 0x1FF', () => ch.bmcWriteOdr(0x1ff), 'ERR_HW_BAD_VALUE'],
    ['STR Infinity', () => ch.bmcWriteStr(Infinity), 'ERR_HW_BAD_VALUE'],
    ['register 0x48', () => ch.writeRegister(0x48, 0), 'ERR_HW_BAD_OFFSET'],
    ['register channel 1 IDR', () => ch.readRegister(LPC_IDR1), 'ERR_HW_BAD_OFFSET'],
    ['register NaN', () => ch.readRegister(NaN), 'ERR_HW_BAD_OFFSET'],
    ['register ODR3 value 256', () => ch.writeRegister(LPC_ODR3, 256), 'ERR_HW_BAD_VALUE'],
    ['register IDR3 value -5', () => ch.writeRegister(LPC_IDR3, -5), 'ERR_HW_BAD_VALUE'],
  ];
  for (const [name, fn, code] of attempts) {
    let caught: unknown;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    t.ok(isHwModelError(caught) && caught.code === code && /\d|NaN|Infinity/.test(caught.message), `${name}: ${String(caught)}`);
  }
  const after = ch.snapshot();
  t.same({ ...after, counters: undefined }, { ...before, counters: undefined }, 'registers untouched');
  t.same(after.counters, before.counters, 'counters untouched');
  t.same(events, [], 'no interrupts');
  t.equal(changes, 0, 'no change events');
  t.throws(() => new KcsChannel({ channel: 5 as 1 }), { name: 'ConfigError', code: 'ERR_BAD_CONFIG' });
  t.throws(() => new KcsChannel({ channel: 3, io: { data: 0x10000, status: 1 } }), { name: 'ConfigError', code: 'ERR_BAD_CONFIG' });
  t.throws(() => new KcsChannel({ channel: 3, io: { data: 0xca2, status: 0xca2 } }), { name: 'ConfigError', code: 'ERR_BAD_CONFIG' });
});

t.test('BMC register interface on a channel', async (t) => {
  const ch = new KcsChannel({ channel: 3 });
  const events = record(ch);
  ch.writeRegister(LPC_ODR3, 0x11);
  t.equal(ch.readRegister(LPC_STR3), OBF);
  t.equal(ch.readRegister(LPC_ODR3), 0x11, 'ODR reads back');
  t.equal(ch.peekStatus(), OBF, 'a BMC ODR read does not consume it');
  ch.hostWrite(0, 0x22);
  ch.writeRegister(LPC_IDR3, 0x99);
  t.equal(ch.snapshot().idr, 0x22, 'BMC write to IDR is ignored');
  t.equal(ch.counters.ignoredWrites, 1);
  t.equal(ch.readRegister(LPC_IDR3), 0x22);
  t.equal(ch.peekStatus(), OBF, 'IDR read cleared IBF');
  ch.writeRegister(LPC_STR3, 0x80);
  t.equal(ch.peekStatus(), 0x80);
  t.same(events, [
    ['host-irq', OBF],
    ['bmc-irq', OBF | IBF],
    ['obf-cleared', 0x80, 'status-write'],
  ]);
});

t.test('reset returns registers to zero and keeps counters', async (t) => {
  const ch = channelIn({ sw: 0xc0, obf: true, ibf: true, odr: 1, idr: 2 });
  const events = record(ch);
  const writes = ch.counters.hostWrites;
  ch.reset();
  const snap = ch.snapshot();
  t.same([snap.str, snap.idr, snap.odr], [0, 0, 0]);
  t.equal(snap.counters.hostWrites, writes);
  t.equal(snap.counters.resets, 1);
  t.same(events, [['obf-cleared', 0, 'reset']]);
});

t.test('snapshot is plain JSON', async (t) => {
  const ch = channelIn({ sw: 0x80, obf: true, odr: 0xff });
  const snap = ch.snapshot();
  t.same(JSON.parse(JSON.stringify(snap)), snap);
  t.match(snap, { channel: 3, io: { data: 0xca2, status: 0xca3 }, str: 0x81, obf: true, ibf: false });
});

t.test('controller: register offsets decode to the right channel', async (t) => {
  const kcs = new KcsController();
  const irqs: [number, number][] = [];
  kcs.on('host-irq', (n, str) => irqs.push([n, str]));
  for (const n of [1, 2, 3, 4] as const) {
    const offs = KCS_REGISTER_OFFSETS[n];
    kcs.writeRegister(offs.odr, 0x10 + n);
    t.equal(kcs.readRegister(offs.str), OBF, `STR${n} shows OBF`);
    t.equal(kcs.channel(n).hostRead(0), 0x10 + n, `channel ${n} ODR`);
    kcs.channel(n).hostWrite(0, 0x20 + n);
    t.equal(kcs.readRegister(offs.idr), 0x20 + n, `channel ${n} IDR`);
  }
  t.same(irqs, [
    [1, OBF],
    [2, OBF],
    [3, OBF],
    [4, OBF],
  ]);
  t.same(KCS_REGISTER_OFFSETS[4], { idr: LPC_IDR4, odr: LPC_ODR4, str: LPC_STR4 });
  t.same([LPC_IDR4, LPC_ODR4, LPC_STR4], [0x114, 0x118, 0x11c]);
  t.same([LPC_IDR1, LPC_ODR2, LPC_STR3], [0x24, 0x34, 0x44]);
  for (const bad of [0x00, 0x20, 0x48, 0x110, 0x120, -4, 0.5, NaN]) {
    t.throws(() => kcs.readRegister(bad), { code: 'ERR_HW_BAD_OFFSET' }, `offset ${bad}`);
    t.throws(() => kcs.writeRegister(bad, 0), { code: 'ERR_HW_BAD_OFFSET' }, `write offset ${bad}`);
  }
  t.throws(() => kcs.writeRegister(LPC_ODR2, 0x100), { code: 'ERR_HW_BAD_VALUE' });
});

t.test('controller: host LPC I/O ports', async (t) => {
  const kcs = new KcsController();
  t.same(KCS_DEFAULT_IO[3], { data: 0xca2, status: 0xca3 }, 'skiboot MCTP channel');
  t.same(kcs.decodeIo(0xca2), { channel: 3, reg: 0 });
  t.same(kcs.decodeIo(0xca3), { channel: 3, reg: 1 });
  t.same(kcs.decodeIo(0xca0), { channel: 1, reg: 0 });
  t.same(kcs.decodeIo(0xca4), { channel: 1, reg: 1 });
  t.same(kcs.decodeIo(0xcac), { channel: 2, reg: 1 });
  t.equal(kcs.decodeIo(0xca5), null);
  const bmcIrqs: number[] = [];
  kcs.on('bmc-irq', (n) => bmcIrqs.push(n));
  t.equal(kcs.hostIoWrite(0xca3, 0x00), IBF | CD, 'command port write');
  t.equal(kcs.hostIoRead(0xca3), IBF | CD, 'status port read');
  t.same(bmcIrqs, [3]);
  kcs.writeRegister(LPC_ODR3, 0xff);
  t.equal(kcs.hostIoRead(0xca2), 0xff);
  t.equal(kcs.hostIoRead(0xca5), null, 'unclaimed port');
  t.equal(kcs.hostIoWrite(0x3f8, 1), null, 'unclaimed port');
  t.equal(kcs.snapshot().unclaimedIo, 2);
  t.throws(() => kcs.hostIoWrite(0xca2, 300), { code: 'ERR_HW_BAD_VALUE' });
  t.throws(() => kcs.hostIoRead(0x10000), { code: 'ERR_HW_BAD_ARGUMENT' });
  t.equal(kcs.channel(3).peekStatus(), IBF | CD, 'refused write changed nothing');
});

t.test('controller: configurable ports, overlaps refused', async (t) => {
  const kcs = new KcsController({ io: { 4: { data: 0xca6, status: 0xca7 }, 2: null } });
  t.same(kcs.decodeIo(0xca6), { channel: 4, reg: 0 });
  t.equal(kcs.decodeIo(0xca8), null, 'channel 2 not decoded');
  t.throws(() => new KcsController({ io: { 4: { data: 0xca4, status: 0xca5 } } }), {
    code: 'ERR_BAD_CONFIG',
    message: /0xCA4 claimed by both channel 1 and channel 4/,
  });
  t.throws(() => kcs.channel(7 as 1), { code: 'ERR_HW_BAD_ARGUMENT' });
});

t.test('controller: snapshot, change and reset', async (t) => {
  const kcs = new KcsController();
  const changes: number[] = [];
  kcs.on('change', (n) => changes.push(n));
  kcs.channel(2).bmcWriteOdr(1);
  kcs.channel(4).hostWrite(0, 1);
  t.same(changes, [2, 4]);
  const snap = kcs.snapshot();
  t.equal(snap.channels.length, 4);
  t.same(JSON.parse(JSON.stringify(snap)), snap);
  kcs.reset();
  t.ok(kcs.channels.every((c) => c.peekStatus() === 0));
});

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { JOURNAL_LAYOUT } from '../../../../lib/record-journal.js';
import { encodeSystemEvent, type SystemEvent } from '../../../../firmware/ipmi/storage/sel-record.js';
import { emptySelState, type SelState } from '../../../../firmware/ipmi/storage/sel-state.js';
import { JournalSelStore, MemorySelStore, SEL_JOURNAL_FILE, type SelStore } from '../../../../firmware/ipmi/storage/sel-store.js';
import { SystemEventLog } from '../../../../firmware/ipmi/storage/sel.js';
import { stateDir } from '../../../helpers/state-dir.js';

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5); // wall clock at the start of every test
const T0S = T0 / 1000;

const EV: SystemEvent = { generatorId: 0x0041, sensorType: 0x01, sensorNumber: 0x10, eventDirType: 0x01, eventData: [0x57, 0x30, 0x2d] };

function wall(start = T0): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

function record(type: number, fill = 0xa5): Buffer {
  const r = Buffer.alloc(16, fill);
  r[2] = type;
  return r;
}

function journalSel(dir: string, clock = wall(), capacity?: number): SystemEventLog {
  return new SystemEventLog({ store: new JournalSelStore(dir, { syncEachAppend: false }), wallClock: clock.now, capacity });
}

t.test('records get IDs 1, 2, 3… and the SEL time; the sent ID and time are ignored', async (t) => {
  const sel = new SystemEventLog({ wallClock: wall().now });
  const a = sel.logEvent(EV);
  t.ok(a.ok);
  t.same(a.ok && [...a.record], [0x01, 0x00, 0x02, ...[T0S & 0xff, (T0S >>> 8) & 0xff, (T0S >>> 16) & 0xff, T0S >>> 24], 0x41, 0x00, 0x04, 0x01, 0x10, 0x01, 0x57, 0x30, 0x2d]);
  const b = sel.add(record(0xc1));
  t.ok(b.ok && b.recordId === 2);
  t.equal(b.ok && b.record.readUInt32LE(3), T0S, 'OEM timestamped (C0h-DFh): time stamped in');
  const c = sel.add(record(0xe0));
  t.ok(c.ok && c.recordId === 3);
  t.same(c.ok && [...c.record.subarray(3)], [...record(0xe0).subarray(3)], 'OEM non-timestamped: bytes 3-15 untouched');
  t.same(sel.add(record(0x03)), { ok: false, reason: 'bad-type' }, 'reserved record types are refused');
  t.same(sel.add(record(0x00)), { ok: false, reason: 'bad-type' });
  t.equal(sel.size, 3);
  t.throws(() => sel.add(Buffer.alloc(15)), RangeError);
  t.throws(() => sel.logEvent({ ...EV, evmRev: 0x05 }), RangeError);
  const v1 = sel.logEvent({ ...EV, evmRev: 0x03 });
  t.equal(v1.ok && v1.record[9], 0x04, 'IPMI v1.0 events are logged in the v1.5/v2.0 format');
});

t.test('get: 0000h first, FFFFh last, next IDs chain to FFFFh', async (t) => {
  const sel = new SystemEventLog({ wallClock: wall().now });
  t.equal(sel.get(0), undefined, 'empty SEL has no first record');
  t.equal(sel.get(0xffff), undefined);
  for (let i = 0; i < 3; i++) sel.logEvent(EV);
  t.equal(sel.get(0)!.record.readUInt16LE(0), 1);
  t.equal(sel.get(0)!.nextId, 2);
  t.equal(sel.get(2)!.nextId, 3);
  t.equal(sel.get(3)!.nextId, 0xffff);
  t.equal(sel.get(0xffff)!.record.readUInt16LE(0), 3);
  t.equal(sel.get(4), undefined);
  sel.delete(2);
  t.equal(sel.get(1)!.nextId, 3, 'deleted records drop out of the chain');
});

t.test('full SEL: refused, overflow flag set once, counted; Clear SEL resets the flag', async (t) => {
  const store = new CountingStore();
  const sel = new SystemEventLog({ wallClock: wall().now, capacity: 2, store });
  sel.logEvent(EV);
  sel.logEvent(EV);
  t.match(sel.info(), { entries: 2, freeBytes: 0, overflow: false });
  t.same(sel.logEvent(EV), { ok: false, reason: 'full' });
  t.same(sel.add(record(0xc0)), { ok: false, reason: 'full' });
  t.match(sel.info(), { entries: 2, overflow: true });
  t.equal(sel.counters.dropped, 2);
  t.equal(store.ops.filter((o) => o === 'overflow').length, 1, 'the flag is persisted once');
  t.ok(sel.clear());
  t.match(sel.info(), { entries: 0, freeBytes: 32, overflow: false });
});

t.test('timestamps: last add / last erase, FFFFFFFFh until the first', async (t) => {
  const clock = wall();
  const sel = new SystemEventLog({ wallClock: clock.now });
  t.match(sel.info(), { lastAddTs: 0xffffffff, lastEraseTs: 0xffffffff });
  sel.logEvent(EV);
  clock.advance(5000);
  sel.logEvent(EV);
  t.match(sel.info(), { lastAddTs: T0S + 5, lastEraseTs: 0xffffffff });
  clock.advance(1000);
  t.same(sel.delete(0), { ok: true, recordId: 1 });
  t.match(sel.info(), { lastEraseTs: T0S + 6 });
  clock.advance(1000);
  sel.clear();
  t.match(sel.info(), { entries: 0, lastEraseTs: T0S + 7, lastAddTs: T0S + 5 });
  t.same(sel.delete(0), { ok: false, reason: 'not-present' });
});

t.test('reservation: a new one, an add and a clear each cancel it; a delete does not', async (t) => {
  const sel = new SystemEventLog({ wallClock: wall().now, reservationSeed: 0x1233 });
  const r1 = sel.reserve();
  t.equal(r1, 0x1234);
  t.ok(sel.isReserved(r1));
  t.notOk(sel.isReserved(0), '0000h is never a reservation');
  const r2 = sel.reserve();
  t.notOk(sel.isReserved(r1));
  t.ok(sel.isReserved(r2));
  sel.logEvent(EV);
  t.notOk(sel.isReserved(r2), 'add cancels');
  const r3 = sel.reserve();
  sel.get(0);
  t.ok(sel.isReserved(r3), 'reading does not');
  sel.logEvent(EV);
  const r3b = sel.reserve();
  sel.delete(0);
  t.ok(sel.isReserved(r3b), 'delete does not (IDs are never renumbered)');
  t.notOk(sel.isReserved(r3));
  const r4 = sel.reserve();
  sel.clear();
  t.notOk(sel.isReserved(r4), 'clear cancels');
  const wrap = new SystemEventLog({ reservationSeed: 0xffff });
  t.equal(wrap.reserve(), 1, 'IDs wrap past 0000h');
});

t.test('SEL time: wall clock plus the offset Set SEL Time leaves', async (t) => {
  const clock = wall(T0 + 400);
  const sel = new SystemEventLog({ wallClock: clock.now });
  t.equal(sel.now(), T0S);
  t.ok(sel.setTime(1000));
  t.equal(sel.now(), 1000);
  clock.advance(2600);
  t.equal(sel.now(), 1002, 'keeps running with the wall clock');
  const r = sel.logEvent(EV);
  t.equal(r.ok && r.record.readUInt32LE(3), 1002);
  sel.setTime(0xffffffff);
  t.equal(sel.now(), 0xffffffff);
});

t.test('record IDs wrap at FFFEh and skip IDs still in use', async (t) => {
  const state = emptySelState();
  state.records = [1, 2].map((id) => {
    const r = record(0x02);
    r.writeUInt16LE(id, 0);
    return r;
  });
  state.nextId = 0xfffd;
  const sel = new SystemEventLog({ wallClock: wall().now, store: new FixedStore(state) });
  const ids = [0, 1, 2].map(() => {
    const r = sel.logEvent(EV);
    return r.ok ? r.recordId : -1;
  });
  t.same(ids, [0xfffd, 0xfffe, 3]);
  t.equal(sel.peekNextId(), 4);
});

t.test('a store that fails leaves the SEL unchanged and says so', async (t) => {
  const store = new CountingStore();
  const sel = new SystemEventLog({ wallClock: wall().now, store });
  sel.logEvent(EV);
  store.failing = true;
  const r = sel.logEvent(EV);
  t.match(r, { ok: false, reason: 'store-failed' });
  t.match(sel.delete(1), { ok: false, reason: 'store-failed' });
  t.notOk(sel.clear());
  t.notOk(sel.setTime(5));
  t.equal(sel.size, 1);
  t.equal(sel.counters.storeErrors, 4);
  store.failing = false;
  const again = sel.logEvent(EV);
  t.ok(again.ok && again.recordId === 2, 'the failed add did not use up an ID');
});

t.test('events: add, delete, clear', async (t) => {
  const sel = new SystemEventLog({ wallClock: wall().now });
  const seen: string[] = [];
  sel.on('add', (r) => seen.push(`add ${r.readUInt16LE(0)}`));
  sel.on('delete', (id) => seen.push(`delete ${id}`));
  sel.on('clear', () => seen.push('clear'));
  sel.logEvent(EV);
  sel.delete(1);
  sel.clear();
  t.same(seen, ['add 1', 'delete 1', 'clear']);
});

t.test('persistence: everything survives a reload', async (t) => {
  const dir = stateDir(t);
  const clock = wall();
  const sel = journalSel(dir, clock, 3);
  sel.logEvent(EV);
  clock.advance(1000);
  sel.add(record(0xe5));
  sel.logEvent({ ...EV, sensorNumber: 0x20 });
  sel.logEvent(EV); // full: sets overflow
  clock.advance(1000);
  sel.delete(2);
  sel.setTime(5000);
  const before = { records: sel.records(), info: sel.info(), next: sel.peekNextId(), now: sel.now() };
  sel.close();

  const again = journalSel(dir, clock, 3);
  t.same(again.records(), before.records);
  t.same(again.info(), before.info);
  t.equal(again.peekNextId(), before.next, 'record IDs continue, not restart');
  t.equal(again.now(), before.now, 'the SEL time offset persists');
  t.match(again.loadReport, { unknownOps: 0, journal: { created: false, repaired: false } });
  t.notOk(again.info().overflow === false, 'overflow persists');
  again.clear();
  again.close();
  const cleared = journalSel(dir, clock, 3);
  t.match(cleared.info(), { entries: 0, overflow: false, lastEraseTs: 5000 });
  t.equal(cleared.peekNextId(), 4, 'clearing keeps counting IDs');
  cleared.close();
});

t.test('a torn last journal entry (kill -9 mid-append) loses only that change', async (t) => {
  const dir = stateDir(t);
  const sel = journalSel(dir);
  for (let i = 0; i < 5; i++) sel.logEvent({ ...EV, sensorNumber: i });
  const five = sel.records();
  sel.close();
  const file = path.join(dir, SEL_JOURNAL_FILE);
  const size = fs.statSync(file).size;
  const entry = JOURNAL_LAYOUT.entrySize(24);
  for (const cut of [1, 5, 17, entry - 1]) {
    fs.truncateSync(file, size - cut);
    const again = journalSel(dir);
    t.same(again.records(), five.slice(0, 4), `cut ${cut} bytes: the four complete adds are kept`);
    t.match(again.loadReport.journal, { tornBytes: entry - cut, repaired: true });
    const r = again.logEvent(EV);
    t.ok(r.ok && r.recordId === 5, 'the torn record ID is reused: it was never acknowledged');
    again.close();
    const third = journalSel(dir);
    t.equal(third.size, 5);
    third.close();
    // Put back the state the next cut starts from (five records).
    fs.rmSync(file);
    const rebuild = journalSel(dir);
    for (let i = 0; i < 5; i++) rebuild.logEvent({ ...EV, sensorNumber: i });
    rebuild.close();
  }
});

t.test('compaction keeps the journal bounded under add/delete churn and loses nothing', async (t) => {
  const dir = stateDir(t);
  const sel = journalSel(dir, wall(), 16);
  for (let i = 0; i < 500; i++) {
    sel.logEvent({ ...EV, sensorNumber: i & 0xff });
    if (sel.size > 8) sel.delete(0);
  }
  const file = path.join(dir, SEL_JOURNAL_FILE);
  const entries = (fs.statSync(file).size - JOURNAL_LAYOUT.headerSize) / JOURNAL_LAYOUT.entrySize(24);
  t.ok(entries <= 2 * (8 + 1) + 64 + 1, `journal holds ${entries} entries after 1000 changes`);
  const records = sel.records();
  const next = sel.peekNextId();
  sel.close();
  const again = journalSel(dir, wall(), 16);
  t.same(again.records(), records);
  t.equal(again.peekNextId(), next);
  again.close();
});

t.test('an unreadable journal is moved aside and the SEL starts empty', async (t) => {
  const dir = stateDir(t);
  fs.writeFileSync(path.join(dir, SEL_JOURNAL_FILE), 'not a journal at all');
  const sel = new SystemEventLog({ store: new JournalSelStore(dir, { syncEachAppend: false, now: () => 42 }) });
  t.equal(sel.size, 0);
  t.equal(sel.loadReport.quarantined, path.join(dir, `${SEL_JOURNAL_FILE}.corrupt-42`));
  t.equal(fs.readFileSync(sel.loadReport.quarantined!, 'utf8'), 'not a journal at all', 'kept for a person to look at');
  t.ok(sel.logEvent(EV).ok);
  sel.close();
});

t.test('capacity must be 1..FFFEh', async (t) => {
  t.throws(() => new SystemEventLog({ capacity: 0 }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => new SystemEventLog({ capacity: 0xffff }), { code: 'ERR_BAD_CONFIG' });
  t.equal(new SystemEventLog().capacity, 1024);
  t.same(encodeSystemEvent(EV).length, 16);
});

class CountingStore extends MemorySelStore {
  ops: string[] = [];
  failing = false;
  override append(op: Parameters<SelStore['append']>[0]): void {
    if (this.failing) throw new Error('disk full');
    this.ops.push(op.op);
  }
  override snapshot(_state: SelState): void {
    if (this.failing) throw new Error('disk full');
    this.ops.push('snapshot');
  }
}

class FixedStore extends MemorySelStore {
  constructor(readonly state: SelState) {
    super();
  }
  override load(): ReturnType<SelStore['load']> {
    return { state: this.state, report: { unknownOps: 0 } };
  }
}

t.test('kill -9 mid-burst (adds, deletes, compactions): every acknowledged change survives', async (t) => {
  const dir = stateDir(t);
  const child = fileURLToPath(new URL('./helpers/sel-writer.ts', import.meta.url));
  const proc = spawn(process.execPath, [...process.execArgv, child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const live = new Map<number, number>(); // record ID → event number, as acknowledged
  let acked = 0;
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    proc.on('error', reject);
    // 'close', not 'exit': every line the child wrote has been read by then.
    proc.on('close', () => resolve());
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const [what, id, n] = l.split(' ');
        if (what === 'added') {
          live.set(Number(id), Number(n));
          acked++;
        } else if (what === 'deleted') live.delete(Number(id));
      }
      if (acked >= 1500 && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
    });
  });
  t.equal(proc.signalCode, 'SIGKILL');
  const sel = new SystemEventLog({ store: new JournalSelStore(dir, { syncEachAppend: false }), capacity: 64 });
  t.teardown(() => sel.close());
  const stored = new Map(sel.records().map((r) => [r.readUInt16LE(0), r[14]! | (r[15]! << 8)]));
  const missing = [...live.keys()].filter((id) => !stored.has(id));
  const extra = [...stored.keys()].filter((id) => !live.has(id));
  // Only the one change in flight when the kill landed may differ from what was acknowledged:
  // a delete of the oldest record that was stored before its acknowledgement got out, or
  // an add of the newest one.
  t.ok(missing.length + extra.length <= 1, `missing ${missing}, extra ${extra}`);
  if (missing.length) t.equal(missing[0], Math.min(...live.keys()), 'a missing record can only be the oldest (a delete in flight)');
  if (extra.length) t.equal(extra[0], Math.max(...stored.keys()), 'an extra record can only be the newest (an add in flight)');
  for (const [id, n] of stored) if (live.has(id)) t.equal(n, live.get(id), `record ${id} holds event ${n}`);
  t.ok(live.size > 0 && stored.size >= 63, 'the SEL was full of acknowledged records');
  t.equal(sel.loadReport.journal!.badEntries, 0);
});

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { JOURNAL_LAYOUT, RecordJournal } from '../../lib/record-journal.js';
import { stateDir } from '../helpers/state-dir.js';

const P = 24;
const E = JOURNAL_LAYOUT.entrySize(P);
const H = JOURNAL_LAYOUT.headerSize;
const opts = { kind: 'test', payloadSize: P, syncEachAppend: false };

function payload(n: number): Buffer {
  const p = Buffer.alloc(P, n & 0xff);
  p.writeUInt32LE(n, 0);
  return p;
}

function fill(file: string, count: number): void {
  const { journal } = RecordJournal.open(file, opts);
  for (let i = 0; i < count; i++) journal.append(payload(i));
  journal.close();
}

t.test('create, append, reopen: every entry back in order', async (t) => {
  const file = path.join(stateDir(t), 'j');
  const first = RecordJournal.open(file, opts);
  t.match(first.recovery, { created: true, entries: [], tornBytes: 0, badEntries: 0, repaired: false });
  first.journal.append(payload(0));
  first.journal.append(payload(1), payload(2));
  t.equal(first.journal.entryCount, 3);
  first.journal.close();
  t.equal(fs.statSync(file).size, H + 3 * E, 'fixed-size entries after the header');
  const again = RecordJournal.open(file, opts);
  t.same(again.recovery.entries, [payload(0), payload(1), payload(2)]);
  t.match(again.recovery, { created: false, repaired: false });
  again.journal.close();
});

t.test('a torn tail at every possible cut keeps every complete entry', async (t) => {
  const dir = stateDir(t);
  const file = path.join(dir, 'full');
  fill(file, 5);
  const whole = fs.readFileSync(file);
  for (let cut = H; cut < whole.length; cut++) {
    const f = path.join(dir, `cut-${cut}`);
    fs.writeFileSync(f, whole.subarray(0, cut));
    const complete = Math.floor((cut - H) / E);
    const { journal, recovery } = RecordJournal.open(f, opts);
    t.same(recovery.entries, [0, 1, 2, 3, 4].slice(0, complete).map(payload), `cut at ${cut}`);
    t.equal(recovery.tornBytes, (cut - H) % E);
    t.equal(recovery.repaired, recovery.tornBytes > 0);
    // New entries land on a clean boundary after the repair.
    journal.append(payload(99));
    journal.close();
    const after = RecordJournal.open(f, opts);
    t.same(after.recovery.entries.at(-1), payload(99));
    t.equal(after.recovery.entries.length, complete + 1);
    t.equal(after.recovery.repaired, false, 'the file was left clean');
    after.journal.close();
  }
});

t.test('an entry with a bad CRC is dropped and counted; its neighbours survive', async (t) => {
  const file = path.join(stateDir(t), 'j');
  fill(file, 4);
  const raw = fs.readFileSync(file);
  raw[H + E + 3]! ^= 0xff; // inside entry 1's payload
  raw[H + 3 * E + P]! ^= 0x01; // entry 3's CRC
  fs.writeFileSync(file, raw);
  const { journal, recovery } = RecordJournal.open(file, opts);
  t.same(recovery.entries, [payload(0), payload(2)]);
  t.equal(recovery.badEntries, 2);
  t.equal(recovery.repaired, true);
  journal.close();
  t.equal(fs.statSync(file).size, H + 2 * E, 'rewritten with only the intact entries');
});

t.test('zero-filled tail (what a power cut can leave) is not taken for entries', async (t) => {
  const file = path.join(stateDir(t), 'j');
  fill(file, 2);
  fs.appendFileSync(file, Buffer.alloc(3 * E));
  const { journal, recovery } = RecordJournal.open(file, opts);
  t.same(recovery.entries, [payload(0), payload(1)]);
  t.equal(recovery.badEntries, 3);
  journal.close();
});

t.test('rewrite (compaction) is atomic and later appends go to the new file', async (t) => {
  const dir = stateDir(t);
  const file = path.join(dir, 'j');
  const { journal } = RecordJournal.open(file, opts);
  for (let i = 0; i < 10; i++) journal.append(payload(i));
  journal.rewrite([payload(7), payload(8)]);
  journal.append(payload(10));
  t.equal(journal.entryCount, 3);
  journal.close();
  t.same(fs.readdirSync(dir), ['j'], 'no temporary file left');
  const again = RecordJournal.open(file, opts);
  t.same(again.recovery.entries, [payload(7), payload(8), payload(10)]);
  again.journal.close();
});

t.test('foreign or damaged headers are refused and the file left alone', async (t) => {
  const dir = stateDir(t);
  const file = path.join(dir, 'j');
  fill(file, 1);
  t.throws(() => RecordJournal.open(file, { ...opts, kind: 'other' }), { code: 'ERR_STATE_KIND', message: /journal of "test" with 24-byte entries, expected "other"/ });
  t.throws(() => RecordJournal.open(file, { ...opts, payloadSize: 16 }), { code: 'ERR_STATE_KIND' });
  const raw = fs.readFileSync(file);
  raw[9]! ^= 0x20;
  fs.writeFileSync(file, raw);
  t.throws(() => RecordJournal.open(file, opts), { code: 'ERR_STATE_CORRUPT' });
  t.same(fs.readFileSync(file), raw, 'untouched');
  fs.writeFileSync(file, 'short');
  t.throws(() => RecordJournal.open(file, opts), { code: 'ERR_STATE_CORRUPT' });
  t.throws(() => RecordJournal.open(path.join(dir, 'k'), { ...opts, kind: 'bad kind!' }), TypeError);
  t.throws(() => RecordJournal.open(path.join(dir, 'k'), { ...opts, payloadSize: 0 }), RangeError);
});

t.test('wrong-sized payloads and use after close are programming errors', async (t) => {
  const { journal } = RecordJournal.open(path.join(stateDir(t), 'j'), opts);
  t.throws(() => journal.append(Buffer.alloc(P + 1)), RangeError);
  t.equal(journal.entryCount, 0, 'nothing written');
  journal.close();
  journal.close();
  t.throws(() => journal.append(payload(1)), /closed/);
});

t.test('syncEachAppend (the default) writes the same file', async (t) => {
  const file = path.join(stateDir(t), 'j');
  const { journal } = RecordJournal.open(file, { kind: 'test', payloadSize: P });
  journal.append(payload(5));
  journal.close();
  t.same(RecordJournal.open(file, opts).recovery.entries, [payload(5)]);
});

t.test('kill -9 mid-burst loses no acknowledged entry and leaves a readable journal', async (t) => {
  const file = path.join(stateDir(t), 'burst');
  const child = fileURLToPath(new URL('./helpers/journal-writer.ts', import.meta.url));
  const proc = spawn(process.execPath, [...process.execArgv, child, file, String(P)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let acked = -1;
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    proc.on('error', reject);
    // 'close', not 'exit': every line the child wrote has been read by then.
    proc.on('close', () => resolve());
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (/^\d+$/.test(l)) acked = Number(l);
      // Mid-burst: the writer never pauses between appends.
      if (acked >= 2000 && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
    });
  });
  t.equal(proc.signalCode, 'SIGKILL', `exit code ${proc.exitCode}, acked ${acked}, tail ${buf.slice(-200)}`);
  const { journal, recovery } = RecordJournal.open(file, { kind: 'burst', payloadSize: P });
  journal.close();
  t.ok(recovery.entries.length >= acked + 1, `all ${acked + 1} acknowledged entries kept (${recovery.entries.length} on disk)`);
  t.equal(recovery.badEntries, 0);
  const ok = recovery.entries.every((p, i) => p.readUInt32LE(0) === i && p[P - 1] === (i & 0xff));
  t.ok(ok, 'entries are exactly 0..n-1, in order, intact');
});

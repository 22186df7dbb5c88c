import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { ConsoleLog, lineMatcher } from '../../qemu/console-log.js';
import { isQemuError } from '../../qemu/errors.js';

const feed = (log: ConsoleLog, s: string): void => log.feed(Buffer.from(s, 'utf8'));

t.test('CR, LF and CRLF end lines, also when split across chunks', async (t) => {
  const log = new ConsoleLog();
  feed(log, 'one\r');
  feed(log, '\ntwo\nthr');
  feed(log, 'ee\r\r\nfour');
  t.same(
    log.lines().map((l) => l.text),
    ['one', 'two', 'three', ''],
    'CRLF split between chunks is one line end; CR CR LF gives one empty line',
  );
  t.equal(log.partial, 'four');
  t.same(log.tail(2), ['', 'four']);
  log.breakLine();
  t.equal(log.partial, '');
  t.equal(log.lines().at(-1)!.text, 'four', 'breakLine ends the partial line');
  log.breakLine();
  t.equal(log.lines().length, 5, 'no empty line from breakLine without a partial line');
});

t.test('UTF-8 split across chunks is decoded whole', async (t) => {
  const log = new ConsoleLog();
  const bytes = Buffer.from('größe\n', 'utf8');
  log.feed(bytes.subarray(0, 3));
  log.feed(bytes.subarray(3));
  t.equal(log.lines()[0]!.text, 'größe');
  t.equal(log.totalBytes, bytes.length);
});

t.test('waitForLine: future lines by default, after a mark, or already kept', async (t) => {
  const log = new ConsoleLog();
  feed(log, 'bmcemu-guest: host root mounted\n');
  const mark = log.mark();
  const waiting = log.waitForLine('bmcemu-guest: host root mounted', { timeoutMs: 1000 });
  feed(log, 'noise\nbmcemu-guest: host root mounted\n');
  const l = await waiting;
  t.equal(l.seq, mark + 2, 'the earlier identical line did not count');
  const again = await log.waitForLine('bmcemu-guest: host root mounted', { after: 0 });
  t.equal(again.seq, 1, 'after: 0 finds the kept line at once');
  const re = await log.waitForLine(/^noi/, { after: mark });
  t.equal(re.text, 'noise');
});

t.test('string patterns match the whole line or a prefix followed by space or colon', async (t) => {
  const m = lineMatcher('bmcemu-guest: command exited');
  t.ok(m('bmcemu-guest: command exited'));
  t.ok(m('bmcemu-guest: command exited status=0'));
  t.notOk(m('bmcemu-guest: command exitedX'));
  t.notOk(m('xx bmcemu-guest: command exited'));
  t.ok(lineMatcher('bmcemu-guest: FAILED')('bmcemu-guest: FAILED: mounting'));
});

t.test('partial lines (prompts) match only when asked', async (t) => {
  const log = new ConsoleLog();
  const prompt = log.waitForLine(/# $/, { partial: true, timeoutMs: 1000 });
  const line = log.waitForLine(/# $/, { timeoutMs: 0 });
  feed(log, '/ # ');
  t.equal((await prompt).text, '/ # ');
  t.equal(log.waiting, 1, 'the whole-line waiter still waits');
  log.abortWaiters('test over');
  await t.rejects(line, { code: 'ERR_CONSOLE_ABORTED', message: 'console: stopped waiting for /# $/: test over' });
  t.equal(log.waiting, 0, 'aborted waits are gone');
  t.equal((await log.waitForLine('/ #', { partial: true })).text, '/ # ', 'a current partial line matches at once');
});

t.test('timeouts run on the injected clock and report the last lines', async (t) => {
  const clock = new ManualClock();
  const log = new ConsoleLog({ clock });
  feed(log, 'Linux version 6.1\nKernel panic - not syncing\n');
  const p = log.waitForLine('bmcemu-guest: modules loaded', { timeoutMs: 5000 });
  clock.advance(4999);
  t.equal(log.waiting, 1);
  clock.advance(1);
  const err = await p.catch((e: unknown) => e);
  t.ok(isQemuError(err, 'ERR_CONSOLE_TIMEOUT'));
  t.match((err as Error).message, /within 5000 ms[\s\S]*Kernel panic/);
  t.match(err, { details: { pattern: '"bmcemu-guest: modules loaded"', timeoutMs: 5000, tail: ['Linux version 6.1', 'Kernel panic - not syncing'] } });
  t.equal(log.waiting, 0);
  t.equal(clock.pending, 0, 'no timer left');
});

t.test('bounded: old lines and bytes are dropped, long lines are split', async (t) => {
  const log = new ConsoleLog({ maxLines: 3, maxBytes: 10, maxLineLength: 4 });
  feed(log, 'a\nb\nc\nd\n');
  t.same(
    log.lines().map((l) => l.text),
    ['b', 'c', 'd'],
  );
  t.equal(log.lines()[0]!.seq, 2, 'sequence numbers keep counting');
  t.ok(log.raw().length <= 10 + 8, 'raw bytes bounded (whole chunks)');
  feed(log, 'abcdefghij');
  t.same(
    log.lines().map((l) => l.text),
    ['d', 'abcd', 'efgh'],
  );
  t.equal(log.partial, 'ij');
});

t.test('many waits at once: no listener-leak warning, each settles once', async (t) => {
  const log = new ConsoleLog();
  const warnings: Error[] = [];
  const onWarning = (w: Error): number => warnings.push(w);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const waits = Array.from({ length: 50 }, (_, i) => log.waitForLine(`line ${i}`, { timeoutMs: 0 }));
  t.equal(log.waiting, 50);
  feed(log, Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(''));
  const got = await Promise.all(waits);
  t.same(
    got.map((l) => l.seq),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  t.equal(log.waiting, 0);
  await new Promise((r) => setImmediate(r));
  t.same(warnings, []);
});

t.test('impossible sizes are a ConfigError', async (t) => {
  t.throws(() => new ConsoleLog({ maxLines: 0 }), { code: 'ERR_BAD_CONFIG', message: /maxLines/ });
  t.throws(() => new ConsoleLog({ maxBytes: 1.5 }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => new ConsoleLog({ maxLineLength: -1 }), { code: 'ERR_BAD_CONFIG' });
});

import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { LogRateLimiter, OTHER_KEY } from '../../lib/rate-limit.js';

function setup(opts: { burst?: number; intervalMs?: number; maxKeys?: number } = {}) {
  const clock = new ManualClock();
  const lines: string[] = [];
  const limiter = new LogRateLimiter((l) => lines.push(l), { burst: opts.burst ?? 3, intervalMs: opts.intervalMs ?? 1000, clock, ...(opts.maxKeys ? { maxKeys: opts.maxKeys } : {}) });
  return { clock, lines, limiter };
}

t.test('a burst passes, the rest is counted and summarised once per interval', async (t) => {
  const { clock, lines, limiter } = setup();
  for (let i = 0; i < 10; i++) limiter.log('astlpc', `line ${i}`);
  t.same(lines, ['line 0', 'line 1', 'line 2'], 'the burst, then nothing');
  t.same(limiter.stats(), { printed: 3, suppressed: 7, summaries: 0 });
  t.equal(clock.pending, 1, 'one summary timer, however many lines were dropped');

  clock.advance(999);
  t.equal(lines.length, 3, 'no summary before the interval ends');
  clock.advance(1);
  t.same(lines.slice(3), ['astlpc: suppressed 7 lines (over 3 per 1 s); last: line 9']);
  t.equal(clock.pending, 0);
});

t.test('a sustained flood prints at most burst + 1 lines per interval', async (t) => {
  const { clock, lines, limiter } = setup({ burst: 5, intervalMs: 10_000 });
  let sent = 0;
  // 100 lines a second for 60 s.
  for (let ms = 0; ms < 60_000; ms += 10) {
    limiter.log('flood', `event ${sent++}`);
    clock.advance(10);
  }
  clock.advance(10_000);
  const s = limiter.stats();
  t.equal(s.printed + s.suppressed, sent, 'every line is printed or counted');
  t.ok(lines.length <= 6 * 7, `${lines.length} lines for ${sent} events`);
  const summaries = lines.filter((l) => l.startsWith('flood: suppressed'));
  t.equal(summaries.length, s.summaries);
  const counted = summaries.reduce((n, l) => n + Number(/suppressed (\d+)/.exec(l)![1]), 0);
  t.equal(counted, s.suppressed, 'the summaries account for every dropped line');
});

t.test('keys are independent; the bucket refills with time', async (t) => {
  const { clock, lines, limiter } = setup({ burst: 2, intervalMs: 1000 });
  t.ok(limiter.log('a', 'a1'));
  t.ok(limiter.log('a', 'a2'));
  t.notOk(limiter.log('a', 'a3'));
  t.ok(limiter.log('b', 'b1'), 'another key has its own bucket');
  clock.advance(500); // one token back (2 per 1000 ms); the summary is due at 1000
  t.ok(limiter.log('a', 'a4'));
  t.notOk(limiter.log('a', 'a5'));
  clock.advance(500);
  t.same(lines, ['a1', 'a2', 'b1', 'a4', 'a: suppressed 2 lines (over 2 per 1 s); last: a5']);
  clock.advance(5000);
  t.equal(clock.pending, 0, 'no timer while nothing is dropped');
  t.ok(limiter.log('a', 'a6'));
  t.ok(limiter.log('a', 'a7'));
});

t.test('flush prints pending summaries at once and cancels their timers', async (t) => {
  const { clock, lines, limiter } = setup({ burst: 1 });
  limiter.log('k', 'one');
  limiter.log('k', 'two');
  limiter.flush();
  t.same(lines, ['one', 'k: suppressed 1 line (over 1 per 1 s); last: two']);
  t.equal(clock.pending, 0);
  clock.advance(10_000);
  t.equal(lines.length, 2, 'nothing printed twice');
});

t.test('keys beyond maxKeys share one bucket; idle keys are forgotten first', async (t) => {
  const { clock, lines, limiter } = setup({ burst: 1, maxKeys: 2 });
  limiter.log('a', 'a1');
  limiter.log('b', 'b1');
  t.ok(limiter.log('c', 'c1'), 'first line of a third key goes through the shared bucket');
  t.notOk(limiter.log('d', 'd1'), 'a fourth key shares it too, and it is empty');
  clock.advance(1000);
  t.match(lines.at(-1), new RegExp(`^\\(other\\): suppressed 1 line .*last: d1$`));
  t.equal(OTHER_KEY, '(other)');
  // a and b are full again: a new key gets its own bucket.
  t.ok(limiter.log('e', 'e1'));
  t.notOk(limiter.log('e', 'e2'), 'with its own limit');
});

t.test('impossible options are configuration errors', async (t) => {
  for (const bad of [{ burst: 0, intervalMs: 1 }, { burst: 1.5, intervalMs: 1 }, { burst: 1, intervalMs: 0 }, { burst: 1, intervalMs: NaN }, { burst: 1, intervalMs: 1, maxKeys: 0 }]) {
    t.throws(() => new LogRateLimiter(() => {}, bad), { code: 'ERR_BAD_CONFIG' }, JSON.stringify(bad));
  }
});

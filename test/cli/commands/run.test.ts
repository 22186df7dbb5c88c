/** `bmcemu run`'s logging: host-driven lines are rate limited per kind, on the injected clock. */
import { EventEmitter } from 'node:events';
import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import type { AstlpcStateEvent } from '../../../firmware/mctp/astlpc/binding.js';
import { RUN_LOG_BURST, RUN_LOG_INTERVAL_MS, astlpcLogger, logKind, logWireOverflows, runLogLimiter } from '../../../cli/commands/run.js';

const down = (lastError: string | null): AstlpcStateEvent =>
  ({ mode: 'bmc', state: 'waiting-init', carrier: false, version: 0, mtu: 68, lastError }) as unknown as AstlpcStateEvent;
const up: AstlpcStateEvent = { mode: 'bmc', state: 'active', carrier: true, version: 3, mtu: 4100, lastError: null } as unknown as AstlpcStateEvent;

t.test('a host flapping the astlpc channel cannot flood the log', async (t) => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const onState = astlpcLogger('', runLogLimiter((l) => lines.push(l), clock));
  onState(up);
  onState(up);
  t.same(lines, ['astlpc channel up: protocol v3, MTU 4100 (4096-byte payload)'], 'a repeated state is one line');
  // 1,800 changes in 45 s, as in the report.
  for (let i = 0; i < 1800; i++) {
    onState(i % 2 ? up : down('reset by host'));
    clock.advance(25);
  }
  const summaries = lines.filter((l) => l.startsWith('astlpc: suppressed'));
  const printed = lines.length - summaries.length;
  t.ok(lines.length < 1801 / 10, `${lines.length} lines for 1,801 changes`);
  // At most a burst plus what refills over 45 s, and one summary per interval.
  t.ok(printed <= RUN_LOG_BURST + Math.ceil((45_000 / RUN_LOG_INTERVAL_MS) * RUN_LOG_BURST), `${printed} state lines`);
  t.ok(summaries.length <= Math.ceil(45_000 / RUN_LOG_INTERVAL_MS) + 1);
  clock.advance(RUN_LOG_INTERVAL_MS);
  const all = lines.filter((l) => l.startsWith('astlpc: suppressed'));
  const dropped = all.reduce((n, l) => n + Number(/suppressed (\d+) lines/.exec(l)![1]), 0);
  t.equal(lines.length - all.length + dropped, 1801, 'every change is printed or counted');
  t.match(all.at(-1), /; last: astlpc channel up: protocol v3/, 'the summary says where it ended');
});

t.test('kinds are limited separately: a flood of one never silences another', async (t) => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const limiter = runLogLimiter((l) => lines.push(l), clock);
  for (let i = 0; i < 500; i++) limiter.log(logKind('reset (guest-reset); boot 2'), `reset (guest-reset); boot ${i}`);
  t.equal(lines.length, RUN_LOG_BURST);
  limiter.log(logKind('host endpoint on mctplpc0 assigned EID 9'), 'host endpoint on mctplpc0 assigned EID 9');
  t.equal(lines.at(-1), 'host endpoint on mctplpc0 assigned EID 9');
  t.equal(logKind('qemu: warning: x'), 'qemu');
  t.equal(logKind(''), '');
  limiter.flush();
  t.match(lines.at(-1), /^reset: suppressed 480 lines .*last: reset \(guest-reset\); boot 499$/);
});

t.test('a wire dropping a peer that did not read is logged, with its numbers', async (t) => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const kcs = new EventEmitter();
  logWireOverflows({ 'KCS wire': kcs }, runLogLimiter((l) => lines.push(l), clock));
  kcs.emit('overflow', { endpoint: 'unix:/run/x/kcs-mctp.sock', queuedBytes: 1048000, writeBytes: 6, maxQueuedBytes: 1048576 });
  t.same(lines, ['KCS wire (unix:/run/x/kcs-mctp.sock): peer was not reading (1048000 bytes unsent, limit 1048576): disconnected']);
});

/**
 * The endpoint's Discovery Notify schedule on a ManualClock: one Notify at
 * once, then one every 2 s, single sends, until the interface has an EID; it
 * also ends on stop() and when the interface goes away, and leaves no timer
 * or socket behind.
 */
import t from 'tap';
import type { Clock, ManualClock, TimerHandle } from '../../../../lib/clock.js';
import type { DiscoveryNotifyEvent } from '../../../../firmware/mctp/control/responder.js';
import { ControlResponder } from '../../../../firmware/mctp/control/responder.js';
import {
  DISCOVERY_NOTIFY_INTERVAL_MS,
  DiscoveryNotifier,
  type DiscoveryNotifyEnd,
} from '../../../../firmware/mctp/control/discovery-notify.js';
import { linkedStacks, runFor, settle } from './helpers.js';

/** The stacks' clock, counting the timers the notifier itself holds (the stacks keep their own). */
function countingClock(clock: ManualClock): { clock: Clock; live: () => number } {
  const live = new Set<TimerHandle>();
  return {
    clock: {
      now: () => clock.now(),
      setTimeout(fn, ms) {
        const handle: TimerHandle = {
          cancel() {
            live.delete(handle);
            inner.cancel();
          },
        };
        const inner = clock.setTimeout(() => {
          live.delete(handle);
          fn();
        }, ms);
        live.add(handle);
        return handle;
      },
    },
    live: () => live.size,
  };
}

/** A BMC with a bus-owner responder recording the Notifies it gets, and an unaddressed host. */
function setup(opts: { answer?: boolean } = {}) {
  const s = linkedStacks();
  const notes: DiscoveryNotifyEvent[] = [];
  const responder = opts.answer === false ? null : new ControlResponder(s.bmc, { role: 'bus-owner' });
  responder?.on('discovery-notify', (e: DiscoveryNotifyEvent) => notes.push(e));
  const timers = countingClock(s.clock);
  const notifier = new DiscoveryNotifier(s.host, { ifname: 'mctp0', clock: timers.clock });
  const ends: DiscoveryNotifyEnd[] = [];
  notifier.on('done', (e: DiscoveryNotifyEnd) => ends.push(e));
  return { ...s, notes, responder, notifier, ends, timers };
}

t.test('one Notify at start, then one every 2 s until the bus owner assigns an EID', async (t) => {
  const s = setup();
  t.teardown(() => s.responder?.close());
  s.notifier.start();
  await settle();
  t.equal(s.notes.length, 1, 'the first Notify goes at once');
  t.match(s.notes[0], { iface: 'mctp0', ifindex: s.bmcIf.index, eid: 0 }, 'from an endpoint without an EID');
  t.match(s.notifier.stats, { sent: 1, acknowledged: 1, failed: 0 }, 'the bus owner acknowledged it');

  await runFor(s.clock, DISCOVERY_NOTIFY_INTERVAL_MS - 100, 100);
  await runFor(s.clock, 99);
  t.equal(s.notes.length, 1, 'nothing more before the interval is up');
  await runFor(s.clock, 1);
  t.equal(s.notes.length, 2, 'the second at 2 s');
  await runFor(s.clock, DISCOVERY_NOTIFY_INTERVAL_MS, 100);
  t.equal(s.notes.length, 3, 'the third at 4 s: the bus owner acknowledging is not enough, only an EID stops it');
  t.ok(s.notifier.running);

  // Assigned (as a Set Endpoint ID would do it) between two Notifies: the schedule ends at once.
  await runFor(s.clock, 500, 100);
  s.host.addAddress('mctp0', 20);
  t.same(s.ends, ['assigned']);
  t.notOk(s.notifier.running);
  t.equal(s.notifier.end, 'assigned');
  t.equal(s.timers.live(), 0, 'no timer left');
  await runFor(s.clock, 3 * DISCOVERY_NOTIFY_INTERVAL_MS, 200);
  t.equal(s.notes.length, 3, 'no Notify after the assignment');
  t.equal(s.host.keys.size, 0, 'no tag held');
});

t.test('a bus owner that does not answer: single sends, counted as failed, the schedule unchanged', async (t) => {
  const s = setup({ answer: false });
  const sent: number[] = [];
  s.notifier.on('sent', () => sent.push(s.clock.now()));
  s.notifier.start();
  await runFor(s.clock, 4 * DISCOVERY_NOTIFY_INTERVAL_MS + 100, 10);
  t.same(sent, [0, 2000, 4000, 6000, 8000], 'one Notify every 2 s, paced from the send');
  t.match(s.notifier.stats, { sent: 5, acknowledged: 0, failed: 4 }, 'each waited 250 ms once, no retries (the fifth, sent 100 ms ago, is still waiting)');
  t.equal(s.bmcIf.counters.rxPackets, 5, 'five packets crossed the link, not twenty');
  s.notifier.stop();
  t.same(s.ends, ['stopped']);
  t.equal(s.timers.live(), 0, 'stop() cancels the next Notify and the wait of the current one');
  await runFor(s.clock, DISCOVERY_NOTIFY_INTERVAL_MS * 2, 100);
  t.equal(sent.length, 5, 'nothing after stop()');
  t.equal(s.notifier.stats.failed, 4, 'the abandoned wait is not a failure');
});

t.test('nothing to announce when the interface already has an EID', async (t) => {
  const s = setup();
  t.teardown(() => s.responder?.close());
  s.host.addAddress('mctp0', 20);
  s.notifier.start();
  await settle();
  t.equal(s.notes.length, 0);
  t.same(s.ends, ['assigned']);
  t.equal(s.timers.live(), 0);
});

t.test('the interface going away ends it; stop() before start() leaves it stopped', async (t) => {
  const s = setup();
  t.teardown(() => s.responder?.close());
  s.notifier.start();
  await settle();
  await s.host.removeInterface('mctp0');
  t.same(s.ends, ['interface-removed']);
  t.equal(s.timers.live(), 0);

  const other = new DiscoveryNotifier(s.host, { ifname: 'mctp0' });
  other.stop();
  other.start();
  t.notOk(other.running, 'start() after stop() does nothing');
  t.equal(other.end, 'stopped');
  t.equal(s.notes.length, 1, 'only the first notifier ever sent');

  t.throws(() => new DiscoveryNotifier(s.host, { ifname: 'mctp0', intervalMs: 0 }), { code: 'ERR_BAD_CONFIG' });
});

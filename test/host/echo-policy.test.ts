/**
 * The echo policy on a ManualClock against the in-memory BMC: one check per
 * astlpc activation, the 15 s budget (EID wait included), 1 s attempts 250 ms
 * apart, and what ends a check early (the link going down, stop()).
 */
import t from 'tap';
import { ECHO_ATTEMPT_MS, ECHO_DEADLINE_MS, ECHO_RETRY_PAUSE_MS, EchoPolicy, type EchoEvent } from '../../host/echo-policy.js';
import { HostAgent } from '../../host/host-agent.js';
import { ManualClock } from '../../lib/clock.js';
import { drive, runFor, runUntil } from '../firmware/mctp/control/helpers.js';
import { MEMORY_WINDOW_SIZE, startMemoryBmc, type MemoryBmcOptions } from './helpers/memory-bmc.js';

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

/** BMC and agent with the policy watching; resolves once the astlpc channel is up. */
async function setup(t: TapTest, bmcOpts: MemoryBmcOptions, eid: number | null) {
  const clock = new ManualClock();
  const bmc = startMemoryBmc(clock, bmcOpts);
  t.teardown(() => bmc.stop());
  const agent = new HostAgent({ kcs: bmc.kcsLink, window: bmc.window, windowSize: MEMORY_WINDOW_SIZE, mtu: 68, clock, eid });
  t.teardown(() => agent.stop());
  const policy = new EchoPolicy(agent, { clock });
  t.teardown(() => policy.stop());
  const events: Array<EchoEvent & { at: number }> = [];
  let upAt = 0;
  agent.astlpc.on('state', (ev: { carrier: boolean }) => {
    if (ev.carrier) upAt = clock.now();
  });
  policy.on('echo', (e: EchoEvent) => events.push({ ...e, at: clock.now() - upAt }));
  policy.start();
  await drive(clock, agent.start());
  await drive(clock, agent.whenLinkUp());
  /** The BMC takes the channel down (as on a BMC restart) and, with `back`, up again. */
  const bounce = async (back: boolean): Promise<void> => {
    bmc.stack.interface('mctplpc0').setUp(false);
    await runUntil(clock, () => !agent.stack.interface('mctplpc0').carrier);
    if (back) bmc.stack.interface('mctplpc0').setUp(true);
  };
  return { clock, bmc, agent, policy, events, bounce };
}

t.test('no bus owner: "no EID" once the budget is spent, counted from the activation', async (t) => {
  const s = await setup(t, { busOwner: false }, null);
  await runFor(s.clock, ECHO_DEADLINE_MS - 100, 100);
  t.same(s.events, [], 'nothing while there is budget left');
  await runUntil(s.clock, () => s.events.length > 0);
  t.match(s.events, [{ kind: 'no-eid', deadlineMs: ECHO_DEADLINE_MS }]);
  t.ok(s.events[0]!.at >= ECHO_DEADLINE_MS && s.events[0]!.at <= ECHO_DEADLINE_MS + 20, `at ${s.events[0]!.at} ms`);
  await runFor(s.clock, 2 * ECHO_DEADLINE_MS, 500);
  t.equal(s.events.length, 1, 'one report per activation');
});

t.test('no echo responder: attempts of 1 s, 250 ms apart, then "failed" within the budget', async (t) => {
  const s = await setup(t, { busOwner: false, echo: false, hostEid: 9 }, 9);
  await runUntil(s.clock, () => s.events.length > 0, 2 * ECHO_DEADLINE_MS);
  t.match(s.events, [{ kind: 'failed', bmcEid: 8, eid: 9, deadlineMs: ECHO_DEADLINE_MS, error: { code: 'ETIMEDOUT' } }]);
  const at = s.events[0]!.at;
  t.ok(at > ECHO_DEADLINE_MS - ECHO_ATTEMPT_MS - ECHO_RETRY_PAUSE_MS && at <= ECHO_DEADLINE_MS, `gave up at ${at} ms, no attempt running past the budget`);
  // Each attempt is one echo request the BMC drops for want of a responder.
  const attempts = s.bmc.stack.interface('mctplpc0').counters.rxDrops['no-listener'];
  t.equal(attempts, Math.floor(ECHO_DEADLINE_MS / (ECHO_ATTEMPT_MS + ECHO_RETRY_PAUSE_MS)), `${attempts} attempts, one per 1.25 s`);
});

t.test('the link going down ends the check: quietly while waiting for an EID, "abandoned" while echoing', async (t) => {
  const quiet = await setup(t, { busOwner: false }, null);
  await runFor(quiet.clock, 1000, 100);
  await quiet.bounce(false);
  await runFor(quiet.clock, 2 * ECHO_DEADLINE_MS, 500);
  t.same(quiet.events, [], 'no report for an EID wait the link cut short');

  const s = await setup(t, { busOwner: false, echo: false, hostEid: 9 }, 9);
  await runFor(s.clock, 3000, 10);
  await s.bounce(false);
  await runUntil(s.clock, () => s.events.length > 0, 5000);
  t.match(s.events, [{ kind: 'abandoned', error: Error }]);
  await runFor(s.clock, 2 * ECHO_DEADLINE_MS, 500);
  t.equal(s.events.length, 1, 'and nothing more');
});

t.test('every activation gets its own check', async (t) => {
  const s = await setup(t, {}, null);
  await runUntil(s.clock, () => s.events.some((e) => e.kind === 'ok'));
  t.match(s.events, [{ kind: 'assigned' }, { kind: 'ok' }]);
  await s.bounce(true);
  await drive(s.clock, s.agent.whenLinkUp());
  await runUntil(s.clock, () => s.events.filter((e) => e.kind === 'ok').length === 2);
  t.match(s.events.slice(2), [{ kind: 'assigned' }, { kind: 'ok' }], 'after the BMC brought the channel back: echoed again');
});

t.test('stop() ends a check silently', async (t) => {
  const s = await setup(t, { busOwner: false, echo: false, hostEid: 9 }, 9);
  await runFor(s.clock, 2000, 10);
  s.policy.stop();
  await runFor(s.clock, 2 * ECHO_DEADLINE_MS, 500);
  t.same(s.events, []);
  const w = await setup(t, { busOwner: false }, null);
  await runFor(w.clock, 1000, 100);
  w.policy.stop();
  await runFor(w.clock, 2 * ECHO_DEADLINE_MS, 500);
  t.same(w.events, [], 'nor from the EID wait');
});

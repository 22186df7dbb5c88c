/**
 * The guest agent's console lines, byte for byte: the BMC side takes some of
 * them as boot milestones (instance/bmc-instance.ts), people and tests read
 * the rest. Events are played on a real HostFirmware that never starts.
 */
import t from 'tap';
import type { AstlpcStateEvent } from '../../firmware/mctp/astlpc/binding.js';
import { AGENT_PREFIX, reportHostFirmware } from '../../host/agent-report.js';
import type { EchoEvent } from '../../host/echo-policy.js';
import { HostFirmware } from '../../host/host-firmware.js';
import { ManualClock } from '../../lib/clock.js';
import { memoryLinkPair } from '../transport/helpers/util.js';

/** What the KCS wire client emits: an Error with a code (built here, so the test does not depend on its class). */
const wireError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

function setup() {
  const window = { read: (_o: number, l: number) => Buffer.alloc(l), write: () => {} };
  const fw = new HostFirmware({ kcs: memoryLinkPair().a, window, clock: new ManualClock() });
  const lines: string[] = [];
  const stop = reportHostFirmware(fw, { status: (l) => lines.push(`out ${l}`), note: (l) => lines.push(`err ${l}`) });
  return { fw, lines, stop };
}

const state = (s: Partial<AstlpcStateEvent>): AstlpcStateEvent => ({ mode: 'host', state: 'bmc-not-ready', version: 0, mtu: 0, carrier: false, lastError: null, ...s }) as AstlpcStateEvent;

t.test('the prefix', async (t) => {
  t.equal(AGENT_PREFIX, 'bmcemu-agent:');
});

t.test('astlpc: one "up" per activation, why it is not up once per reason, "down" noted', async (t) => {
  const { fw, lines } = setup();
  fw.astlpc.emit('state', state({ state: 'bmc-not-ready', lastError: 'BMC not ready' }));
  fw.astlpc.emit('state', state({ state: 'bmc-not-ready', lastError: 'BMC not ready' }));
  fw.astlpc.emit('state', state({ state: 'init-sent' }));
  fw.astlpc.emit('state', state({ state: 'active', version: 3, mtu: 68, carrier: true }));
  fw.astlpc.emit('state', state({ state: 'active', version: 3, mtu: 68, carrier: true }));
  fw.astlpc.emit('state', state({ state: 'bmc-not-ready', lastError: 'BMC went away' }));
  fw.astlpc.emit('state', state({ state: 'bmc-not-ready', lastError: 'BMC went away' }));
  fw.astlpc.emit('state', state({ state: 'failed', lastError: 'bad control area' }));
  fw.astlpc.emit('state', state({ state: 'active', version: 3, mtu: 32772, carrier: true }));
  t.same(lines, [
    'err astlpc bmc-not-ready: BMC not ready',
    'out astlpc up v3 mtu 68',
    'err astlpc down: bmc-not-ready (BMC went away)',
    'err astlpc failed: bad control area',
    'out astlpc up v3 mtu 32772',
  ]);
});

t.test('echo outcomes', async (t) => {
  const { fw, lines } = setup();
  const err = new Error('echo to EID 8: no response within 1000 ms');
  const events: EchoEvent[] = [
    { kind: 'assigned', eid: 9 },
    { kind: 'ok', rttMs: 3.14159, bytes: 67 },
    { kind: 'no-eid', deadlineMs: 15000 },
    { kind: 'abandoned', error: err },
    { kind: 'failed', error: err, bmcEid: 8, eid: 9, deadlineMs: 15000 },
  ];
  for (const e of events) fw.emit('echo', e);
  t.same(lines, [
    "err MCTP EID 9 (assigned by the BMC's bus owner)",
    'out echo ok 3.14 ms',
    "out error no EID assigned within 15 s: is the BMC's bus owner running? (or give the agent --eid)",
    'err echo abandoned, the link went down: echo to EID 8: no response within 1000 ms',
    "out error echo to EID 8 failed for 15 s: echo to EID 8: no response within 1000 ms (is the BMC's MCTP echo responder running, and does the BMC route EID 9?)",
  ]);
});

t.test('the KCS wire: another release is an error once per message, the rest notes', async (t) => {
  const { fw, lines, stop } = setup();
  const version = wireError('EVERSION', 'KCS wire version 2 from the BMC, 1 expected');
  fw.kcsClient.emit('protocol-error', version);
  fw.kcsClient.emit('protocol-error', version);
  fw.kcsClient.emit('protocol-error', wireError('EPROTO', 'unexpected reply'));
  fw.kcsClient.emit('ready');
  fw.kcsClient.emit('protocol-error', version);
  fw.emit('kcs-wire-silent');
  t.same(lines, [
    'out error KCS wire version 2 from the BMC, 1 expected: run a bmcemu of the same release on both sides',
    'err KCS wire: unexpected reply; resynchronising',
    'out error KCS wire version 2 from the BMC, 1 expected: run a bmcemu of the same release on both sides',
    'err no answer on the KCS wire yet: waiting for the BMC (is bmcemu running and QEMU connected to its KCS socket?)',
  ]);
  stop();
  fw.emit('kcs-wire-silent');
  fw.astlpc.emit('state', state({ carrier: true, state: 'active', version: 3, mtu: 68 }));
  t.equal(lines.length, 4, 'nothing after the reporter is stopped');
});

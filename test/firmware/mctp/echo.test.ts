import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import { MCTP_TAG_OWNER } from '../../../firmware/mctp/constants.js';
import { ECHO_HEADER, echoRequest, startEchoResponder } from '../../../firmware/mctp/echo.js';
import { pairedStacks } from './helpers.js';


t.test('mctp-req compatible request against an mctp-echo compatible responder', async (t) => {
  const clock = new ManualClock();
  const { bmc, host } = pairedStacks({ clock });
  const responder = startEchoResponder(host);
  const r = await echoRequest(bmc, { eid: 9, len: 200, clock });
  t.equal(r.bytes, 203, 'cc de f0 + 200 bytes');
  t.equal(responder.stats.echoed, 1);

  // The wire form: type 0x7e, then cc de f0, then i & 0xff — as mctp-req sends it.
  const raw = bmc.socket();
  raw.sendto(Buffer.from([0xcc, 0xde, 0xf0, 0, 1, 2]), { net: 1, eid: 9, type: 0x7e, tag: MCTP_TAG_OWNER });
  const back = await raw.recvfrom();
  t.same([...back.data], [0xcc, 0xde, 0xf0, 0, 1, 2]);
  t.equal(back.addr.tag & MCTP_TAG_OWNER, 0, 'response has TO clear');

  // Another vendor's 0x7E message is not echoed.
  raw.sendto(Buffer.from([0x12, 0x34]), { net: 1, eid: 9, type: 0x7e, tag: MCTP_TAG_OWNER });
  await new Promise((r) => setImmediate(r));
  t.equal(responder.stats.ignored, 1);
  raw.close();
  responder.close();
});

t.test('a request with no responder times out on the injectable clock', async (t) => {
  const clock = new ManualClock();
  const { bmc } = pairedStacks({ clock });
  const p = echoRequest(bmc, { eid: 9, clock, timeoutMs: 250 });
  await new Promise((r) => setImmediate(r));
  clock.advance(250);
  await t.rejects(p, { code: 'ETIMEDOUT' });
  t.equal(bmc.keys.size, 0, 'the tag is released with the socket');
  t.ok(ECHO_HEADER.equals(Buffer.from('ccdef0', 'hex')));
});

t.test('unreachable EID is an immediate, clear error', async (t) => {
  const clock = new ManualClock();
  const { bmc } = pairedStacks({ clock });
  await t.rejects(echoRequest(bmc, { eid: 42, clock }), { code: 'EHOSTUNREACH' });
});

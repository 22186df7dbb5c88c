/**
 * Restarts (docs/astlpc.md "Restart semantics"): BMC restart with the
 * quick-restart hold (BMC_READY low until the host consumed the dummy), a
 * BMC that crashed without announcing it, host re-initialisation, host Tx
 * while the BMC goes away
 * (libmctp: host_tx_bmc_gone, negotiate_mtu_low_high), and a BMC restart
 * across processes under a host that behaves like libmctp's.
 */
import t from 'tap';
import type { AstlpcBinding } from '../../../../firmware/mctp/astlpc/binding.js';
import { Harness, pattern } from './harness.js';
import { LibmctpHost } from './libmctp-host.js';

/** tap's subtest type (the last overload of t.test takes just the callback). */
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

const pkt = (len: number, seed = 1, dest = 9, src = 8): Buffer => {
  const p = pattern(len, seed);
  p.set([0x01, dest, src, 0xc8], 0);
  return p;
};

async function exchange(t: TapTest, h: Harness, label: string): Promise<void> {
  const down = pkt(50, 7);
  const up = pkt(50, 8, 8, 9);
  const before = [h.hostPort.received.length, h.bmcPort.received.length];
  t.equal(h.bmc!.transmit(down), true, `${label}: BMC transmit`);
  t.equal(h.host!.transmit(up), true, `${label}: host transmit`);
  await h.settle();
  t.same(h.hostPort.received.slice(before[0]), [down], `${label}: host received`);
  t.same(h.bmcPort.received.slice(before[1]), [up], `${label}: BMC received`);
}

t.test('BMC restart: BMC_READY stays low until the host consumed the dummy (E2)', async (t) => {
  const h = new Harness();
  await h.up();
  const bmc = h.bmc!;
  const host = h.host!;
  h.kcs.holdHostEvents = true; // the host is slow to look
  h.kcs.trace.length = 0;
  bmc.setUp(false);
  bmc.setUp(true);
  await h.settle();
  t.same(h.kcs.trace, ['bmc:str<-0x00', 'bmc:odr<-0xff'], 'announced going down, nothing more');
  t.equal(bmc.state, 'restarting');
  t.equal(h.kcs.str & 0x80, 0, 'BMC_READY held low');
  await h.advance(100);
  t.equal(bmc.state, 'restarting', 'still holding (host has not read ODR)');

  h.kcs.releaseHostEvents();
  await h.settle();
  t.equal(host.counter('bmc-ready-lost'), 1, 'the host saw BMC_READY fall');
  t.equal(bmc.state, 'active');
  t.equal(host.state, 'active');
  const i = h.kcs.trace.indexOf('host:odr->0xff');
  const j = h.kcs.trace.indexOf('bmc:str<-0x80');
  t.ok(i >= 0 && j > i, 'BMC_READY rose only after the host read the dummy');
  t.same(h.hostPort.carrierLog, [true, false, true]);
  t.same(h.bmcPort.carrierLog, [true, false, true]);
  t.equal(bmc.counter('restart-holdoff-expired'), 0);
  await exchange(t, h, 'after restart');
});

t.test('BMC restart with no host reading: hold-off expires', async (t) => {
  const h = new Harness();
  await h.up();
  await h.host!.close();
  const bmc = h.bmc!;
  bmc.setUp(false);
  bmc.setUp(true);
  await h.settle();
  t.equal(bmc.state, 'restarting');
  await h.advance(4999);
  t.equal(bmc.state, 'restarting');
  await h.advance(1);
  t.equal(bmc.state, 'ready', 'initialised after restartHoldoffMs');
  t.equal(bmc.counter('restart-holdoff-expired'), 1);
  // A host that boots later drains the stale dummies and comes up.
  h.makeHost().setUp(true);
  await h.settle();
  t.equal(h.host!.state, 'active');
  await exchange(t, h, 'late host');
});

t.test('BMC down while the host is away: the host drains and re-inits on return', async (t) => {
  const h = new Harness();
  await h.up();
  await h.host!.close();
  await h.bmc!.close();
  const bmc = h.makeBmc();
  bmc.setUp(true);
  await h.settle();
  t.equal(bmc.state, 'restarting', 'the previous instance announced going down; the dummy is unread');
  h.makeHost().setUp(true);
  await h.settle();
  t.ok(h.host!.counter('odr-drained') >= 1);
  t.equal(bmc.state, 'active');
  t.equal(h.host!.state, 'active');
});

t.test('a new BMC instance over a live channel (crashed predecessor)', async (t) => {
  const h = new Harness();
  await h.up();
  // The old daemon dies without a word: its listeners vanish, STR stays 0xC0.
  h.kcs.dropBmcListeners();
  t.equal(h.kcs.str, 0xc0);
  h.kcs.trace.length = 0;
  const bmc = h.makeBmc();
  bmc.setUp(true);
  await h.settle();
  t.same(h.kcs.trace.slice(0, 2), ['bmc:str<-0x00', 'bmc:odr<-0xff'], 'announces the predecessor\'s end first');
  t.equal(bmc.state, 'active', 'host consumed the dummy, re-initialised');
  t.equal(h.host!.state, 'active');
  t.equal(h.host!.counter('bmc-ready-lost'), 1);
  await exchange(t, h, 'new BMC');
});

t.test('libmctp-style quick restart (0xC1 → 0x00 → 0x80 unseen): host re-inits on CHANNEL_ACTIVE loss', async (t) => {
  const h = new Harness();
  await h.up();
  h.kcs.holdHostEvents = true;
  // What a libmctp BMC does on a fast daemon restart, done by hand.
  h.kcs.bmcWriteStatus(0x00);
  h.kcs.bmcWriteData(0xff);
  h.kcs.bmcWriteStatus(0x80);
  h.kcs.bmcWriteData(0xff);
  h.kcs.releaseHostEvents();
  await h.settle();
  t.equal(h.host!.counter('channel-lost'), 1, 'saw only CHANNEL_ACTIVE drop');
  t.equal(h.host!.state, 'active', 'sent Init again (libmctp host would stay dead)');
  t.equal(h.bmc!.counter('init-received'), 2);
  await exchange(t, h, 'after quick restart');
});

t.test('host restart: the BMC accepts a fresh Init at any time', async (t) => {
  const h = new Harness();
  await h.up({}, { mtu: 1028 });
  const bmc = h.bmc!;
  // A packet from the BMC is in flight when the host goes away.
  h.kcs.holdHostEvents = true;
  t.equal(bmc.transmit(pkt(500)), true);
  t.equal(bmc.transmit(pkt(500, 2)), false, 'busy');
  await h.host!.close();
  h.kcs.releaseHostEvents();
  const host2 = h.makeHost({ mtu: 32772 });
  host2.setUp(true);
  await h.settle();
  t.equal(host2.state, 'active');
  t.equal(bmc.counter('init-received'), 2);
  t.same(h.bmcPort.mtuLog, [1028, 32772], 'renegotiated upwards');
  t.same(h.bmcPort.carrierLog, [true, false, true]);
  t.equal(h.bmcPort.txReadyCount, 1, 'the refused sender is told it can go on');
  t.same(bmc.stats().buffers, { tx: 'acquired', rx: 'released' });
  await exchange(t, h, 'second host');
});

t.test('re-Init while active (host reboot without a pause)', async (t) => {
  const h = new Harness();
  await h.up();
  h.kcs.hostWriteData(0x00); // a fresh host's Init over the live channel
  await h.settle();
  t.equal(h.bmc!.counter('init-ok'), 2);
  t.equal(h.host!.state, 'active', 'our host adopts the renegotiated channel');
  t.equal(h.host!.counter('init-ok'), 2);
  await exchange(t, h, 'after re-init');
});

t.test('host Tx while the BMC goes away', async (t) => {
  const h = new Harness();
  await h.up();
  const host = h.host!;
  h.kcs.holdBmcEvents = true;
  t.equal(host.transmit(pkt(60, 1, 8, 9)), true);
  await h.settle();
  t.same(host.stats().buffers, { tx: 'released', rx: 'released' }, 'in flight');
  await h.bmc!.close();
  h.kcs.releaseBmcEvents();
  await h.settle();
  t.equal(host.state, 'bmc-not-ready');
  t.same(host.stats().buffers, { tx: 'idle', rx: 'idle' }, 'flushed');
  t.same(h.hostPort.carrierLog, [true, false]);
  t.equal(host.transmit(pkt(60, 2, 8, 9)), false, 'refused while down');
  h.makeBmc().setUp(true);
  await h.settle();
  t.equal(host.state, 'active');
  t.equal(h.hostPort.txReadyCount, 1);
  await exchange(t, h, 'BMC back');
});

// ---------------------------------------------------------------------------
// A BMC restart across processes, under a host that behaves exactly like
// libmctp's (docs/astlpc.md "BMC restart across processes"). The new process
// has power-on KCS registers; only the window (with the old control area)
// survives. libmctp's host re-sends Init only when it sees BMC_READY rise.

const hostPkt = (len: number, seed: number): Buffer => pkt(len, seed, 8, 9);

/** The libmctp-like host sends a packet, and the BMC sends one back: both arrive. */
async function libmctpExchange(t: TapTest, h: Harness, host: LibmctpHost, label: string): Promise<void> {
  const up = hostPkt(60, 3);
  const down = pkt(60, 4);
  const before = [host.received.length, h.bmcPort.received.length];
  t.equal(await host.tx(up), 0, `${label}: host tx accepted`);
  await h.settle();
  t.same(h.bmcPort.received.slice(before[1]), [up], `${label}: BMC received`);
  t.equal(h.bmc!.transmit(down), true, `${label}: BMC transmit`);
  await h.settle();
  t.same(host.received.slice(before[0]), [down], `${label}: host received`);
}

async function libmctpUp(t: TapTest): Promise<{ h: Harness; host: LibmctpHost }> {
  const h = new Harness();
  const bmc = h.makeBmc();
  bmc.setUp(true);
  await h.settle();
  t.equal(bmc.state, 'ready', 'a zeroed window has no predecessor: BMC_READY at once');
  const host = new LibmctpHost({ kcs: h.kcs.host, window: h.window.view('host') });
  h.track(host);
  t.equal(await host.register(), 0, 'mctp_register_bus');
  await h.settle();
  t.ok(host.txEnabled, 'libmctp host: channel up');
  return { h, host };
}

/** The old process announces going down (or not), dies, and a new one starts with fresh KCS registers. */
async function newBmcProcess(h: Harness, announce: boolean): Promise<AstlpcBinding> {
  if (announce) await h.bmc!.close();
  else h.kcs.dropBmcListeners();
  h.kcs.powerOn();
  const bmc = h.makeBmc();
  bmc.setUp(true);
  await h.settle();
  return bmc;
}

t.test('new BMC process, libmctp host missed the going-down status: it still sees BMC_READY fall and rise', async (t) => {
  const { h, host } = await libmctpUp(t);
  await libmctpExchange(t, h, host, 'before');
  // The host is not looking while the old process goes down and the new one starts.
  h.kcs.holdHostEvents = true;
  const bmc = await newBmcProcess(h, true);
  t.equal(bmc.state, 'restarting', "the window holds a predecessor's control area: BMC_READY held low");
  t.equal(h.kcs.str, 0x01, 'STR 0x00 announced, with the dummy in ODR (OBF)');
  const seen = host.statusSeen.length;
  h.kcs.releaseHostEvents();
  await h.settle();
  t.equal(bmc.state, 'active', 'the host read the dummy, BMC_READY rose, the host sent Init');
  t.ok(host.txEnabled, 'libmctp host: channel back');
  const after = host.statusSeen.slice(seen);
  const fall = after.findIndex((s) => !(s & 0x80));
  t.ok(fall >= 0 && after.slice(fall).some((s) => s & 0x80), `it saw BMC_READY fall, then rise (${after.map((s) => s.toString(16)).join(' ')})`);
  t.equal(bmc.counter('restart-holdoff-expired'), 0);
  await libmctpExchange(t, h, host, 'after');
});

t.test('new BMC process, libmctp host saw the going-down status: the new BMC still comes up', async (t) => {
  const { h, host } = await libmctpUp(t);
  await h.bmc!.close();
  await h.settle();
  t.notOk(host.txEnabled, 'the host saw BMC_READY fall');
  const bmc = await newBmcProcess(h, false);
  t.equal(bmc.state, 'active');
  t.ok(host.txEnabled);
  await libmctpExchange(t, h, host, 'after');
});

t.test('new BMC process after a crash (no going-down status at all)', async (t) => {
  const { h, host } = await libmctpUp(t);
  const bmc = await newBmcProcess(h, false);
  t.equal(bmc.state, 'active');
  t.ok(host.txEnabled);
  t.equal(h.kcs.trace.filter((e) => e === 'bmc:str<-0x00').length, 1, 'the new BMC announced the end of the old channel');
  await libmctpExchange(t, h, host, 'after');
});

t.test('new BMC process with no host reading: BMC_READY after the hold-off, a later libmctp host registers', async (t) => {
  const { h, host } = await libmctpUp(t);
  host.close();
  const bmc = await newBmcProcess(h, true);
  t.equal(bmc.state, 'restarting');
  await h.advance(5000);
  t.equal(bmc.state, 'ready');
  t.equal(bmc.counter('restart-holdoff-expired'), 1);
  const host2 = new LibmctpHost({ kcs: h.kcs.host, window: h.window.view('host') });
  h.track(host2);
  t.equal(await host2.register(), 0);
  await h.settle();
  t.ok(host2.txEnabled);
  await libmctpExchange(t, h, host2, 'late host');
});

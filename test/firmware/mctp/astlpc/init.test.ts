/**
 * Channel initialisation: orders, byte layout, version and MTU negotiation
 * (libmctp tests/test_astlpc.c: simple_init, choose_*_ver_cur,
 * version_*_fails_negotiation, host_before_bmc, negotiate_*).
 */
import t from 'tap';
import { AstlpcBinding, type AstlpcStateEvent } from '../../../../firmware/mctp/astlpc/binding.js';
import { decodeControlArea } from '../../../../firmware/mctp/astlpc/control-area.js';
import { Harness, pattern } from './harness.js';
import { LibmctpHost } from './libmctp-host.js';
import { ConfigError } from '../../../../lib/errors.js';

function header(h: Harness) {
  return decodeControlArea(h.window.buf.subarray(0, 32));
}

function stat<T = unknown>(b: AstlpcBinding, path: string): T {
  let v: unknown = b.stats();
  for (const k of path.split('.')) v = (v as Record<string, unknown>)[k];
  return v as T;
}

t.test('simple init, BMC first: bytes, registers and order', async (t) => {
  const h = new Harness();
  const bmc = h.makeBmc();
  bmc.setUp(true);
  await h.settle();

  t.same(h.window.accesses('bmc', 'w'), ['w 32@0x0'], 'BMC init writes the whole 32-byte header');
  t.equal(
    h.window.buf.subarray(0, 32).toString('hex'),
    '4d435450000100030000000000000000' + '000001000007ff7c0008007c0007ff7c',
    'magic, bmc_ver 1/3, host_ver 0/0, negotiated 0, pad 0, rx={0x100,0x7ff7c} tx={0x8007c,0x7ff7c}',
  );
  t.same(h.kcs.trace, ['bmc:str<-0x80', 'bmc:odr<-0xff'], 'STR 0x80, then the dummy');
  t.equal(h.kcs.str, 0x81, 'observed STR 0x81 (BMC_READY | OBF)');
  t.equal(bmc.state, 'ready');

  h.kcs.trace.length = 0;
  h.window.clearLog();
  const host = h.makeHost();
  const events: AstlpcStateEvent[] = [];
  host.on('state', (e: AstlpcStateEvent) => events.push(e));
  host.setUp(true);
  await h.settle();

  t.same(
    h.window.accesses('host', 'w'),
    ['w 4@0x14', 'w 2@0x8', 'w 2@0xa'],
    'host writes only rx_size, then host_ver_min, host_ver_cur',
  );
  t.same(h.window.accesses('bmc', 'w'), ['w 16@0x10', 'w 2@0xc'], 'BMC writes the layout, then negotiated_ver');
  t.same(
    h.kcs.trace,
    [
      'host:odr->0xff', // skiboot-style drain of the BMC-init dummy
      'host:idr<-0x00', // Initialise
      'bmc:idr->0x00',
      'bmc:str<-0xc1', // STR first...
      'bmc:odr<-0xff', // ...then the dummy
      'host:odr->0xff',
    ],
    'KCS sequence',
  );
  const hdr = header(h);
  t.equal(hdr.negotiatedVer, 3);
  t.equal(hdr.hostVerMin, 1);
  t.equal(hdr.hostVerCur, 3);
  t.same(hdr.layout, { rx: { offset: 0x100, size: 32780 }, tx: { offset: 0x8007c, size: 32780 } }, 'host 32768 → 32780 (v3)');
  t.equal(h.kcs.str, 0xc0, 'BMC_READY | CHANNEL_ACTIVE, dummy consumed');

  t.equal(bmc.state, 'active');
  t.equal(host.state, 'active');
  t.same(h.bmcPort.carrierLog, [true]);
  t.same(h.hostPort.carrierLog, [true]);
  t.same(h.bmcPort.mtuLog, [32772], 'MTU header included: libmctp 32768 + 4');
  t.same(h.hostPort.mtuLog, [32772]);
  t.equal(stat(host, 'mtu.payload'), 32768);
  t.same(stat(bmc, 'layout'), { bmcToHost: { offset: 0x100, size: 32780 }, hostToBmc: { offset: 0x8007c, size: 32780 } });
  t.same(stat(host, 'layout'), stat(bmc, 'layout'), 'both sides agree on the layout');
  t.same(stat(host, 'buffers'), { tx: 'acquired', rx: 'released' });
  t.equal(stat(bmc, 'counters.init-ok'), 1);
  t.same(
    events.map((e) => e.state).filter((s, i, a) => s !== a[i - 1]),
    ['starting', 'init-sent', 'active'],
    'host state events',
  );
  t.equal(events.at(-1)?.channelActive, true);
  t.equal(events.at(-1)?.version, 3);
  await h.closeAll();
});

t.test('mtu=64 BMC: rx={0x100,76} tx={0x14c,76} (as observed with libmctp)', async (t) => {
  const h = new Harness();
  await h.up({ mtu: 68 });
  t.same(header(h).layout, { rx: { offset: 0x100, size: 76 }, tx: { offset: 0x14c, size: 76 } });
  t.equal(stat(h.bmc!, 'mtu.current'), 68);
  t.equal(stat(h.host!, 'mtu.current'), 68);
  t.same(h.hostPort.mtuLog, [], 'MTU stayed at the initial 68: no mtuChanged');
  t.equal(h.host!.state, 'active');
  await h.closeAll();
});

t.test('MTU negotiation', async (t) => {
  t.test('host asks more than the BMC allows', async (t) => {
    const h = new Harness();
    await h.up({ mtu: 1028 }, { mtu: 32772 });
    t.same(header(h).layout, { rx: { offset: 0x100, size: 1036 }, tx: { offset: 0x50c, size: 1036 } });
    t.same(h.bmcPort.mtuLog, [1028]);
    t.same(h.hostPort.mtuLog, [1028]);
  });
  t.test('host asks less: the BMC never advertises more than asked', async (t) => {
    const h = new Harness();
    await h.up({}, { mtu: 200 });
    const layout = header(h).layout;
    t.equal(layout.rx.size, 208);
    t.equal(layout.tx.size, 208, 'tx_size not larger than the host asked for');
    t.same(h.bmcPort.mtuLog, [200]);
  });
  t.test('BTU floor', async (t) => {
    const h = new Harness();
    t.throws(() => h.makeHost({ mtu: 67 }), ConfigError, 'host MTU below the BTU is refused');
    t.throws(() => h.makeBmc({ mtu: 64 }), ConfigError, 'BMC MTU below the BTU is refused');
    t.throws(() => h.makeHost({ mtu: 0 }), ConfigError, 'host mtu 0 fails (libmctp -EINVAL)');
    await h.up({}, { mtu: 68 });
    t.same(header(h).layout.rx, { offset: 0x100, size: 76 }, 'exactly the BTU works');
  });
  t.test('v2: host 32768 → rx_size 32776', async (t) => {
    const h = new Harness();
    await h.up({ versions: { min: 1, max: 2 } });
    t.equal(header(h).negotiatedVer, 2);
    t.same(header(h).layout.rx, { offset: 0x100, size: 32776 });
    t.equal(h.window.buf.readUInt32BE(0x10 + 4), 32776);
    t.same(h.hostPort.mtuLog, [32772]);
  });
  t.test('host MTU larger than the window: proposal capped to the room left', async (t) => {
    const h = new Harness();
    await h.up({}, { mtu: 600_000 });
    t.equal(h.host!.state, 'active');
    t.equal(h.host!.counter('rx-size-capped'), 1);
    t.equal(header(h).layout.rx.size, 0x7ff7c);
    t.same(h.hostPort.mtuLog, [524148]);
  });
  t.test('host 32768 against an mtu-64 BMC (libmctp host would fail on overlap)', async (t) => {
    const h = new Harness();
    await h.up({ mtu: 68 }, { mtu: 32772 });
    t.equal(h.host!.state, 'active');
    t.equal(h.host!.counter('rx-size-capped'), 1);
    t.equal(h.window.buf.readUInt32BE(0x14), 76);
  });
  t.test('low then high, high then low (re-initialising host)', async (t) => {
    const h = new Harness();
    await h.up({}, { mtu: 100 });
    t.equal(header(h).layout.rx.size, 108);
    await h.host!.close();
    h.makeHost({ mtu: 32772 }).setUp(true);
    await h.settle();
    t.equal(header(h).layout.rx.size, 32780, 'grows back: the limit is the BMC original size');
    t.same(h.bmcPort.mtuLog, [100, 32772]);
    await h.host!.close();
    h.makeHost({ mtu: 300 }).setUp(true);
    await h.settle();
    t.equal(header(h).layout.rx.size, 308);
    t.same(h.bmcPort.mtuLog, [100, 32772, 300]);
    t.equal(h.host!.state, 'active');
    t.same(header(h).layout.tx.offset, 0x8007c, 'offsets never move');
  });
});

t.test('version negotiation between bindings', async (t) => {
  const cases = [
    { name: 'choose BMC ver cur', bmc: { min: 1, max: 2 }, host: { min: 1, max: 3 }, v: 2 },
    { name: 'choose host ver cur', bmc: { min: 1, max: 3 }, host: { min: 1, max: 2 }, v: 2 },
    { name: 'v1-only host', bmc: { min: 1, max: 3 }, host: { min: 1, max: 1 }, v: 1 },
    { name: 'v1-only BMC', bmc: { min: 1, max: 1 }, host: { min: 1, max: 3 }, v: 1 },
    { name: 'v3 only both', bmc: { min: 3, max: 3 }, host: { min: 3, max: 3 }, v: 3 },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const h = new Harness();
      await h.up({ versions: c.bmc }, { versions: c.host });
      t.equal(h.host!.state, 'active');
      t.equal(h.bmc!.state, 'active');
      t.equal(header(h).negotiatedVer, c.v);
      t.equal(stat(h.host!, 'version.negotiated'), c.v);
      if (c.v === 1) {
        t.notOk(h.window.accesses('host', 'w').includes('w 4@0x14'), 'v1 host does not write rx_size');
        t.equal(stat(h.host!, 'mtu.current'), 68, 'v1: MTU is the BTU');
        t.equal(stat(h.bmc!, 'mtu.current'), 68);
      }
    });
  }

  t.test('disjoint ranges: the host fails without sending Init', async (t) => {
    const h = new Harness();
    await h.up({ versions: { min: 1, max: 1 } }, { versions: { min: 2, max: 3 } });
    t.equal(h.host!.state, 'failed');
    t.match(stat(h.host!, 'lastError'), /no common version: BMC 1\.\.1, host 2\.\.3/);
    t.equal(h.host!.counter('init-failed:version'), 1);
    t.notOk(h.kcs.trace.includes('host:idr<-0x00'));
    t.equal(h.bmc!.state, 'ready');
    t.equal(h.bmc!.counter('init-received'), 0);
    // It keeps retrying on its timer, and keeps failing.
    await h.advance(1000);
    t.equal(h.host!.counter('init-failed:version'), 2);
    t.same(h.hostPort.carrierLog, [], 'carrier never came up');
  });
});

t.test('a v1 session gets the v1 layout, whatever an earlier v3 session negotiated', async (t) => {
  const START = { rx: { offset: 0x100, size: 0x7ff7c }, tx: { offset: 0x8007c, size: 0x7ff7c } };
  const h = new Harness();
  await h.up({}, { mtu: 68 });
  t.same(header(h).layout, { rx: { offset: 0x100, size: 76 }, tx: { offset: 0x8007c, size: 76 } }, 'a v3 session at MTU 64: 76-byte buffers');
  await h.host!.close();

  // A libmctp host built for v1 with a 1024-byte MTU: v1 has no size
  // negotiation (it does not write rx_size) and libmctp keeps its requested MTU.
  const host = new LibmctpHost({ kcs: h.kcs.host, window: h.window.view('host'), mtu: 1024, versionCur: 1 });
  h.track(host);
  t.equal(await host.register(), 0);
  await h.settle();
  t.ok(host.txEnabled, 'channel up');
  t.equal(header(h).negotiatedVer, 1);
  t.same(header(h).layout, START, "the BMC's starting layout, not the v3 session's leftovers");
  t.equal(stat(h.bmc!, 'mtu.current'), 68, 'the BMC still tells its core the BTU (v1)');
  const p = pattern(1028, 5);
  p.set([1, 8, 9, 0xc8], 0);
  t.equal(await host.tx(p), 0, 'a packet at the host\'s MTU is not refused ("invalid TX len")');
  await h.settle();
  t.notMatch(host.log.join('\n'), /invalid TX len/);
  t.same(h.bmcPort.received.at(-1), p, 'and the BMC takes it: it fits its buffer');
  host.close();

  // Our own v1-only host gets the same layout; a v3 host afterwards negotiates again.
  h.makeHost({ versions: { min: 1, max: 1 } }).setUp(true);
  await h.settle();
  t.equal(h.host!.state, 'active');
  t.same(header(h).layout, START);
  t.same(stat(h.host!, 'layout'), { bmcToHost: START.rx, hostToBmc: START.tx });
  await h.host!.close();
  h.makeHost({ mtu: 100 }).setUp(true);
  await h.settle();
  t.equal(header(h).negotiatedVer, 3);
  t.equal(header(h).layout.rx.size, 108, 'v3 negotiates from the proposal again');
});

t.test('host before BMC', async (t) => {
  t.test('recovers on the BMC-init interrupt', async (t) => {
    const h = new Harness();
    const host = h.makeHost();
    host.setUp(true);
    await h.settle();
    t.equal(host.state, 'bmc-not-ready');
    t.match(stat(host, 'lastError'), /BMC not ready/);
    t.equal(host.counter('bmc-not-ready'), 1);
    t.same(h.kcs.trace, [], 'host wrote nothing');

    h.makeBmc().setUp(true);
    await h.settle();
    t.equal(host.state, 'active');
    t.equal(h.bmc!.state, 'active');
    t.equal(stat(host, 'lastError'), null);
  });
  t.test('recovers on its retry timer when the interrupt is lost', async (t) => {
    const h = new Harness();
    const host = h.makeHost();
    host.setUp(true);
    await h.settle();
    h.kcs.holdHostEvents = true;
    h.makeBmc().setUp(true);
    await h.settle();
    t.equal(host.state, 'bmc-not-ready', 'no interrupt seen');
    h.kcs.holdHostEvents = false; // later events flow; the lost one stays lost
    await h.advance(999);
    t.equal(host.state, 'bmc-not-ready');
    await h.advance(1);
    t.equal(host.state, 'active', 'retried after 1000 ms of clock time');
    t.equal(host.counter('bmc-not-ready'), 1);
  });
});

t.test('the stale dummy: a host without the drain', async (t) => {
  const h = new Harness();
  const bmc = h.makeBmc();
  bmc.setUp(true);
  await h.settle();
  t.equal(h.kcs.odr, 0xff);
  t.equal(h.kcs.str & 0x01, 0x01, 'BMC-init dummy still pending');

  // The BMC will not see Init until we let it.
  h.kcs.holdBmcEvents = true;
  const host = h.makeHost({ drainOdr: false });
  host.setUp(true);
  await h.settle();
  t.equal(host.state, 'init-sent');
  t.equal(h.kcs.odr, 0xff);

  // The host polls before the BMC processed Init: it dequeues the stale dummy.
  h.kcs.pokeHost();
  await h.settle();
  t.equal(host.counter('stale-dummy'), 1, 'stale dummy seen and counted');
  t.equal(host.state, 'init-sent', 'not a failure (libmctp returns -EINVAL here)');

  h.kcs.releaseBmcEvents();
  await h.settle();
  t.equal(host.state, 'active', 'the next dummy, with CHANNEL_ACTIVE, completes init');
  t.equal(bmc.state, 'active');
  t.equal(host.counter('init-failed:timeout'), 0);
});

t.test('init over asynchronous KCS ports', async (t) => {
  const h = new Harness({ async: true });
  await h.up();
  t.equal(h.host!.state, 'active');
  t.equal(h.bmc!.state, 'active');
  t.same(
    h.kcs.trace.slice(0, 2),
    ['bmc:str<-0x80', 'bmc:odr<-0xff'],
    'order kept with async ports',
  );
  const i = h.kcs.trace.indexOf('bmc:str<-0xc1');
  t.equal(h.kcs.trace[i + 1], 'bmc:odr<-0xff');
  await h.closeAll();
});

t.test('close() announces the BMC going away and releases everything', async (t) => {
  const h = new Harness();
  await h.up();
  await h.host!.close();
  t.equal(h.kcs.hostListenerCount, 0);
  h.kcs.trace.length = 0;
  await h.bmc!.close();
  t.same(h.kcs.trace, ['bmc:str<-0x00', 'bmc:odr<-0xff'], 'libmctp destroy: STR 0x00 then dummy');
  t.equal(h.kcs.bmcListenerCount, 0);
  t.equal(h.clock.pending, 0, 'no timers left');
  t.same(h.bmcPort.carrierLog, [true, false]);
  t.equal(h.bmc!.transmit(Buffer.from([1, 9, 8, 0xc8])), false, 'closed: refuses');
});

t.test('constructor validation', async (t) => {
  const h = new Harness();
  t.throws(() => h.makeBmc({ versions: { min: 2, max: 1 } }), ConfigError);
  t.throws(() => h.makeBmc({ versions: { min: 0, max: 3 } }), ConfigError);
  t.throws(() => h.makeHost({ versions: { min: 1, max: 4 } }), ConfigError);
  t.throws(() => new AstlpcBinding({ mode: 'bmc', kcs: h.kcs.bmc, window: h.window.view('x'), windowSize: 100 }), ConfigError);
  const b = h.makeBmc({ mtu: 1028 });
  t.same(b.mtu, { initial: 68, min: 68, max: 1028 });
  t.equal(b.kind, 'astlpc');
  t.equal(b.hwAddrLen, 0);
  t.equal(b.hwAddr.length, 0);
  t.same(h.makeBmc().mtu.max, 524152, 'largest: v2 framing leaves 4 more bytes than v3 (524148)');
  t.same(h.makeHost().mtu, { initial: 68, min: 68, max: 32772 });
});

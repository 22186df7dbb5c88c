/**
 * Hostile peers (docs/astlpc.md "Hostile-host handling"). The host side is
 * played by hand through FakeKcs and the window Buffer; every value it writes is validated by the BMC before
 * use, failures are counted by reason, nothing is read or written outside
 * the window, and a proper host Init brings the channel back
 * (libmctp: buffers_*_overflow, *_window_violation, *_fails_btu, overlap_*,
 * bad_host_proposal, bad_version, undefined_command), plus the mirror image:
 * a hostile BMC against our host, and a seeded fuzz.
 */
import t from 'tap';
import type { AstlpcBinding } from '../../../../firmware/mctp/astlpc/binding.js';
import {
  ASTLPC_MAGIC,
  LAYOUT_FAULTS,
  decodeControlArea,
  encodeControlArea,
  encodeLayout,
  type ControlArea,
  type Layout,
} from '../../../../firmware/mctp/astlpc/control-area.js';
import { crc32 } from '../../../../lib/crc32.js';
import { prng } from './fakes.js';
import { Harness, pattern } from './harness.js';

/** tap's subtest type (the last overload of t.test takes just the callback). */
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

const WIN = 1024 * 1024;
const BMC_LAYOUT: Layout = { rx: { offset: 0x100, size: 0x7ff7c }, tx: { offset: 0x8007c, size: 0x7ff7c } };

function header(h: Harness): ControlArea {
  return decodeControlArea(h.window.buf.subarray(0, 32));
}

interface HostileInit {
  hostVerMin?: number;
  hostVerCur?: number;
  rx?: Partial<Layout['rx']>;
  tx?: Partial<Layout['tx']>;
}

/** Write a host's fields the way a hostile host likes, then Init; drain ODR. Returns STR seen with the reply. */
async function hostileInit(h: Harness, init: HostileInit): Promise<number> {
  const hdr = header(h);
  const layout: Layout = { rx: { ...hdr.layout.rx, ...init.rx }, tx: { ...hdr.layout.tx, ...init.tx } };
  h.window.buf.writeUInt16BE(init.hostVerMin ?? 1, 0x08);
  h.window.buf.writeUInt16BE(init.hostVerCur ?? 3, 0x0a);
  encodeLayout(layout).copy(h.window.buf, 0x10);
  h.kcs.hostWriteData(0x00);
  await h.settle();
  const str = h.kcs.str;
  if (str & 0x01) h.kcs.hostReadData();
  return str;
}

async function bmcOnly(options = {}): Promise<{ h: Harness; bmc: AstlpcBinding }> {
  const h = new Harness();
  const bmc = h.makeBmc(options);
  bmc.setUp(true);
  await h.settle();
  h.kcs.hostReadData(); // consume the BMC-init dummy
  return { h, bmc };
}

/** Put one v3 packet (length, packet, CRC) in a buffer, as a host would before Tx Begin. */
function encodeLengthAndPacket(h: Harness, offset: number, p: Buffer): void {
  h.window.buf.writeUInt32BE(p.length, offset);
  p.copy(h.window.buf, offset + 4);
  h.window.buf.writeUInt32BE(crc32(p), offset + 4 + p.length);
}

async function expectRecovery(t: TapTest, h: Harness): Promise<void> {
  const host = h.makeHost();
  host.setUp(true);
  await h.settle();
  t.equal(host.state, 'active', 'a proper host brings the channel back');
  t.equal(h.bmc!.state, 'active');
  const p = pattern(40);
  p.set([1, 8, 9, 0xc8], 0);
  host.transmit(p);
  await h.settle();
  t.same(h.bmcPort.received.at(-1), p, 'and packets flow');
  t.same(h.window.oob, [], 'no access outside the window');
}

t.test('bad rx_size proposals fail the channel with a counted reason', async (t) => {
  const cases: Array<[string, HostileInit, string]> = [
    ['rx size overflow', { rx: { size: 0xffffffff } }, 'rx-overflow'],
    ['rx size overflow, just', { rx: { size: 0xffffff00 } }, 'rx-overflow'],
    ['rx window violation', { rx: { size: WIN } }, 'rx-window'],
    ['rx size fails BTU (bad host proposal)', { rx: { size: 75 } }, 'rx-btu'],
    ['rx size zero', { rx: { size: 0 } }, 'rx-btu'],
    ['rx buffer runs into the BMC\'s rx buffer', { rx: { size: 0x80000 } }, 'overlap'],
  ];
  for (const [name, init, reason] of cases) {
    t.test(name, async (t) => {
      const { h, bmc } = await bmcOnly();
      const str = await hostileInit(h, init);
      t.equal(str, 0x81, 'STR 0x81: BMC_READY without CHANNEL_ACTIVE (+ OBF)');
      t.equal(bmc.state, 'failed');
      t.equal(bmc.counter(`init-failed:layout:${reason}`), 1, `counted as layout:${reason}`);
      t.equal(header(h).negotiatedVer, 0, 'negotiated_ver 0');
      t.same(header(h).layout, BMC_LAYOUT, 'BMC layout restored for the next host');
      t.equal(bmc.counter('control-area-restored'), 0, 'rx_size is the host\'s: not counted as a repair');
      t.match(bmc.stats().lastError, new RegExp(reason));
      h.kcs.hostWriteData(0x01);
      await h.settle();
      t.equal(bmc.counter('cmd-drop:before-init'), 1, 'Tx Begin refused on a failed channel');
      await expectRecovery(t, h);
    });
  }
});

t.test('BMC-owned layout fields scribbled before an Init are put back first; the Init is judged on rx_size', async (t) => {
  // (libmctp fails these Inits on the scribbled values and leaves them in
  // place; here the host's proposal is only its rx_size: docs/astlpc.md
  // "Control-area repair".)
  const cases: Array<[string, HostileInit]> = [
    ['rx offset overflow', { rx: { offset: 0xffffff00, size: 0x200 } }],
    ['tx offset overflow', { tx: { offset: 0xffffff00, size: 0x200 } }],
    ['tx size overflow', { tx: { size: 0xffffffff } }],
    ['tx window violation', { tx: { offset: WIN - 75, size: 76 } }],
    ['tx size fails BTU', { tx: { size: 75 } }],
    ['overlap, rx low', { rx: { offset: 0x100, size: 0x1000 }, tx: { offset: 0x200, size: 0x100 } }],
    ['overlap, tx low', { rx: { offset: 0x200, size: 0x100 }, tx: { offset: 0x100, size: 0x1000 } }],
    ['overlap, exact', { rx: { offset: 0x1000, size: 0x100 }, tx: { offset: 0x1000, size: 0x100 } }],
    ['rx in the control area', { rx: { offset: 0x80, size: 0x100 } }],
    ['tx in the control area', { tx: { offset: 0, size: 0x100 } }],
  ];
  for (const [name, init] of cases) {
    t.test(name, async (t) => {
      const { h, bmc } = await bmcOnly();
      const proposed = init.rx?.size ?? BMC_LAYOUT.rx.size;
      const str = await hostileInit(h, init);
      t.equal(str, 0xc1, 'STR 0xC1: the channel is up');
      t.equal(bmc.state, 'active');
      t.equal(bmc.counter('control-area-restored'), 1, 'the repair is counted');
      t.equal(bmc.counter('init-ok'), 1);
      t.same(
        header(h).layout,
        { rx: { offset: 0x100, size: proposed }, tx: { offset: 0x8007c, size: proposed } },
        'our offsets, symmetric sizes as large as the proposal',
      );
      t.equal(header(h).negotiatedVer, 3);
      const p = pattern(40);
      p.set([1, 8, 9, 0xc8], 0);
      encodeLengthAndPacket(h, 0x8007c, p);
      h.kcs.hostWriteData(0x01);
      await h.settle();
      t.same(h.bmcPort.received.at(-1), p, 'and packets flow');
      t.same(h.window.oob, []);
    });
  }
});

t.test('bad versions from the host', async (t) => {
  const cases: Array<[string, number, number]> = [
    ['zero', 0, 0],
    ['zero min', 0, 3],
    ['inverted', 3, 1],
    ['disjoint above', 4, 9],
  ];
  for (const [name, min, cur] of cases) {
    t.test(name, async (t) => {
      const { h, bmc } = await bmcOnly();
      const str = await hostileInit(h, { hostVerMin: min, hostVerCur: cur });
      t.equal(str, 0x81);
      t.equal(bmc.counter('init-failed:version'), 1);
      t.equal(header(h).negotiatedVer, 0);
      await expectRecovery(t, h);
    });
  }
});

t.test('host-written offsets are ignored when valid (D(b)); sizes symmetric and never above the proposal', async (t) => {
  const { h, bmc } = await bmcOnly();
  const str = await hostileInit(h, { rx: { offset: 0x10000, size: 200 }, tx: { offset: 0x20000, size: 0x1000 } });
  t.equal(str, 0xc1);
  t.equal(bmc.state, 'active');
  t.same(header(h).layout, { rx: { offset: 0x100, size: 200 }, tx: { offset: 0x8007c, size: 200 } });
  t.equal(header(h).negotiatedVer, 3);
  t.same(h.bmcPort.mtuLog, [192]);
});

t.test('scribbled BMC fields are restored', async (t) => {
  const { h, bmc } = await bmcOnly();
  h.window.buf.writeUInt32BE(0xdeadbeef, 0);
  h.window.buf.writeUInt32BE(0, 4);
  const str = await hostileInit(h, {});
  t.equal(str, 0xc1, 'the Init itself is fine');
  const hdr = header(h);
  t.equal(hdr.magic, ASTLPC_MAGIC);
  t.equal(hdr.bmcVerMin, 1);
  t.equal(hdr.bmcVerCur, 3);
  t.equal(bmc.counter('control-area-restored'), 1);
});

t.test('unknown commands are counted and ignored', async (t) => {
  const h = new Harness();
  await h.up();
  for (const cmd of [0x03, 0x55, 0xfe, 0x80]) {
    h.kcs.hostWriteData(cmd);
    await h.settle();
  }
  t.equal(h.bmc!.counter('cmd-drop:unknown'), 4);
  t.equal(h.bmc!.state, 'active');
  h.kcs.bmcWriteData(0x33);
  await h.settle();
  h.kcs.bmcWriteData(0x00);
  await h.settle();
  t.equal(h.host!.counter('cmd-drop:unknown'), 2, 'the host too, including Initialise from the BMC');
  t.equal(h.host!.state, 'active');
  const p = pattern(30);
  p.set([1, 9, 8, 0xc8], 0);
  h.bmc!.transmit(p);
  await h.settle();
  t.same(h.hostPort.received, [p]);
});

// ---------------------------------------------------------------------------
// A hostile BMC against our host

/** Play a BMC by hand: publish a header and BMC_READY, let the host Init, answer as told. */
async function fakeBmcAnswer(
  t: TapTest,
  hostOptions: Parameters<Harness['makeHost']>[0],
  answer: (hdr: ControlArea) => ControlArea,
): Promise<{ h: Harness; host: AstlpcBinding }> {
  const h = new Harness();
  const published: ControlArea = {
    magic: ASTLPC_MAGIC,
    bmcVerMin: 1,
    bmcVerCur: 3,
    hostVerMin: 0,
    hostVerCur: 0,
    negotiatedVer: 0,
    pad0: 0,
    layout: BMC_LAYOUT,
  };
  encodeControlArea(published).copy(h.window.buf, 0);
  h.kcs.bmcWriteStatus(0x80);
  h.kcs.bmcWriteData(0xff);
  const host = h.makeHost(hostOptions);
  host.setUp(true);
  await h.settle();
  t.equal(host.state, 'init-sent');
  t.equal(h.kcs.bmcReadData(), 0x00, 'host sent Init');
  const reply = answer(header(h));
  encodeControlArea(reply).copy(h.window.buf, 0);
  h.kcs.bmcWriteStatus(0xc1);
  h.kcs.bmcWriteData(0xff);
  await h.settle();
  return { h, host };
}

t.test('hostile BMC: our host validates what it adopts', async (t) => {
  t.test('negotiated_ver 0 / 7 / outside our range', async (t) => {
    for (const [ver, versions] of [
      [0, undefined],
      [7, undefined],
      [2, { min: 3, max: 3 }],
    ] as const) {
      const { h, host } = await fakeBmcAnswer(t, versions ? { versions } : {}, (hdr) => ({ ...hdr, negotiatedVer: ver }));
      t.equal(host.state, 'failed', `negotiated_ver ${ver}`);
      t.equal(host.counter('init-failed:negotiated-version'), 1);
      t.same(h.hostPort.carrierLog, []);
    }
  });
  t.test('invalid negotiated layout', async (t) => {
    const { h, host } = await fakeBmcAnswer(t, {}, (hdr) => ({
      ...hdr,
      negotiatedVer: 3,
      layout: { rx: { offset: 0x100, size: 0x1000 }, tx: { offset: 0x800, size: 0x1000 } },
    }));
    t.equal(host.state, 'failed');
    t.equal(host.counter('init-failed:layout:overlap'), 1);
    t.same(h.window.oob, []);
  });
  t.test('tx_size larger than we asked: MTU capped to our request (the libmctp host heap overflow)', async (t) => {
    const { h, host } = await fakeBmcAnswer(t, { mtu: 1028 }, (hdr) => {
      t.equal(hdr.layout.rx.size, 1036, 'host proposed 1036');
      return {
        ...hdr,
        negotiatedVer: 3,
        layout: { rx: { offset: 0x100, size: 0x10000 }, tx: { offset: 0x10100, size: 0x10000 } },
      };
    });
    t.equal(host.state, 'active');
    t.same(h.hostPort.mtuLog, [1028], 'not body_size(tx_size) = 65528');
    const big = Buffer.alloc(2000);
    big[0] = 1;
    t.equal(host.transmit(big), true);
    t.equal(host.counter('tx-packets'), 1, 'the buffer would hold it; the core is told 1028');
  });
  t.test('a BMC header that looks scribbled on: the host sends Init anyway, once more at once if refused, then on its timers', async (t) => {
    const scribbled: Array<[string, Partial<ControlArea>, string]> = [
      ['invalid layout', { layout: { rx: { offset: 0x100, size: 0xffffffff }, tx: { offset: 0x200, size: 76 } } }, 'BMC layout rx-overflow'],
      ['zeroed BMC versions', { bmcVerMin: 0, bmcVerCur: 0 }, 'BMC versions 0..0'],
      ['inverted BMC versions', { bmcVerMin: 3, bmcVerCur: 1 }, 'BMC versions 3..1'],
    ];
    for (const [name, fields, why] of scribbled) {
      const h = new Harness();
      const bad: ControlArea = { magic: ASTLPC_MAGIC, bmcVerMin: 1, bmcVerCur: 3, hostVerMin: 0, hostVerCur: 0, negotiatedVer: 0, pad0: 0, layout: BMC_LAYOUT, ...fields };
      encodeControlArea(bad).copy(h.window.buf, 0);
      h.kcs.bmcWriteStatus(0x80);
      const host = h.makeHost();
      host.setUp(true);
      await h.settle();
      t.equal(host.state, 'init-sent', `${name}: Init sent anyway`);
      t.equal(h.kcs.bmcReadData(), 0x00);
      t.equal(h.window.buf.readUInt32BE(0x14), 32780, `${name}: proposing its own MTU`);
      t.equal(host.counter('init-over-bad-header'), 1);
      t.match(host.stats().lastError, why);
      // This hand-played BMC refuses without repairing anything.
      h.kcs.bmcWriteStatus(0x81);
      h.kcs.bmcWriteData(0xff);
      await h.settle();
      t.equal(host.counter('init-quick-retry'), 1, `${name}: refused, so once more at once`);
      t.equal(h.kcs.bmcReadData(), 0x00);
      h.kcs.bmcWriteData(0xff);
      await h.settle();
      t.equal(host.counter('init-sent'), 2, `${name}: no third Init straight away`);
      t.equal(host.counter('stale-dummy'), 1);
      await h.advance(1000);
      t.equal(host.state, 'failed', `${name}: the init timeout decides`);
      // Now the BMC repairs its header and answers the timer's retry.
      encodeControlArea({ ...bad, bmcVerMin: 1, bmcVerCur: 3, layout: BMC_LAYOUT }).copy(h.window.buf, 0);
      await h.advance(1000);
      t.equal(host.counter('init-sent'), 3, `${name}: retried on the timer`);
      t.equal(h.kcs.bmcReadData(), 0x00);
      h.window.buf.writeUInt16BE(3, 0x0c);
      h.window.buf.writeUInt32BE(32780, 0x1c);
      h.kcs.bmcWriteStatus(0xc1);
      h.kcs.bmcWriteData(0xff);
      await h.settle();
      t.equal(host.state, 'active', `${name}: up once the BMC repaired its header`);
      t.same(h.window.oob, []);
      await h.closeAll();
    }
  });
  t.test('well-formed BMC versions that do not meet ours: a BMC we cannot talk to, no Init', async (t) => {
    const h = new Harness();
    encodeControlArea({ magic: ASTLPC_MAGIC, bmcVerMin: 4, bmcVerCur: 9, hostVerMin: 0, hostVerCur: 0, negotiatedVer: 0, pad0: 0, layout: BMC_LAYOUT }).copy(h.window.buf, 0);
    h.kcs.bmcWriteStatus(0x80);
    const host = h.makeHost();
    host.setUp(true);
    await h.settle();
    t.equal(host.state, 'failed');
    t.equal(host.counter('init-failed:version'), 1);
    t.notOk(h.kcs.trace.includes('host:idr<-0x00'));
  });
  t.test('BMC announces an oversized packet: dropped without Rx Complete', async (t) => {
    const h = new Harness();
    await h.up({ mtu: 68 });
    h.window.buf.writeUInt32BE(0xfffffff0, 0x100);
    h.kcs.trace.length = 0;
    h.kcs.bmcWriteData(0x01);
    await h.settle();
    t.equal(h.host!.counter('rx-drop:length'), 1);
    t.notOk(h.kcs.trace.includes('host:idr<-0x02'));
    t.same(h.window.oob, []);
  });
  t.test('Tx Begin before CHANNEL_ACTIVE is ignored', async (t) => {
    const h = new Harness();
    const bmc = h.makeBmc();
    bmc.setUp(true);
    await h.settle();
    h.kcs.holdBmcEvents = true;
    const host = h.makeHost();
    host.setUp(true);
    await h.settle();
    h.kcs.bmcWriteData(0x01);
    await h.settle();
    t.equal(host.counter('cmd-drop:before-init'), 1);
    h.kcs.releaseBmcEvents();
    await h.settle();
    t.equal(host.state, 'active');
  });
  t.test('no CHANNEL_ACTIVE after Init: timeout, then retry', async (t) => {
    const h = new Harness();
    encodeControlArea({
      magic: ASTLPC_MAGIC,
      bmcVerMin: 1,
      bmcVerCur: 3,
      hostVerMin: 0,
      hostVerCur: 0,
      negotiatedVer: 0,
      pad0: 0,
      layout: BMC_LAYOUT,
    }).copy(h.window.buf, 0);
    h.kcs.bmcWriteStatus(0x80);
    const host = h.makeHost();
    host.setUp(true);
    await h.settle();
    t.equal(host.state, 'init-sent');
    h.kcs.bmcReadData();
    h.kcs.bmcWriteStatus(0x81); // the BMC rejects it
    h.kcs.bmcWriteData(0xff);
    await h.settle();
    t.equal(host.state, 'init-sent', 'a dummy without CHANNEL_ACTIVE is not yet a verdict');
    await h.advance(1000);
    t.equal(host.state, 'failed');
    t.equal(host.counter('init-failed:timeout'), 1);
    await h.advance(1000);
    t.equal(host.counter('init-sent'), 2, 'retried');
  });
});

// ---------------------------------------------------------------------------
// Fuzz

const INTERESTING_U32 = [
  0, 1, 3, 4, 0x48, 0x4c, 0x4b, 0xff, 0x100, 0x14c, 0x7ff7c, 0x8007c, WIN - 76, WIN - 1, WIN, WIN + 1, 0x7fffffff,
  0x80000000, 0xffffff00, 0xfffffffc, 0xffffffff,
];
const INTERESTING_U16 = [0, 1, 2, 3, 4, 0x7fff, 0xffff];

function fuzz(seed: number, iterations: number, bmcOptions: NonNullable<Parameters<Harness['makeBmc']>[0]>) {
  const hasCrc = (bmcOptions.versions?.max ?? 3) >= 3;
  return async (t: TapTest) => {
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const chance = (p: number): boolean => rand() < p;
    const u32 = (): number => (chance(0.7) ? pick(INTERESTING_U32) : Math.floor(rand() * 0x100000000));
    const u16 = (): number => (chance(0.8) ? pick(INTERESTING_U16) : Math.floor(rand() * 0x10000));

    const { h, bmc } = await bmcOnly(bmcOptions);
    const startSize = header(h).layout.tx.size;
    const sent = { init: 0, txBegin: 0, rxComplete: 0, unknown: 0, dummy: 0 };
    let sizeViolations = 0;
    let thrown = 0;

    for (let i = 0; i < iterations; i++) {
      const r = rand();
      try {
        if (r < 0.4) {
          // Random control-area fields (each with probability ½), then Init.
          const buf = h.window.buf;
          if (chance(0.5)) buf.writeUInt16BE(u16(), 0x08);
          if (chance(0.5)) buf.writeUInt16BE(u16(), 0x0a);
          if (chance(0.3)) buf.writeUInt16BE(u16(), 0x04);
          for (const off of [0x10, 0x14, 0x18, 0x1c]) if (chance(0.35)) buf.writeUInt32BE(u32(), off);
          if (chance(0.6)) {
            // A plausible host: good versions, only rx_size changes.
            buf.writeUInt16BE(1, 0x08);
            buf.writeUInt16BE(3, 0x0a);
          }
          const proposed = buf.readUInt32BE(0x14);
          const okBefore = bmc.counter('init-ok');
          h.kcs.hostWriteData(0x00);
          sent.init++;
          await h.settle();
          if (bmc.counter('init-ok') > okBefore) {
            // v2+: symmetric and never above the proposal; v1 (no proposal): the starting layout.
            const { layout: l, negotiatedVer } = header(h);
            if (l.tx.size !== l.rx.size || (negotiatedVer >= 2 ? l.tx.size > proposed : l.tx.size !== startSize)) sizeViolations++;
          }
        } else if (r < 0.75) {
          // A packet of random length and content in the host → BMC buffer, then Tx Begin.
          const layout = bmc.stats().layout as { hostToBmc: { offset: number; size: number } };
          const off = layout.hostToBmc.offset;
          const room = layout.hostToBmc.size;
          const len = chance(0.5)
            ? pick([0, 1, 3, 4, 5, room - 8, room - 7, room - 4, room - 3, room, 0xffffffff, u32()])
            : Math.floor(rand() * Math.min(room, 4096));
          h.window.buf.writeUInt32BE(len >>> 0, off);
          const n = Math.max(0, Math.min(len >>> 0, room - 8, 4096));
          const body = Buffer.alloc(n);
          for (let k = 0; k < n; k++) body[k] = Math.floor(rand() * 256);
          if (n >= 4 && chance(0.6)) body[0] = 1;
          body.copy(h.window.buf, off + 4);
          if (n === len && chance(0.6)) h.window.buf.writeUInt32BE(crc32(body), off + 4 + n);
          h.kcs.hostWriteData(0x01);
          sent.txBegin++;
          await h.settle();
        } else if (r < 0.83) {
          const cmd = pick([0x02, 0xff, 0x03, 0x04, 0x10, 0x7f, 0x80, 0xfe, Math.floor(rand() * 256)]);
          if (cmd === 0x00 || cmd === 0x01) continue;
          if (cmd === 0x02) sent.rxComplete++;
          else if (cmd === 0xff) sent.dummy++;
          else sent.unknown++;
          h.kcs.hostWriteData(cmd);
          await h.settle();
        } else {
          // Scribble anywhere (no command): the BMC must not trust the window later.
          const off = Math.floor(rand() * WIN);
          const n = Math.min(WIN - off, 1 + Math.floor(rand() * 64));
          for (let k = 0; k < n; k++) h.window.buf[off + k] = Math.floor(rand() * 256);
        }
        if (chance(0.8) && h.kcs.str & 0x01) h.kcs.hostReadData();
        // And the stats the status API would show never throw.
        bmc.stats();
      } catch {
        thrown++;
      }
    }

    t.equal(thrown, 0, 'nothing threw');
    t.same(h.window.oob, [], 'no access outside the window');
    t.equal(bmc.counter('kcs-errors'), 0);
    t.equal(bmc.counter('internal-bounds'), 0);
    t.equal(sizeViolations, 0, 'tx_size == rx_size <= the host proposal after every successful Init');

    const c = bmc.stats().counters as Record<string, number>;
    const sum = (prefix: string): number =>
      Object.entries(c)
        .filter(([k]) => k.startsWith(prefix))
        .reduce((a, [, v]) => a + v, 0);
    t.equal(c['init-received'] ?? 0, sent.init, 'every Init seen');
    t.equal((c['init-ok'] ?? 0) + sum('init-failed:'), sent.init, 'every Init ended ok or failed with a reason');
    t.equal(c['cmd:tx-begin'] ?? 0, sent.txBegin);
    t.equal(
      (c['rx-packets'] ?? 0) + sum('rx-drop:') + (c['cmd-drop:before-init'] ?? 0) + (c['cmd-drop:protocol'] ?? 0),
      sent.txBegin + sent.rxComplete,
      'every Tx Begin / Rx Complete accounted for by one outcome',
    );
    t.equal(c['rx-packets'] ?? 0, h.bmcPort.received.length);
    t.equal(c['cmd-drop:unknown'] ?? 0, sent.unknown);
    t.equal(c['cmd:dummy'] ?? 0, sent.dummy);
    const reasons = ['init-ok', 'init-failed:version', 'rx-packets', 'rx-drop:length', 'rx-drop:hdr-version', 'rx-drop:short', 'cmd-drop:before-init', 'cmd-drop:unknown'];
    if (hasCrc) reasons.push('rx-drop:crc');
    for (const reason of reasons) {
      t.ok((c[reason] ?? 0) > 0, `reason exercised: ${reason} (${c[reason] ?? 0})`);
    }
    // Only rx_size is the host's to propose (its offsets and tx_size are put
    // back first), so these are the faults a proposal can have — every one exercised.
    const layoutReasons = LAYOUT_FAULTS.filter((f) => (c[`init-failed:layout:${f}`] ?? 0) > 0);
    t.same(layoutReasons, ['rx-overflow', 'rx-window', 'rx-btu', 'overlap'], `layout faults exercised: ${layoutReasons.join(', ')}`);
    t.ok((c['control-area-restored'] ?? 0) > 0, 'scribbled BMC fields were put back');
    t.comment(JSON.stringify(c));

    // A final hostile Init, then a proper host: the channel comes back.
    h.window.buf.writeUInt32BE(0xffffffff, 0x18);
    h.kcs.hostWriteData(0x00);
    await h.settle();
    await expectRecovery(t, h);
    t.equal(bmc.counter('kcs-errors'), 0);
  };
}

t.test('hostile-host fuzz, v3 BMC with the largest buffers', fuzz(0x5eed_a571, 1000, {}));
t.test('hostile-host fuzz, v1..v2 BMC with BTU buffers', fuzz(0x0b7c_0001, 1000, { mtu: 68, versions: { min: 1, max: 2 } }));

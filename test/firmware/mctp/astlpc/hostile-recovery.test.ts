/**
 * Recovery from a hostile host without a BMC restart (docs/astlpc.md
 * "Hostile-host handling", "Control-area repair"): after any sequence of
 * hostile writes — to the BMC's own control-area fields (magic, BMC
 * versions, offsets, tx_size, negotiated_ver), a bad rx_size left without an
 * Init, hostile commands — a proper host that re-initialises gets a working
 * channel within 2 s of clock time: this project's host binding (which sends
 * Init even over a header that looks wrong), and a host that behaves like
 * libmctp's (which refuses to, so the BMC must have repaired the header by
 * the time the host's application registers it again).
 */
import t from 'tap';
import { ASTLPC_MAGIC, decodeControlArea, validateLayout } from '../../../../firmware/mctp/astlpc/control-area.js';
import { prng } from './fakes.js';
import { Harness, pattern } from './harness.js';
import { LibmctpHost } from './libmctp-host.js';

/** tap's subtest type (the last overload of t.test takes just the callback). */
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

const WIN = 1024 * 1024;
const RECOVERY_MS = 2000;

type Hostile = (h: Harness) => void;

const u16 = (off: number, v: number): Hostile => (h) => void h.window.buf.writeUInt16BE(v, off);
const u32 = (off: number, v: number): Hostile => (h) => void h.window.buf.writeUInt32BE(v >>> 0, off);
const all = (...steps: Hostile[]): Hostile => (h) => steps.forEach((s) => s(h));

const TARGETED: Array<[string, Hostile]> = [
  ['magic', u32(0x00, 0xdeadbeef)],
  ['BMC versions zeroed', all(u16(0x04, 0), u16(0x06, 0))],
  ['BMC versions inverted', all(u16(0x04, 3), u16(0x06, 1))],
  ['BMC versions disjoint from every host', all(u16(0x04, 4), u16(0x06, 9))],
  ['BMC versions 0xffff', all(u16(0x04, 0xffff), u16(0x06, 0xffff))],
  ['rx offset in the control area', u32(0x10, 0x80)],
  ['rx offset overflowing', u32(0x10, 0xffffff00)],
  ['tx offset zero', u32(0x18, 0)],
  ['tx offset past the window', u32(0x18, WIN)],
  ['tx size below the BTU', u32(0x1c, 4)],
  ['tx size overflowing', u32(0x1c, 0xffffffff)],
  ['a bad rx_size left without Init (zero)', u32(0x14, 0)],
  ['a bad rx_size left without Init (huge)', u32(0x14, 0xffffffff)],
  ['a bad rx_size left without Init (overlapping)', u32(0x14, 0x80000)],
  ['negotiated_ver 7', u16(0x0c, 7)],
  ['the whole header 0xff', (h) => void h.window.buf.fill(0xff, 0, 32)],
  ['the whole header zeroed', (h) => void h.window.buf.fill(0, 0, 32)],
  ['offsets swapped and overlapping', all(u32(0x10, 0x200), u32(0x18, 0x100), u32(0x1c, 0x1000))],
  [
    'a hostile Init over scribbled fields, then more scribbling',
    (h) => {
      h.window.buf.writeUInt32BE(0xffffffff, 0x14);
      h.window.buf.writeUInt16BE(0, 0x08);
      h.kcs.hostWriteData(0x00);
      h.window.buf.writeUInt32BE(0x12345678, 0x10);
    },
  ],
];

/** A seeded burst of hostile acts: header scribbles, commands, stolen ODR bytes. */
function randomHostile(seed: number, ops: number): Hostile {
  return (h) => {
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    for (let i = 0; i < ops; i++) {
      const r = rand();
      if (r < 0.5) {
        const off = pick([0x00, 0x04, 0x06, 0x0c, 0x10, 0x14, 0x18, 0x1c]);
        const width = off === 0x04 || off === 0x06 || off === 0x0c ? 2 : 4;
        const v = rand() < 0.5 ? pick([0, 1, 3, 0x48, 0x100, 0x7ff7c, 0x8007c, WIN, 0xffff, 0xffffffff]) : Math.floor(rand() * 2 ** (8 * width));
        if (width === 2) h.window.buf.writeUInt16BE(v & 0xffff, off);
        else h.window.buf.writeUInt32BE(v >>> 0, off);
      } else if (r < 0.7) {
        const off = Math.floor(rand() * 32);
        h.window.buf[off] = Math.floor(rand() * 256);
      } else if (r < 0.9) {
        h.kcs.hostWriteData(pick([0x00, 0x01, 0x02, 0xff, Math.floor(rand() * 256)]));
      } else if (h.kcs.str & 0x01) {
        h.kcs.hostReadData();
      }
    }
  };
}

/**
 * Hostile versions that are well-formed (1 <= min <= max) but meet no host's:
 * a host cannot tell them from a BMC it cannot talk to, so only the BMC's
 * own periodic check repairs them.
 */
const WELL_FORMED_FOREIGN_VERSIONS = new Set(['BMC versions disjoint from every host', 'BMC versions 0xffff', 'the whole header 0xff']);

/** A BMC that has had a host (its area published and negotiated), now alone with the hostile one. */
async function bmcAfterAHost(bmcOptions: { controlAreaCheckMs?: number } = {}): Promise<Harness> {
  const h = new Harness();
  await h.up(bmcOptions);
  await h.host!.close();
  return h;
}

/** Run the clock until cond() holds; the clock time it took (throws past limitMs). */
async function clockUntil(h: Harness, cond: () => boolean, limitMs: number): Promise<number> {
  const start = h.clock.now();
  await h.settle();
  while (!cond()) {
    if (h.clock.now() - start > limitMs) throw new Error(`not within ${limitMs} ms of clock time`);
    await h.advance(10);
  }
  return h.clock.now() - start;
}

async function echoWithOurHost(t: TapTest, h: Harness, label: string): Promise<void> {
  const host = h.makeHost();
  host.setUp(true);
  let took = -1;
  try {
    took = await clockUntil(h, () => host.state === 'active' && h.bmc!.state === 'active', RECOVERY_MS);
  } catch {
    t.fail(`${label}: our host did not get a working channel within ${RECOVERY_MS} ms (host ${host.state}, BMC ${h.bmc!.state}: ${host.stats().lastError})`);
    return;
  }
  t.pass(`${label}: our host up after ${took} ms`);
  const up = pattern(40, 1);
  up.set([1, 8, 9, 0xc8], 0);
  const down = pattern(40, 2);
  down.set([1, 9, 8, 0xc0], 0);
  host.transmit(up);
  await h.settle();
  t.same(h.bmcPort.received.at(-1), up, `${label}: host → BMC`);
  h.bmc!.transmit(down);
  await h.settle();
  t.same(h.hostPort.received.at(-1), down, `${label}: BMC → host`);
  await host.close();
}

async function echoWithLibmctpHost(t: TapTest, h: Harness, label: string): Promise<void> {
  const host = new LibmctpHost({ kcs: h.kcs.host, window: h.window.view('host') });
  h.track(host);
  // libmctp leaves retrying a failed mctp_register_bus to its application: here, every 100 ms.
  const start = h.clock.now();
  let rc = await host.register();
  while (rc !== 0 && h.clock.now() - start < RECOVERY_MS) {
    await h.advance(100);
    rc = await host.register();
  }
  await h.settle();
  if (rc !== 0 || !host.txEnabled) {
    t.fail(`${label}: libmctp host not up within ${RECOVERY_MS} ms (rc ${rc}; ${host.log.slice(-3).join(' | ')})`);
    host.close();
    return;
  }
  t.pass(`${label}: libmctp host up after ${h.clock.now() - start} ms`);
  const up = pattern(40, 3);
  up.set([1, 8, 9, 0xc8], 0);
  const down = pattern(40, 4);
  down.set([1, 9, 8, 0xc0], 0);
  t.equal(await host.tx(up), 0);
  await h.settle();
  t.same(h.bmcPort.received.at(-1), up, `${label}: host → BMC`);
  h.bmc!.transmit(down);
  await h.settle();
  t.same(host.received.at(-1), down, `${label}: BMC → host`);
  host.close();
}

t.test('targeted hostile writes, then our host re-initialises', async (t) => {
  for (const [name, hostile] of TARGETED) {
    const h = await bmcAfterAHost();
    hostile(h);
    await echoWithOurHost(t, h, name);
    t.same(h.window.oob, [], `${name}: no access outside the window`);
  }
});

t.test('targeted hostile writes, no periodic check: our host\'s Init over the scribbled header is what repairs it', async (t) => {
  for (const [name, hostile] of TARGETED) {
    if (WELL_FORMED_FOREIGN_VERSIONS.has(name)) continue;
    const h = await bmcAfterAHost({ controlAreaCheckMs: 0 });
    hostile(h);
    await echoWithOurHost(t, h, name);
  }
});

t.test('targeted hostile writes, then a libmctp host registers again', async (t) => {
  for (const [name, hostile] of TARGETED) {
    const h = await bmcAfterAHost();
    hostile(h);
    await echoWithLibmctpHost(t, h, name);
  }
});

t.test('seeded random hostile bursts, then a proper host', async (t) => {
  for (let seed = 1; seed <= 12; seed++) {
    const h1 = await bmcAfterAHost();
    randomHostile(seed, 60)(h1);
    await echoWithOurHost(t, h1, `seed ${seed}, our host`);
    const h2 = await bmcAfterAHost();
    randomHostile(seed, 60)(h2);
    await echoWithLibmctpHost(t, h2, `seed ${seed}, libmctp host`);
  }
});

t.test('the BMC repairs its fields by itself, without any Init', async (t) => {
  const h = await bmcAfterAHost();
  const bmc = h.bmc!;
  const inits = bmc.counter('init-received');
  const before = Buffer.from(h.window.buf.subarray(0, 32));
  h.window.buf.writeUInt32BE(0xdeadbeef, 0x00);
  h.window.buf.writeUInt16BE(0, 0x04);
  h.window.buf.writeUInt32BE(0xffffff00, 0x10);
  h.window.buf.writeUInt32BE(4, 0x1c);
  h.window.buf.writeUInt16BE(9, 0x0c);
  h.window.buf.writeUInt32BE(0, 0x14);
  h.window.buf.writeUInt16BE(0x0707, 0x08); // the host's own field: left alone
  await h.advance(250);
  const hdr = decodeControlArea(h.window.buf.subarray(0, 32));
  t.equal(hdr.magic, ASTLPC_MAGIC);
  t.equal(hdr.bmcVerMin, 1);
  t.equal(hdr.negotiatedVer, before.readUInt16BE(0x0c), 'negotiated_ver as the BMC published it');
  t.same(hdr.layout, decodeControlArea(before).layout, 'the layout as published, rx_size included (it was invalid)');
  t.equal(validateLayout(3, hdr.layout, WIN), null);
  t.equal(hdr.hostVerMin, 0x0707, 'host-owned fields are never touched');
  t.equal(bmc.counter('control-area-restored'), 1);
  t.equal(bmc.counter('control-area-rx-size-reset'), 1);
  t.equal(bmc.counter('init-received'), inits, 'no Init was needed');

  // A valid rx_size a host wrote (it may be about to send Init) is left alone.
  h.window.buf.writeUInt32BE(200, 0x14);
  await h.advance(1000);
  t.equal(h.window.buf.readUInt32BE(0x14), 200);
  t.equal(bmc.counter('control-area-rx-size-reset'), 1);
});

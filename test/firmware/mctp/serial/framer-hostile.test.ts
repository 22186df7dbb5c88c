/**
 * Hostile input for the frame decoder: it must never throw, count every
 * reason it discards something, keep bounded memory, and find the next good
 * frame whatever came before it.
 */
import t from 'tap';
import { SERIAL_MAX_RX_COUNT, SerialFrameDecoder, encodeFrame, type SerialDecoderStats } from '../../../../firmware/mctp/serial/framer.js';
import { fcs16 } from '../../../../firmware/mctp/serial/fcs.js';
import { hex, prng, randInt, randomChunks, randomPacket } from './helpers.js';

function decodeAll(...chunks: Buffer[]): { packets: Buffer[]; stats: SerialDecoderStats; decoder: SerialFrameDecoder } {
  const packets: Buffer[] = [];
  const decoder = new SerialFrameDecoder((p) => packets.push(p));
  for (const c of chunks) decoder.push(c);
  return { packets, stats: decoder.stats, decoder };
}

/** Build a frame by hand (revision, count and FCS as given, body escaped). */
function rawFrame(body: Buffer, opts: { revision?: number; count?: number; fcs?: number } = {}): Buffer {
  const revision = opts.revision ?? 1;
  const count = opts.count ?? body.length;
  const fcs = opts.fcs ?? fcs16(body, fcs16(Buffer.from([revision, count])));
  const escaped = [...body].flatMap((b) => (b === 0x7e ? [0x7d, 0x5e] : b === 0x7d ? [0x7d, 0x5d] : [b]));
  return Buffer.from([0x7e, revision, count, ...escaped, fcs >> 8, fcs & 0xff, 0x7e]);
}

const GOOD = hex('01 08 09 c0 7e 7d 00 02');
const GOOD_FRAME = encodeFrame(GOOD);

t.test('random garbage: nothing thrown, bytes counted, next good frame received', async (t) => {
  const SEEDS = 60;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rand = prng(seed);
    const len = randInt(rand, 1, 4000);
    // Half the seeds use flag/escape-dense garbage, which hits more states.
    const garbage = seed % 2 ? randomPacket(rand, len) : Buffer.from(Array.from({ length: len }, () => randInt(rand, 0, 255)));
    let result!: ReturnType<typeof decodeAll>;
    t.doesNotThrow(() => {
      result = decodeAll(...randomChunks(rand, Buffer.concat([garbage, GOOD_FRAME]), 97));
    }, `seed ${seed}: no throw`);
    t.same(result.packets.at(-1), GOOD, `seed ${seed}: good frame after ${len} garbage bytes`);
    const s = result.stats;
    const rejects = s.garbageBytes + s.badRevision + s.badLength + s.fcsErrors + s.escapeErrors + s.truncated + s.badEndFlag + s.emptyFrames;
    t.ok(rejects > 0, `seed ${seed}: the garbage was counted`);
  }
});

t.test('a stray flag in garbage does not cost the next good frame (Linux would lose it)', async (t) => {
  const cases = ['11 22 7e 33 44', '7e', '7e 02', '11 7e 7e 22', '7e 01', '7e 01 05 aa', '7d', '7e 01 02 7d'];
  for (const g of cases) {
    const { packets } = decodeAll(hex(g), GOOD_FRAME);
    t.same(packets, [GOOD], `garbage ${g}`);
  }
});

t.test('truncated frame cut at every position, then a good frame', async (t) => {
  // Include packets whose FCS holds raw 0x7E: a flag-looking byte in the trailer.
  const rand = prng(99);
  const victims: Buffer[] = [hex('01 00 08 c8 00 80 02'), hex('7e 7d 7e 7d')];
  while (victims.length < 4) {
    const p = randomPacket(rand, randInt(rand, 4, 20));
    const f = encodeFrame(p);
    if (f[f.length - 3] === 0x7e || f[f.length - 2] === 0x7e) victims.push(p);
  }
  for (const victim of victims) {
    const frame = encodeFrame(victim);
    for (let cut = 1; cut < frame.length; cut++) {
      const { packets } = decodeAll(frame.subarray(0, cut), GOOD_FRAME);
      // Cut just before the closing flag, the good frame's opening flag closes
      // the victim, which is then complete and valid.
      const expected = cut === frame.length - 1 ? [victim, GOOD] : [GOOD];
      t.same(packets, expected, `victim ${victim.toString('hex')} cut at ${cut}/${frame.length}`);
    }
  }
});

t.test('bad FCS: dropped and counted, next frame fine', async (t) => {
  const bad = Buffer.from(GOOD_FRAME);
  bad[bad.length - 2] = bad[bad.length - 2]! ^ 0x01;
  const { packets, stats } = decodeAll(bad, GOOD_FRAME);
  t.same(packets, [GOOD]);
  t.equal(stats.fcsErrors, 1);
  t.equal(stats.framesOk, 1);

  const flipped = Buffer.from(GOOD_FRAME);
  flipped[4] = flipped[4]! ^ 0x40; // corrupt a data byte instead
  t.equal(decodeAll(flipped).stats.fcsErrors, 1, 'corrupt data byte');
});

t.test('bad revision', async (t) => {
  const { packets, stats } = decodeAll(rawFrame(GOOD, { revision: 2 }), GOOD_FRAME);
  t.same(packets, [GOOD]);
  t.equal(stats.badRevision, 1);
  t.equal(decodeAll(rawFrame(GOOD, { revision: 0 })).stats.badRevision, 1, 'revision 0');
});

t.test('byte count: > 74 rejected, 69..74 accepted as Linux does, 0 dropped', async (t) => {
  const over = decodeAll(encodeFrame(Buffer.alloc(SERIAL_MAX_RX_COUNT + 1, 0x55)), GOOD_FRAME);
  t.same(over.packets, [GOOD], 'count 75 rejected, next frame found');
  t.equal(over.stats.badLength, 1);
  t.equal(decodeAll(encodeFrame(Buffer.alloc(255, 0x7e))).stats.badLength, 1, 'count 255');

  const max = Buffer.alloc(SERIAL_MAX_RX_COUNT, 0xa5);
  const big = decodeAll(encodeFrame(max), encodeFrame(Buffer.alloc(69, 1)), encodeFrame(Buffer.alloc(68, 2)));
  t.same(big.packets, [max, Buffer.alloc(69, 1), Buffer.alloc(68, 2)]);
  t.equal(big.stats.oversize, 2, 'counts 69 and 74 flagged as oversize');

  const empty = decodeAll(encodeFrame(Buffer.alloc(0)), GOOD_FRAME);
  t.same(empty.packets, [GOOD], 'count 0 frame consumed, next frame found');
  t.equal(empty.stats.emptyFrames, 1);

  const flagCount = decodeAll(hex('7e 01'), GOOD_FRAME);
  t.same(flagCount.packets, [GOOD], 'a flag where the count should be starts a new frame');
  t.equal(flagCount.stats.truncated, 1);
});

t.test('escape errors: escape at end, 7D 7E, 7D followed by a non-escape', async (t) => {
  const atEnd = decodeAll(hex('7e 01 03 aa bb 7d'), GOOD_FRAME);
  t.same(atEnd.packets, [GOOD], 'escape right before the next flag');
  t.equal(atEnd.stats.escapeErrors, 1);

  const abort = decodeAll(hex('7d 7e 7d 7e 7e 01 04 11 7d 7e 7d 7e'), GOOD_FRAME);
  t.same(abort.packets, [GOOD], '7D 7E sequences');
  t.equal(abort.stats.escapeErrors, 1, 'only the one inside a frame is an escape error');

  const bogus = decodeAll(hex('7e 01 04 11 7d 00 22 33'), GOOD_FRAME);
  t.same(bogus.packets, [GOOD]);
  t.equal(bogus.stats.escapeErrors, 1, '7D 00');

  const doubled = decodeAll(hex('7e 01 04 11 7d 7d 5d 22'), GOOD_FRAME);
  t.same(doubled.packets, [GOOD]);
  t.equal(doubled.stats.escapeErrors, 1, '7D 7D');
});

t.test('bad closing flag: counted, and the trailer is rescanned', async (t) => {
  const noEnd = Buffer.from(GOOD_FRAME);
  noEnd[noEnd.length - 1] = 0x00;
  const { packets, stats } = decodeAll(noEnd, GOOD_FRAME);
  t.same(packets, [GOOD]);
  t.equal(stats.badEndFlag, 1);

  // A frame whose "FCS" is really the next frame's flag and revision.
  const short = hex('7e 01 02 aa bb');
  const r = decodeAll(short, GOOD_FRAME);
  t.same(r.packets, [GOOD], 'next frame found inside the failed trailer');
  t.equal(r.stats.badEndFlag, 1);
});

t.test('reset() drops a partial frame and counts it', async (t) => {
  const packets: Buffer[] = [];
  const d = new SerialFrameDecoder((p) => packets.push(p));
  d.push(GOOD_FRAME.subarray(0, 6));
  t.ok(d.inFrame);
  t.equal(d.reset(), true);
  t.equal(d.reset(), false, 'nothing left to drop');
  t.equal(d.stats.truncated, 1);
  d.push(GOOD_FRAME.subarray(6));
  d.push(GOOD_FRAME);
  t.same(packets, [GOOD]);
});

t.test('a throwing handler does not derail the decoder', async (t) => {
  const got: Buffer[] = [];
  let calls = 0;
  const d = new SerialFrameDecoder((p) => {
    calls++;
    if (calls === 1) throw new Error('handler boom');
    got.push(p);
  });
  const two = Buffer.concat([GOOD_FRAME, encodeFrame(hex('01 02 03 04'))]);
  t.throws(() => d.push(two), /handler boom/, 'first error rethrown after the chunk');
  t.same(got, [hex('01 02 03 04')], 'the rest of the chunk was still decoded');
  d.push(GOOD_FRAME);
  t.equal(got.length, 2, 'and the decoder carries on');
});

t.test('memory stays bounded on endless non-terminating input', async (t) => {
  // A header announcing 74 bytes then endless non-flag bytes, and pure noise:
  // the decoder holds only its fixed 74-byte buffer.
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  hex('7e 01 4a').copy(chunk, 0);
  const noise = randomPacket(prng(5), 64 * 1024);
  const d = new SerialFrameDecoder(() => undefined);
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 128; i++) d.push(i % 2 ? chunk : noise);
  const grown = process.memoryUsage().heapUsed - before;
  t.ok(grown < 4 * 1024 * 1024, `heap grew ${grown} bytes after 8 MiB of input`);
  const s = d.stats;
  t.ok(s.garbageBytes > 0 && s.badLength + s.fcsErrors + s.badRevision + s.escapeErrors > 0, 'counted');
});

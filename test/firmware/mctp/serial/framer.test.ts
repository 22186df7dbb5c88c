import t from 'tap';
import {
  FRAME_OVERHEAD,
  SERIAL_MTU,
  SerialFrameDecoder,
  encodeFrame,
  maxFrameLen,
  nextChunkLen,
} from '../../../../firmware/mctp/serial/framer.js';
import { hex, prng, randInt, randomChunks, randomPacket } from './helpers.js';

function decodeAll(...chunks: Buffer[]): { packets: Buffer[]; decoder: SerialFrameDecoder } {
  const packets: Buffer[] = [];
  const decoder = new SerialFrameDecoder((p) => packets.push(p));
  for (const c of chunks) decoder.push(c);
  return { packets, decoder };
}

const GET_EID_PACKET = hex('01 00 08 c8 00 80 02');
const GET_EID_FRAME = hex('7e 01 07 01 00 08 c8 00 80 02 2b c1 7e');

t.test('Get EID vector, byte for byte, both directions', async (t) => {
  t.same(encodeFrame(GET_EID_PACKET), GET_EID_FRAME);
  const { packets, decoder } = decodeAll(GET_EID_FRAME);
  t.same(packets, [GET_EID_PACKET]);
  t.equal(decoder.stats.framesOk, 1);
});

t.test('libmctp capture with escapes, both directions', async (t) => {
  const packet = hex('01 09 08 ca 7e 7d 01 02');
  const frame = hex('7e 01 08 01 09 08 ca 7d 5e 7d 5d 01 02 98 01 7e');
  t.same(encodeFrame(packet), frame);
  t.same(decodeAll(frame).packets, [packet]);
});

t.test('FCS bytes are not escaped (Linux and libmctp)', async (t) => {
  // Find packets whose FCS contains 0x7E and 0x7D, then check the trailer is raw.
  const rand = prng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 200_000 && seen.size < 4; i++) {
    const packet = randomPacket(rand, randInt(rand, 1, 8));
    const frame = encodeFrame(packet);
    const msb = frame[frame.length - 3]!;
    const lsb = frame[frame.length - 2]!;
    for (const [where, byte] of [['msb', msb], ['lsb', lsb]] as const) {
      if (byte !== 0x7e && byte !== 0x7d) continue;
      const key = (where === 'msb' ? 0 : 2) + (byte === 0x7e ? 0 : 1);
      if (seen.has(key)) continue;
      seen.add(key);
      t.equal(frame.length, FRAME_OVERHEAD + packet.length + packet.filter((b) => b === 0x7e || b === 0x7d).length,
        `frame length has no trailer escapes (${where} = ${byte.toString(16)})`);
      t.same(decodeAll(frame).packets, [packet], `decodes with raw ${byte.toString(16)} in FCS ${where}`);
    }
  }
  t.equal(seen.size, 4, 'found 7E and 7D in both FCS positions');
});

// The Linux KUnit test_next_chunk_len vectors (drivers/net/mctp/mctp-serial.c).
const CHUNK_CASES: Array<[string, number[]]> = [
  ['00 11 22 7e 80', [3, 1, 1]],
  ['00 11 22 7e 7d', [3, 1, 1]],
  ['7e 11 22', [1, 2]],
  ['7e 7e 7d', [1, 1, 1]],
  ['7e 7e 00 7d', [1, 1, 1, 1]],
  ['7e 7e 00 7d 10 10', [1, 1, 1, 1, 2]],
  ['7e', [1]],
  ['80', [1]],
  ['80 80 00', [3]],
  ['01 00 08 c8 00 80 02', [7]],
  ['01 00 08 c8 7e 80 02', [4, 1, 2]],
];

t.test('KUnit test_next_chunk_len cases: chunks, escaping and round trip', async (t) => {
  for (const [input, expected] of CHUNK_CASES) {
    const packet = hex(input);
    const chunks: number[] = [];
    let pos = 0;
    for (let n; (n = nextChunkLen(packet, pos)) > 0; pos += n) chunks.push(n);
    t.same(chunks, expected, `${input} → ${expected.join(',')}`);
    t.equal(pos, packet.length, `${input}: chunks cover the packet`);

    const frame = encodeFrame(packet);
    const escaped = [...packet].flatMap((b) => (b === 0x7e ? [0x7d, 0x5e] : b === 0x7d ? [0x7d, 0x5d] : [b]));
    t.same(frame.subarray(3, frame.length - 3), Buffer.from(escaped), `${input}: escaped body`);
    t.same(decodeAll(frame).packets, [packet], `${input}: round trip`);
  }
});

t.test('encoder limits and sizes', async (t) => {
  t.equal(maxFrameLen(SERIAL_MTU), 142);
  t.equal(encodeFrame(Buffer.alloc(SERIAL_MTU, 0x7e)).length, 142, 'worst case all escaped');
  t.equal(encodeFrame(Buffer.alloc(255)).length, 261, 'count field allows 255');
  t.throws(() => encodeFrame(Buffer.alloc(256)), RangeError);
  t.same(encodeFrame(Buffer.alloc(0)).subarray(0, 3), hex('7e 01 00'));
});

t.test('round trip of random packets split at random chunk boundaries', async (t) => {
  const ITERATIONS = 40;
  const PACKETS = 50;
  let total = 0;
  for (let iter = 0; iter < ITERATIONS; iter++) {
    const rand = prng(1000 + iter);
    const packets = Array.from({ length: PACKETS }, () => randomPacket(rand, randInt(rand, 1, SERIAL_MTU)));
    const stream = Buffer.concat(packets.map((p) => encodeFrame(p)));
    const maxChunk = [1, 2, 7, 64, 4096][iter % 5]!;
    const { packets: got, decoder } = decodeAll(...randomChunks(rand, stream, maxChunk));
    t.same(got, packets, `iteration ${iter} (chunks ≤ ${maxChunk})`);
    const s = decoder.stats;
    t.equal(s.framesOk, PACKETS);
    t.equal(s.garbageBytes + s.fcsErrors + s.truncated + s.escapeErrors + s.badEndFlag + s.badRevision, 0,
      `iteration ${iter}: no errors counted`);
    total += got.length;
  }
  t.equal(total, ITERATIONS * PACKETS);
});

t.test('frame split right after an escape byte', async (t) => {
  const packet = hex('10 7d 20 7e 30');
  const frame = encodeFrame(packet);
  for (let cut = 1; cut < frame.length; cut++) {
    t.same(decodeAll(frame.subarray(0, cut), frame.subarray(cut)).packets, [packet], `cut at ${cut}`);
  }
});

t.test('idle flags, doubled flags and shared flags between frames', async (t) => {
  const a = hex('01 02 03 04');
  const b = hex('05 7e 07 08');
  const fa = encodeFrame(a);
  const fb = encodeFrame(b);
  t.same(decodeAll(Buffer.concat([fa, fb])).packets, [a, b], 'each frame has both flags (Linux TX)');
  t.same(decodeAll(Buffer.concat([hex('7e 7e 7e'), fa, hex('7e 7e'), fb, hex('7e')])).packets, [a, b], 'idle flags');
  t.same(decodeAll(Buffer.concat([fa, fb.subarray(1)])).packets, [a, b], 'one flag shared between frames');
  const { decoder } = decodeAll(Buffer.concat([hex('7e 7e 7e'), fa, hex('7e 7e'), fb, hex('7e')]));
  t.equal(decoder.stats.garbageBytes, 0, 'flags are not garbage');
});

t.test('delivered packets are independent copies', async (t) => {
  const { packets } = decodeAll(encodeFrame(hex('01 02 03 04')), encodeFrame(hex('05 06 07 08')));
  t.same(packets, [hex('01 02 03 04'), hex('05 06 07 08')]);
});

import t from 'tap';
import {
  KCS_WIRE_FRAME_SIZE,
  KCS_WIRE_VERSION,
  KcsFrameDecoder,
  KcsWireErrorCode,
  KcsWireOp,
  decodeFrames,
  describeFrame,
  encodeError,
  encodeFrame,
  encodeHello,
  encodeInterrupt,
  encodeRead,
  encodeReadReply,
  encodeSync,
  encodeSyncReply,
  encodeWrite,
  encodeWriteAck,
  errorCodeName,
  isModelToHostOp,
  validateHostFrame,
} from '../../../transport/kcs-wire/codec.js';
import { hex } from '../helpers/util.js';

t.test('frame layouts are the documented bytes', async (t) => {
  t.equal(KCS_WIRE_FRAME_SIZE, 3);
  t.equal(KCS_WIRE_VERSION, 1);
  t.equal(hex(encodeHello(2)), '800102', 'hello = [0x80, version, channel]');
  t.equal(hex(encodeRead(1)), '010100');
  t.equal(hex(encodeWrite(0, 0xa5)), '0200a5');
  t.equal(hex(encodeReadReply(0, 0x42)), '810042');
  t.equal(hex(encodeWriteAck(1, 0x0a)), '82010a');
  t.equal(hex(encodeInterrupt(0xc1)), '9000c1');
  t.equal(hex(encodeError(KcsWireErrorCode.BAD_REG, 0x01)), 'ee0201');
  t.equal(hex(encodeSync(0x5a)), '03005a');
  t.equal(hex(encodeSyncReply(0x5a)), '83005a');
});

t.test('encodeFrame refuses fields outside a byte', async (t) => {
  t.throws(() => encodeFrame(0x100, 0, 0), RangeError);
  t.throws(() => encodeFrame(1, -1, 0), RangeError);
  t.throws(() => encodeFrame(1, 0, 1.5), RangeError);
  t.throws(() => encodeWrite(0, 256), RangeError);
  t.throws(() => encodeFrame(1, 0, NaN), RangeError);
});

t.test('validation: direction, then op, then reg; READ value byte ignored', async (t) => {
  t.equal(validateHostFrame(KcsWireOp.READ, 0), null);
  t.equal(validateHostFrame(KcsWireOp.READ, 1), null);
  t.equal(validateHostFrame(KcsWireOp.WRITE, 1), null);
  t.equal(validateHostFrame(KcsWireOp.SYNC, 0), null);
  t.equal(validateHostFrame(KcsWireOp.SYNC, 9), null, 'SYNC reg byte is reserved, not checked');
  t.equal(validateHostFrame(KcsWireOp.READ, 2), KcsWireErrorCode.BAD_REG);
  t.equal(validateHostFrame(KcsWireOp.WRITE, 0xff), KcsWireErrorCode.BAD_REG);
  for (const op of [0x80, 0x81, 0x82, 0x83, 0x90, 0xee]) {
    t.ok(isModelToHostOp(op));
    t.equal(validateHostFrame(op, 7), KcsWireErrorCode.WRONG_DIRECTION, `op ${op.toString(16)} is model-to-host`);
  }
  for (const op of [0x00, 0x04, 0x7f, 0x84, 0x91, 0xff]) {
    t.equal(validateHostFrame(op, 0), KcsWireErrorCode.UNKNOWN_OP, `op ${op.toString(16)} is unknown`);
  }
  t.match(errorCodeName(KcsWireErrorCode.UNKNOWN_OP), /unknown op/);
  t.match(errorCodeName(0x42), /0x42/);
  t.equal(describeFrame({ op: 1, reg: 0, value: 0 }), '[0x01 0x00 0x00]');
});

t.test('decoder: frames split byte by byte reassemble in order', async (t) => {
  const stream = Buffer.concat([encodeWrite(1, 0), encodeRead(1), encodeWrite(0, 0x55), encodeRead(0)]);
  const d = new KcsFrameDecoder();
  const frames = [];
  for (const b of stream) {
    frames.push(...decodeFrames(d, Buffer.of(b)));
    t.ok(d.pendingBytes < 3);
  }
  t.same(frames, [
    { op: 2, reg: 1, value: 0 },
    { op: 1, reg: 1, value: 0 },
    { op: 2, reg: 0, value: 0x55 },
    { op: 1, reg: 0, value: 0 },
  ]);
  t.equal(d.frames, 4);
  t.equal(d.pendingBytes, 0);
});

t.test('decoder: any chunking of the same bytes gives the same frames', async (t) => {
  // Deterministic pseudo-random stream and chunk sizes (garbage included: the
  // decoder frames by position, content never matters).
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = Buffer.alloc(3000 + 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rnd(256);
  const whole = decodeFrames(new KcsFrameDecoder(), bytes);
  t.equal(whole.length, 1000);
  for (let round = 0; round < 20; round++) {
    const d = new KcsFrameDecoder();
    const got = [];
    for (let i = 0; i < bytes.length; ) {
      const n = 1 + rnd(10);
      got.push(...decodeFrames(d, bytes.subarray(i, i + n)));
      i += n;
    }
    t.same(got, whole, `round ${round}`);
    t.equal(d.pendingBytes, 2, 'trailing partial frame is held, not emitted');
  }
});

t.test('decoder: undersized and empty input, reset, stop', async (t) => {
  const d = new KcsFrameDecoder();
  t.same(decodeFrames(d, Buffer.alloc(0)), []);
  t.same(decodeFrames(d, Buffer.of(1)), []);
  t.same(decodeFrames(d, Buffer.of(0)), []);
  t.equal(d.pendingBytes, 2);
  t.equal(d.reset(), 2, 'reset reports dropped partial bytes');
  t.same(decodeFrames(d, Buffer.of(1, 1, 0)), [{ op: 1, reg: 1, value: 0 }], 'realigned after reset');

  // Returning false stops decoding and drops the rest, including any tail.
  const seen: number[] = [];
  d.push(Buffer.of(1, 0, 0, 2, 0, 9, 1, 1, 0, 7), (op) => {
    seen.push(op);
    return op !== 2;
  });
  t.same(seen, [1, 2]);
  t.equal(d.pendingBytes, 0);
  // Stop in the middle of a frame completed from a previous chunk.
  d.push(Buffer.of(2, 0), () => {});
  d.push(Buffer.of(5, 1, 0, 0), () => false);
  t.equal(d.pendingBytes, 0);
});

t.test('decoder: a large input in one chunk', async (t) => {
  const n = 100_000;
  const big = Buffer.alloc(n * 3 + 1);
  for (let i = 0; i < n; i++) big.set(encodeWrite(0, i & 0xff), i * 3);
  const d = new KcsFrameDecoder();
  let count = 0;
  let ok = true;
  d.push(big, (op, reg, value) => {
    if (op !== 2 || reg !== 0 || value !== (count & 0xff)) ok = false;
    count++;
  });
  t.equal(count, n);
  t.ok(ok, 'every frame decoded exactly');
  t.equal(d.pendingBytes, 1);
});

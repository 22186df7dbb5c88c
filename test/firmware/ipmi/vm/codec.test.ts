import t from 'tap';
import {
  VM_CMD,
  VM_MAX_FRAME_BYTES,
  VmDecoder,
  checksum,
  encodeControl,
  encodeRequest,
  encodeResponse,
  parseResponse,
  splitFrames,
  type VmFrame,
} from '../../../../firmware/ipmi/vm/codec.js';
import { prng } from '../../../helpers/prng.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('QEMU Get Device ID request decodes (bytes from a real run)', async (t) => {
  const d = new VmDecoder();
  const frames = d.decode(hex('10 18 01 d7 a0'));
  t.same(frames, [{ kind: 'request', msgid: 0x10, netfn: 0x06, lun: 0, cmd: 0x01, data: Buffer.alloc(0) }]);
});

t.test('response encoding matches the bytes QEMU accepted in a real run', async (t) => {
  const bytes = encodeResponse({
    msgid: 0x10,
    netfn: 0x06,
    lun: 0,
    cmd: 0x01,
    cc: 0,
    data: hex('20 01 02 05 02 bf 00 00 00 01 00 00 00 00 00'),
  });
  t.same(bytes, hex('10 1c 01 00 20 01 02 05 02 bf 00 00 00 01 00 00 00 00 00 e9 a0'));
});

t.test('an escaped checksum round-trips (0xAA on the wire as AA BA)', async (t) => {
  // From a real run: a request whose checksum is 0xAA.
  const wire = hex('08 e8 5a 03 09 aa ba a0');
  const d = new VmDecoder();
  const [f] = d.decode(wire);
  t.same(f, { kind: 'request', msgid: 0x08, netfn: 0x3a, lun: 0, cmd: 0x5a, data: hex('03 09') });
  t.same(encodeRequest({ msgid: 0x08, netfn: 0x3a, cmd: 0x5a, data: hex('03 09') }), wire);
});

t.test('msgid, netfn and data bytes equal to A0/A1/AA are escaped and round-trip', async (t) => {
  for (const msgid of [0xa0, 0xa1, 0xaa, 0x00, 0xff]) {
    const data = hex('a0 a1 aa b0 b1 ba 00');
    const wire = encodeRequest({ msgid, netfn: 0x3a, lun: 2, cmd: 0xaa, data });
    t.notOk(wire.subarray(0, -1).includes(0xa0) || wire.subarray(0, -1).includes(0xa1), 'no bare terminator inside');
    const d = new VmDecoder();
    t.same(d.decode(wire), [{ kind: 'request', msgid, netfn: 0x3a, lun: 2, cmd: 0xaa, data }]);
  }
  // Response side: split and parse as QEMU would.
  const rsp = encodeResponse({ msgid: 0xaa, netfn: 0x3a, lun: 0, cmd: 0xa0, cc: 0xa1, data: hex('aa') });
  const [frame] = splitFrames(rsp);
  t.equal(frame!.terminator, 0xa0);
  t.same(parseResponse(frame!.raw), { msgid: 0xaa, netfn: 0x3b, lun: 0, cmd: 0xa0, cc: 0xa1, data: hex('aa') });
  t.equal(checksum(frame!.raw), 0);
});

t.test('the x86 40-byte echo from a real run decodes', async (t) => {
  const data = Buffer.from(Array.from({ length: 16 }, (_, i) => 0xa0 + i));
  const wire = encodeRequest({ msgid: 0x23, netfn: 0x3a, cmd: 0x77, data });
  t.same(wire.subarray(0, 7), hex('23 e8 77 aa b0 aa b1'));
  const [f] = new VmDecoder().decode(wire);
  t.same((f as { data: Buffer }).data, data);
});

t.test('control commands: QEMU connect sequence, reset, and encoder', async (t) => {
  const d = new VmDecoder();
  const frames = d.decode(hex('ff 01 a1 08 3f a1 04 a1'));
  t.same(frames, [
    { kind: 'control', op: VM_CMD.VERSION, args: hex('01') },
    { kind: 'control', op: VM_CMD.CAPABILITIES, args: hex('3f') },
    { kind: 'control', op: VM_CMD.RESET, args: Buffer.alloc(0) },
  ]);
  t.same(encodeControl(VM_CMD.ENABLE_IRQ), hex('05 a1'));
  t.same(encodeControl(VM_CMD.ATTN_IRQ), hex('02 a1'));
  t.same(encodeControl(VM_CMD.NOATTN), hex('00 a1'));
  t.same(encodeControl(0xaa, [0xa0]), hex('aa ba aa b0 a1'));
  t.same(encodeControl(VM_CMD.GRACEFUL_SHUTDOWN), hex('09 a1'));
});

t.test('byte-at-a-time delivery gives the same frames', async (t) => {
  const wire = Buffer.concat([hex('ff 01 a1 08 3f a1'), encodeRequest({ msgid: 0xaa, netfn: 6, cmd: 0x24, data: hex('04 00 00 00 64 00') })]);
  const d = new VmDecoder();
  const frames: VmFrame[] = [];
  for (const b of wire) frames.push(...d.decode(Buffer.of(b)));
  t.same(frames, new VmDecoder().decode(wire));
  t.equal(frames.length, 3);
});

t.test('malformed frames are dropped, counted per reason, and the decoder resyncs', async (t) => {
  const d = new VmDecoder();
  const good = encodeRequest({ msgid: 1, netfn: 6, cmd: 1 });
  const frames = d.decode(
    Buffer.concat([
      hex('10 18 01 d8 a0'), // bad checksum
      hex('10 18 a0'), // too short (3 bytes)
      hex('a0'), // empty
      hex('10 18 01 aa a0'), // escape as the last byte before the terminator
      hex('10 18 aa 05 01 a0'), // escape followed by a byte that is not B0/B1/BA
      hex('10 aa aa a0'), // escape escaping an escape
      good,
    ]),
  );
  t.equal(frames.length, 1, 'only the good frame survives');
  const s = d.stats();
  t.same(s.dropped, { 'bad-checksum': 1, 'too-short': 1, empty: 1, 'escape-at-end': 1, 'bad-escape': 2, oversize: 0 });
  t.equal(s.requests, 1);
});

t.test('1 MiB without a terminator: memory stays bounded, one drop, resync at the next terminator', async (t) => {
  const d = new VmDecoder();
  const chunk = Buffer.alloc(64 * 1024, 0x42);
  for (let i = 0; i < 16; i++) {
    t.same(d.decode(chunk), []);
    if (d.pending > VM_MAX_FRAME_BYTES) t.fail('buffer grew past the bound');
  }
  t.ok(d.pending <= VM_MAX_FRAME_BYTES);
  const frames = d.decode(Buffer.concat([hex('a0'), encodeRequest({ msgid: 7, netfn: 6, cmd: 1 })]));
  t.equal(frames.length, 1, 'the next frame after the terminator decodes');
  const s = d.stats();
  t.equal(s.dropped.oversize, 1, 'the giant frame counts as one drop');
  t.equal(s.bytesDiscarded, 1024 * 1024);
});

t.test('a frame of exactly the bound is kept; one byte more is dropped', async (t) => {
  const d = new VmDecoder();
  const data = Buffer.alloc(VM_MAX_FRAME_BYTES - 4, 1);
  const max = encodeRequest({ msgid: 1, netfn: 6, cmd: 1, data });
  t.equal(d.decode(max).length, 1);
  const over = encodeRequest({ msgid: 1, netfn: 6, cmd: 1, data: Buffer.concat([data, Buffer.of(1)]) });
  t.equal(d.decode(over).length, 0);
  t.equal(d.stats().dropped.oversize, 1);
});

t.test('reset() forgets a partial frame', async (t) => {
  const d = new VmDecoder();
  d.decode(hex('10 18 01'));
  d.reset();
  t.equal(d.pending, 0);
  t.same(d.decode(hex('10 18 01 d7 a0')).length, 1);
  t.equal(d.stats().bytesDiscarded, 3);
});

t.test('random fuzz never throws, never exceeds the bound, and every frame is well-formed', async (t) => {
  const rand = prng(0x1b1c0de);
  const byte = (): number => Math.floor(rand() * 256);
  const d = new VmDecoder();
  const special = [0xa0, 0xa1, 0xaa, 0xb0, 0xb1, 0xba];
  let frames = 0;
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(rand() * (rand() < 0.05 ? 4000 : 60));
    const chunk = Buffer.from(Array.from({ length: len }, () => (rand() < 0.2 ? special[Math.floor(rand() * special.length)]! : byte())));
    if (rand() < 0.3) chunk.set(encodeRequest({ msgid: byte(), netfn: byte() & 0x3f, cmd: byte(), data: Buffer.of(byte(), byte()) }).subarray(0, Math.min(chunk.length, 6)));
    let out: VmFrame[] = [];
    try {
      out = d.decode(chunk);
    } catch (e) {
      t.fail(`decode threw: ${String(e)}`);
      break;
    }
    if (d.pending > VM_MAX_FRAME_BYTES) t.fail('bound exceeded');
    for (const f of out) {
      frames++;
      if (f.kind === 'request') {
        if (f.netfn > 0x3f || f.lun > 3) t.fail('impossible request fields');
      }
    }
  }
  const s = d.stats();
  const drops = Object.values(s.dropped).reduce((a, b) => a + b, 0);
  t.equal(s.requests + s.controls, frames, 'every frame counted');
  t.ok(drops > 0, `drops counted (${drops})`);
});

t.test('encoders refuse impossible fields (caller bugs)', async (t) => {
  t.throws(() => encodeResponse({ msgid: 256, netfn: 6, lun: 0, cmd: 1, cc: 0 }), RangeError);
  t.throws(() => encodeResponse({ msgid: 1, netfn: 0x40, lun: 0, cmd: 1, cc: 0 }), RangeError);
  t.throws(() => encodeResponse({ msgid: 1, netfn: 6, lun: 4, cmd: 1, cc: 0 }), RangeError);
  t.throws(() => encodeControl(0x100), RangeError);
  t.equal(parseResponse(hex('01 1c 01 00')), null, 'under 5 bytes is no response');
  t.equal(parseResponse(hex('01 1c 01 00 00')), null, 'bad checksum is no response');
});

import t from 'tap';
import { decodeHeader, encodePacket, flagsSeqTag } from '../../../firmware/mctp/header.js';
import { fragmentCount, fragmentMessage } from '../../../firmware/mctp/fragment.js';

t.test('header codec round-trips every flag combination', async (t) => {
  for (let fst = 0; fst < 256; fst++) {
    const p = Buffer.from([0x01, 9, 8, fst]);
    const h = decodeHeader(p);
    t.equal(flagsSeqTag(h), fst, `byte 0x${fst.toString(16)}`);
    if (!encodePacket(h, Buffer.alloc(0)).equals(p)) t.fail(`encode 0x${fst.toString(16)}`);
  }
  const h = decodeHeader(Buffer.from([0x01, 0x00, 0x08, 0xc8]));
  t.same(h, { ver: 1, dest: 0, src: 8, som: true, eom: true, seq: 0, to: true, tag: 0 }, 'the Get EID request header');
});

// KUnit mctp_test_fragment: (mtu, payload incl. type byte) -> packets
const FRAGMENT_CASES: Array<[number, number, number]> = [
  [68, 63, 1],
  [68, 64, 1],
  [68, 65, 2],
  [68, 66, 2],
  [68, 127, 2],
  [68, 128, 2],
  [68, 129, 3],
  [68, 130, 3],
];

t.test('fragmentation to the MTU (KUnit mctp_test_fragment)', async (t) => {
  for (const [mtu, size, n] of FRAGMENT_CASES) {
    const msg = Buffer.alloc(size, 0xa5);
    const pkts = fragmentMessage(msg, { dest: 9, src: 8, to: true, tag: 3, mtu });
    t.equal(pkts.length, n, `mtu ${mtu} size ${size} -> ${n}`);
    t.equal(fragmentCount(size, mtu), n);
    pkts.forEach((p, i) => {
      const h = decodeHeader(p);
      t.ok(h.ver === 1 && h.src === 8 && h.dest === 9 && h.to && h.tag === 3, 'header fields copied');
      t.equal(h.som, i === 0, 'SOM only first');
      t.equal(h.eom, i === n - 1, 'EOM only last');
      t.equal(h.seq, i & 3, 'seq mod 4');
      if (i < n - 1) t.equal(p.length, mtu, 'non-final packets are exactly mtu');
      else t.ok(p.length <= mtu, 'final packet within mtu');
    });
    t.same(Buffer.concat(pkts.map((p) => p.subarray(4))), msg, 'payload intact');
  }
});

t.test('sequence wraps after 3 and MTU below 5 is EMSGSIZE', async (t) => {
  const pkts = fragmentMessage(Buffer.alloc(64 * 6), { dest: 9, src: 8, to: false, tag: 0, mtu: 68 });
  t.same(pkts.map((p) => decodeHeader(p).seq), [0, 1, 2, 3, 0, 1]);
  t.throws(() => fragmentMessage(Buffer.alloc(4), { dest: 9, src: 8, to: false, tag: 0, mtu: 4 }), { code: 'EMSGSIZE' });
  t.equal(fragmentMessage(Buffer.alloc(1), { dest: 9, src: 8, to: false, tag: 0, mtu: 5 }).length, 1);
});

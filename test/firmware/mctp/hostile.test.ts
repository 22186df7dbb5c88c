/** Hostile input on the receive path: nothing throws past the interface, memory stays bounded, every drop is counted. */
import t from 'tap';
import { MCTP_ADDR_ANY, MCTP_NET_ANY, MCTP_TAG_OWNER } from '../../../firmware/mctp/constants.js';
import { pkt, prng, setup } from './helpers.js';

t.test('random, truncated and oversized packets', async (t) => {
  const { stack, binding, dev, clock } = setup();
  stack.addRoute({ min: 9, dev: 'mctptest0' });
  const listeners = [0, 1, 0x7e].map((type) => {
    const s = stack.socket();
    s.bind({ net: MCTP_NET_ANY, eid: MCTP_ADDR_ANY, type, tag: 0 });
    s.rcvbuf = 64 * 1024;
    return s;
  });
  const requester = stack.socket();
  for (let i = 0; i < 4; i++) requester.sendto(Buffer.alloc(1), { net: 1, eid: 9, type: 1, tag: MCTP_TAG_OWNER });

  const rand = prng(0xbadc0de);
  const byte = () => Math.floor(rand() * 256);
  const N = 20000;
  const thrown: string[] = [];
  for (let i = 0; i < N; i++) {
    const kind = rand();
    let p: Buffer;
    if (kind < 0.3) {
      // Pure noise of any length, including empty.
      p = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, byte));
    } else if (kind < 0.95) {
      // Plausible headers with random flags, tags and EIDs: exercises keys and reassembly.
      p = pkt(
        {
          ver: rand() < 0.9 ? 1 : byte(),
          src: rand() < 0.8 ? 9 + Math.floor(rand() * 4) : byte(),
          dest: rand() < 0.8 ? 8 : byte(),
          som: rand() < 0.5,
          eom: rand() < 0.5,
          seq: Math.floor(rand() * 4),
          to: rand() < 0.5,
          tag: Math.floor(rand() * 8),
        },
        Buffer.from(Array.from({ length: Math.floor(rand() * 70) }, byte)),
      );
    } else {
      // Oversized packets far beyond any MTU.
      p = pkt({ som: rand() < 0.5, eom: rand() < 0.5, to: true, seq: Math.floor(rand() * 4) }, Buffer.alloc(70000 + Math.floor(rand() * 1000), 1));
    }
    try {
      binding.inject(p);
    } catch (e) {
      thrown.push(String(e));
    }
    if (i % 1000 === 0) clock.advance(700);
    if (stack.keys.reassemblies > stack.keys.maxReassemblies) t.fail('reassembly bound exceeded');
  }
  t.same(thrown, [], 'nothing thrown past the interface');
  const c = dev.counters;
  t.equal(c.rxPackets, N, 'every packet counted');
  t.ok(c.rxDropped > 0 && c.rxDropped <= N, `drops counted (${c.rxDropped})`);
  const sumReasons = Object.values(c.rxDrops).reduce((a, b) => a + b, 0);
  t.equal(sumReasons, c.rxDropped, 'every drop has a reason');
  for (const r of ['short', 'bad-version', 'bad-src', 'no-route', 'no-key', 'reasm-seq', 'reasm-dup-start', 'rcvbuf-full']) {
    t.ok(c.rxDrops[r as 'short'] > 0, `reason ${r} seen`);
  }
  // Socket queues are bounded by rcvbuf (one message may overshoot, as in Linux).
  for (const s of listeners) {
    let bytes = 0;
    for (;;) {
      try {
        bytes += (await s.recvfrom({ flags: 0x40 })).data.length + 1;
      } catch {
        break;
      }
    }
    t.ok(bytes <= 64 * 1024 + 65536, `socket queue bounded (${bytes} bytes)`);
  }
  clock.advance(6000);
  t.equal(stack.keys.reassemblies, 0, 'abandoned reassemblies reclaimed');
  t.ok(stack.keys.size <= 8, 'no stray keys (at most live preallocations)');
});

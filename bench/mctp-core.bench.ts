/**
 * MCTP core throughput: send -> fragment -> in-memory link -> reassemble ->
 * receive, between two stacks, for 1 KiB and 64 KiB messages at MTU 68 and
 * 4096. Reports messages/s, MB/s of payload and the peak RSS seen.
 */
import { MCTP_NET_ANY, MCTP_ADDR_ANY } from '../firmware/mctp/constants.js';
import { createBindingPair } from '../firmware/mctp/loopback/binding.js';
import { MctpStack } from '../firmware/mctp/stack.js';

export interface BenchOptions {
  short: boolean;
}

async function one(size: number, mtu: number, totalBytes: number): Promise<{ msgsPerSec: number; mbPerSec: number; messages: number }> {
  const [a, b] = createBindingPair({ mtu: { initial: mtu } }, { mtu: { initial: mtu } });
  const tx = new MctpStack();
  const rx = new MctpStack();
  tx.addInterface('mctp0', a, { txQueueLen: 1 << 20 }).setUp(true);
  rx.addInterface('mctp0', b).setUp(true);
  tx.addAddress('mctp0', 8);
  rx.addAddress('mctp0', 9);
  tx.addRoute({ min: 9, dev: 'mctp0' });
  const sink = rx.socket();
  sink.rcvbuf = 1 << 30;
  sink.bind({ net: MCTP_NET_ANY, eid: MCTP_ADDR_ANY, type: 1, tag: 0 });
  const src = tx.socket();
  const payload = Buffer.alloc(size - 1, 0x5a);
  const messages = Math.max(8, Math.floor(totalBytes / size));
  const start = process.hrtime.bigint();
  let received = 0;
  // Requests need TO=1; eight preallocated tags (SIOCMCTPALLOCTAG) keep eight
  // messages in flight without waiting for responses, as mctp-bench does.
  const tags = Array.from({ length: 8 }, () => src.allocTag({ peerAddr: 9, tag: 0, flags: 0 }));
  const window = tags.length;
  let sent = 0;
  while (received < messages) {
    while (sent < messages && sent - received < window) {
      src.sendto(payload, { net: 1, eid: 9, type: 1, tag: tags[sent % window]! });
      sent++;
    }
    const r = await sink.recvfrom();
    if (r.data.length !== payload.length) throw new Error('corrupted message');
    received++;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  await tx.close();
  await rx.close();
  return { msgsPerSec: messages / secs, mbPerSec: (messages * size) / secs / 1e6, messages };
}

export async function run(opts: BenchOptions): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const total = opts.short ? 4 << 20 : 64 << 20;
  for (const mtu of [68, 4096]) {
    for (const [label, size] of [
      ['1KiB', 1024],
      ['64KiB', 65536],
    ] as const) {
      const r = await one(size, mtu, total);
      out[`core ${label} mtu${mtu} msgs/s`] = Math.round(r.msgsPerSec);
      out[`core ${label} mtu${mtu} MB/s`] = Number(r.mbPerSec.toFixed(1));
    }
  }
  clearInterval(sampler);
  out['core peak RSS MiB'] = Math.round(Math.max(peakRss, process.memoryUsage().rss) / (1 << 20));
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run({ short: process.argv.includes('--short') }).then((r) => console.table(r));
}

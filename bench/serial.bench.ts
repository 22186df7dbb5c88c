/**
 * Serial binding throughput: two SerialBindings talking over a node:net UNIX
 * socket pair (what a QEMU serial chardev gives us), full 68-byte packets, with
 * the binding's own backpressure in the loop. Reports packets/s and MB/s of
 * MCTP payload (packet minus the 4-byte transport header). Also the bare
 * framer (encode + decode in memory) as the ceiling without I/O.
 *
 * Run directly (until bench/register.js exists, through tap's ts-node fork):
 *   node --loader @isaacs/ts-node-temp-fork-for-pr-2009/esm bench/serial.bench.ts [--short]
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BindingPort } from '../firmware/mctp/binding.js';
import { SerialFrameDecoder, SERIAL_MTU, encodeFrame } from '../firmware/mctp/serial/framer.js';
import { SerialBinding } from '../firmware/mctp/serial/binding.js';

const MCTP_HEADER_LEN = 4;

/** A pool of 68-byte packets; `escapeEvery` puts a 0x7E at that spacing. */
function packetPool(escapeEvery: number): Buffer[] {
  let seed = 0x12345678;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  return Array.from({ length: 64 }, () => {
    const p = Buffer.alloc(SERIAL_MTU);
    p.set([0x01, 0x09, 0x08, 0xc0]); // ver 1, dest 9, src 8, SOM|EOM|TO tag 0
    for (let i = MCTP_HEADER_LEN; i < p.length; i++) {
      p[i] = escapeEvery === 1 || (escapeEvery > 1 && i % escapeEvery === 0) ? 0x7e : next() & 0x3f;
    }
    return p;
  });
}

async function socketPair(path: string): Promise<[net.Socket, net.Socket, net.Server]> {
  const server = net.createServer();
  server.listen(path);
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const client = net.createConnection(path);
  await once(client, 'connect');
  const [serverSide] = (await accepted) as [net.Socket];
  return [client, serverSide, server];
}

/** Send `count` packets one way, as fast as the binding accepts them. */
async function throughput(path: string, pool: Buffer[], count: number): Promise<{ seconds: number; payload: number }> {
  const [a, b, server] = await socketPair(path);
  const tx = new SerialBinding({ stream: a });
  const rx = new SerialBinding({ stream: b });
  let sent = 0;
  let received = 0;
  let payload = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const pump = () => {
    while (sent < count && tx.transmit(pool[sent % pool.length]!)) sent++;
  };
  const ignore = () => undefined;
  const txPort: BindingPort = { receive: ignore, txReady: pump, carrier: ignore, mtuChanged: ignore };
  const rxPort: BindingPort = {
    receive(packet) {
      payload += packet.length - MCTP_HEADER_LEN;
      if (++received === count) finish();
    },
    txReady: ignore,
    carrier: ignore,
    mtuChanged: ignore,
  };
  tx.attach(txPort);
  rx.attach(rxPort);

  const start = performance.now();
  pump();
  await done;
  const seconds = (performance.now() - start) / 1000;
  await Promise.all([tx.close(), rx.close()]);
  server.close();
  return { seconds, payload };
}

function framerOnly(pool: Buffer[], count: number): { seconds: number; payload: number } {
  let payload = 0;
  const decoder = new SerialFrameDecoder((p) => (payload += p.length - MCTP_HEADER_LEN));
  const start = performance.now();
  for (let i = 0; i < count; i++) decoder.push(encodeFrame(pool[i % pool.length]!));
  return { seconds: (performance.now() - start) / 1000, payload };
}

export async function run(opts: { short: boolean }): Promise<Record<string, number | string>> {
  const count = opts.short ? 50_000 : 500_000;
  const dir = mkdtempSync(join(tmpdir(), 'bmcemu-serial-bench-'));
  const results: Record<string, number | string> = {
    'serial.transport': 'node:net UNIX socket pair',
    'serial.packets': count,
    'serial.packet_bytes': SERIAL_MTU,
  };
  const round = (n: number) => Math.round(n * 100) / 100;
  try {
    const scenarios: Array<[string, Buffer[]]> = [
      ['typical', packetPool(0)],
      ['escape_every_8th', packetPool(8)],
      ['all_escaped', packetPool(1)],
    ];
    // One untimed warm-up so JIT compilation does not land in the first figure.
    await throughput(join(dir, 'warm.sock'), scenarios[0]![1], Math.min(count, 5_000));
    for (const [name, pool] of scenarios) {
      const { seconds, payload } = await throughput(join(dir, `${name}.sock`), pool, count);
      results[`serial.${name}.packets_per_s`] = Math.round(count / seconds);
      results[`serial.${name}.payload_MB_per_s`] = round(payload / 1e6 / seconds);
    }
    const bare = framerOnly(scenarios[0]![1], count);
    results['serial.framer_only.packets_per_s'] = Math.round(count / bare.seconds);
    results['serial.framer_only.payload_MB_per_s'] = round(bare.payload / 1e6 / bare.seconds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const results = await run({ short: process.argv.includes('--short') });
  results['serial.wall_s'] = Math.round(performance.now() - started) / 1000;
  console.table(results);
}

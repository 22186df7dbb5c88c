/**
 * The LPC binding across two processes, as a host really uses it: the BMC
 * firmware (models, drivers, astlpc BMC mode) here, the host agent (astlpc
 * host mode) in a forked child, over the KCS wire socket and the window file.
 * Echo latency (p50/p99, 64-byte payload, BMC -> host -> BMC) and 64 KiB
 * message throughput at MTU 64, 4096 and 32768. For scale: a real LPC bus
 * carries at most about 16 MB/s.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ast2500Soc } from '../hw-models/ast2500-soc.js';
import { BmcFirmware } from '../firmware/bmc/bmc-firmware.js';
import { HostAgent } from '../host/host-agent.js';
import { MCTP_TAG_OWNER } from '../firmware/mctp/constants.js';
import { startEchoResponder, ECHO_HEADER, ECHO_TYPE } from '../firmware/mctp/echo.js';
import type { MctpStack } from '../firmware/mctp/stack.js';

const SELF = fileURLToPath(import.meta.url);

/** Child: a host agent that echoes. */
async function child(socket: string, window: string, mtu: number): Promise<void> {
  const agent = new HostAgent({ kcs: { kind: 'unix', path: socket }, window, mtu, eid: 9 });
  await agent.start();
  startEchoResponder(agent.stack);
  await agent.whenLinkUp();
  process.send?.('up');
  process.on('disconnect', () => process.exit(0));
}

async function roundTrip(stack: MctpStack, payload: Buffer): Promise<void> {
  const s = stack.socket();
  try {
    s.sendto(payload, { net: 1, eid: 9, type: ECHO_TYPE, tag: MCTP_TAG_OWNER });
    // A benchmark that stops getting answers must fail, not hang.
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      s.recvfrom(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('astlpc bench: no echo within 30 s')), 30_000);
      }),
    ]).finally(() => clearTimeout(timer));
    if (r.data.length !== payload.length) throw new Error('echo length mismatch');
  } finally {
    s.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function atMtu(mtu: number, short: boolean): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-astlpc-'));
  const soc = new Ast2500Soc({ runtimeDir: dir });
  await soc.start();
  const fw = new BmcFirmware({ soc, mtu, hostEid: 9, busOwner: false });
  fw.start();
  const sock = soc.kcsWire.endpoint.kind === 'unix' ? soc.kcsWire.endpoint.path : '';
  const host = fork(SELF, ['--child', sock, soc.windowFile, String(mtu)], { stdio: 'inherit' });
  try {
    await new Promise<void>((resolve, reject) => {
      host.once('message', () => resolve());
      host.once('exit', (c) => reject(new Error(`host agent exited (${c})`)));
    });
    const small = Buffer.concat([ECHO_HEADER, Buffer.alloc(61, 0x42)]);
    const n = short ? 200 : 2000;
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await roundTrip(fw.stack, small);
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    lat.sort((a, b) => a - b);
    const big = Buffer.concat([ECHO_HEADER, Buffer.alloc(65535 - ECHO_HEADER.length, 0x5a)]);
    const m = short ? (mtu < 1000 ? 4 : 20) : mtu < 1000 ? 20 : 200;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < m; i++) await roundTrip(fw.stack, big);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    return {
      [`astlpc mtu${mtu - 4} echo p50 ms`]: Number(percentile(lat, 50).toFixed(3)),
      [`astlpc mtu${mtu - 4} echo p99 ms`]: Number(percentile(lat, 99).toFixed(3)),
      // Each round trip carries the message once in each direction.
      [`astlpc mtu${mtu - 4} 64KiB MB/s (each way)`]: Number(((m * 65536) / secs / 1e6).toFixed(2)),
    };
  } finally {
    host.kill();
    await fw.stop();
    await soc.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(opts: { short: boolean }): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  for (const mtu of [68, 4100, 32772]) Object.assign(out, await atMtu(mtu, opts.short));
  return out;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
} else if (process.argv[1] === SELF) {
  console.table(await run({ short: process.argv.includes('--short') }));
}

/**
 * Boot to MCTP with a real QEMU guest (TCG): seconds from power-on to the
 * host endpoint assigned and echoed over astlpc (median of several boots),
 * then echo latency (p50/p99) and 64 KiB round-trip throughput between the
 * BMC and the guest agent. Short mode: one boot, fewer samples.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BmcInstance } from '../instance/bmc-instance.js';
import { MCTP_TAG_OWNER } from '../firmware/mctp/constants.js';
import { ECHO_HEADER } from '../firmware/mctp/echo.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(opts: { short: boolean }): Promise<Record<string, number | string>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-boot-'));
  const inst = new BmcInstance({ runtimeDir: dir, api: false, powerOn: false });
  await inst.start();
  const out: Record<string, number | string> = {};
  try {
    const boots: number[] = [];
    for (let i = 0; i < (opts.short ? 1 : 5); i++) {
      const t0 = Date.now();
      if (i === 0) await inst.powerOn();
      else await inst.host!.reset();
      // After a reset the old endpoint stays listed until the bus owner notices, and
      // the guest cannot answer before its agent runs (seconds): wait for an answer.
      for (;;) {
        const e = inst.fw.busOwner.endpoints().find((x) => x.iface === 'mctplpc0' && x.connectivity === 'available');
        if (e && (await inst.echo(e.eid, 64, 500).then(() => true, () => false))) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      boots.push((Date.now() - t0) / 1000);
    }
    out['boot-to-MCTP echo s (median)'] = Number(median(boots).toFixed(2));
    out['boots measured'] = boots.length;
    const ep = await inst.astlpcEndpoint();
    const lat: number[] = [];
    for (let i = 0; i < (opts.short ? 50 : 500); i++) lat.push((await inst.echo(ep.eid, 64)).rttMs);
    lat.sort((a, b) => a - b);
    out['guest echo p50 ms'] = Number(lat[Math.floor(lat.length / 2)]!.toFixed(2));
    out['guest echo p99 ms'] = Number(lat[Math.floor(lat.length * 0.99)]!.toFixed(2));
    const msg = Buffer.alloc(65535, 0x5a);
    msg.set(ECHO_HEADER);
    const n = opts.short ? 5 : 40;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const s = inst.fw.stack.socket();
      s.sendto(msg, { net: 1, eid: ep.eid, type: 0x7e, tag: MCTP_TAG_OWNER });
      await s.recvfrom();
      s.close();
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    out['guest 64KiB MB/s (each way)'] = Number(((n * 65536) / secs / 1e6).toFixed(2));
  } finally {
    await inst.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  console.table(await run({ short: process.argv.includes('--short') }));
}

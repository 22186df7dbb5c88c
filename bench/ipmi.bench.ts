/**
 * IPMI through the VM protocol, no guest: a load generator speaking to the
 * BMC exactly as QEMU's ipmi-bmc-extern does (bench/ipmi-vm-client.ts), side
 * by side against bmcemu (`bmcemu run --no-host`, its own process, on
 * <runtime>/ipmi.sock) and OpenIPMI's ipmi_sim (its own process, VM codec on
 * a loopback TCP port), both fed the same requests.
 *
 * The mix: read-only commands a host really sends (Get Device ID, Get Self
 * Test Results, Get Chassis Status, SEL and SDR repository info, a sensor's
 * reading and thresholds, the watchdog, ...). Each candidate is first asked
 * of both BMCs; one that either answers with a completion code other than
 * 00h, or with fewer data bytes than the spec's response has, leaves the mix
 * and the report says which and why. Then a warm-up, then N requests one
 * outstanding at a time, as QEMU's KCS/BT keep them, in alternating rounds
 * (so load from elsewhere on the machine falls on both), reporting
 * requests/s, p50 and p99 latency, the BMC process's CPU per request, the
 * ratios, and p50 per command.
 *
 * The floor (bench/ipmi-null-bmc.ts), measured the same way, is a Node
 * process that answers at once on a UNIX socket and on TCP: what the two
 * transports cost by themselves, since bmcemu serves a UNIX socket and
 * ipmi_sim's VM codec only TCP.
 *
 * A pipelined mode (8 requests in flight) runs only if both BMCs answer all
 * of 8 requests sent in one write with 00h; QEMU never does this, so a BMC
 * answering "node busy" (C0h) instead is within its rights, and the report
 * says so.
 *
 * Without ipmi_sim on PATH (Debian package openipmi; or $BMCEMU_IPMI_SIM),
 * or when it fails to start, the report says so and bmcemu runs alone.
 *
 * Run directly: node dist/bench/ipmi.bench.js [--short] (after the build).
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BENCH_SENSOR_NUMBER, findIpmiSim, startBmcemu, startIpmiSim, startNullBmc, type BmcProcess } from './ipmi-bmc-processes.js';
import { VmClient, hex } from './ipmi-vm-client.js';

type Results = Record<string, number | string>;

interface MixCommand {
  name: string;
  netfn: number;
  cmd: number;
  data: number[];
  /** Fewest response data bytes (after the completion code) the spec allows. */
  minData: number;
}

/** Candidates for the mix, in the order they are sent (IPMI 2.0 section of each in the comment). */
const CANDIDATES: MixCommand[] = [
  { name: 'Get Device ID', netfn: 0x06, cmd: 0x01, data: [], minData: 11 }, // §20.1
  { name: 'Get Self Test Results', netfn: 0x06, cmd: 0x04, data: [], minData: 2 }, // §20.4
  { name: 'Get Chassis Status', netfn: 0x00, cmd: 0x01, data: [], minData: 3 }, // §28.2
  { name: 'Get SEL Info', netfn: 0x0a, cmd: 0x40, data: [], minData: 14 }, // §31.2
  { name: 'Get Sensor Reading', netfn: 0x04, cmd: 0x2d, data: [BENCH_SENSOR_NUMBER], minData: 3 }, // §35.14 (threshold sensor)
  { name: 'Get SDR Repository Info', netfn: 0x0a, cmd: 0x20, data: [], minData: 14 }, // §33.9
  { name: 'Get Watchdog Timer', netfn: 0x06, cmd: 0x25, data: [], minData: 8 }, // §27.7
  { name: 'Get BMC Global Enables', netfn: 0x06, cmd: 0x2f, data: [], minData: 1 }, // §22.2
  { name: 'Get SEL Time', netfn: 0x0a, cmd: 0x48, data: [], minData: 4 }, // §31.10
  { name: 'Get Sensor Thresholds', netfn: 0x04, cmd: 0x27, data: [BENCH_SENSOR_NUMBER], minData: 7 }, // §35.9
  { name: 'Get FRU Inventory Area Info', netfn: 0x0a, cmd: 0x10, data: [0x00], minData: 3 }, // §34.1
  // The first record's 5-byte header, as ipmitool reads it first (reservation 0 is allowed at offset 0).
  { name: 'Get SDR (first header)', netfn: 0x0a, cmd: 0x23, data: [0x00, 0x00, 0x00, 0x00, 0x00, 0x05], minData: 7 }, // §33.12
  { name: 'Get Device GUID', netfn: 0x06, cmd: 0x08, data: [], minData: 16 }, // §20.8
];

const PIPELINE_DEPTH = 8;

interface Target {
  proc: BmcProcess;
  client: VmClient;
}

interface Sample {
  /** Latency of every request, ms. */
  lat: number[];
  /** Per mix index. */
  latByCommand: number[][];
  secs: number;
  cpuSecs: number | null;
  /** Answers with a non-zero completion code or the wrong netfn/cmd. */
  badAnswers: number;
}

function emptySample(mixLen: number): Sample {
  return { lat: [], latByCommand: Array.from({ length: mixLen }, () => []), secs: 0, cpuSecs: 0, badAnswers: 0 };
}

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
}

const ms = (v: number): number => Number(v.toFixed(3));

async function start(name: string, launch: () => Promise<BmcProcess>): Promise<Target> {
  const proc = await launch();
  try {
    const client = await VmClient.connectWhenReady(proc.endpoint, 30_000, () => proc.exited());
    return { proc, client };
  } catch (e) {
    await proc.stop();
    throw new Error(`${name}: ${(e as Error).message}`);
  }
}

/** Ask one candidate; null when it can go in the mix, else why not. */
async function probe(client: VmClient, c: MixCommand): Promise<string | null> {
  const r = await client.request(c.netfn, c.cmd, Uint8Array.from(c.data));
  if (r.cc !== 0) return `cc ${hex(r.cc)}`;
  if (r.netfn !== c.netfn + 1 || r.cmd !== c.cmd) return `answered netfn ${hex(r.netfn)} cmd ${hex(r.cmd)}`;
  if (r.data.length < c.minData) return `${r.data.length} data bytes, the spec has at least ${c.minData}`;
  return null;
}

/** `n` requests cycling through the mix, `depth` outstanding at a time. */
async function measure(t: Target, mix: MixCommand[], n: number, depth: number, into: Sample): Promise<void> {
  const payloads = mix.map((c) => Uint8Array.from(c.data));
  const cpu0 = t.proc.cpuSeconds();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (next < n) {
        const i = next++ % mix.length;
        const c = mix[i]!;
        const s = performance.now();
        const r = await t.client.request(c.netfn, c.cmd, payloads[i]);
        const dt = performance.now() - s;
        into.lat.push(dt);
        into.latByCommand[i]!.push(dt);
        if (r.cc !== 0 || r.netfn !== c.netfn + 1 || r.cmd !== c.cmd) into.badAnswers++;
      }
    }),
  );
  into.secs += (performance.now() - t0) / 1000;
  const cpu1 = t.proc.cpuSeconds();
  into.cpuSecs = into.cpuSecs === null || cpu0 === null || cpu1 === null ? null : into.cpuSecs + (cpu1 - cpu0);
}

/** Does the BMC answer `depth` requests sent in one write, each with cc 00h? Null if so, else what happened. */
async function pipelineRefusal(client: VmClient, depth: number): Promise<string | null> {
  const answers = await Promise.all(client.burst(Array.from({ length: depth }, () => ({ netfn: 0x06, cmd: 0x01 }))));
  const refused = answers.filter((r) => r.cc !== 0);
  if (!refused.length) return null;
  const ccs = [...new Set(refused.map((r) => hex(r.cc)))].join('/');
  return `${refused.length} of ${depth} requests sent in one write answered cc ${ccs}${ccs === '0xc0' ? ' (node busy: one outstanding, as QEMU sends)' : ''}`;
}

/** requests/s, p50, p99 and the BMC process's CPU per request; `suffix` names a mode other than QEMU's. */
function report(out: Results, name: string, s: Sample, n: number, suffix = ''): void {
  const sorted = [...s.lat].sort((a, b) => a - b);
  out[`${name} requests/s${suffix}`] = Math.round(n / s.secs);
  out[`${name} p50 ms${suffix}`] = ms(quantile(sorted, 0.5));
  out[`${name} p99 ms${suffix}`] = ms(quantile(sorted, 0.99));
  if (s.cpuSecs !== null) out[`${name} process CPU µs/request${suffix}`] = Math.round((s.cpuSecs / n) * 1e6);
  if (s.badAnswers) out[`${name} answers not cc 00h / wrong netfn or cmd${suffix}`] = s.badAnswers;
}

export async function run({ short }: { short: boolean }): Promise<Results> {
  // Node's JIT needs a few thousand requests before bmcemu runs at its pace: warm up past that.
  const warmup = short ? 2000 : 5000;
  const n = short ? 1000 : 40_000;
  const rounds = short ? 1 : 4;
  const out: Results = {};
  const bmcs: Target[] = [];
  const floors: Target[] = [];
  try {
    bmcs.push(await start('bmcemu', startBmcemu));
    const simBin = findIpmiSim();
    if (!simBin) {
      out['ipmi_sim'] = 'not found (Debian package openipmi, or set BMCEMU_IPMI_SIM): bmcemu alone';
    } else {
      try {
        const sim = await start('ipmi_sim', () => startIpmiSim(simBin));
        // A BMC whose first answer fails is no comparison: check Get Device ID before trusting it.
        const why = await probe(sim.client, CANDIDATES[0]!).catch((e: Error) => e.message);
        if (why) {
          sim.client.close();
          await sim.proc.stop();
          throw new Error(`Get Device ID: ${why}`);
        }
        bmcs.push(sim);
        out['ipmi_sim'] = simBin;
      } catch (e) {
        out['ipmi_sim'] = `did not run (${(e as Error).message.split('\n')[0]}): bmcemu alone`;
      }
    }
    try {
      const floor = await startNullBmc();
      floors.push(await start(floor.unix.name, async () => floor.unix));
      floors.push(await start(floor.tcp.name, async () => floor.tcp));
    } catch (e) {
      out['floor'] = `did not run (${(e as Error).message.split('\n')[0]})`;
      for (const t of floors.splice(0)) {
        t.client.close();
        await t.proc.stop();
      }
    }

    // The mix: what every BMC present answers in full.
    const mix: MixCommand[] = [];
    const dropped: string[] = [];
    for (const c of CANDIDATES) {
      const whyNot: string[] = [];
      for (const t of bmcs) {
        const why = await probe(t.client, c);
        if (why) whyNot.push(`${t.proc.name} ${why}`);
      }
      if (whyNot.length) dropped.push(`${c.name} (${whyNot.join('; ')})`);
      else mix.push(c);
    }
    out['request mix (cycled)'] = mix.map((c) => c.name).join(', ');
    out['left out of the mix'] = dropped.join(', ') || 'none';
    if (!mix.length) throw new Error('no command in the mix: every candidate failed on some BMC');

    // One outstanding, QEMU's pattern; rounds alternate the order.
    const all = [...bmcs, ...floors];
    const seq = new Map<Target, Sample>(all.map((t) => [t, emptySample(mix.length)]));
    for (const t of all) await measure(t, mix, warmup, 1, emptySample(mix.length));
    for (let r = 0; r < rounds; r++) {
      for (const t of r % 2 ? [...all].reverse() : all) await measure(t, mix, n / rounds, 1, seq.get(t)!);
    }
    out['requests per BMC'] = `${n}, 1 outstanding (as QEMU), ${rounds} round(s) after ${warmup} warm-up`;
    for (const t of bmcs) report(out, t.proc.name, seq.get(t)!, n);
    const [emu, sim] = bmcs;
    if (emu && sim) {
      const a = seq.get(emu)!;
      const b = seq.get(sim)!;
      const p = (s: Sample, q: number): number => quantile([...s.lat].sort((x, y) => x - y), q);
      out['bmcemu/ipmi_sim requests/s ratio'] = Number((b.secs / a.secs).toFixed(2));
      out['bmcemu/ipmi_sim p50 latency ratio'] = Number((p(a, 0.5) / p(b, 0.5)).toFixed(2));
      out['bmcemu/ipmi_sim p99 latency ratio'] = Number((p(a, 0.99) / p(b, 0.99)).toFixed(2));
      mix.forEach((c, i) => {
        const p50 = (s: Sample): string => quantile([...s.latByCommand[i]!].sort((x, y) => x - y), 0.5).toFixed(3);
        out[`  p50 ms bmcemu / ipmi_sim: ${c.name}`] = `${p50(a)} / ${p50(b)}`;
      });
    }
    for (const t of floors) {
      const sorted = [...seq.get(t)!.lat].sort((x, y) => x - y);
      out[`${t.proc.name}: requests/s, p50 / p99 ms`] =
        `${Math.round(n / seq.get(t)!.secs)}, ${quantile(sorted, 0.5).toFixed(3)} / ${quantile(sorted, 0.99).toFixed(3)}`;
    }

    // Pipelined, only if every BMC takes it.
    const refusals = await Promise.all(bmcs.map(async (t) => [t, await pipelineRefusal(t.client, PIPELINE_DEPTH)] as const));
    const refused = refusals.filter(([, why]) => why);
    if (refused.length) {
      out[`pipelined (${PIPELINE_DEPTH} in flight)`] = `skipped: ${refused.map(([t, why]) => `${t.proc.name} ${why}`).join('; ')}`;
    } else {
      for (const t of bmcs) {
        await measure(t, mix, warmup, PIPELINE_DEPTH, emptySample(mix.length));
        const s = emptySample(mix.length);
        await measure(t, mix, n, PIPELINE_DEPTH, s);
        report(out, t.proc.name, s, n, ` (${PIPELINE_DEPTH} in flight)`);
      }
    }

    for (const t of all) {
      const st = t.client.stats();
      if (st.badFrames || st.strays) out[`${t.proc.name} frames QEMU would drop / strays`] = `${st.badFrames} / ${st.strays}`;
    }
    return out;
  } finally {
    for (const t of [...bmcs, ...floors]) {
      t.client.close();
      await t.proc.stop();
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.table(await run({ short: process.argv.includes('--short') }));
}

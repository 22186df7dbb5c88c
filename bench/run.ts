/**
 * `npm run bench` / `make bench`: every benchmark, one after another, as a
 * table. `--short` runs each in a CI-affordable few seconds. Results are
 * figures for this machine only: compare ratios, not absolutes.
 */
import os from 'node:os';
import { run as api } from './api.bench.js';
import { run as astlpc } from './astlpc.bench.js';
import { run as boot } from './boot.bench.js';
import { run as core } from './mctp-core.bench.js';
import { run as ipmi } from './ipmi.bench.js';
import { run as kcsWire } from './kcs-wire.bench.js';
import { run as serial } from './serial.bench.js';

const short = process.argv.includes('--short');
const benches: Array<[string, (o: { short: boolean }) => Promise<Record<string, number | string>>]> = [
  ['mctp-core', core],
  ['serial-binding', serial],
  ['kcs-wire', kcsWire],
  ['astlpc (two processes)', astlpc],
  ['IPMI over the VM protocol: bmcemu vs ipmi_sim', ipmi],
  ['status API (dashboard load)', api],
  ['boot to MCTP (QEMU, TCG)', boot],
];

console.log(`bmcemu benchmarks (${short ? 'short' : 'full'}) on ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, Node ${process.version}`);
for (const [name, fn] of benches) {
  const started = Date.now();
  const res = await fn({ short });
  console.log(`\n## ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  for (const [k, v] of Object.entries(res)) console.log(`  ${k.padEnd(40)} ${v}`);
}

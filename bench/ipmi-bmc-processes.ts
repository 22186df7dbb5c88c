/**
 * The two BMCs the IPMI benchmark compares, each started as its own process
 * with its files in a fresh temporary directory, listening on loopback only,
 * and stopped (SIGTERM, then SIGKILL) when the benchmark is done:
 *
 * - bmcemu: `bmcemu run --no-host` (the compiled CLI next to this file),
 *   serving QEMU's ipmi-bmc-extern on <runtime>/ipmi.sock.
 * - OpenIPMI's ipmi_sim: a lan.conf with one VM-codec serial interface on a
 *   loopback TCP port (`serial 15 127.0.0.1 PORT codec VM`, as in OpenIPMI's
 *   sample lan.conf) and an emulator command file that builds a BMC at IPMB
 *   0x20 comparable to bmcemu's: a SEL, a temperature sensor with its SDR,
 *   a FRU device 0 (ipmi_sim_cmd(5)).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IPMI_SOCKET } from '../transport/runtime-files.js';
import type { VmEndpoint } from './ipmi-vm-client.js';

export interface BmcProcess {
  name: string;
  endpoint: VmEndpoint;
  pid: number;
  /** Why the process is gone (exit code or signal and its last output), null while it runs. */
  exited(): string | null;
  /** User+system CPU seconds the process has used so far (null where /proc is absent). */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

/** ipmi_sim on PATH, or $BMCEMU_IPMI_SIM; null when there is none. */
export function findIpmiSim(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = env.BMCEMU_IPMI_SIM ? [env.BMCEMU_IPMI_SIM] : (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'ipmi_sim'));
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return null;
}

/** The sensor both BMCs have: bmcemu's "Inlet Temp", and the one the emu file below creates. */
export const BENCH_SENSOR_NUMBER = 0x01;

/**
 * The ipmi_sim BMC: MC 0x20 with bmcemu's manufacturer-independent shape
 * (device support 0x9F: chassis, bridge, event generator and receiver, FRU,
 * SEL, SDR repository, sensors), a 1000-entry SEL, temperature sensor 01h
 * at 0x18 (24 °C, as bmcemu's) with upper thresholds and a full sensor SDR
 * in the main repository, and a 256-byte FRU device 0.
 */
export function ipmiSimEmuFile(): string {
  return [
    'mc_setbmc 0x20',
    'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr',
    'sel_enable 0x20 1000 0x0a',
    `sensor_add 0x20 0 ${BENCH_SENSOR_NUMBER} 0x01 0x01`,
    `sensor_set_value 0x20 0 ${BENCH_SENSOR_NUMBER} 0x18 0`,
    `sensor_set_threshold 0x20 0 ${BENCH_SENSOR_NUMBER} settable 111000 0x32 0x2d 0x28 00 00 00`,
    `main_sdr_add 0x20 ${temperatureSdr().map((b) => `0x${b.toString(16)}`).join(' ')}`,
    'mc_add_fru_data 0x20 0 256 data 0x01 0x00 0x00 0x00 0x00 0x00 0x00 0xff',
    'mc_enable 0x20',
    '',
  ].join('\n');
}

/**
 * A Full Sensor Record (IPMI 2.0 §43.1, type 01h) for the bench sensor, as
 * bmcemu describes its "Inlet Temp": owner 0x20 LUN 0, entity 37h.1, a
 * threshold temperature sensor in °C with M=1, B=0, nominal 24, upper
 * thresholds 40/45/50 readable and settable, hysteresis 1/1.
 */
export function temperatureSdr(): number[] {
  const id = [...Buffer.from('Inlet Temp')];
  const body = [
    0x20, 0x00, BENCH_SENSOR_NUMBER, // key: owner id, owner LUN, sensor number
    0x37, 0x01, // entity id (air inlet), instance
    0x7f, // initialisation: scanning, events, thresholds, hysteresis, type; events and scanning on
    0x68, // capabilities: auto re-arm, hysteresis and thresholds readable+settable, per-threshold events
    0x01, 0x01, // sensor type temperature, event/reading type threshold
    0x00, 0x00, 0x00, 0x00, // assertion / deassertion event masks: none
    0x38, 0x38, // readable, settable thresholds: UNC, UCR, UNR
    0x00, 0x01, 0x00, // units: unsigned, degrees C, no modifier
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // linear, M=1, tolerance 0, B=0, accuracy 0, R/B exponents 0
    0x01, // analog flags: nominal reading given
    0x18, 0x23, 0x00, 0xff, 0x00, // nominal 24, normal max 35, normal min 0, sensor max/min
    0x32, 0x2d, 0x28, 0x00, 0x00, 0x00, // UNR 50, UCR 45, UNC 40, LNR, LCR, LNC
    0x01, 0x01, // positive/negative hysteresis
    0x00, 0x00, 0x00, // reserved, reserved, OEM
    0xc0 | id.length, ...id, // 8-bit ASCII id string
  ];
  return [0x00, 0x00, 0x51, 0x01, body.length, ...body];
}

function lanConf(port: number): string {
  return ['name "bmcemu-bench"', 'set_working_mc 0x20', `  serial 15 127.0.0.1 ${port} codec VM`, ''].join('\n');
}

async function freeLoopbackPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Keep the last few KiB a child printed, for the error message when it dies. */
function tail(child: ChildProcess): () => string {
  let out = '';
  const add = (d: Buffer): void => {
    out = (out + d.toString()).slice(-4096);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out.trim();
}

/**
 * CPU seconds a process has used: the sum over its threads of
 * /proc/<pid>/task/<tid>/schedstat's first field (nanoseconds on the CPU),
 * so GC and worker threads count too; null where /proc is absent. Time of
 * threads that already exited is lost, which is fine for BMCs whose threads
 * live as long as they do.
 */
function procCpuSeconds(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* the thread just ended */
      }
    }
    return ns / 1e9;
  } catch {
    return null;
  }
}

function supervise(name: string, child: ChildProcess, endpoint: VmEndpoint, dir: string): BmcProcess {
  const output = tail(child);
  let exit: string | null = null;
  // Should the benchmark die without stopping it, the child goes too.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      process.off('exit', killOnExit);
      exit = `${name} exited (${signal ?? `code ${code}`})${output() ? `: ${output()}` : ''}`;
      resolve();
    });
    child.once('error', (e) => {
      exit = `${name} did not start: ${e.message}`;
      resolve();
    });
  });
  return {
    name,
    endpoint,
    pid: child.pid ?? -1,
    exited: () => exit,
    cpuSeconds: () => (child.pid ? procCpuSeconds(child.pid) : null),
    async stop() {
      if (exit === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startIpmiSim(bin: string): Promise<BmcProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ipmisim-'));
  const port = await freeLoopbackPort();
  fs.writeFileSync(path.join(dir, 'lan.conf'), lanConf(port));
  fs.writeFileSync(path.join(dir, 'bmc.emu'), ipmiSimEmuFile());
  fs.mkdirSync(path.join(dir, 'state'));
  // -n: no console on stdin/stdout; -p: persist nothing (a fresh BMC every run).
  const child = spawn(bin, ['-n', '-p', '-c', path.join(dir, 'lan.conf'), '-f', path.join(dir, 'bmc.emu'), '-s', path.join(dir, 'state')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return supervise('ipmi_sim', child, { kind: 'tcp', host: '127.0.0.1', port }, dir);
}

/** A script of this project, compiled beside this file (.js; .ts under a TypeScript loader). */
function sibling(...parts: string[]): string {
  const self = fileURLToPath(import.meta.url);
  return `${path.join(path.dirname(self), ...parts)}${path.extname(self)}`;
}

export async function startBmcemu(): Promise<BmcProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bmcemu-'));
  const runtimeDir = path.join(dir, 'run');
  const stateDir = path.join(dir, 'state');
  // The API listens on an ephemeral loopback port by default; nothing here uses it.
  const child = spawn(process.execPath, [...process.execArgv, sibling('..', 'cli', 'bmcemu'), 'run', '--no-host', '--runtime-dir', runtimeDir, '--state-dir', stateDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BMCEMU_API_TOKEN: '' },
  });
  return supervise('bmcemu', child, { kind: 'unix', path: path.join(runtimeDir, IPMI_SOCKET) }, dir);
}

/** The floor (bench/ipmi-null-bmc.ts): one process answering at once on a UNIX socket and a loopback TCP port. */
export async function startNullBmc(): Promise<{ unix: BmcProcess; tcp: BmcProcess }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-nullbmc-'));
  const sock = path.join(dir, 'ipmi.sock');
  const port = await freeLoopbackPort();
  const child = spawn(process.execPath, [...process.execArgv, sibling('ipmi-null-bmc'), sock, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const unix = supervise('floor (UNIX)', child, { kind: 'unix', path: sock }, dir);
  return { unix, tcp: { ...unix, name: 'floor (TCP)', endpoint: { kind: 'tcp', host: '127.0.0.1', port } } };
}

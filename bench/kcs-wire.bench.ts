/**
 * KCS wire and LPC window between two processes, the way a host agent in a
 * QEMU guest talks to the BMC model: this process is the BMC (a KCS channel
 * behind a KcsWireServer on a UNIX socket, and the window file), a forked
 * copy of this file is the host (KcsWireClient + WindowFile).
 *
 * Reports: sequential KCS round trips/s (one access in flight, the astlpc
 * pattern), pipelined accesses/s (64 in flight), window pwrite/pread MB/s in
 * the host process, and a window round trip with KCS doorbells both ways
 * (host writes a buffer + Tx Begin, BMC reads it and writes it back + ODR,
 * host takes the interrupt and reads it) in MB/s of payload moved.
 *
 * Run directly: node dist/bench/kcs-wire.bench.js [--short] (after the
 * build), or through a TypeScript loader; the child is forked with this
 * process's execArgv, so it loads the same way.
 */
import { fork } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { KcsHostPort, KcsHostReg } from '../hw-models/kcs-host-port.js';
import { ChardevSocket } from '../transport/chardev-socket.js';
import { KcsWireClient } from '../transport/kcs-wire/client.js';
import { KcsWireServer } from '../hw-models/wire-servers/kcs-wire-server.js';
import { MCTP_WINDOW_SIZE, WindowFile, createWindowFile, windowFilePath } from '../transport/window-file.js';

export interface BenchOptions {
  short: boolean;
}

const CHILD_FLAG = '--kcs-wire-bench-child';
const OBF = 0x01;
const IBF = 0x02;
const CD = 0x08;
/** Window layout for the transfer phase: host→BMC buffer, BMC→host buffer (as astlpc places them). */
const XFER_SIZE = 256 * 1024;
const H2B_OFFSET = 0x100;
const B2H_OFFSET = H2B_OFFSET + XFER_SIZE;

/**
 * Just enough KCS channel for the benchmark (the benchmark must not depend on
 * the real model's timing). Host-side semantics as the hardware's.
 */
class BenchKcs extends EventEmitter implements KcsHostPort {
  str = 0;
  idr = 0;
  odr = 0;
  hostRead(reg: KcsHostReg): number {
    if (reg === 1) return this.str;
    this.str &= ~OBF;
    return this.odr;
  }
  hostWrite(reg: KcsHostReg, value: number): number {
    this.idr = value;
    this.str = reg === 0 ? (this.str | IBF) & ~CD : this.str | IBF | CD;
    this.emit('ibf');
    return this.str;
  }
  peekStatus(): number {
    return this.str;
  }
  bmcReadData(): number {
    this.str &= ~IBF;
    return this.idr;
  }
  bmcWriteData(v: number): void {
    const rose = !(this.str & OBF);
    this.odr = v;
    this.str |= OBF;
    if (rose) this.emit('host-irq', this.str);
  }
}

interface ChildArgs {
  socket: string;
  window: string;
  phaseMs: number;
}

type Results = Record<string, number | string>;

// ------------------------------------------------------------------ host side (child)

async function timed(phaseMs: number, body: () => Promise<number> | number): Promise<{ units: number; secs: number }> {
  const start = performance.now();
  let units = 0;
  while (performance.now() - start < phaseMs) units += await body();
  return { units, secs: (performance.now() - start) / 1000 };
}

async function hostMain(args: ChildArgs): Promise<Results> {
  const client = KcsWireClient.forEndpoint({ kind: 'unix', path: args.socket }, { reconnect: false, timeoutMs: 10_000 });
  let interrupt: (() => void) | null = null;
  client.on('interrupt', () => {
    const w = interrupt;
    interrupt = null;
    w?.();
  });
  await client.connect();
  const win = WindowFile.open(args.window, { size: MCTP_WINDOW_SIZE });
  const out: Results = {};

  // 1. Sequential round trips: STR reads, one in flight.
  const seq = await timed(args.phaseMs, async () => {
    for (let i = 0; i < 100; i++) await client.read(1);
    return 100;
  });
  out['kcs round trips/s (1 in flight)'] = Math.round(seq.units / seq.secs);
  out['kcs round trip µs'] = Number(((seq.secs / seq.units) * 1e6).toFixed(1));

  // 2. Pipelined: 64 STR reads in flight.
  const pipe = await timed(args.phaseMs, async () => {
    const batch: Promise<number>[] = [];
    for (let i = 0; i < 64; i++) batch.push(client.read(1));
    await Promise.all(batch);
    return 64;
  });
  out['kcs accesses/s (64 in flight)'] = Math.round(pipe.units / pipe.secs);

  // 3. Raw window I/O from the host process, 64 KiB positional accesses.
  const chunk = Buffer.alloc(64 * 1024, 0xa5);
  let off = 0;
  const wr = await timed(args.phaseMs, () => {
    win.write(off, chunk);
    off = (off + chunk.length) % MCTP_WINDOW_SIZE;
    return chunk.length;
  });
  out['window pwrite MB/s (64 KiB)'] = Number((wr.units / wr.secs / 1e6).toFixed(0));
  const rd = await timed(args.phaseMs, () => {
    win.readInto(off, chunk);
    off = (off + chunk.length) % MCTP_WINDOW_SIZE;
    return chunk.length;
  });
  out['window pread MB/s (64 KiB)'] = Number((rd.units / rd.secs / 1e6).toFixed(0));

  // 4. Round trip through the window with KCS doorbells both ways.
  const payload = Buffer.alloc(XFER_SIZE);
  for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
  const back = Buffer.alloc(XFER_SIZE);
  let verified = true;
  let rounds = 0;
  const xfer = await timed(args.phaseMs, async () => {
    win.write(H2B_OFFSET, payload);
    const irq = new Promise<void>((r) => (interrupt = r));
    await client.write(0, 0x01); // Tx Begin
    await irq;
    await client.read(0); // take the BMC's byte, clearing OBF
    win.readInto(B2H_OFFSET, back);
    // Full compare once (correctness), a spot check after (speed).
    if (rounds++ === 0 ? !back.equals(payload) : back[XFER_SIZE - 1] !== payload[XFER_SIZE - 1]) verified = false;
    return 2 * XFER_SIZE;
  });
  out['window round trip MB/s (256 KiB each way + doorbells)'] = Number((xfer.units / xfer.secs / 1e6).toFixed(0));
  out['window round trip verified'] = verified ? 'yes' : 'NO';

  win.close();
  await client.close();
  return out;
}

// ------------------------------------------------------------------ BMC side (parent)

export async function run(opts: BenchOptions): Promise<Results> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmcemu-kcsb-'));
  const socketPath = path.join(dir, 'kcs.sock');
  const windowPath = windowFilePath(dir);
  createWindowFile(windowPath, MCTP_WINDOW_SIZE);
  const bmcWin = WindowFile.open(windowPath, { size: MCTP_WINDOW_SIZE });
  const kcs = new BenchKcs();
  const bounce = Buffer.alloc(XFER_SIZE);
  // The BMC firmware: on Tx Begin, copy the host's buffer back and raise ODR.
  kcs.on('ibf', () => {
    if (kcs.bmcReadData() !== 0x01) return;
    bmcWin.readInto(H2B_OFFSET, bounce);
    bmcWin.write(B2H_OFFSET, bounce);
    kcs.bmcWriteData(0x02);
  });
  const chardev = new ChardevSocket({ endpoint: { kind: 'unix', path: socketPath }, role: 'server' });
  const server = new KcsWireServer(kcs, chardev, { channel: 1 });
  await chardev.listen();
  try {
    const args: ChildArgs = { socket: socketPath, window: windowPath, phaseMs: opts.short ? 250 : 2000 };
    const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = once(child, 'exit');
    child.send(args);
    const [msg] = (await Promise.race([once(child, 'message'), exited.then(([code]) => Promise.reject(new Error(`bench child exited with ${code}`)))])) as [
      { ok: boolean; results?: Results; error?: string },
    ];
    await exited;
    if (!msg.ok) throw new Error(`bench child failed: ${msg.error}`);
    const st = server.stats();
    return { ...msg.results!, 'server frames in': st.framesIn, 'server interrupts sent': st.interruptsSent };
  } finally {
    server.detach();
    await chardev.close();
    bmcWin.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes(CHILD_FLAG)) {
  process.once('message', (args: ChildArgs) => {
    hostMain(args).then(
      (results) => process.send!({ ok: true, results }, () => process.disconnect()),
      (err: Error) => process.send!({ ok: false, error: err.stack ?? String(err) }, () => process.disconnect()),
    );
  });
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run({ short: process.argv.includes('--short') }).then((r) => console.table(r));
}

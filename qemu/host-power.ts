/**
 * Host power, the way a BMC controls its host: the host is a QEMU process
 * that bmcemu starts and owns. Power on spawns it; hard off quits or kills
 * it; soft off presses the ACPI power button and waits; reset is
 * system_reset; a power cycle is off then on.
 *
 * State machine (one QEMU at a time):
 *
 *             powerOn()            cont done / RESUME
 *    off ───────────────► starting ───────────────────► running ◄──► paused
 *     ▲  ▲                   │ exit (start failed)        │  (STOP / RESUME)
 *     │  └───────────────────┘                            │ hardOff() / softOff() / SHUTDOWN
 *     │                                                   ▼
 *     └─────────────── QEMU exited ────────────────── stopping
 *
 *    running/paused ── QEMU exits unexpectedly (crash, kill -9) ──► crashed
 *    crashed ── powerOn() ──► starting
 *
 * - The process exit is the truth for "off": QMP events only explain it
 *   (SHUTDOWN says the guest or a quit asked for it, so the exit is
 *   expected). An exit that nothing announced is a crash.
 * - QEMU is started paused (-S); we attach QMP and wait for the console
 *   chardev to connect before `cont`, so no console byte is lost and every
 *   event from the first instruction on is seen.
 * - Guest resets (QMP system_reset, or the guest rebooting) keep the state
 *   `running` and start a new boot: `boots` increments and the console mark
 *   moves, so waits "since boot" see only the new boot's lines.
 * - Operations are serialised: powerOn() during a softOff() waits for it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { systemClock, type Clock } from '../lib/clock.js';
import { ChardevSocket } from '../transport/chardev-socket.js';
import type { ByteLink } from '../transport/byte-link.js';
import { whichSync } from './which.js';
import { buildQemuArgv, parseQemuVersion, shellQuote, type MachineSpec, type QemuVersion } from './cmdline.js';
import { ConsoleLog, type ConsoleLine, type LinePattern } from './console-log.js';
import { guardChild, pdeathsigPrefix } from './process-guard.js';
import { isQemuError } from './errors.js';
import { QmpClient, type QmpEvent } from './qmp.js';

export type HostPowerState = 'off' | 'starting' | 'running' | 'paused' | 'stopping' | 'crashed';

export type HostPowerErrorCode =
  /** The QEMU binary is not installed. */
  | 'ERR_QEMU_MISSING'
  /** QEMU exited or never became controllable while powering on. */
  | 'ERR_HOST_START_FAILED'
  /** The operation needs the host on (reset) or is not possible now. */
  | 'ERR_HOST_NOT_RUNNING'
  /** The manager was closed. */
  | 'ERR_HOST_CLOSED';

export class HostPowerError extends Error {
  constructor(
    readonly code: HostPowerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HostPowerError';
  }
}

export interface HostStateChange {
  from: HostPowerState;
  to: HostPowerState;
  reason: string;
}

/** Something the host did, for the BMC's log and the API. */
export interface HostEvent {
  type: 'reset' | 'shutdown' | 'powerdown' | 'stop' | 'resume' | 'panic' | 'exit';
  /** QMP event data, or for 'exit' the exit code/signal. */
  data: Record<string, unknown>;
  boot: number;
}

export interface HostPowerSnapshot {
  state: HostPowerState;
  pid: number | undefined;
  boots: number;
  accel: string | undefined;
  qemuVersion: string | undefined;
  lastExit: { code: number | null; signal: string | null; expected: boolean; at: string } | undefined;
  lastError: string | undefined;
  console: { bytes: number; connected: boolean };
  argv: string[] | undefined;
}

export interface HostPowerOptions {
  /** The machine to start, asked anew at every power-on (images and accelerator may change). */
  machine: () => MachineSpec | Promise<MachineSpec>;
  /**
   * The guest console's other end. Default: HostPower serves the console
   * chardev itself (a UNIX socket server at the path of the machine's first
   * serial chardev). Pass a ByteLink (e.g. the BMC's VUART wire) to only
   * tap it instead.
   */
  console?: ByteLink;
  /** For waits and QMP timeouts. Process waits use real time regardless. */
  clock?: Clock;
  /** QMP attach deadline at power-on (default 30 s). */
  startTimeoutMs?: number;
  /** How long soft off waits for the guest before a hard off (default 60 s). */
  softOffTimeoutMs?: number;
  /** After `quit`, how long before SIGKILL (default 5 s). */
  quitTimeoutMs?: number;
  /** Start QEMU under setpriv --pdeathsig (default true). */
  pdeathsig?: boolean;
  /** The console log's sizes. */
  consoleLog?: ConstructorParameters<typeof ConsoleLog>[0];
}

const versionCache = new Map<string, QemuVersion & { text: string }>();

async function qemuVersion(binary: string): Promise<QemuVersion & { text: string }> {
  const hit = versionCache.get(binary);
  if (hit) return hit;
  const { stdout } = await promisify(execFile)(binary, ['--version'], { timeout: 15_000 });
  const v = { ...parseQemuVersion(stdout), text: stdout.split('\n')[0]!.trim() };
  versionCache.set(binary, v);
  return v;
}

/** The install hint for a missing QEMU binary. */
export function qemuMissingMessage(binary: string): string {
  return (
    `${binary} not found on PATH. Install QEMU: run scripts/install-system-deps.sh as root ` +
    `(it runs apt-get install qemu-system-x86), or: sudo apt-get install --no-install-recommends qemu-system-x86`
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** true if p settles within ms; the timer is cleared either way (no idle timers keep the process up). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Events: 'state' (HostStateChange), 'host-event' (HostEvent), 'qmp-event'
 * (QmpEvent, all of them), 'log' (string: one line for the CLI / BMC log).
 */
export class HostPower extends EventEmitter {
  readonly console: ConsoleLog;
  readonly #opts: HostPowerOptions;
  readonly #clock: Clock;
  #state: HostPowerState = 'off';
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #qmp: QmpClient | undefined;
  #consoleLink: ByteLink | undefined;
  #ownConsole: ChardevSocket | undefined;
  #ownConsolePath: string | undefined;
  #boots = 0;
  #bootMark = 0;
  #expectExit = false;
  #expectReason = '';
  #stderrTail: string[] = [];
  #lastExit: HostPowerSnapshot['lastExit'];
  #lastError: string | undefined;
  #accel: string | undefined;
  #versionText: string | undefined;
  #argv: string[] | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #resetWaiters: Array<() => void> = [];
  /** Console mark at the last RESET event (to merge back-to-back resets). */
  #resetMark = -1;

  constructor(opts: HostPowerOptions) {
    super();
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.console = new ConsoleLog({ clock: this.#clock, ...opts.consoleLog });
    if (opts.console) this.#attachConsole(opts.console);
  }

  get state(): HostPowerState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Boots since this manager was created (power-ons plus resets). */
  get boots(): number {
    return this.#boots;
  }

  /** The console mark at the start of the current boot. */
  get bootMark(): number {
    return this.#bootMark;
  }

  /** The QMP client while QEMU runs (for commands HostPower does not wrap). */
  get qmp(): QmpClient | undefined {
    return this.#qmp;
  }

  /** The console wire (to type into the guest's console). */
  get consoleLink(): ByteLink | undefined {
    return this.#consoleLink;
  }

  snapshot(): HostPowerSnapshot {
    return {
      state: this.#state,
      pid: this.pid,
      boots: this.#boots,
      accel: this.#accel,
      qemuVersion: this.#versionText,
      lastExit: this.#lastExit,
      lastError: this.#lastError,
      console: { bytes: this.console.totalBytes, connected: this.#consoleLink?.connected ?? false },
      argv: this.#argv,
    };
  }

  #log(line: string): void {
    this.emit('log', `host: ${line}`);
  }

  #setState(to: HostPowerState, reason: string): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#log(`${from} -> ${to} (${reason})`);
    this.emit('state', { from, to, reason } satisfies HostStateChange);
  }

  #attachConsole(link: ByteLink): void {
    this.#consoleLink = link;
    link.on('data', (b: Buffer) => this.console.feed(b));
  }

  /** Serialise operations. */
  #op<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Write to the guest console (what a person types). False if the console is not connected. */
  consoleWrite(data: string | Uint8Array): boolean {
    return this.#consoleLink?.write(typeof data === 'string' ? Buffer.from(data) : data) ?? false;
  }

  /**
   * Wait for a console line. By default only lines of the current boot count
   * (since the last power-on or reset); pass `after` to choose the mark.
   */
  waitForConsoleLine(pattern: LinePattern, opts: { timeoutMs?: number; after?: number; partial?: boolean } = {}): Promise<ConsoleLine> {
    return this.console.waitForLine(pattern, { after: opts.after ?? this.#bootMark, ...opts });
  }

  /** Resolve when the state becomes `want` (at once if it is). */
  waitForState(want: HostPowerState | HostPowerState[], timeoutMs = 60_000): Promise<HostPowerState> {
    const wants = Array.isArray(want) ? want : [want];
    if (wants.includes(this.#state)) return Promise.resolve(this.#state);
    return new Promise((resolve, reject) => {
      const onState = (c: HostStateChange): void => {
        if (!wants.includes(c.to)) return;
        this.off('state', onState);
        timer.cancel();
        resolve(c.to);
      };
      const timer = this.#clock.setTimeout(() => {
        this.off('state', onState);
        reject(new Error(`host did not reach ${wants.join('/')} within ${timeoutMs} ms (state ${this.#state})`));
      }, timeoutMs);
      this.on('state', onState);
    });
  }

  async #ensureOwnConsole(spec: MachineSpec): Promise<void> {
    if (this.#opts.console) return;
    const id = spec.serials[0];
    const dev = spec.chardevs.find((c) => c.id === id);
    if (!dev) return;
    if (this.#ownConsole && this.#ownConsolePath === dev.path) return;
    if (this.#ownConsole) await this.#ownConsole.close();
    const sock = new ChardevSocket({ role: 'server', endpoint: { kind: 'unix', path: dev.path } });
    sock.on('socket-error', () => {}); // counted in its stats; a QEMU going away is normal
    await sock.listen();
    this.#ownConsole = sock;
    this.#ownConsolePath = dev.path;
    this.#attachConsole(sock);
  }

  /** Power on: start QEMU and run the guest. Resolves once the vCPUs run. No-op if already on. */
  powerOn(): Promise<void> {
    return this.#op(async () => {
      if (this.#closed) throw new HostPowerError('ERR_HOST_CLOSED', 'host power manager is closed');
      if (this.#state === 'running' || this.#state === 'paused') return;
      await this.#start();
    });
  }

  async #start(): Promise<void> {
    this.#lastError = undefined;
    this.#setState('starting', 'power on');
    try {
      const spec = await this.#opts.machine();
      const resolved = spec.binary.includes('/') ? spec.binary : whichSync(spec.binary);
      if (!resolved || !fs.existsSync(resolved)) throw new HostPowerError('ERR_QEMU_MISSING', qemuMissingMessage(spec.binary));
      const version = await qemuVersion(resolved);
      this.#versionText = version.text;
      this.#accel = spec.accel;
      const argv = buildQemuArgv(spec, version); // validates the spec, QMP chardev included
      const qmpPath = spec.chardevs.find((c) => c.id === spec.qmp)!.path;
      await this.#ensureOwnConsole(spec);
      removeStaleSocket(qmpPath);
      this.#argv = [resolved, ...argv];
      const prefix = this.#opts.pdeathsig === false ? [] : pdeathsigPrefix();
      if (this.#opts.pdeathsig !== false && prefix.length === 0) {
        this.#log('warning: setpriv (util-linux) not found; QEMU will not be killed if bmcemu is killed with SIGKILL');
      }
      const [cmd, ...args] = [...prefix, resolved, ...argv];
      this.#log(`starting ${spec.name}: ${spec.machine}, ${spec.accel.toUpperCase()}, ${spec.memoryMiB} MiB (${version.text})`);
      this.#log(`command: ${shellQuote([resolved, ...argv])}`);
      this.#spawn(cmd!, args);
      this.#qmp = await this.#attachQmp(qmpPath);
      this.#log(`QEMU pid ${this.pid}, QMP connected`);
      await this.#waitConsoleConnected(3000);
      this.console.breakLine();
      this.#boots++;
      this.#bootMark = this.console.mark();
      this.#resetMark = -1;
      if (spec.startPaused) await this.#qmp.execute('cont');
      if (this.#state === 'starting') this.#setState('running', 'vCPUs running');
    } catch (e) {
      const err = e as Error;
      this.#lastError = err.message;
      if (this.#child) {
        this.#expectExit = true;
        this.#expectReason = 'start failed';
        this.#child.kill('SIGKILL');
        await this.#exited;
      }
      if (this.#state === 'starting') this.#setState('off', `start failed: ${err.message.split('\n')[0]}`);
      if (err instanceof HostPowerError) throw err;
      throw new HostPowerError('ERR_HOST_START_FAILED', `powering on the host failed: ${err.message}${this.#stderrHint()}`);
    }
  }

  #stderrHint(): string {
    return this.#stderrTail.length ? `\nQEMU said:\n${this.#stderrTail.slice(-10).map((l) => `  ${l}`).join('\n')}` : '';
  }

  #spawn(cmd: string, args: string[]): void {
    this.#expectExit = false;
    this.#expectReason = '';
    this.#stderrTail = [];
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    guardChild(child);
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      for (const l of lines) this.#qemuSaid(l);
    });
    this.#exited = new Promise<void>((resolve) => {
      let done = false;
      const onGone = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        if (partial) this.#qemuSaid(partial);
        this.#onExit(child, code, signal);
        resolve();
      };
      child.on('exit', onGone);
      child.on('error', (e) => {
        this.#qemuSaid(`spawn failed: ${e.message}`);
        onGone(null, null);
      });
    });
  }

  #qemuSaid(line: string): void {
    const l = line.trimEnd();
    if (!l) return;
    this.#stderrTail.push(l);
    if (this.#stderrTail.length > 50) this.#stderrTail.shift();
    this.#log(`qemu: ${l}`);
  }

  async #attachQmp(path: string): Promise<QmpClient> {
    const deadline = Date.now() + (this.#opts.startTimeoutMs ?? 30_000);
    let lastErr: Error | undefined;
    while (Date.now() < deadline) {
      if (!this.#child || this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new Error(`QEMU exited during start-up`);
      }
      try {
        const qmp = await QmpClient.connect(path, { timeoutMs: 5000, clock: this.#clock });
        qmp.on('event', (ev: QmpEvent) => this.#onQmpEvent(ev));
        qmp.on('protocol-error', (e: Error) => this.#log(`QMP protocol error: ${e.message}`));
        return qmp;
      } catch (e) {
        lastErr = e as Error;
        await sleep(25);
      }
    }
    throw new Error(`QMP did not come up on ${path}: ${lastErr?.message ?? 'timeout'}`);
  }

  async #waitConsoleConnected(ms: number): Promise<void> {
    const link = this.#consoleLink;
    if (!link || link.connected) return;
    const deadline = Date.now() + ms;
    while (!link.connected && Date.now() < deadline && this.#child?.exitCode === null) await sleep(10);
    if (!link.connected) this.#log(`warning: the console chardev did not connect within ${ms} ms; early console output may be lost`);
  }

  #hostEvent(type: HostEvent['type'], data: Record<string, unknown>): void {
    this.emit('host-event', { type, data, boot: this.#boots } satisfies HostEvent);
  }

  #onQmpEvent(ev: QmpEvent): void {
    this.emit('qmp-event', ev);
    switch (ev.event) {
      case 'RESET':
        this.console.breakLine();
        // SeaBIOS answers a reset of an already-initialised machine with a
        // second (guest) reset before printing anything: one boot, not two.
        if (this.#boots === 0 || this.console.mark() !== this.#resetMark) this.#boots++;
        this.#bootMark = this.console.mark();
        this.#resetMark = this.#bootMark;
        this.#log(`reset (${String(ev.data.reason ?? (ev.data.guest ? 'guest' : 'host'))}); boot ${this.#boots}`);
        this.#hostEvent('reset', ev.data);
        for (const w of this.#resetWaiters.splice(0)) w();
        break;
      case 'SHUTDOWN': {
        // QEMU exits after this (no -no-shutdown): the exit that follows is expected.
        this.#expectExit = true;
        this.#expectReason = `shutdown: ${String(ev.data.reason ?? 'unknown')}`;
        this.#hostEvent('shutdown', ev.data);
        if (this.#state === 'running' || this.#state === 'paused') this.#setState('stopping', this.#expectReason);
        break;
      }
      case 'POWERDOWN':
        this.#log('ACPI power button pressed');
        this.#hostEvent('powerdown', ev.data);
        break;
      case 'STOP':
        this.#hostEvent('stop', ev.data);
        if (this.#state === 'running') this.#setState('paused', 'vCPUs stopped');
        break;
      case 'RESUME':
        this.#hostEvent('resume', ev.data);
        if (this.#state === 'paused') this.#setState('running', 'vCPUs resumed');
        break;
      case 'GUEST_PANICKED':
        this.#log('guest panicked');
        this.#hostEvent('panic', ev.data);
        break;
    }
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    const expected = this.#expectExit;
    this.#lastExit = { code, signal, expected, at: new Date().toISOString() };
    this.#qmp?.close();
    this.#qmp = undefined;
    for (const w of this.#resetWaiters.splice(0)) w();
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    this.#hostEvent('exit', { code, signal, expected });
    const wasStarting = this.#state === 'starting';
    this.console.breakLine();
    if (expected || wasStarting) {
      this.#log(`QEMU exited (${how}${this.#expectReason ? `; ${this.#expectReason}` : ''})`);
      // A failed start is reported by #start itself (it owns the transition).
      if (!wasStarting) this.#setState('off', this.#expectReason || how);
    } else {
      this.#lastError = `QEMU exited unexpectedly (${how})${this.#stderrHint()}`;
      this.#log(`QEMU exited unexpectedly (${how}): host crashed`);
      this.#setState('crashed', `QEMU ${how}`);
    }
    this.console.abortWaiters(`the host ${expected ? 'powered off' : 'crashed'} (QEMU ${how})`);
  }

  /** Hard off: QMP quit (QEMU exits at once), SIGKILL if it does not. Resolves when QEMU is gone. */
  hardOff(): Promise<void> {
    return this.#op(() => this.#hardOff('hard off'));
  }

  async #hardOff(reason: string): Promise<void> {
    const child = this.#child;
    if (!child) {
      // Nothing runs; a crashed host is acknowledged as off.
      if (this.#state === 'stopping' || this.#state === 'crashed') this.#setState('off', reason);
      return;
    }
    this.#expectExit = true;
    this.#expectReason = reason;
    if (this.#state !== 'stopping') this.#setState('stopping', reason);
    const qmp = this.#qmp;
    if (qmp && !qmp.closed) {
      await qmp.execute('quit', undefined, { timeoutMs: 2000 }).catch((e: Error) => {
        if (!isQemuError(e, 'ERR_QMP_CLOSED')) this.#log(`quit failed (${e.message}); killing QEMU`);
      });
    }
    const exited = this.#exited!;
    const gone = await within(exited, this.#opts.quitTimeoutMs ?? 5000);
    if (!gone) {
      this.#log('QEMU did not exit after quit; sending SIGKILL');
      child.kill('SIGKILL');
      await exited;
    }
  }

  /**
   * Soft off: press the ACPI power button (system_powerdown) and wait for
   * the guest to power itself off; after the timeout, hard off. Resolves
   * with how the host went off.
   */
  softOff(opts: { timeoutMs?: number } = {}): Promise<'soft' | 'hard' | 'already-off'> {
    return this.#op(async () => {
      const child = this.#child;
      if (!child) return 'already-off';
      const timeoutMs = opts.timeoutMs ?? this.#opts.softOffTimeoutMs ?? 60_000;
      this.#setState('stopping', 'soft off (ACPI power button)');
      const exited = this.#exited!;
      try {
        await this.#qmp?.execute('system_powerdown', undefined, { timeoutMs: 5000 });
      } catch (e) {
        this.#log(`system_powerdown failed: ${(e as Error).message}`);
      }
      const gone = await within(exited, timeoutMs);
      if (gone) return 'soft';
      this.#log(`guest did not power off within ${timeoutMs} ms; hard off`);
      await this.#hardOff('soft off timed out');
      return 'hard';
    });
  }

  /** Reset (system_reset): the guest reboots at once. Resolves after QEMU reports the RESET. */
  reset(): Promise<void> {
    return this.#op(async () => {
      const qmp = this.#qmp;
      if (!qmp || (this.#state !== 'running' && this.#state !== 'paused')) {
        throw new HostPowerError('ERR_HOST_NOT_RUNNING', `cannot reset: the host is ${this.#state}`);
      }
      const seen = new Promise<void>((r) => this.#resetWaiters.push(r));
      this.console.breakLine();
      this.#bootMark = this.console.mark();
      await qmp.execute('system_reset');
      await within(seen, 10_000);
    });
  }

  /** Power cycle: off (soft with a timeout, or hard), then on. */
  async cycle(opts: { soft?: boolean; softTimeoutMs?: number } = {}): Promise<void> {
    if (opts.soft) await this.softOff(opts.softTimeoutMs !== undefined ? { timeoutMs: opts.softTimeoutMs } : {});
    else await this.hardOff();
    await this.powerOn();
  }

  /** Hard off and release the console socket. The manager cannot be used afterwards. */
  async close(): Promise<void> {
    await this.#op(async () => {
      this.#closed = true;
      await this.#hardOff('closing');
      if (this.#ownConsole) await this.#ownConsole.close();
      this.#ownConsole = undefined;
      this.console.abortWaiters('host power manager closed');
    });
  }
}

/** Remove a UNIX socket file left by a QEMU that was killed (QEMU removes it on a clean exit). */
function removeStaleSocket(p: string): void {
  try {
    if (fs.lstatSync(p).isSocket()) fs.unlinkSync(p);
  } catch {
    /* absent */
  }
}

/**
 * Host power, the way a BMC controls its host: the host is a QEMU process
 * that bmcemu starts and owns. Power on starts it; hard off quits or kills
 * it; soft off presses the ACPI power button and waits; reset is
 * system_reset; a power cycle is off then on. This module is the state
 * machine; qemu-process.ts runs the process and its QMP monitor,
 * console-wire.ts the console's other end.
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
 *   `running` and start a new boot: `boots` increments, `boot` (HostBoot)
 *   gets that number as its id and a new start time, and the console mark
 *   moves, so waits "since boot" see only the new boot's lines. A power-on
 *   starts a boot too; QEMU exiting ends it (`boot` is null while none runs).
 * - Operations are serialised: powerOn() during a softOff() waits for it.
 * - Operations reject with QemuError: ERR_QEMU_MISSING, ERR_HOST_START_FAILED,
 *   ERR_HOST_NOT_RUNNING, ERR_HOST_CLOSED (the codes the API reports).
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../lib/clock.js';
import { ConfigError, isCodedError } from '../lib/errors.js';
import { waitFor } from '../lib/wait.js';
import type { ByteLink } from '../transport/byte-link.js';
import type { MachineSpec } from './cmdline.js';
import { ConsoleLog, type ConsoleLine, type LinePattern } from './console-log.js';
import { ConsoleWire } from './console-wire.js';
import { checkMsOption, isQemuError, QemuError } from './errors.js';
import { findQemuBinary } from './qemu-binary.js';
import { qemuLaunch, QemuProcess, type QemuExit } from './qemu-process.js';
import type { QmpClient, QmpEvent } from './qmp.js';

export type HostPowerState = 'off' | 'starting' | 'running' | 'paused' | 'stopping' | 'crashed';

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

/**
 * One boot of the guest: from a power-on or a reset until the next reset or
 * until QEMU exits. Its id is the boot count at the time (1, 2, ...), unique
 * for the life of this manager, so anything stamped with it can be told
 * apart from what an earlier boot did.
 */
export interface HostBoot {
  id: number;
  reason: 'power-on' | 'reset';
  /** Wall-clock ms the boot began: when power-on started, or when QEMU reported the RESET. */
  startedAt: number;
}

export interface HostPowerSnapshot {
  state: HostPowerState;
  pid: number | undefined;
  boots: number;
  /** The boot in progress; null while no QEMU runs a guest. */
  boot: HostBoot | null;
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

/** How long power-on waits for the console chardev before `cont` (real time). */
const CONSOLE_CONNECT_MS = 3000;
/** How long reset() waits for QEMU to report the RESET. */
const RESET_SEEN_MS = 10_000;

/**
 * Events: 'state' (HostStateChange), 'host-event' (HostEvent), 'boot'
 * (HostBoot: a new boot began; after the 'reset' host-event that started
 * it), 'qmp-event' (QmpEvent, all of them), 'log' (string: one line for the
 * CLI / BMC log).
 */
export class HostPower extends EventEmitter {
  readonly console: ConsoleLog;
  readonly #opts: HostPowerOptions;
  readonly #clock: Clock;
  readonly #wire: ConsoleWire;
  #state: HostPowerState = 'off';
  /** The QEMU that runs (from spawn until its exit). */
  #proc: QemuProcess | undefined;
  #boots = 0;
  #boot: HostBoot | null = null;
  #bootMark = 0;
  #lastExit: HostPowerSnapshot['lastExit'];
  #lastError: string | undefined;
  #accel: string | undefined;
  #versionText: string | undefined;
  #argv: string[] | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Console mark at the last RESET event (to merge back-to-back resets). */
  #resetMark = -1;

  constructor(opts: HostPowerOptions) {
    super();
    if (typeof opts.machine !== 'function') throw new ConfigError('HostPower needs a machine() that returns the MachineSpec to start');
    checkMsOption('startTimeoutMs', opts.startTimeoutMs);
    checkMsOption('softOffTimeoutMs', opts.softOffTimeoutMs);
    checkMsOption('quitTimeoutMs', opts.quitTimeoutMs);
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.console = new ConsoleLog({ clock: this.#clock, ...opts.consoleLog });
    this.#wire = new ConsoleWire(this.console, opts.console);
  }

  get state(): HostPowerState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** Boots since this manager was created (power-ons plus resets). */
  get boots(): number {
    return this.#boots;
  }

  /** The boot in progress (power-on or reset until QEMU exits), or null. */
  get boot(): HostBoot | null {
    return this.#boot;
  }

  /** The console mark at the start of the current boot. */
  get bootMark(): number {
    return this.#bootMark;
  }

  /** The QMP client while QEMU runs (for commands HostPower does not wrap). */
  get qmp(): QmpClient | undefined {
    return this.#proc?.qmp;
  }

  /** The console wire (to type into the guest's console). */
  get consoleLink(): ByteLink | undefined {
    return this.#wire.link;
  }

  snapshot(): HostPowerSnapshot {
    return {
      state: this.#state,
      pid: this.pid,
      boots: this.#boots,
      boot: this.#boot,
      accel: this.#accel,
      qemuVersion: this.#versionText,
      lastExit: this.#lastExit,
      lastError: this.#lastError,
      console: { bytes: this.console.totalBytes, connected: this.#wire.connected },
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

  /** Serialise operations. */
  #op<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Write to the guest console (what a person types). False if the console is not connected. */
  consoleWrite(data: string | Uint8Array): boolean {
    return this.#wire.write(data);
  }

  /**
   * Wait for a console line. By default only lines of the current boot count
   * (since the last power-on or reset); pass `after` to choose the mark.
   */
  waitForConsoleLine(pattern: LinePattern, opts: { timeoutMs?: number; after?: number; partial?: boolean } = {}): Promise<ConsoleLine> {
    return this.console.waitForLine(pattern, { after: opts.after ?? this.#bootMark, ...opts });
  }

  /** Resolve when the state becomes `want` (at once if it is); ERR_HOST_STATE_TIMEOUT after `timeoutMs` on the clock. */
  async waitForState(want: HostPowerState | HostPowerState[], timeoutMs = 60_000): Promise<HostPowerState> {
    const wants = Array.isArray(want) ? want : [want];
    if (wants.includes(this.#state)) return this.#state;
    try {
      const [change] = await waitFor<[HostStateChange]>(this, 'state', (c) => wants.includes(c.to), {
        clock: this.#clock,
        timeoutMs,
        what: `host state ${wants.join('/')}`,
      });
      return change.to;
    } catch (e) {
      if (!isCodedError(e, 'ERR_WAIT_TIMEOUT')) throw e;
      throw new QemuError('ERR_HOST_STATE_TIMEOUT', `host did not reach ${wants.join('/')} within ${timeoutMs} ms (state ${this.#state})`, {
        details: { want: wants, state: this.#state, timeoutMs },
      });
    }
  }

  /** Power on: start QEMU and run the guest. Resolves once the vCPUs run. No-op if already on. */
  powerOn(): Promise<void> {
    return this.#op(async () => {
      if (this.#closed) throw new QemuError('ERR_HOST_CLOSED', 'host power manager is closed');
      if (this.#state === 'running' || this.#state === 'paused') return;
      await this.#start();
    });
  }

  async #start(): Promise<void> {
    // The boot begins with the power-on, as on a real machine: milestone times and uptime count from here.
    const startedAt = Date.now();
    this.#lastError = undefined;
    this.#setState('starting', 'power on');
    let proc: QemuProcess | undefined;
    try {
      const spec = await this.#opts.machine();
      const binary = await findQemuBinary(spec.binary);
      this.#versionText = binary.versionText;
      this.#accel = spec.accel;
      const launch = qemuLaunch(spec, binary); // validates the spec, QMP chardev included
      await this.#wire.serve(spec);
      this.#argv = [...launch.argv];
      this.#log(`starting ${spec.name}: ${spec.machine}, ${spec.accel.toUpperCase()}, ${spec.memoryMiB} MiB (${binary.versionText})`);
      const started = QemuProcess.start(launch, { pdeathsig: this.#opts.pdeathsig !== false, log: (l) => this.#log(l) });
      proc = started;
      this.#proc = started;
      started.on('qmp-event', (ev: QmpEvent) => this.#onQmpEvent(started, ev));
      started.on('exit', (exit: QemuExit) => this.#onExit(started, exit));
      const qmp = await started.attachQmp({ timeoutMs: this.#opts.startTimeoutMs ?? 30_000, clock: this.#clock });
      this.#log(`QEMU pid ${started.pid}, QMP connected`);
      if (!(await this.#wire.waitConnected(CONSOLE_CONNECT_MS, started.exitSignal))) {
        this.#log(`warning: the console chardev did not connect within ${CONSOLE_CONNECT_MS} ms; early console output may be lost`);
      }
      this.console.breakLine();
      this.#boots++;
      this.#bootMark = this.console.mark();
      this.#resetMark = -1;
      this.#newBoot('power-on', startedAt);
      if (spec.startPaused) await qmp.execute('cont');
      if (this.#state === 'starting') this.#setState('running', 'vCPUs running');
    } catch (e) {
      const err = e as Error;
      this.#lastError = err.message;
      if (proc) await proc.kill('start failed');
      if (this.#state === 'starting') this.#setState('off', `start failed: ${err.message.split('\n')[0]}`);
      if (isQemuError(e, 'ERR_QEMU_MISSING')) throw e;
      throw new QemuError('ERR_HOST_START_FAILED', `powering on the host failed: ${err.message}${proc?.stderrHint() ?? ''}`, { cause: e });
    }
  }

  #newBoot(reason: HostBoot['reason'], startedAt: number): void {
    this.#boot = { id: this.#boots, reason, startedAt };
    this.emit('boot', { ...this.#boot } satisfies HostBoot);
  }

  #hostEvent(type: HostEvent['type'], data: Record<string, unknown>): void {
    this.emit('host-event', { type, data, boot: this.#boots } satisfies HostEvent);
  }

  #onQmpEvent(proc: QemuProcess, ev: QmpEvent): void {
    this.emit('qmp-event', ev);
    switch (ev.event) {
      case 'RESET': {
        this.console.breakLine();
        // SeaBIOS answers a reset of an already-initialised machine with a
        // second (guest) reset before printing anything: one boot, not two.
        const newBoot = this.#boots === 0 || this.console.mark() !== this.#resetMark;
        if (newBoot) this.#boots++;
        this.#bootMark = this.console.mark();
        this.#resetMark = this.#bootMark;
        this.#log(`reset (${String(ev.data.reason ?? (ev.data.guest ? 'guest' : 'host'))}); boot ${this.#boots}`);
        if (newBoot) this.#boot = { id: this.#boots, reason: 'reset', startedAt: Date.now() };
        // Listeners of the reset see the new boot as current: what they do about it belongs to it.
        this.#hostEvent('reset', ev.data);
        if (newBoot) this.emit('boot', { ...this.#boot! } satisfies HostBoot);
        break;
      }
      case 'SHUTDOWN': {
        // QEMU exits after this (no -no-shutdown): the exit that follows is expected.
        const reason = `shutdown: ${String(ev.data.reason ?? 'unknown')}`;
        proc.expectExit(reason);
        this.#hostEvent('shutdown', ev.data);
        if (this.#state === 'running' || this.#state === 'paused') this.#setState('stopping', reason);
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

  #onExit(proc: QemuProcess, exit: QemuExit): void {
    if (this.#proc !== proc) return;
    this.#proc = undefined;
    const { code, signal, expected, reason } = exit;
    this.#lastExit = { code, signal, expected, at: exit.at };
    // No guest runs any more: the boot is over (the next one has a new id).
    this.#boot = null;
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    this.#hostEvent('exit', { code, signal, expected });
    const wasStarting = this.#state === 'starting';
    this.console.breakLine();
    if (expected || wasStarting) {
      this.#log(`QEMU exited (${how}${reason ? `; ${reason}` : ''})`);
      // A failed start is reported by #start itself (it owns the transition).
      if (!wasStarting) this.#setState('off', reason || how);
    } else {
      this.#lastError = `QEMU exited unexpectedly (${how})${proc.stderrHint()}`;
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
    const proc = this.#proc;
    if (!proc) {
      // Nothing runs; a crashed host is acknowledged as off.
      if (this.#state === 'stopping' || this.#state === 'crashed') this.#setState('off', reason);
      return;
    }
    if (this.#state !== 'stopping') this.#setState('stopping', reason);
    await proc.quit(reason, this.#opts.quitTimeoutMs ?? 5000);
  }

  /**
   * Soft off: press the ACPI power button (system_powerdown) and wait for
   * the guest to power itself off; after the timeout, hard off. Resolves
   * with how the host went off.
   */
  softOff(opts: { timeoutMs?: number } = {}): Promise<'soft' | 'hard' | 'already-off'> {
    return this.#op(async () => {
      const proc = this.#proc;
      if (!proc) return 'already-off';
      const timeoutMs = opts.timeoutMs ?? this.#opts.softOffTimeoutMs ?? 60_000;
      this.#setState('stopping', 'soft off (ACPI power button)');
      try {
        await proc.qmp?.execute('system_powerdown', undefined, { timeoutMs: 5000 });
      } catch (e) {
        this.#log(`system_powerdown failed: ${(e as Error).message}`);
      }
      if (await proc.exitsWithin(timeoutMs)) return 'soft';
      this.#log(`guest did not power off within ${timeoutMs} ms; hard off`);
      await this.#hardOff('soft off timed out');
      return 'hard';
    });
  }

  /** Reset (system_reset): the guest reboots at once. Resolves after QEMU reports the RESET. */
  reset(): Promise<void> {
    return this.#op(async () => {
      const qmp = this.#proc?.qmp;
      if (!qmp || (this.#state !== 'running' && this.#state !== 'paused')) {
        throw new QemuError('ERR_HOST_NOT_RUNNING', `cannot reset: the host is ${this.#state}`);
      }
      // Listen before asking: QEMU may send the RESET event before the reply.
      // QEMU exiting ends the wait as well; a RESET that never comes is not an error.
      const stop = new AbortController();
      const seen = waitFor<[HostEvent]>(this, 'host-event', (e) => e.type === 'reset' || e.type === 'exit', {
        clock: this.#clock,
        timeoutMs: RESET_SEEN_MS,
        signal: stop.signal,
        what: 'the RESET event',
      }).catch(() => undefined);
      this.console.breakLine();
      this.#bootMark = this.console.mark();
      try {
        await qmp.execute('system_reset');
      } catch (e) {
        stop.abort();
        throw e;
      }
      await seen;
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
      await this.#wire.close();
      this.console.abortWaiters('host power manager closed');
    });
  }
}

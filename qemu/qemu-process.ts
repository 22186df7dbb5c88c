/**
 * One QEMU process, from spawn to exit: started under setpriv --pdeathsig
 * (so it dies with bmcemu, kill -9 included), its stderr kept as the last
 * lines for error reports, its QMP monitor attached once QEMU listens, and
 * its end reported once as 'exit'.
 *
 * - The process exit is the truth: QMP events only explain it. Whoever
 *   knows an exit is coming (a SHUTDOWN event, a quit, a failed start) says
 *   so with expectExit(); an exit nobody announced is reported with
 *   `expected: false`, which the power state machine calls a crash.
 * - Process waits (QMP attach polling, quit grace, soft-off) run on real
 *   time: a child process does not follow a test's ManualClock. QMP command
 *   timeouts use the clock handed in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { systemClock, type Clock } from '../lib/clock.js';
import { delay, waitUntil } from '../lib/wait.js';
import { buildQemuArgv, shellQuote, type MachineSpec } from './cmdline.js';
import { isQemuError, QemuError } from './errors.js';
import { guardChild, pdeathsigPrefix } from './process-guard.js';
import type { QemuBinary } from './qemu-binary.js';
import { QmpClient, type QmpEvent } from './qmp.js';

export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Someone announced it (expectExit) before it happened. */
  expected: boolean;
  /** Why it was expected ('' if it was not). */
  reason: string;
  /** Wall-clock time of the exit, ISO 8601. */
  at: string;
}

/** What to run: the argv (binary first) and where its QMP monitor listens. */
export interface QemuLaunch {
  argv: readonly string[];
  qmpPath: string;
}

/**
 * The launch for `spec` on `binary`. Validates the spec (ERR_QEMU_CMDLINE:
 * ids, chardev references, socket path lengths) before anything is started.
 */
export function qemuLaunch(spec: MachineSpec, binary: QemuBinary): QemuLaunch {
  const argv = [binary.path, ...buildQemuArgv(spec, binary.version)];
  return { argv, qmpPath: spec.chardevs.find((c) => c.id === spec.qmp)!.path };
}

export interface QemuProcessOptions {
  /** Spawn under setpriv --pdeathsig (default true). */
  pdeathsig?: boolean;
  /** One line per thing worth a log line (QEMU's stderr, QMP trouble, kills). */
  log?: (line: string) => void;
}

/** stderr lines kept for error reports. */
const STDERR_KEEP = 50;

/**
 * Events: 'qmp-event' (QmpEvent, once QMP is attached), 'exit' (QemuExit,
 * once; QMP is closed by then).
 */
export class QemuProcess extends EventEmitter {
  /** The argv QEMU runs with, binary first (without the setpriv prefix). */
  readonly argv: readonly string[];
  readonly #child: ChildProcess;
  readonly #log: (line: string) => void;
  readonly #qmpPath: string;
  readonly #gone = new AbortController();
  readonly #exited: Promise<QemuExit>;
  #qmp: QmpClient | undefined;
  #exit: QemuExit | undefined;
  #expected = false;
  #reason = '';
  #stderrTail: string[] = [];

  /**
   * Spawn QEMU. A QMP socket left by a QEMU that was killed is removed
   * first, so attachQmp() never talks to a dead socket.
   */
  static start(launch: QemuLaunch, opts: QemuProcessOptions = {}): QemuProcess {
    return new QemuProcess(launch, opts);
  }

  private constructor(launch: QemuLaunch, opts: QemuProcessOptions) {
    super();
    this.#log = opts.log ?? (() => {});
    this.#qmpPath = launch.qmpPath;
    this.argv = launch.argv;
    const prefix = opts.pdeathsig === false ? [] : pdeathsigPrefix();
    if (opts.pdeathsig !== false && prefix.length === 0) {
      this.#log('warning: setpriv (util-linux) not found; QEMU will not be killed if bmcemu is killed with SIGKILL');
    }
    removeStaleSocket(this.#qmpPath);
    this.#log(`command: ${shellQuote(this.argv)}`);
    const [cmd, ...rest] = [...prefix, ...this.argv];
    const child = spawn(cmd!, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    guardChild(child);
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      for (const l of lines) this.#qemuSaid(l);
    });
    // Wraps the child's callback API: 'exit', or 'error' when it could not be spawned at all.
    this.#exited = new Promise<QemuExit>((resolve) => {
      const onGone = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.#exit) return;
        if (partial) this.#qemuSaid(partial);
        partial = '';
        this.#exit = { code, signal, expected: this.#expected, reason: this.#reason, at: new Date().toISOString() };
        this.#qmp?.close();
        this.#qmp = undefined;
        this.#gone.abort();
        this.emit('exit', this.#exit);
        resolve(this.#exit);
      };
      child.on('exit', onGone);
      child.on('error', (e) => {
        this.#qemuSaid(`spawn failed: ${e.message}`);
        onGone(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Resolves once QEMU has exited (never rejects). */
  get exited(): Promise<QemuExit> {
    return this.#exited;
  }

  /** Aborted when QEMU exits: hand it to waits that make no sense without QEMU. */
  get exitSignal(): AbortSignal {
    return this.#gone.signal;
  }

  /** The QMP client, once attached and while QEMU runs. */
  get qmp(): QmpClient | undefined {
    return this.#qmp;
  }

  /** The next exit is expected, for `reason` (a SHUTDOWN was seen, a quit or kill was asked for). */
  expectExit(reason: string): void {
    this.#expected = true;
    this.#reason = reason;
  }

  /** QEMU's last stderr lines, as an indented block for an error message ('' if it said nothing). */
  stderrHint(): string {
    return this.#stderrTail.length ? `\nQEMU said:\n${this.#stderrTail.slice(-10).map((l) => `  ${l}`).join('\n')}` : '';
  }

  #qemuSaid(line: string): void {
    const l = line.trimEnd();
    if (!l) return;
    this.#stderrTail.push(l);
    if (this.#stderrTail.length > STDERR_KEEP) this.#stderrTail.shift();
    this.#log(`qemu: ${l}`);
  }

  /**
   * Connect to QEMU's QMP socket, retrying while QEMU sets it up, within
   * `timeoutMs` of real time. ERR_QEMU_EXITED if QEMU exits first,
   * ERR_QMP_TIMEOUT if the socket never answers.
   */
  async attachQmp(opts: { timeoutMs: number; clock?: Clock }): Promise<QmpClient> {
    const deadline = systemClock.now() + opts.timeoutMs;
    let lastErr: Error | undefined;
    while (systemClock.now() < deadline) {
      if (!this.running) throw new QemuError('ERR_QEMU_EXITED', 'QEMU exited during start-up');
      try {
        const qmp = await QmpClient.connect(this.#qmpPath, { timeoutMs: 5000, ...(opts.clock ? { clock: opts.clock } : {}) });
        if (!this.running) {
          qmp.close();
          throw new QemuError('ERR_QEMU_EXITED', 'QEMU exited during start-up');
        }
        qmp.on('event', (ev: QmpEvent) => this.emit('qmp-event', ev));
        qmp.on('protocol-error', (e: Error) => this.#log(`QMP protocol error: ${e.message}`));
        this.#qmp = qmp;
        return qmp;
      } catch (e) {
        if (isQemuError(e, 'ERR_QEMU_EXITED')) throw e;
        lastErr = e as Error;
      }
      // Retry soon; at once if QEMU exits meanwhile (the timer alone would not keep Node running).
      await delay(25, { signal: this.#gone.signal }).catch(() => undefined);
    }
    throw new QemuError('ERR_QMP_TIMEOUT', `QMP did not come up on ${this.#qmpPath}: ${lastErr?.message ?? 'timeout'}`, {
      ...(lastErr ? { cause: lastErr } : {}),
    });
  }

  /** True if QEMU has exited, or exits within `ms` of real time. */
  async exitsWithin(ms: number): Promise<boolean> {
    try {
      await waitUntil(this, 'exit', () => !this.running, { clock: systemClock, timeoutMs: ms, what: 'QEMU to exit' });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * End QEMU as an expected exit: QMP `quit` (QEMU exits at once), SIGKILL
   * if it is still there after `graceMs`. Resolves when it is gone.
   */
  async quit(reason: string, graceMs: number): Promise<QemuExit> {
    if (!this.running) return this.#exited;
    this.expectExit(reason);
    const qmp = this.#qmp;
    if (qmp && !qmp.closed) {
      await qmp.execute('quit', undefined, { timeoutMs: 2000 }).catch((e: Error) => {
        if (!isQemuError(e, 'ERR_QMP_CLOSED')) this.#log(`quit failed (${e.message}); killing QEMU`);
      });
    }
    if (await this.exitsWithin(graceMs)) return this.#exited;
    this.#log('QEMU did not exit after quit; sending SIGKILL');
    return this.kill(reason);
  }

  /** SIGKILL; the exit is expected (for `reason`, unless it already was). Resolves when it is gone. */
  kill(reason: string): Promise<QemuExit> {
    if (this.running) {
      if (!this.#expected) this.expectExit(reason);
      this.#child.kill('SIGKILL');
    }
    return this.#exited;
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

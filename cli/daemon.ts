/** What the long-running commands (run, host-agent, guest-agent) share. */
import { usageError } from './errors.js';

/** Set once stdout failed (its reader went away): later lines are dropped, not written into an error. */
let stdoutClosed = false;

export function log(msg: string): void {
  if (stdoutClosed) return;
  process.stdout.write(`bmcemu: ${msg}\n`);
}

export function intOpt(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  return n;
}

/** The signals that end a daemon: Ctrl-C, kill, and the terminal going away. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Run until SIGINT, SIGTERM or SIGHUP, then `stop` and exit (0, or 1 if
 * stopping failed). A second signal while stopping exits at once (exit
 * hooks still run). Protocol timers are unref'd (they never keep a process
 * alive by themselves), so a daemon that is only waiting — say, for a BMC to
 * appear — holds the event loop open.
 *
 * Output that fails is a reason to stop too, never a crash: under
 * `bmcemu run | tee log`, Ctrl-C signals the whole pipeline, tee may be gone
 * before our "shutting down" line, and that write fails with EPIPE (Node
 * ignores SIGPIPE). Unhandled, the stream's 'error' would kill the process
 * before `stop` cleans up; here it ends the output and starts the same
 * shutdown a signal would (a reader that has gone, as with `| head`, means
 * nobody is watching: as SIGPIPE would, but cleaning up).
 */
export function runUntilSignalled(stop: () => Promise<void>): void {
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const shutdown = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${why}: shutting down`);
    clearInterval(keepAlive);
    stop().then(
      () => process.exit(0),
      (e) => {
        log(`shutdown failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  for (const sig of STOP_SIGNALS) {
    process.on(sig, () => {
      if (!stopping) return shutdown(sig);
      log(`${sig} again: exiting without waiting for the shutdown`);
      process.exit(1);
    });
  }
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    stdoutClosed = true;
    shutdown(`stdout ${e.code ?? 'error'}`);
  });
  process.stderr.on('error', (e: NodeJS.ErrnoException) => shutdown(`stderr ${e.code ?? 'error'}`));
}

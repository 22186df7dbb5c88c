/** What the long-running commands (run, host-agent, guest-agent) share. */
import { usageError } from './errors.js';

export function log(msg: string): void {
  process.stdout.write(`bmcemu: ${msg}\n`);
}

export function intOpt(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  return n;
}

/**
 * Run until SIGINT/SIGTERM, then `stop` and exit. Protocol timers are
 * unref'd (they never keep a process alive by themselves), so a daemon that
 * is only waiting — say, for a BMC to appear — holds the event loop open.
 */
export function runUntilSignalled(stop: () => Promise<void>): void {
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const handler = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: shutting down`);
    clearInterval(keepAlive);
    stop().then(
      () => process.exit(0),
      (e) => {
        log(`shutdown failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

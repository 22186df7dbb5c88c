/**
 * bmcemu wait <condition> [--timeout SECONDS]: block until a readiness
 * condition holds, by long-polling the API (no sleeps on the protocol side).
 * Exit 0 when met, 1 on timeout (with what was last seen), 2 for an unknown
 * condition. What the host does counts for its current boot only (the
 * server decides): a wait right after a reset waits for the new boot. While
 * the instance is still starting (no api.json yet, or nothing listening) it
 * keeps looking until the deadline, so a script can start bmcemu in the
 * background and wait on it right away.
 */
import { processClock } from '../../lib/clock.js';
import { delay } from '../../lib/wait.js';
import { clientFrom, parse, printJson, processIo, runCommand, TARGET_HELP, type CliIo } from '../options.js';
import { CliError, isCliError, usageError } from '../errors.js';

const USAGE = `usage: bmcemu wait <condition> [--timeout SECONDS] [target options]

conditions: host-on, host-off, power:<state>, link-up:<ifname>, link-down:<ifname>,
            address:<eid>, endpoint:<eid>, astlpc-up, milestone:<name>
            (endpoint:, astlpc-up and milestone: count only the host's current boot:
            right after a reset they wait for the new boot)

  --timeout SECONDS  give up after this long (default 60; 0 = check once)
${TARGET_HELP}`;

/** One long poll is at most this long; the server allows 120 s and proxies are often shorter. */
const POLL_SLICE_MS = 50000;
/** Gap between attempts to find a starting instance. */
const RETRY_MS = 200;

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runCommand('wait', io, USAGE, async () => {
    const { values, positionals } = parse(argv, { timeout: { type: 'string', short: 't' } });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw usageError(positionals.length ? `one condition at a time (got ${positionals.length})` : 'a condition is required');
    const condition = positionals[0]!;
    const timeoutS = values.timeout === undefined ? 60 : Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS < 0) throw usageError(`--timeout must be a number of seconds >= 0, got "${values.timeout}"`);
    const deadline = Date.now() + timeoutS * 1000;
    let lastSeen: unknown;
    let unreachable: CliError | null = null;

    for (;;) {
      const left = Math.max(0, deadline - Date.now());
      try {
        const client = clientFrom(values, io);
        const q = new URLSearchParams({ condition, timeoutMs: String(Math.min(left, POLL_SLICE_MS)) });
        const r = await client.json<{ observed: unknown; waitedMs: number }>('GET', `/api/v1/wait?${q}`);
        if (values.json) printJson(io, r);
        else io.stdout.write(`${condition}: met\n`);
        return 0;
      } catch (e) {
        if (isCliError(e, 'ERR_API') && e.apiCode === 'E_WAIT_TIMEOUT') {
          lastSeen = e.details?.lastSeen;
          unreachable = null;
        } else if (isCliError(e, 'ERR_API_UNREACHABLE')) {
          unreachable = e;
          if (Date.now() < deadline) await delay(Math.min(RETRY_MS, deadline - Date.now()), { clock: processClock });
        } else {
          throw e;
        }
      }
      if (Date.now() >= deadline) break;
    }
    if (unreachable) {
      throw new CliError('ERR_API_UNREACHABLE', `timed out after ${timeoutS} s waiting for ${condition}: ${unreachable.message}`, { cause: unreachable });
    }
    io.stderr.write(`bmcemu wait: timed out after ${timeoutS} s waiting for ${condition}; last seen: ${JSON.stringify(lastSeen ?? null)}\n`);
    return 1;
  });
}

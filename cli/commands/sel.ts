/**
 * bmcemu sel list|clear: the BMC's System Event Log through the API, printed
 * as `ipmitool sel list` prints it (times in UTC).
 */
import type { DecodedSelEntry } from '../../firmware/ipmi/storage/sel-decode.js';
import { usageError } from '../errors.js';
import { parseCNumber } from '../format/ipmi-raw.js';
import { formatSelLine } from '../format/ipmi-sel.js';
import { clientFrom, parse, printJson, processIo, runCommand, TARGET_HELP, type CliIo } from '../options.js';

const USAGE = `usage: bmcemu sel list [first N | last N]
       bmcemu sel clear
  list   the entries as ipmitool sel list prints them (times in UTC)
  clear  erase every entry (ipmitool sel clear)
${TARGET_HELP}`;

interface SelJson {
  info: { entries: number };
  entries: DecodedSelEntry[];
}

/** ipmitool's own words after a clear (the erase here is already done when it prints). */
export const SEL_CLEAR_LINE = 'Clearing SEL.  Please allow a few seconds to erase.';

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runCommand('sel', io, USAGE, async () => {
    const { values, positionals } = parse(argv, {});
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const [sub, ...args] = positionals;
    if (sub === undefined) throw usageError('a subcommand is required (list, clear)');
    const client = clientFrom(values, io);
    switch (sub) {
      case 'list': {
        const pick = firstOrLast(args);
        const sel = await client.json<SelJson>('GET', '/api/v1/ipmi/sel');
        const entries = pick(sel.entries);
        if (values.json) {
          printJson(io, { ...sel, entries });
          return 0;
        }
        if (sel.entries.length === 0) {
          io.stderr.write('SEL has no entries\n');
          return 0;
        }
        if (entries.length) io.stdout.write(`${entries.map(formatSelLine).join('\n')}\n`);
        return 0;
      }
      case 'clear': {
        if (args.length) throw usageError(`unexpected argument "${args[0]}"`);
        const r = await client.json<{ cleared: number }>('DELETE', '/api/v1/ipmi/sel');
        if (values.json) printJson(io, r);
        else io.stdout.write(`${SEL_CLEAR_LINE}\n`);
        return 0;
      }
      default:
        throw usageError(`unknown sel subcommand "${sub}" (list, clear)`);
    }
  });
}

/** `first N` / `last N` as ipmitool sel list takes them; everything without. */
function firstOrLast(args: string[]): <T>(all: T[]) => T[] {
  if (args.length === 0) return (all) => all;
  const [which, count, extra] = args;
  if ((which !== 'first' && which !== 'last') || count === undefined || extra !== undefined) {
    throw usageError(`expected "first N" or "last N", got "${args.join(' ')}"`);
  }
  const n = parseCNumber(count);
  if (n === null || n < 1) throw usageError(`${which} needs a count >= 1, got "${count}"`);
  return which === 'first' ? (all) => all.slice(0, n) : (all) => all.slice(-n);
}

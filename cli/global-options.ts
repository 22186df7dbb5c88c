/**
 * The options that say which instance a command is about may come before the
 * subcommand as well as after it: `bmcemu --instance lab mctp link` means
 * `bmcemu mctp link --instance lab`. They are moved behind the subcommand,
 * where its own parser reads them (and rejects the ones it has no use for:
 * `bmcemu --api URL run` is a usage error of `run`). After the subcommand
 * they were always accepted, so nothing else changes. $BMCEMU_INSTANCE
 * (runtime-dir.ts, instanceName) saves repeating --instance altogether.
 */
import { usageError } from './errors.js';

/** Options that locate an instance, each taking one value. */
export const GLOBAL_OPTIONS: readonly string[] = ['instance', 'runtime-dir', 'api', 'token'];

export interface CommandLine {
  /** The subcommand, or undefined when there is none (or help was asked for). */
  command: string | undefined;
  /** The subcommand's arguments: the leading target options first, then what followed the subcommand. */
  argv: string[];
  /** --help, -h or `help` came before any subcommand. */
  help: boolean;
}

/** Split `bmcemu [target options] <command> [args]`; a stray leading option is a usage error. */
export function splitCommandLine(args: readonly string[]): CommandLine {
  const leading: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-h' || arg === '--help' || arg === 'help') return { command: undefined, argv: leading, help: true };
    if (!arg.startsWith('-')) return { command: arg, argv: [...leading, ...args.slice(i + 1)], help: false };
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq < 0 ? undefined : eq) : '';
    if (!GLOBAL_OPTIONS.includes(name)) {
      throw usageError(`unknown option "${arg}" before the command (only --${GLOBAL_OPTIONS.join(', --')} may come first)`);
    }
    if (eq >= 0) {
      leading.push(arg);
      continue;
    }
    const value = args[i + 1];
    if (value === undefined || value.startsWith('-')) throw usageError(`option --${name} needs a value`);
    leading.push(arg, value);
    i++;
  }
  return { command: undefined, argv: leading, help: false };
}

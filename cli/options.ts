/**
 * What every API-backed subcommand shares: the options that locate the
 * instance, where output goes (injectable, so tests run commands in-process),
 * and how failures become messages and exit codes.
 *
 * Exit codes: 0 success, 1 failure (the API said no, timed out, or could not
 * be reached), 2 usage error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiClient, resolveTarget } from './api-client.js';
import { isCliError, usageError } from './errors.js';
import { instanceName } from './runtime-dir.js';

export interface CliIo {
  stdout: { write(s: string | Uint8Array): unknown };
  stderr: { write(s: string): unknown };
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  /** Ends long-running commands (console --follow); the process wires SIGINT to it. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });

export const TARGET_OPTIONS = {
  api: { type: 'string' },
  instance: { type: 'string' },
  'runtime-dir': { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export const TARGET_HELP = `  --api URL          the instance's API (default: api.json in its runtime directory; or $BMCEMU_API)
  --instance NAME    instance name (default $BMCEMU_INSTANCE, else "default")
  --runtime-dir DIR  explicit runtime directory
  --token TOKEN      bearer token when the API needs one (or $BMCEMU_API_TOKEN)
  --json             print the API's JSON instead of text
  (--api, --instance, --runtime-dir and --token may also come before the command)
`;

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with the target options added; unknown options are usage errors. */
export function parse<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...TARGET_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

export function clientFrom(values: { api?: string | undefined; instance?: string | undefined; 'runtime-dir'?: string | undefined; token?: string | undefined }, io: CliIo): ApiClient {
  const env = io.env ?? process.env;
  return new ApiClient(
    resolveTarget({ api: values.api, instance: instanceName(values.instance, env), runtimeDir: values['runtime-dir'], token: values.token }, env),
  );
}

/** Run a command body, turning errors into a message on stderr and an exit code. */
export async function runCommand(name: string, io: CliIo, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (isCliError(e, 'ERR_USAGE')) {
      io.stderr.write(`bmcemu ${name}: ${e.message}\n${usage}`);
      return 2;
    }
    if (isCliError(e, 'ERR_API')) {
      const apiCode = e.apiCode ?? '';
      io.stderr.write(`bmcemu ${name}: ${e.message}${apiCode.startsWith('E_') || apiCode.startsWith('HTTP_') ? '' : ` (${apiCode})`}\n`);
      return apiCode === 'E_VALIDATION' || apiCode === 'E_BAD_CONDITION' ? 2 : 1;
    }
    io.stderr.write(`bmcemu ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

export function printJson(io: CliIo, v: unknown): void {
  io.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}

/** "1h 02m 03s" for status lines. */
export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m ${String(sec).padStart(2, '0')}s`;
  if (m) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

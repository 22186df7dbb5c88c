/**
 * bmcemu ipmi ...: the BMC's IPMI service through the API.
 *   raw NETFN CMD [DATA...]   one request through the BMC's router, printed as `ipmitool raw` prints it
 *   log [-f] [--bus BUS]      every message the router handled: one line each, or follow new ones
 */
import type { ApiClient } from '../api-client.js';
import { usageError } from '../errors.js';
import { formatLogLine } from '../format/ipmi-log.js';
import { MAX_NETFN, MAX_RAW_ARGS, formatRawResponse, parseByte, parseCNumber, parseNetfn, rawFailureLine } from '../format/ipmi-raw.js';
import { clientFrom, parse, printJson, processIo, runCommand, TARGET_HELP, type CliIo } from '../options.js';
import type { LogEntryJson } from '../../firmware/services/api/ipmi-view.js';

const USAGE = `usage: bmcemu ipmi raw NETFN CMD [DATA...] [--lun LUN]
       bmcemu ipmi log [-f|--follow] [--bus BUS] [--limit N]
  raw        send one request through the BMC's IPMI router (bus "api", administrator privilege)
             and print the response bytes as ipmitool raw does; numbers as ipmitool takes them
             (0x06, 6, 006), NETFN also by name (chassis, bridge, sensorevent, application,
             firmware, storage, transport). A non-zero completion code exits 1.
  log        the messages the router handled (time, bus/requester, netfn/command, completion code, duration)
  -f         then follow new messages until Ctrl-C
  --bus BUS  only this bus ("system" is the host through QEMU, "api" is raw requests from here)
  --limit N  how many past messages to show first (default 20)
${TARGET_HELP}`;

interface RawJson {
  netfn: number;
  cmd: number;
  lun: number;
  cc: number;
  ccText: string;
  data: number[];
}

interface LogJson {
  entries: LogEntryJson[];
  lastSeq: number;
  more: boolean;
  missed: boolean;
}

/** One long poll is at most this long (the server allows 120 s; proxies are often shorter). */
const POLL_MS = 50000;
const DEFAULT_LOG_LIMIT = 20;

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runCommand('ipmi', io, USAGE, async () => {
    const { values, positionals } = parse(argv, {
      follow: { type: 'boolean', short: 'f', default: false },
      bus: { type: 'string' },
      limit: { type: 'string' },
      lun: { type: 'string' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const [sub, ...args] = positionals;
    if (sub === undefined) throw usageError('a subcommand is required (raw, log)');
    switch (sub) {
      case 'raw': {
        if (values.follow || values.bus !== undefined || values.limit !== undefined) throw usageError('-f, --bus and --limit are options of ipmi log');
        const body = rawRequest(args, values.lun);
        return raw(clientFrom(values, io), body, io, values.json);
      }
      case 'log': {
        if (args.length) throw usageError(`unexpected argument "${args[0]}"`);
        if (values.lun !== undefined) throw usageError('--lun is an option of ipmi raw');
        const limit = values.limit === undefined ? DEFAULT_LOG_LIMIT : parseCNumber(values.limit);
        if (limit === null || limit < 1 || limit > 1000) throw usageError(`--limit must be 1..1000, got "${values.limit}"`);
        return log(clientFrom(values, io), { bus: values.bus, limit, follow: values.follow, json: values.json }, io);
      }
      default:
        throw usageError(`unknown ipmi subcommand "${sub}" (raw, log)`);
    }
  });
}

/** The request body from ipmitool-style arguments; its own words for what is wrong. */
function rawRequest(args: string[], lunArg: string | undefined): { netfn: number; cmd: number; data: number[]; lun: number } {
  if (args.length < 2) throw usageError('Not enough parameters given.');
  if (args.length > MAX_RAW_ARGS) throw usageError(`Raw command input limit (${MAX_RAW_ARGS} bytes) exceeded`);
  const [netfnArg, cmdArg, ...dataArgs] = args as [string, string, ...string[]];
  const netfn = parseNetfn(netfnArg);
  if (netfn === null) throw usageError(`Given netfn "${netfnArg}" is invalid.`);
  if (netfn > MAX_NETFN) throw usageError(`Given netfn "${netfnArg}" is out of range.`);
  const cmd = parseByte(cmdArg);
  if (cmd === null) throw usageError(`Given command "${cmdArg}" is invalid.`);
  const data = dataArgs.map((d) => {
    const b = parseByte(d);
    if (b === null) throw usageError(`Given data "${d}" is invalid.`);
    return b;
  });
  const lun = lunArg === undefined ? 0 : parseCNumber(lunArg);
  if (lun === null || lun > 3) throw usageError(`--lun must be 0..3, got "${lunArg}"`);
  return { netfn, cmd, data, lun };
}

async function raw(client: ApiClient, body: object, io: CliIo, json: boolean): Promise<number> {
  const r = await client.json<RawJson>('POST', '/api/v1/ipmi/raw', body);
  if (json) {
    printJson(io, r);
    return r.cc === 0 ? 0 : 1;
  }
  if (r.cc !== 0) {
    io.stderr.write(`${rawFailureLine(r)}\n`);
    return 1;
  }
  io.stdout.write(formatRawResponse(r.data));
  return 0;
}

async function log(client: ApiClient, o: { bus: string | undefined; limit: number; follow: boolean; json: boolean }, io: CliIo): Promise<number> {
  const query = (extra: Record<string, string>): string => {
    const q = new URLSearchParams(extra);
    if (o.bus !== undefined) q.set('bus', o.bus);
    return `/api/v1/ipmi/log?${q}`;
  };
  const print = (entries: LogEntryJson[]): void => {
    // Following with --json: one JSON object per line, so a pipe can read them as they come.
    if (o.json) for (const e of entries) io.stdout.write(`${JSON.stringify(e)}\n`);
    else for (const e of entries) io.stdout.write(`${formatLogLine(e)}\n`);
  };
  const first = await client.json<LogJson>('GET', query({ limit: String(o.limit) }));
  if (!o.follow) {
    if (o.json) printJson(io, first);
    else print(first.entries);
    return 0;
  }
  print(first.entries);

  // Ctrl-C (io.signal) ends the follow; the poll in flight is left to the server's timeout.
  const stopped = new Promise<null>((resolve) => {
    if (io.signal?.aborted) resolve(null);
    io.signal?.addEventListener('abort', () => resolve(null), { once: true });
  });
  let after = first.lastSeq;
  for (;;) {
    const poll = client.json<LogJson>('GET', query({ after: String(after), wait: String(POLL_MS), limit: '1000' }));
    poll.catch(() => {});
    const r = await Promise.race([poll, stopped]);
    if (r === null) return 0;
    if (r.missed) io.stderr.write('bmcemu ipmi: some messages left the BMC\'s log before they could be shown\n');
    print(r.entries);
    after = r.lastSeq;
  }
}

/**
 * bmcemu mctp ...: the BMC's MCTP stack as the mctp(1) tool shows it (same
 * subcommands, prefix-matched like mctp's, same line formats), plus the bus
 * owner's endpoints, an mctp-req style echo and packet capture.
 */
import fs from 'node:fs';
import type { ApiClient } from '../api-client.js';
import { clientFrom, parse, printJson, processIo, runCommand, TARGET_HELP, type CliIo } from '../options.js';
import { usageError } from '../errors.js';
import {
  formatAddress,
  formatEndpoint,
  formatLink,
  formatNeighbour,
  formatRoute,
  type AddressJson,
  type EndpointJson,
  type LinkJson,
  type NeighbourJson,
  type RouteJson,
} from '../format/mctp-api.js';

const USAGE = `usage: bmcemu mctp link [show [IFNAME]]
       bmcemu mctp address [show [IFNAME]]
       bmcemu mctp route [show [net NET]]
       bmcemu mctp neigh [show [dev IFNAME]]
       bmcemu mctp endpoints
       bmcemu mctp req [eid EID] [net NET] [len LEN] [timeout MS]   (also: echo; mctp-req compatible)
       bmcemu mctp pcap [list]
       bmcemu mctp pcap start IFNAME [max-bytes N]
       bmcemu mctp pcap stop IFNAME
       bmcemu mctp pcap get IFNAME [-o FILE|-]                       (default FILE: IFNAME.pcap)
Subcommands may be abbreviated (mctp r = route), as with mctp(1).
${TARGET_HELP}`;

/** In mctp(1)'s order, so an abbreviation resolves as it does there. */
const SUBCOMMANDS = ['link', 'address', 'route', 'neigh', 'neighbour', 'neighbor', 'endpoints', 'req', 'echo', 'pcap'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

function resolveSub(word: string): Sub {
  const hit = SUBCOMMANDS.find((s) => s.startsWith(word));
  if (!word || !hit) throw usageError(`unknown mctp subcommand "${word}"`);
  return hit;
}

/** `show` is optional; `set|add|del` change configuration, which the API does not offer. */
function showArgs(sub: string, args: string[]): string[] {
  if (args[0] === 'show') return args.slice(1);
  if (args[0] && ['set', 'add', 'del', 'serial'].includes(args[0])) {
    throw usageError(`"mctp ${sub} ${args[0]}" is not implemented yet: the API does not change MCTP configuration`);
  }
  return args;
}

/** mctp(1)-style keyword arguments: `eid 9 len 4`. */
function keywords(args: string[], allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    const k = args[i]!;
    if (!allowed.includes(k)) throw usageError(`unknown argument "${k}" (expected: ${allowed.join(', ')})`);
    if (args[i + 1] === undefined) throw usageError(`"${k}" needs a value`);
    out.set(k, args[i + 1]!);
  }
  return out;
}

function intArg(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`${name} must be an integer ${min}..${max}, got "${v}"`);
  return n;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runCommand('mctp', io, USAGE, async () => {
    const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' } });
    if (values.help || positionals.length === 0) {
      if (!values.help) throw usageError('a subcommand is required');
      io.stdout.write(USAGE);
      return 0;
    }
    const sub = resolveSub(positionals[0]!);
    const args = positionals.slice(1);
    const client = clientFrom(values, io);
    /** JSON as the API gave it, or one mctp(1)-format line per item. */
    const show = <T>(items: T[], format: (item: T) => string): number => {
      if (values.json) printJson(io, items);
      else if (items.length) io.stdout.write(`${items.map(format).join('\n')}\n`);
      return 0;
    };

    switch (sub) {
      case 'link': {
        const [name, extra] = showArgs(sub, args);
        if (extra) throw usageError(`unexpected argument "${extra}"`);
        const links = name ? [await client.json<LinkJson>('GET', `/api/v1/mctp/links/${encodeURIComponent(name)}`)] : await client.json<LinkJson[]>('GET', '/api/v1/mctp/links');
        return show(links, formatLink);
      }
      case 'address': {
        const [name, extra] = showArgs(sub, args);
        if (extra) throw usageError(`unexpected argument "${extra}"`);
        if (name) await client.json('GET', `/api/v1/mctp/links/${encodeURIComponent(name)}`); // ENODEV for an unknown name
        const addrs = (await client.json<AddressJson[]>('GET', '/api/v1/mctp/addresses')).filter((a) => !name || a.iface === name);
        return show(addrs, formatAddress);
      }
      case 'route': {
        const kw = keywords(showArgs(sub, args), ['net']);
        const net = intArg(kw.get('net'), 'net', 1, 0xffffffff);
        const routes = (await client.json<RouteJson[]>('GET', '/api/v1/mctp/routes')).filter((r) => net === undefined || r.net === net);
        return show(routes, formatRoute);
      }
      case 'neigh':
      case 'neighbour':
      case 'neighbor': {
        const dev = keywords(showArgs('neigh', args), ['dev']).get('dev');
        if (dev) await client.json('GET', `/api/v1/mctp/links/${encodeURIComponent(dev)}`);
        const neigh = (await client.json<NeighbourJson[]>('GET', '/api/v1/mctp/neighbours')).filter((n) => !dev || n.iface === dev);
        return show(neigh, formatNeighbour);
      }
      case 'endpoints': {
        if (args.length) throw usageError(`unexpected argument "${args[0]}"`);
        const eps = await client.json<EndpointJson[]>('GET', '/api/v1/mctp/endpoints');
        return show(eps, formatEndpoint);
      }
      case 'req':
      case 'echo':
        return echo(client, args, io, values.json);
      case 'pcap':
        return pcap(client, args, io, values.json, values.output);
    }
  });
}

async function echo(client: ApiClient, args: string[], io: CliIo, json: boolean): Promise<number> {
  const kw = keywords(args, ['eid', 'net', 'len', 'timeout']);
  // mctp-req's defaults: EID 8, one byte of data.
  const body = {
    eid: intArg(kw.get('eid'), 'eid', 0, 255) ?? 8,
    ...(kw.has('net') ? { net: intArg(kw.get('net'), 'net', 0, 0xffffffff) } : {}),
    len: intArg(kw.get('len'), 'len', 0, 65532) ?? 1,
    ...(kw.has('timeout') ? { timeoutMs: intArg(kw.get('timeout'), 'timeout', 1, 60000) } : {}),
  };
  const r = await client.json<{ eid: number; net: number; bytes: number; rttMs: number }>('POST', '/api/v1/mctp/echo', body);
  if (json) printJson(io, r);
  else io.stdout.write(`echo from eid ${r.eid} net ${r.net}: ${r.bytes} bytes, rtt ${r.rttMs.toFixed(3)} ms\n`);
  return 0;
}

interface CaptureJson {
  link: string;
  state: string;
  full: boolean;
  file: string;
  packets: number;
  bytes: number;
  dropped: number;
}

function captureLine(c: CaptureJson): string {
  return `${c.link} ${c.state}${c.full ? ' (full)' : ''}: ${c.packets} packets, ${c.bytes} bytes${c.dropped ? `, ${c.dropped} not written` : ''}, ${c.file}`;
}

async function pcap(client: ApiClient, args: string[], io: CliIo, json: boolean, output: string | undefined): Promise<number> {
  const [verb = 'list', link, ...rest] = args;
  const path = (l: string): string => `/api/v1/mctp/links/${encodeURIComponent(l)}/capture`;
  const need = (): string => {
    if (!link) throw usageError(`pcap ${verb} needs an interface name`);
    return link;
  };
  switch (verb) {
    case 'list': {
      const caps = await client.json<CaptureJson[]>('GET', '/api/v1/mctp/captures');
      if (json) printJson(io, caps);
      else if (caps.length) io.stdout.write(`${caps.map(captureLine).join('\n')}\n`);
      return 0;
    }
    case 'start':
    case 'stop': {
      const l = need();
      const maxBytes = verb === 'start' ? intArg(keywords(rest, ['max-bytes']).get('max-bytes'), 'max-bytes', 24, Number.MAX_SAFE_INTEGER) : undefined;
      if (verb === 'stop' && rest.length) throw usageError(`unexpected argument "${rest[0]}"`);
      const c = await client.json<CaptureJson>('POST', path(l), { action: verb, ...(maxBytes !== undefined ? { maxBytes } : {}) });
      if (json) printJson(io, c);
      else io.stdout.write(`${captureLine(c)}\n`);
      return 0;
    }
    case 'get': {
      const l = need();
      if (rest.length) throw usageError(`unexpected argument "${rest[0]}"`);
      const data = await client.raw(path(l));
      const dest = output ?? `${l}.pcap`;
      if (dest === '-') {
        io.stdout.write(data);
        return 0;
      }
      fs.writeFileSync(dest, data);
      io.stdout.write(`wrote ${data.length} bytes to ${dest}\n`);
      return 0;
    }
    default:
      throw usageError(`unknown pcap action "${verb}" (list, start, stop, get)`);
  }
}

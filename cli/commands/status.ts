/** bmcemu status: the BMC, the host and the MCTP links at a glance. */
import { clientFrom, duration, parse, printJson, processIo, runCommand, TARGET_HELP, type CliIo } from '../options.js';
import { usageError } from '../errors.js';

const USAGE = `usage: bmcemu status [--json] [target options]
${TARGET_HELP}`;

interface StatusJson {
  version: string;
  bmc: { uptimeSeconds: number; pid: number };
  host: {
    power: string | null;
    uptimeSeconds: number | null;
    /** `id` from servers that track boots. */
    boot?: { id?: number | null; milestones: Array<{ name: string; seconds: number | null }> };
  };
  mctp: {
    links: Array<{ name: string; up: boolean; carrier: boolean; addrs: number[] }>;
    astlpc: string | null;
    endpoints: number | null;
    endpointsUnavailable?: number | null;
  };
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runCommand('status', io, USAGE, async () => {
    const { values, positionals } = parse(argv, {});
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length) throw usageError(`unexpected argument "${positionals[0]}"`);
    const client = clientFrom(values, io);
    const s = await client.json<StatusJson>('GET', '/api/v1/status');
    if (values.json) {
      printJson(io, s);
      return 0;
    }
    const bootId = s.host.boot?.id;
    const unavailable = s.mctp.endpointsUnavailable ?? 0;
    const lines = [
      `bmc:       bmcemu ${s.version}, pid ${s.bmc.pid}, up ${duration(s.bmc.uptimeSeconds)}`,
      `host:      ${
        s.host.power === null
          ? 'no power control wired in'
          : `power ${s.host.power}${typeof bootId === 'number' ? `, boot ${bootId}` : ''}${s.host.uptimeSeconds !== null ? `, up ${duration(s.host.uptimeSeconds)}` : ''}`
      }`,
      ...s.mctp.links.map(
        (l) => `link:      ${l.name} ${l.up ? 'up' : 'down'}, ${l.carrier ? 'carrier' : 'no carrier'}, eid ${l.addrs.length ? l.addrs.join(',') : 'none'}`,
      ),
      ...(s.mctp.astlpc !== null ? [`astlpc:    ${s.mctp.astlpc}`] : []),
      ...(s.mctp.endpoints !== null ? [`endpoints: ${s.mctp.endpoints}${unavailable > 0 ? ` (${unavailable} unavailable until the host is back)` : ''}`] : []),
      ...(s.host.boot?.milestones.length
        ? [`boot:      ${s.host.boot.milestones.map((m) => (m.seconds === null ? m.name : `${m.name} ${m.seconds.toFixed(1)}s`)).join(', ')}`]
        : []),
      `dashboard: ${new URL('/', client.target.url).href}`,
    ];
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  });
}

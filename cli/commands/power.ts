/** bmcemu power [status|on|off|soft-off|reset|cycle]: the host's power, through the BMC. */
import { clientFrom, duration, parse, printJson, processIo, runCommand, TARGET_HELP, type CliIo } from '../options.js';
import { usageError } from '../errors.js';

const ACTIONS = ['on', 'off', 'soft-off', 'reset', 'cycle'];

const USAGE = `usage: bmcemu power [status]                      show the host's power state
       bmcemu power on|off|soft-off|reset|cycle   run a power action (returns when it is done)
${TARGET_HELP}`;

interface PowerJson {
  state: string;
  uptimeSeconds: number | null;
  action?: string;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runCommand('power', io, USAGE, async () => {
    const { values, positionals } = parse(argv, {});
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 1) throw usageError(`unexpected argument "${positionals[1]}"`);
    const verb = positionals[0] ?? 'status';
    const client = clientFrom(values, io);
    let p: PowerJson;
    if (verb === 'status') p = await client.json<PowerJson>('GET', '/api/v1/host/power');
    else if (ACTIONS.includes(verb)) p = await client.json<PowerJson>('POST', '/api/v1/host/power', { action: verb });
    else throw usageError(`unknown power action "${verb}" (one of: status, ${ACTIONS.join(', ')})`);
    if (values.json) printJson(io, p);
    else io.stdout.write(`power: ${p.state}${p.uptimeSeconds !== null ? ` (up ${duration(p.uptimeSeconds)})` : ''}\n`);
    return 0;
  });
}

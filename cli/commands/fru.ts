/**
 * bmcemu fru [print [0]]: the BMC's FRU device 0 through the API, printed as
 * `ipmitool fru print` prints it (dates in UTC). This BMC has one FRU device.
 */
import { usageError } from '../errors.js';
import { formatFru, type FruJson } from '../format/ipmi-fru.js';
import { parseByte } from '../format/ipmi-raw.js';
import { clientFrom, parse, printJson, processIo, runCommand, TARGET_HELP, type CliIo } from '../options.js';

const USAGE = `usage: bmcemu fru [print [ID]] [-v]
  print      FRU device 0 as ipmitool fru print prints it; with ID (0, the only device) without the
             "FRU Device Description" heading, as ipmitool fru print 0
  -v         also the FRU file IDs (ipmitool -v)
${TARGET_HELP}`;

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runCommand('fru', io, USAGE, async () => {
    const { values, positionals } = parse(argv, { verbose: { type: 'boolean', short: 'v', default: false } });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const [sub = 'print', idArg, extra] = positionals;
    if (sub !== 'print' && sub !== 'list') throw usageError(`unknown fru subcommand "${sub}" (print)`);
    if (extra !== undefined) throw usageError(`unexpected argument "${extra}"`);
    const id = idArg === undefined ? undefined : parseByte(idArg);
    if (id === null) throw usageError(`FRU ID '${idArg}' is either invalid or out of range.`);
    const fru = await clientFrom(values, io).json<FruJson>('GET', '/api/v1/ipmi/fru');
    if (values.json) {
      printJson(io, fru);
      return fru.headerOk ? 0 : 1;
    }
    if (id !== undefined && id !== fru.deviceId) {
      // What ipmitool prints when Get FRU Inventory Area Info for the ID answers CBh.
      io.stdout.write(' Device not present (Requested sensor, data, or record not found)\n');
      return 1;
    }
    for (const p of fru.problems) io.stderr.write(`bmcemu fru: FRU device ${fru.deviceId}: ${p}\n`);
    if (!fru.headerOk) return 1;
    if (id === undefined) io.stdout.write(`FRU Device Description : Builtin FRU Device (ID ${fru.deviceId})\n`);
    io.stdout.write(formatFru(fru, { verbose: values.verbose }));
    if (id === undefined) io.stdout.write('\n');
    return 0;
  });
}

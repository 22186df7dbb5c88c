/**
 * `bmcemu run`: start an emulated BMC and power its QEMU host on, reporting
 * as it happens — image, QEMU, boot milestones, astlpc channel up, host
 * endpoint assigned, echo round trip, the API address. Ctrl-C shuts it all
 * down. `--no-host` starts the BMC alone (a host agent can attach from
 * another process: `bmcemu host-agent`).
 */
import { parseArgs } from 'node:util';
import { BmcInstance } from '../../instance/bmc-instance.js';
import type { AstlpcStateEvent } from '../../firmware/mctp/astlpc/binding.js';
import { intOpt, log, runUntilSignalled } from '../daemon.js';
import { claimRuntimeDir, instanceDir } from '../runtime-dir.js';
import { instanceStateDir } from '../state-dir.js';

export const RUN_USAGE = `usage: bmcemu run [--instance NAME | --runtime-dir DIR] [--state-dir DIR] [--no-host] [--eid N] [--mtu N]
                  [--api-host ADDR] [--api-port PORT]  (token: $BMCEMU_API_TOKEN)
`;

export function describeAstlpc(ev: AstlpcStateEvent): string {
  if (ev.carrier) return `astlpc channel up: protocol v${ev.version}, MTU ${ev.mtu} (${ev.mtu - 4}-byte payload)`;
  return `astlpc ${ev.state}${ev.lastError ? ` (${ev.lastError})` : ''}`;
}

/** Log astlpc transitions, once per distinct line. */
export function astlpcLogger(prefix: string): (ev: AstlpcStateEvent) => void {
  let last = '';
  return (ev) => {
    const line = describeAstlpc(ev);
    if (line !== last) log(`${prefix}${line}`);
    last = line;
  };
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      instance: { type: 'string', default: 'default' },
      'runtime-dir': { type: 'string' },
      'state-dir': { type: 'string' },
      eid: { type: 'string' },
      mtu: { type: 'string' },
      'no-host': { type: 'boolean', default: false },
      'api-host': { type: 'string' },
      'api-port': { type: 'string' },
    },
  });
  const dir = claimRuntimeDir(instanceDir(values.instance!, values['runtime-dir']));
  const mtu = intOpt(values.mtu, 'mtu', 68, 1 << 20);
  const eid = intOpt(values.eid, 'eid', 8, 254);
  const apiPort = intOpt(values['api-port'], 'api-port', 0, 65535);
  const token = process.env.BMCEMU_API_TOKEN;
  const stateDir = instanceStateDir(values.instance!, values['state-dir']);
  const instance = new BmcInstance({
    runtimeDir: dir.dir,
    stateDir,
    host: !values['no-host'],
    ...(mtu ? { mtu } : {}),
    ...(eid ? { eid } : {}),
    api: { ...(values['api-host'] ? { host: values['api-host'] } : {}), ...(apiPort !== undefined ? { port: apiPort } : {}), ...(token ? { token } : {}) },
    log: (line) => log(line),
  });
  instance.fw.onAstlpcState(astlpcLogger(''));
  let stopping = false;
  runUntilSignalled(async () => {
    stopping = true;
    await instance.stop();
    dir.release();
  });
  log(`runtime directory ${dir.dir}; state directory ${stateDir}`);
  await instance.start();
  log(`MCTP: EID ${instance.fw.eid} on mctplpc0 (astlpc) and mctpserial0 (serial); bus owner and echo responder running`);
  if (instance.api?.address) {
    const { url } = instance.api.address;
    log(`dashboard at ${url}/ ; status API at ${url}/api/v1 (docs at ${url}/api/v1/docs)`);
  }
  if (!instance.host) {
    log(`no host: attach one with  bmcemu host-agent --runtime-dir ${dir.dir} --echo`);
  }
  // Report the end-to-end result once per boot: endpoint assigned, then echo.
  instance.on('endpoint', (e: { eid: number; iface: string }) => {
    if (stopping) return;
    const link = e.iface === 'mctplpc0' ? 'astlpc' : e.iface === 'mctpserial0' ? 'serial' : e.iface;
    instance.echo(e.eid).then(
      (r) => log(`echo round trip to EID ${e.eid} over ${link} OK (${r.bytes} bytes, ${r.rttMs.toFixed(2)} ms)`),
      (err: Error) => log(`echo to EID ${e.eid} failed: ${err.message}`),
    );
  });
  log('Ctrl-C stops; `bmcemu console -f` shows the host console');
}

/**
 * `bmcemu host-agent`: the host side of the LPC binding from another process
 * on this machine (the window file and the KCS wire socket of an instance),
 * for developing against a BMC without booting a guest. The same host
 * firmware as the guest agent runs (host/host-firmware.ts), over the
 * instance's files instead of the guest's devices.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { HostFirmware } from '../../host/host-firmware.js';
import { systemClock } from '../../lib/clock.js';
import { echoRequest } from '../../firmware/mctp/echo.js';
import { KCS_MCTP_SOCKET, LPC_FW_WINDOW_FILENAME } from '../../transport/runtime-files.js';
import { intOpt, log, runUntilSignalled } from '../daemon.js';
import { instanceDir, instanceName } from '../runtime-dir.js';
import { astlpcLogger } from './run.js';

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      instance: { type: 'string' },
      'runtime-dir': { type: 'string' },
      kcs: { type: 'string' },
      window: { type: 'string' },
      eid: { type: 'string' },
      'bmc-eid': { type: 'string' },
      mtu: { type: 'string' },
      echo: { type: 'boolean', default: false },
    },
  });
  const dir = instanceDir(instanceName(values.instance), values['runtime-dir']);
  const mtu = intOpt(values.mtu, 'mtu', 68, 1 << 20);
  const fw = new HostFirmware({
    kcs: { kind: 'unix', path: values.kcs ?? path.join(dir, KCS_MCTP_SOCKET) },
    window: values.window ?? path.join(dir, LPC_FW_WINDOW_FILENAME),
    eid: intOpt(values.eid, 'eid', 8, 254) ?? null,
    bmcEid: intOpt(values['bmc-eid'], 'bmc-eid', 8, 254) ?? 8,
    ...(mtu ? { mtu } : {}),
  });
  fw.astlpc.on('state', astlpcLogger('host: '));
  runUntilSignalled(() => fw.stop());
  log(`host: connecting to the BMC's KCS wire${fw.staticEid ? `; static MCTP EID ${fw.staticEid}` : ''}`);
  await fw.start();
  await fw.whenLinkUp();
  log(`host: MCTP EID ${await fw.whenAssigned()}${fw.staticEid ? '' : ' (assigned by the BMC bus owner)'}`);
  if (values.echo) {
    const r = await echoRequest(fw.stack, { eid: fw.bmcEid, len: 64, clock: systemClock });
    log(`host: echo round trip to EID ${fw.bmcEid} OK (${r.bytes} bytes, ${r.rttMs.toFixed(2)} ms)`);
  }
}

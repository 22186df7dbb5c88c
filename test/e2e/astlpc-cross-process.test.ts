/**
 * The LPC binding end to end across processes: the BMC firmware (AST2500
 * models, drivers, astlpc in BMC mode, MCTP stack, bus owner) here; the host
 * agent (astlpc in host mode, MCTP stack, control responder) in a child
 * process, talking through the real wires — the KCS wire socket and the
 * window file. The bus owner assigns the host its EID; then 64 KiB messages
 * each way at MTU 64 and 32768, and again after restarting either side.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Ast2500Soc } from '../../hw-models/ast2500-soc.js';
import { BmcFirmware } from '../../firmware/bmc/bmc-firmware.js';
import { MCTP_TAG_OWNER } from '../../firmware/mctp/constants.js';
import { ChildHost } from '../transport/helpers/child.js';
import { shortTempDir, until } from '../transport/helpers/util.js';
import { payload } from './helpers/host-agent-child.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'host-agent-child.ts');
const MSG = 65535; // plus the type byte: a 64 KiB message

interface Bmc {
  soc: Ast2500Soc;
  fw: BmcFirmware;
  stop(): Promise<void>;
}

async function startBmc(dir: string, mtu: number): Promise<Bmc> {
  const soc = new Ast2500Soc({ runtimeDir: dir });
  await soc.start();
  const fw = new BmcFirmware({ soc, mtu });
  fw.start();
  // Echo responder on the BMC, for host-initiated requests.
  const echo = fw.stack.socket();
  echo.bind({ net: 0, eid: 0xff, type: 0x7e, tag: 0 });
  void (async () => {
    for await (const r of echo) echo.sendto(r.data, { ...r.addr, tag: r.addr.tag & ~MCTP_TAG_OWNER });
  })();
  return {
    soc,
    fw,
    async stop() {
      await fw.stop();
      await soc.close();
    },
  };
}

function channelUp(bmc: Bmc): boolean {
  return bmc.fw.stack.interface('mctplpc0').carrier;
}

/** BMC -> host -> BMC: a 64 KiB request echoed by the host agent. */
async function bmcRoundTrip(bmc: Bmc, eid: number, seed: number): Promise<boolean> {
  const s = bmc.fw.stack.socket();
  try {
    const data = payload(MSG, seed);
    s.sendto(data, { net: 1, eid, type: 0x7e, tag: MCTP_TAG_OWNER });
    const r = await s.recvfrom();
    return r.data.equals(data);
  } finally {
    s.close();
  }
}

for (const [label, mtu] of [
  ['MTU 64', 68],
  ['MTU 32768', 32772],
] as const) {
  t.test(`astlpc across processes at ${label}`, async (t) => {
    const dir = shortTempDir(t);
    let bmc = await startBmc(dir, mtu);
    t.teardown(() => bmc.stop());
    let host = new ChildHost(CHILD);
    t.teardown(() => host.kill());
    await host.started;
    const start = { socket: bmc.soc.kcsWire.endpoint.kind === 'unix' ? bmc.soc.kcsWire.endpoint.path : '', window: bmc.soc.windowFile, mtu };
    const { eid } = await host.call<{ eid: number }>('start', start);
    t.equal(eid, 9, 'the bus owner assigned the lowest free EID');
    t.match(await bmc.fw.busOwner.waitForEndpoint({ iface: 'mctplpc0' }), { eid: 9, connectivity: 'available', messageTypes: [0, 0x7e] }, 'endpoint published with its message types');
    t.ok(channelUp(bmc), 'astlpc channel up');
    t.equal(bmc.fw.stack.interface('mctplpc0').mtu, mtu, `negotiated MTU ${mtu}`);

    t.ok(await bmcRoundTrip(bmc, eid, 1), 'BMC -> host -> BMC: 64 KiB intact both ways');
    t.match(await host.call('request', { size: MSG, seed: 2 }), { length: MSG, same: true }, 'host -> BMC -> host: 64 KiB intact');

    // Restart the host side: a new process, a fresh Init.
    await host.kill();
    host = new ChildHost(CHILD);
    await host.started;
    const again = await host.call<{ eid: number }>('start', start);
    t.ok(channelUp(bmc), 'BMC channel up after the new host initialised');
    t.match(await host.call('request', { size: MSG, seed: 3 }), { same: true }, 'after a host restart');
    t.ok(await bmcRoundTrip(bmc, again.eid, 4), 'BMC-initiated after a host restart');

    // Restart the BMC firmware: the host sees BMC_READY drop and re-initialises.
    await bmc.stop();
    bmc = await startBmc(dir, mtu);
    await until(() => channelUp(bmc), { what: 'channel up after BMC restart', limitMs: 20000 });
    await host.call('link-up');
    const ep = await bmc.fw.busOwner.waitForEndpoint({ iface: 'mctplpc0' });
    t.ok(await bmcRoundTrip(bmc, ep.eid, 5), `after a BMC restart (the new bus owner found EID ${ep.eid})`);
    t.match(await host.call('request', { size: MSG, seed: 6 }), { same: true }, 'host-initiated after a BMC restart');
    await host.call('stop');
  });
}

/**
 * A BMC restart under a running, unmodified libmctp host, over the real
 * wires (docs/astlpc.md "BMC restart across processes", docs/kcs-wire.md §7
 * "Model shutdown and restart"). Two BMC instances — SoC models, firmware,
 * KCS wire socket — run one after the other in one runtime directory, the
 * second with power-on KCS registers, exactly as a new bmcemu process; only
 * the window file carries over. The host is a reconnecting KCS wire client
 * with the window file and a host that behaves like libmctp's: it re-sends
 * Init only when it sees BMC_READY rise, so it gets its channel back only
 * if the BMCs' shutdown and start-up sequences make it see that.
 */
import t from 'tap';
import { Ast2500Soc } from '../../hw-models/ast2500-soc.js';
import { BmcFirmware } from '../../firmware/bmc/bmc-firmware.js';
import { MCTP_TAG_OWNER } from '../../firmware/mctp/constants.js';
import { kcsWireAstlpcPort, windowAstlpcPort } from '../../host/astlpc-ports.js';
import { KcsWireClient } from '../../transport/kcs-wire/client.js';
import { MCTP_WINDOW_SIZE, WindowFile } from '../../transport/window-file.js';
import { LibmctpHost } from '../firmware/mctp/astlpc/libmctp-host.js';
import { shortTempDir, until } from '../transport/helpers/util.js';

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

interface Bmc {
  soc: Ast2500Soc;
  fw: BmcFirmware;
  /** The whole BMC goes down: firmware (STR 0x00 + dummy), then the wires. */
  stop(): Promise<void>;
  /** A crash: the wires close under the firmware, which never announces anything. */
  crash(): Promise<void>;
}

async function startBmc(dir: string): Promise<Bmc> {
  const soc = new Ast2500Soc({ runtimeDir: dir });
  await soc.start();
  // The libmctp host answers no MCTP control: a static route to its EID 9, no bus owner.
  const fw = new BmcFirmware({ soc, hostEid: 9, busOwner: false, mtu: 68 });
  fw.start();
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
    async crash() {
      await soc.close();
      await fw.stop();
    },
  };
}

interface Host {
  client: KcsWireClient;
  libmctp: LibmctpHost;
  close(): Promise<void>;
}

async function startHost(bmc: Bmc): Promise<Host> {
  const endpoint = bmc.soc.kcsWire.endpoint;
  // Reconnects after the BMC goes away, as QEMU's chardev does (reconnect=1).
  const client = KcsWireClient.forEndpoint(endpoint, { reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
  await client.connect();
  const window = WindowFile.open(bmc.soc.windowFile, { size: MCTP_WINDOW_SIZE });
  const libmctp = new LibmctpHost({ kcs: kcsWireAstlpcPort(client), window: windowAstlpcPort(() => window) });
  return {
    client,
    libmctp,
    async close() {
      libmctp.close();
      await client.close();
      window.close();
    },
  };
}

/** STR values a host looked at: one without BMC_READY, later one with it. */
function sawFallThenRise(seen: number[]): boolean {
  const fall = seen.findIndex((s) => !(s & 0x80));
  return fall >= 0 && seen.slice(fall).some((s) => s & 0x80);
}

let seq = 0;

/** An MCTP echo request from the host (EID 9) to the BMC (EID 8) and its reply, one packet each way. */
async function echo(t: TapTest, host: LibmctpHost, label: string): Promise<void> {
  const payload = Buffer.alloc(40);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + seq) & 0xff;
  payload[0] = 0x7e;
  const tag = seq++ & 7;
  const request = Buffer.concat([Buffer.from([0x01, 8, 9, 0xc0 | 0x08 | tag]), payload]);
  const before = host.received.length;
  t.equal(await host.tx(request), 0, `${label}: request accepted by the binding`);
  await until(() => host.received.length > before, { what: `${label}: the echo reply`, limitMs: 5000 });
  const reply = host.received[before]!;
  t.same([reply[1], reply[2], reply[3]! & 0x0f], [9, 8, tag], `${label}: a reply from EID 8 with our tag, TO clear`);
  t.same(reply.subarray(4), payload, `${label}: payload echoed intact`);
}

async function up(t: TapTest): Promise<{ dir: string; bmc: Bmc; host: Host }> {
  const dir = shortTempDir(t);
  const bmc = await startBmc(dir);
  const host = await startHost(bmc);
  t.equal(await host.libmctp.register(), 0, 'mctp_register_bus');
  await until(() => host.libmctp.txEnabled, { what: 'the libmctp host channel' });
  await echo(t, host.libmctp, 'first BMC');
  return { dir, bmc, host };
}

t.test('a libmctp host that is listening while the BMC restarts', async (t) => {
  const { dir, bmc: first, host } = await up(t);
  t.teardown(() => host.close());
  await first.stop();
  t.equal(first.soc.mctpKcs.peekStatus() & 0x01, 0, 'the host read the going-down dummy before the wire closed');
  // (Its reply may still be on its way to the host when stop() returns.)
  await until(() => !host.libmctp.txEnabled, { what: 'the host to handle the going-down status', limitMs: 2000 });
  t.equal(host.libmctp.kcsStatus & 0x80, 0, 'it saw BMC_READY fall');
  const second = await startBmc(dir);
  t.teardown(() => second.stop());
  await until(() => host.libmctp.txEnabled, { what: 'the channel after the restart', limitMs: 10000 });
  t.equal(second.fw.astlpc.counter('restart-holdoff-expired'), 0, 'the host read the new BMC\'s announcement in time');
  await echo(t, host.libmctp, 'second BMC');
});

t.test('a libmctp host that was not looking while the BMC went down and came back', async (t) => {
  const { dir, bmc: first, host } = await up(t);
  t.teardown(() => host.close());
  host.libmctp.paused = true;
  await first.stop();
  const second = await startBmc(dir);
  t.teardown(() => second.stop());
  await until(() => host.client.ready, { what: 'the wire reconnected', limitMs: 5000 });
  t.equal(second.fw.astlpc.state, 'restarting', 'the new BMC holds BMC_READY low: a host may still believe in the old channel');
  t.ok(host.libmctp.kcsStatus & 0x40, 'the host still believes in the old channel');
  const seen = host.libmctp.statusSeen.length;
  host.libmctp.resume();
  // (Tx is still enabled from the old channel until the host has polled: wait for the new one.)
  await until(() => host.libmctp.txEnabled && second.fw.astlpc.state === 'active', { what: 'the channel after the restart', limitMs: 10000 });
  t.ok(sawFallThenRise(host.libmctp.statusSeen.slice(seen)), 'it saw BMC_READY fall, then rise');
  await echo(t, host.libmctp, 'second BMC');
});

t.test('a libmctp host under a BMC that crashed (no going-down status at all)', async (t) => {
  const { dir, bmc: first, host } = await up(t);
  t.teardown(() => host.close());
  await first.crash();
  t.ok(host.libmctp.txEnabled, 'the host heard nothing');
  const second = await startBmc(dir);
  t.teardown(() => second.stop());
  await until(() => host.libmctp.txEnabled && second.fw.astlpc.state === 'active', { what: 'the channel after the restart', limitMs: 10000 });
  await echo(t, host.libmctp, 'second BMC');
});

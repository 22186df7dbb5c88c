/**
 * The whole IPMI core over an in-memory VM link, replaying what real guests
 * sent (docs/ipmi.md): Linux's ipmi_si/ipmi_watchdog/ipmi_poweroff probe on
 * x86 KCS, and skiboot's boot and power-off on powernv BT.
 */
import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import { BootOptions } from '../../../firmware/ipmi/boot-options.js';
import { ChannelTable, systemInterfaceChannel } from '../../../firmware/ipmi/channels.js';
import { appCommands } from '../../../firmware/ipmi/commands/app.js';
import { bootOptionsCommands } from '../../../firmware/ipmi/commands/boot-options.js';
import { channelCommands } from '../../../firmware/ipmi/commands/channels.js';
import { chassisCommands } from '../../../firmware/ipmi/commands/chassis.js';
import { messagingCommands } from '../../../firmware/ipmi/commands/messaging.js';
import { watchdogCommands } from '../../../firmware/ipmi/commands/watchdog.js';
import type { HostControl } from '../../../firmware/ipmi/host-control.js';
import { IpmiRouter } from '../../../firmware/ipmi/router.js';
import { SystemInterface } from '../../../firmware/ipmi/system-interface.js';
import { VM_MAX_RESPONSE_DATA, encodeRequest, parseResponse, splitFrames } from '../../../firmware/ipmi/vm/codec.js';
import { VmConnection } from '../../../firmware/ipmi/vm/connection.js';
import { Watchdog } from '../../../firmware/ipmi/watchdog.js';
import { TestLink, hex, settle } from './helpers.js';

function bmc(protocol: 'kcs' | 'bt') {
  const clock = new ManualClock();
  const link = new TestLink();
  const router = new IpmiRouter({ clock });
  router.configureBus('system', { maxInFlight: 1, maxResponseData: VM_MAX_RESPONSE_DATA });
  const si = new SystemInterface({ dispatch: (r) => router.dispatch(r) });
  let conn: VmConnection | undefined;
  const hostCalls: string[] = [];
  // The composition's HostControl: QEMU's own operations over the VM link.
  const host: HostControl = {
    powerState: () => 'on',
    powerOn: () => void hostCalls.push('powerOn'),
    powerOff: () => void conn!.hostOp('power-off'),
    powerCycle: () => void conn!.hostOp('reset'),
    hardReset: () => void conn!.hostOp('reset'),
    diagnosticInterrupt: () => void conn!.hostOp('nmi'),
    softShutdown: () => void conn!.hostOp('graceful-shutdown'),
  };
  const channels = new ChannelTable([systemInterfaceChannel({ protocol, enqueue: (m) => si.enqueueMessage(m) })]);
  const boot = new BootOptions({ clock });
  const watchdog = new Watchdog({ clock, host, systemInterface: si });
  router.register([
    ...appCommands({ identity: { firmwareMajor: 2, firmwareMinor: 5, additionalDeviceSupport: 0xbf, productId: 1 } }),
    ...watchdogCommands(watchdog),
    ...messagingCommands(si, channels),
    ...channelCommands(channels),
    ...chassisCommands({ host, clock, onChassisControl: () => boot.chassisControlReceived() }),
    ...bootOptionsCommands(boot),
  ]);
  conn = new VmConnection(link, si, { name: 'qemu' });
  link.open();
  link.feed(hex('ff 01 a1 08 3f a1'));
  let msgid = 0x10;
  /** One request as QEMU sends it; returns [cc, data…] after checking the frame as QEMU would, plus any control commands that came with it. */
  const ask = async (netfn: number, cmd: number, data: number[] = []): Promise<{ rsp: number[]; controls: number[]; order?: string[] }> => {
    const id = msgid++ & 0xff;
    link.feed(encodeRequest({ msgid: id, netfn, cmd, data: Buffer.from(data) }));
    await settle();
    const frames = splitFrames(link.take());
    const controls = frames.filter((f) => f.terminator === 0xa1).map((f) => f.raw[0]!);
    const responses = frames.filter((f) => f.terminator === 0xa0);
    if (responses.length !== 1) throw new Error(`expected one response, got ${responses.length}`);
    const r = parseResponse(responses[0]!.raw);
    if (!r || r.msgid !== id || r.netfn !== (netfn | 1) || r.cmd !== cmd) throw new Error('response does not match its request');
    const order = frames.map((f) => (f.terminator === 0xa0 ? 'response' : `control ${f.raw[0]}`));
    return Object.defineProperty({ rsp: [r.cc, ...r.data], controls }, 'order', { value: order, enumerable: false });
  };
  return { clock, link, router, si, ask, conn, hostCalls };
}

t.test('Linux on x86 KCS: ipmi_si probe, ipmi_watchdog, ipmi_poweroff, an event with ATTN_IRQ', async (t) => {
  const { ask, si, link, router } = bmc('kcs');
  t.same((await ask(6, 0x01)).rsp, [0, ...hex('20 01 02 05 02 bf 00 00 00 01 00 00 00 00 00')]);
  t.same((await ask(6, 0x2f)).rsp, [0, 0x08]);
  t.same(await ask(6, 0x2e, [0x09]), { rsp: [0], controls: [0x05] }, 'ENABLE_IRQ: Linux goes interrupt-driven');
  t.same((await ask(6, 0x2f)).rsp, [0, 0x09]);
  t.same(await ask(6, 0x2e, [0x0d]), { rsp: [0], controls: [] });
  t.same((await ask(6, 0x30, [0x08])).rsp, [0]);
  t.same((await ask(6, 0x08)).rsp.length, 17);
  t.same(await ask(6, 0x2e, [0x0f]), { rsp: [0], controls: [] });
  t.same((await ask(6, 0x35)).rsp, [0x80]);
  for (let ch = 0; ch <= 0x0f; ch++) {
    const { rsp } = await ask(6, 0x42, [ch]);
    t.equal(rsp[0], ch >= 0x0e ? 0 : 0xcc, `Get Channel Info ${ch}`);
  }
  t.same((await ask(6, 0x24, [0x04, 0x00, 0x00, 0x00, 0x64, 0x00])).rsp, [0]);
  t.same((await ask(0x2c, 0x01, [0x00])).rsp, [0xc1, 0x00], 'no PICMG: ipmi_poweroff moves on');
  t.same((await ask(0, 0x01)).rsp, [0, 0x61, 0x00, 0x40]);
  // The BMC posts an event: ATTN_IRQ (enables bit 1 is set), the driver fetches it.
  const event = hex('55 55 c0 00 00 00 00 00 00 00 3a 0f 83 ff ff ff');
  t.ok(si.postEvent(event));
  t.same(link.take(), hex('02 a1'));
  t.same((await ask(6, 0x31)).rsp, [0, 0x02]);
  t.same(await ask(6, 0x35), { rsp: [0, ...event], controls: [0x00] }, 'NOATTN with the read');
  t.same((await ask(6, 0x35)).rsp, [0x80]);
  t.notOk(router.busStats().some((b) => b.timeouts || b.handlerErrors || b.busy));
});

t.test('skiboot on powernv BT: watchdog, device id, enables, then OPAL power-down', async (t) => {
  const { ask, link, clock } = bmc('bt');
  t.same((await ask(6, 0x24, [0xc2, 0x01, 0x00, 0x00, 0x58, 0x02])).rsp, [0]);
  t.same((await ask(6, 0x22)).rsp, [0]);
  const id = (await ask(6, 0x01)).rsp;
  t.ok(id.length - 1 <= 15, 'skiboot allocates 15 bytes for Get Device ID');
  t.same((await ask(6, 0x06, [0x80, 0x7f])).rsp, [0]);
  t.same(await ask(6, 0x2e, [0x0d]), { rsp: [0], controls: [0x05] });
  t.same((await ask(6, 0x24, [0x82, 0x00, 0x00, 0x00, 0x64, 0x00])).rsp, [0], 'disarmed before the kernel');
  clock.advance(120_000);
  t.same(link.take(), Buffer.alloc(0), 'no reset: the watchdog was stopped');
  t.same((await ask(6, 0x42, [0x0f])).rsp.slice(0, 4), [0, 0x0f, 0x0c, 0x08], 'BT-15 system interface');
  const off = await ask(0, 0x02, [0x00]);
  t.same(off.rsp, [0], 'Chassis Control must get 0');
  t.same(off.order, ['response', 'control 3'], 'POWEROFF, after the reply is out');
  t.same(link.take(), Buffer.alloc(0));
});

t.test('the watchdog hard reset reaches QEMU as RESET', async (t) => {
  const { ask, link, clock } = bmc('bt');
  await ask(6, 0x24, [0xc2, 0x01, 0x00, 0x00, 0x58, 0x02]);
  await ask(6, 0x22);
  clock.advance(60_000);
  t.same(link.take(), hex('04 a1'));
});

t.test('a pre-timeout with a messaging interrupt raises ATTN_IRQ; Linux clears it', async (t) => {
  const { ask, link, clock } = bmc('kcs');
  await ask(6, 0x2e, [0x09]);
  await ask(6, 0x24, [0x04, 0x30, 0x01, 0x00, 0x14, 0x00]); // messaging interrupt, 1 s before 2 s
  await ask(6, 0x22);
  clock.advance(1000);
  t.same(link.take(), hex('02 a1'));
  t.same((await ask(6, 0x31)).rsp, [0, 0x08]);
  t.same(await ask(6, 0x30, [0x08]), { rsp: [0], controls: [0x00] });
});

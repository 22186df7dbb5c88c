/** The system interface's state, SMS_ATN rules and messaging/channel commands, through the router. */
import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import { ChannelTable, SESSION_SUPPORT, systemInterfaceChannel } from '../../../firmware/ipmi/channels.js';
import { channelCommands } from '../../../firmware/ipmi/commands/channels.js';
import { messagingCommands } from '../../../firmware/ipmi/commands/messaging.js';
import { PRIVILEGE, type IpmiResponse } from '../../../firmware/ipmi/message.js';
import { IpmiRouter } from '../../../firmware/ipmi/router.js';
import { SystemInterface, type SystemInterfaceSignal } from '../../../firmware/ipmi/system-interface.js';
import { hex, req } from './helpers.js';

function setup(opts: { protocol?: 'kcs' | 'bt'; queue?: number } = {}) {
  const router = new IpmiRouter({ clock: new ManualClock() });
  const si = new SystemInterface({ dispatch: (r) => router.dispatch(r), receiveQueueSize: opts.queue ?? 4 });
  const channels = new ChannelTable([systemInterfaceChannel({ protocol: opts.protocol ?? 'kcs', enqueue: (m) => si.enqueueMessage(m) })]);
  router.register(messagingCommands(si, channels));
  router.register(channelCommands(channels));
  const signals: SystemInterfaceSignal[] = [];
  si.onSignal((s) => signals.push(s));
  /** What the wire would have been told since the last call, as VM opcodes for readability. */
  const said = (): string[] => {
    const out = signals.map((s) =>
      s.kind === 'interrupts' ? (s.enabled ? 'ENABLE_IRQ' : 'DISABLE_IRQ') : { none: 'NOATTN', attn: 'ATTN', 'attn-irq': 'ATTN_IRQ' }[s.attention],
    );
    signals.length = 0;
    return out;
  };
  const host = async (cmd: number, data: number[] = []): Promise<number[]> => {
    const r: IpmiResponse = await si.handleRequest({ netfn: 6, lun: 0, cmd, data: Buffer.from(data) }, 'test');
    return [r.cc, ...r.data];
  };
  return { router, si, channels, said, host };
}

const EVENT = hex('55 55 c0 00 00 00 00 00 00 00 3a 04 00 ff ff ff');

t.test('power-up state: global enables 08 (SEL logging), no flags, no ATN', async (t) => {
  const { host, said, si } = setup();
  t.same(await host(0x2f), [0, 0x08]);
  t.same(await host(0x31), [0, 0x00]);
  t.same(await host(0x33), [0x80], 'Get Message on an empty queue: 80');
  t.same(await host(0x35), [0x80], 'Read Event Message Buffer when empty: 80');
  t.same(said(), [], 'reading state never signals');
  t.equal(si.attention, 'none');
  t.ok(si.systemEventLogging);
});

t.test('a queued message sets ATN (no IRQ while enables bit 0 is off) and the last Get Message clears it', async (t) => {
  const { host, said, si } = setup();
  t.ok(si.enqueueMessage({ channel: 0x01, privilege: 4, data: hex('18 04 01') }));
  t.same(said(), ['ATTN']);
  t.ok(si.enqueueMessage({ channel: 0x02, privilege: 0, data: hex('99') }));
  t.same(said(), [], 'still ATN: nothing new to say');
  t.same(await host(0x31), [0, 0x01]);
  t.same(await host(0x33), [0, 0x41, 0x18, 0x04, 0x01]);
  t.same(said(), [], 'one left: ATN stays');
  t.same(await host(0x33), [0, 0x02, 0x99]);
  t.same(said(), ['NOATTN'], 'empty: ATN cleared');
  t.same(await host(0x31), [0, 0x00]);
  t.same(await host(0x33), [0x80]);
  t.same(said(), []);
});

t.test('Set BMC Global Enables: bit 0 0→1 says ENABLE_IRQ, 1→0 DISABLE_IRQ; later messages ATTN_IRQ', async (t) => {
  const { host, said, si } = setup();
  // The Linux ipmi_si probe (read-modify-write): 08 → 09 → 0D → 0F.
  t.same(await host(0x2e, [0x09]), [0]);
  t.same(said(), ['ENABLE_IRQ']);
  t.same(await host(0x2e, [0x0d]), [0]);
  t.same(await host(0x2e, [0x0f]), [0]);
  t.same(said(), [], 'no repeat while bit 0 stays set');
  t.same(await host(0x2f), [0, 0x0f]);
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') });
  t.same(said(), ['ATTN_IRQ']);
  t.same(await host(0x2e, [0x0e]), [0]);
  t.same(said(), ['DISABLE_IRQ', 'ATTN'], 'IRQ off first, then the attention without it');
  t.same(await host(0x2e, [0x0f]), [0]);
  t.same(said(), ['ENABLE_IRQ', 'ATTN_IRQ'], 'IRQ on before ATTN_IRQ, so QEMU can raise it');
});

t.test('Set BMC Global Enables refuses reserved bit 4 and wrong lengths; nothing changes', async (t) => {
  const { host, said } = setup();
  t.same(await host(0x2e, [0x11]), [0xcc]);
  t.same(await host(0x2e, []), [0xc7]);
  t.same(await host(0x2e, [1, 0]), [0xc7]);
  t.same(await host(0x2f, [0]), [0xc7]);
  t.same(await host(0x2f), [0, 0x08]);
  t.same(said(), []);
  // OEM bits are accepted and kept.
  t.same(await host(0x2e, [0xe8]), [0]);
  t.same(await host(0x2f), [0, 0xe8]);
});

t.test('event message buffer: needs enables bit 2, holds one event, ATN per bit 1', async (t) => {
  const { host, said, si } = setup();
  t.notOk(si.postEvent(EVENT), 'refused while the buffer is disabled');
  t.same(said(), []);
  await host(0x2e, [0x0c]);
  t.ok(si.postEvent(EVENT));
  t.same(said(), ['ATTN'], 'bit 1 (buffer full interrupt) off: ATTN');
  t.notOk(si.postEvent(EVENT), 'full: refused');
  t.same(await host(0x31), [0, 0x02]);
  t.same(await host(0x35), [0, ...EVENT]);
  t.same(said(), ['NOATTN']);
  t.same(await host(0x35), [0x80]);
  await host(0x2e, [0x0e]);
  t.ok(si.postEvent(EVENT));
  t.same(said(), ['ATTN_IRQ'], 'bit 1 on: with the IRQ');
  const s = si.stats();
  t.equal(s.eventsRefusedDisabled, 1);
  t.equal(s.eventsRefusedFull, 1);
  t.throws(() => si.postEvent(Buffer.alloc(15)), RangeError);
});

t.test('the interrupt follows the flag that is set: message IRQ under bit 0, event IRQ under bit 1', async (t) => {
  const { host, said, si } = setup();
  await host(0x2e, [0x06]); // event buffer + its interrupt, no message interrupt
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') });
  t.same(said(), ['ATTN'], 'message flag, bit 0 off: no IRQ');
  si.postEvent(EVENT);
  t.same(said(), ['ATTN_IRQ'], 'event flag under bit 1: IRQ');
  await host(0x35);
  t.same(said(), ['ATTN'], 'back to the message alone');
  await host(0x33);
  t.same(said(), ['NOATTN']);
});

t.test('Clear Message Flags flushes the queue (bit 0), the buffer (bit 1), the watchdog flag (bit 3); reserved bits ignored', async (t) => {
  const { host, said, si } = setup();
  await host(0x2e, [0x0c]);
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') });
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('02') });
  si.postEvent(EVENT);
  si.watchdogPretimeout(false);
  t.same(await host(0x31), [0, 0x0b]);
  t.same(said(), ['ATTN']);
  t.same(await host(0x30, [0x14]), [0], 'reserved bits only');
  t.same(await host(0x31), [0, 0x0b]);
  t.same(await host(0x30, [0x01]), [0]);
  t.same(await host(0x31), [0, 0x0a]);
  t.same(await host(0x33), [0x80], 'queue flushed');
  t.same(await host(0x30, [0x08]), [0], 'as Linux does at load');
  t.same(await host(0x31), [0, 0x02]);
  t.same(said(), []);
  t.same(await host(0x30, [0x02]), [0]);
  t.same(said(), ['NOATTN']);
  t.same(await host(0x35), [0x80], 'buffer emptied');
  t.same(await host(0x30, []), [0xc7]);
});

t.test('watchdog pre-timeout: flag bit 3, ATTN_IRQ only for a messaging interrupt with bit 0 set', async (t) => {
  const { host, said, si } = setup();
  await host(0x2e, [0x09]);
  said();
  si.watchdogPretimeout(false);
  t.same(said(), ['ATTN'], 'NMI/SMI type: attention without IRQ');
  await host(0x30, [0x08]);
  t.same(said(), ['NOATTN']);
  si.watchdogPretimeout(true);
  t.same(said(), ['ATTN_IRQ']);
  t.same(await host(0x31), [0, 0x08]);
  await host(0x30, [0x08]);
  t.same(said(), ['NOATTN']);
});

t.test('OEM flags raise ATN and interrupt under their OEM enable bits', async (t) => {
  const { host, said, si } = setup();
  si.setOemFlag(1, true);
  t.same(said(), ['ATTN']);
  t.same(await host(0x31), [0, 0x40]);
  await host(0x2e, [0x48]);
  t.same(said(), ['ATTN_IRQ']);
  await host(0x30, [0x40]);
  t.same(said(), ['NOATTN']);
});

t.test('signals() brings a new wire up to date: IRQ enable first, then the attention', async (t) => {
  const { host, si } = setup();
  t.same(si.signals(), []);
  await host(0x2e, [0x09]);
  t.same(si.signals(), [{ kind: 'interrupts', enabled: true }]);
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') });
  t.same(si.signals(), [
    { kind: 'interrupts', enabled: true },
    { kind: 'attention', attention: 'attn-irq' },
  ]);
});

t.test('host reset: enables back to xxxx_100x with bit 0 clear; BMC reset: everything', async (t) => {
  const { host, said, si } = setup();
  await host(0x2e, [0xef]);
  si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') });
  said();
  si.hostReset();
  t.equal(si.globalEnables, 0xe8, 'OEM bits kept');
  t.same(said(), ['DISABLE_IRQ', 'ATTN'], 'the message is still there, without the IRQ');
  si.bmcReset();
  t.same(si.state(), { globalEnables: 0x08, messageFlags: 0, attention: 'none', receiveQueueLength: 0, eventBufferFull: false });
  t.same(said(), ['NOATTN']);
});

t.test('the receive queue is bounded', async (t) => {
  const { si } = setup({ queue: 2 });
  t.ok(si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('01') }));
  t.ok(si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('02') }));
  t.notOk(si.enqueueMessage({ channel: 0xf, privilege: 4, data: hex('03') }));
  t.equal(si.stats().messagesRefused, 1);
  t.throws(() => new SystemInterface({ dispatch: async () => ({ cc: 0, data: Buffer.alloc(0) }), receiveQueueSize: 0 }), RangeError);
});

t.test('Send Message: to the system interface lands in the receive queue; absent channels get CC', async (t) => {
  const { host, said } = setup({ queue: 1 });
  t.same(await host(0x34, [0x0f, 0x20, 0x18]), [0]);
  t.same(said(), ['ATTN']);
  t.same(await host(0x34, [0x0f, 0x21]), [0xc4], 'queue full: out of space');
  t.same(await host(0x33), [0, 0x4f, 0x20, 0x18], 'from channel F at ADMINISTRATOR');
  t.same(await host(0x34, [0x0e, 0x01]), [0], '0xE = this channel');
  t.same(await host(0x33), [0, 0x4f, 0x01]);
  t.same(await host(0x34, [0x00, 0x20, 0x18]), [0xcc], 'no IPMB channel 0');
  t.same(await host(0x34, [0x07]), [0xcc]);
  t.same(await host(0x34, [0xcf, 0x01]), [0xcc], 'tracking 11b is reserved');
  t.same(await host(0x34, []), [0xc7]);
});

t.test('Get Channel Info: only the system interface exists (Linux probes 0..F)', async (t) => {
  const { host } = setup();
  const answers: number[][] = [];
  for (let ch = 0; ch <= 0x0f; ch++) answers.push(await host(0x42, [ch]));
  for (let ch = 0; ch <= 0x0d; ch++) t.same(answers[ch], [0xcc], `channel ${ch} absent`);
  const sys = [0, 0x0f, 0x0c, 0x05, 0x00, 0xf2, 0x1b, 0x00, 0xff, 0xff];
  t.same(answers[0x0e], sys, '0xE resolves to this channel (F)');
  t.same(answers[0x0f], sys);
  t.same(await host(0x42, []), [0xc7]);
  t.same(await host(0x42, [0x0f, 0]), [0xc7]);
  const bt = setup({ protocol: 'bt' });
  t.same((await bt.host(0x42, [0x0f]))[3], 0x08, 'BT-15 protocol');
});

t.test('Get Channel Authentication Capabilities: session-less and absent channels get CC', async (t) => {
  const { host, channels } = setup();
  t.same(await host(0x38, [0x0e, 0x04]), [0xcc], 'the system interface runs no sessions');
  t.same(await host(0x38, [0x8f, 0x04]), [0xcc]);
  t.same(await host(0x38, [0x01, 0x04]), [0xcc], 'absent channel');
  t.same(await host(0x38, [0x0f, 0x00]), [0xcc], 'privilege 0');
  t.same(await host(0x38, [0x0f, 0x06]), [0xcc], 'privilege 6');
  t.same(await host(0x38, [0x0f]), [0xc7]);
  // A channel that runs sessions answers with its own data.
  channels.add({
    number: 1,
    medium: 0x04,
    protocol: 0x01,
    sessionSupport: SESSION_SUPPORT.MULTI,
    authCapabilities: ({ extended, privilege }) => Buffer.from([1, extended ? 0x80 : 0, privilege, 0, 0, 0, 0, 0]),
  });
  t.same(await host(0x38, [0x81, 0x04]), [0, 1, 0x80, 4, 0, 0, 0, 0, 0]);
  t.same(await host(0x42, [0x01]), [0, 0x01, 0x04, 0x01, 0x80, 0xf2, 0x1b, 0x00, 0x00, 0x00]);
});

t.test('requests run on the system bus at ADMINISTRATOR on channel F; privileges are the spec\'s', async (t) => {
  const { router, si } = setup();
  await si.handleRequest({ netfn: 6, lun: 0, cmd: 0x2f, data: Buffer.alloc(0) }, 'qemu#1');
  const [entry] = router.logOf('system');
  t.equal(entry!.requester, 'qemu#1');
  // A LAN user may not read the host's message flags.
  const r = await router.dispatch(req(6, 0x31, [], { bus: 'lan', privilege: PRIVILEGE.USER, channel: 1 }));
  t.equal(r.cc, 0xd4);
  t.equal((await router.dispatch(req(6, 0x2f, [], { bus: 'lan', privilege: PRIVILEGE.USER }))).cc, 0);
});

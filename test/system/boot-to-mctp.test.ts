/**
 * Boot to MCTP: a real QEMU guest (Debian kernel under TCG) boots against the
 * emulated BMC; the guest agent brings up astlpc over the ivshmem BAR and the
 * virtio-serial KCS wire, and the serial binding on ttyS1; the BMC's bus
 * owner assigns the host's EIDs; echoes and 64 KiB messages cross both
 * links. Then a QMP system_reset (at once the host's endpoints are
 * unavailable and the astlpc channel down; the new boot's agent re-inits the
 * channel and the bus owner sets the endpoints up again) and a kill -9 of
 * QEMU (the BMC reports the host crashed, its endpoints unavailable, keeps
 * running, and powers it on again). The time to each milestone is printed
 * as a TAP comment.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { withTimeout } from '../helpers/timeout.js';
import { BmcInstance } from '../../instance/bmc-instance.js';
import { MCTP_TAG_OWNER } from '../../firmware/mctp/constants.js';
import { ECHO_HEADER } from '../../firmware/mctp/echo.js';
import type { EndpointInfo } from '../../firmware/services/bus-owner/bus-owner.js';

const BOOT_LIMIT_MS = 120_000;


async function bigRoundTrip(inst: BmcInstance, eid: number): Promise<boolean> {
  const s = inst.fw.stack.socket();
  try {
    const msg = Buffer.alloc(65535);
    for (let i = 0; i < msg.length; i++) msg[i] = (i * 7 + 3) & 0xff;
    msg.set(ECHO_HEADER);
    s.sendto(msg, { net: 1, eid, type: 0x7e, tag: MCTP_TAG_OWNER });
    const r = await withTimeout(s.recvfrom(), 60_000, `64 KiB echo from EID ${eid}`);
    return r.data.equals(msg);
  } finally {
    s.close();
  }
}

/** The astlpc endpoint once the new boot has it available again and it answers an echo. */
async function answeringEndpoint(inst: BmcInstance): Promise<EndpointInfo> {
  for (;;) {
    const e = inst.fw.busOwner.endpoints().find((x) => x.iface === 'mctplpc0' && x.connectivity === 'available');
    if (e && (await inst.echo(e.eid).then(() => true, () => false))) return e;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function endpointOn(inst: BmcInstance, iface: string): Promise<EndpointInfo> {
  return withTimeout(inst.fw.busOwner.waitForEndpoint({ iface }), BOOT_LIMIT_MS, `an endpoint on ${iface}`);
}

t.test('boot to MCTP over astlpc and serial, reset, kill -9', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bsys-'));
  const lines: string[] = [];
  const inst = new BmcInstance({
    runtimeDir: dir,
    api: false,
    log: (l) => lines.push(l),
  });
  t.teardown(async () => {
    await inst.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const t0 = Date.now();
  const since = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  await inst.start();

  const lpc = await endpointOn(inst, 'mctplpc0');
  t.comment(`host endpoint on astlpc: EID ${lpc.eid} at ${since()} after power-on`);
  t.match(lpc, { connectivity: 'available' });
  t.ok(lpc.messageTypes.includes(0x7e), 'the guest agent advertises the echo service');
  const astlpc = inst.fw.astlpc.stats() as { version: { negotiated: number }; mtu: { current: number } };
  t.equal(astlpc.version.negotiated, 3, 'astlpc protocol v3');
  t.comment(`astlpc MTU ${astlpc.mtu.current}`);
  const echo = await inst.echo(lpc.eid);
  t.comment(`echo over astlpc: ${echo.rttMs.toFixed(2)} ms at ${since()}`);
  t.ok(await bigRoundTrip(inst, lpc.eid), '64 KiB each way over astlpc, intact');
  const milestones = inst.events.current().map((r) => `${r.name}@${r.seconds}s`);
  t.comment(`milestones: ${milestones.join(', ')}`);
  t.ok(inst.events.current().some((r) => r.name === 'agent-astlpc-up'), 'the agent reported astlpc up on the console');

  const serial = await endpointOn(inst, 'mctpserial0');
  t.comment(`host endpoint on serial: EID ${serial.eid} at ${since()}`);
  t.not(serial.eid, lpc.eid, 'a separate EID on the serial link');
  t.ok(await bigRoundTrip(inst, serial.eid), '64 KiB each way over the serial binding, intact');
  t.match(inst.host!.boot, { id: 1, reason: 'power-on' });

  // Host reset through QMP: state follows the host at once — a new boot, the host's endpoints
  // unavailable, the channel down — then the new boot's agent brings them back.
  const tReset = Date.now();
  await inst.host!.reset();
  t.match(inst.host!.boot, { id: 2, reason: 'reset' }, 'a reset is a new boot');
  t.not(inst.fw.astlpc.state, 'active', 'the astlpc channel is down at once');
  t.equal(inst.fw.astlpc.stats().carrier, false);
  t.same(
    inst.fw.busOwner
      .endpoints()
      .map((e) => [e.iface, e.connectivity])
      .sort(),
    [
      ['mctplpc0', 'unavailable'],
      ['mctpserial0', 'unavailable'],
    ],
    "the host's endpoints are unavailable at once",
  );
  await t.rejects(inst.astlpcEndpoint({ timeoutMs: 0 }), { code: 'ERR_WAIT_TIMEOUT' }, "the previous boot's endpoint does not count");
  const again = await withTimeout(
    answeringEndpoint(inst),
    BOOT_LIMIT_MS,
    'echo after reset',
  );
  t.comment(`after system_reset: EID ${again.eid} answers again ${((Date.now() - tReset) / 1000).toFixed(1)} s later`);
  t.equal(inst.fw.astlpc.state, 'active', 'the new boot re-initialised the channel');
  t.pass('echo works again after a host reset');
  const serialAgain = await endpointOn(inst, 'mctpserial0');
  t.comment(`serial endpoint EID ${serialAgain.eid} available again ${((Date.now() - tReset) / 1000).toFixed(1)} s after the reset`);

  // kill -9 of QEMU: the BMC reports the host off/crashed and keeps running.
  const pid = inst.host!.pid!;
  const crashed = new Promise<string>((resolve) => inst.host!.on('state', ({ to }: { to: string }) => (to === 'crashed' || to === 'off') && resolve(to)));
  process.kill(pid, 'SIGKILL');
  t.match(await withTimeout(crashed, 30_000, 'the host to be reported down'), /crashed|off/, 'QEMU killed: host reported down');
  t.ok(inst.fw.stack.findInterface('mctplpc0'), 'BMC firmware still running');
  t.equal(inst.host!.boot, null, 'no boot runs');
  t.not(inst.fw.astlpc.state, 'active', 'the astlpc channel is down');
  t.ok(
    inst.fw.busOwner.endpoints().every((e) => e.connectivity === 'unavailable'),
    "the dead host's endpoints are unavailable",
  );
  await inst.powerOn();
  t.match(inst.host!.boot, { id: 3, reason: 'power-on' });
  const back = await withTimeout(
    answeringEndpoint(inst),
    BOOT_LIMIT_MS,
    'echo after power-on',
  );
  t.ok(back.eid >= 8, `powered on again; EID ${back.eid} answers`);
  t.comment(lines.filter((l) => /host: (init-started|host-root-mounted|bmcemu-agent)/.test(l)).join(' | '));
});

/**
 * The real thing under TCG: build (or find) the x86 host image, start the
 * BMC's SoC wires (KCS wire server, LPC window file), boot QEMU with the
 * real command line and wait for the guest's milestones on the console;
 * then reset, soft off through the ACPI power button, and a kill -9 of QEMU
 * that must be seen as a crash with power-on working again.
 *
 * Four boots in all, each a few seconds under TCG. If QEMU is missing this
 * fails with the install hint (make test installs it first).
 */
import fs from 'node:fs';
import t from 'tap';
import { Ast2500Soc } from '../../hw-models/ast2500-soc.js';
import { MILESTONES } from '../../images/guest-init.js';
import { whichSync } from '../../qemu/accel.js';
import type { HostEvent, HostStateChange } from '../../qemu/host-power.js';
import { X86_QEMU_BINARY } from '../../qemu/machines.js';
import { qemuMissingMessage } from '../../qemu/qemu-binary.js';
import { createX86Host } from '../../qemu/x86-host.js';
import { pidAlive, shortTempDir } from './helpers/util.js';

const BOOT_MS = 90_000; // per milestone wait: generous for a loaded 2-core CI machine

t.test('x86 host boots the image, runs a command, resets, powers off, survives kill -9', async (t) => {
  if (!whichSync(X86_QEMU_BINARY)) {
    t.fail(qemuMissingMessage(X86_QEMU_BINARY));
    return;
  }
  const dir = shortTempDir(t, 'bb-');
  const soc = new Ast2500Soc({ runtimeDir: dir });
  await soc.start();
  t.teardown(() => soc.close());

  // The command runs in the host root, chrooted: it sees the virtio-serial
  // port by name and the ivshmem device (1af4:1110) that maps the window.
  const command = [
    'echo bmcemu-guest: hello',
    'cat /proc/version',
    'echo "port=$(cat /sys/class/virtio-ports/*/name)"',
    'for d in /sys/bus/pci/devices/*; do [ "$(cat $d/vendor):$(cat $d/device)" = 0x1af4:0x1110 ] && echo ivshmem=$(basename $d); done',
    'true',
  ].join('; ');
  const progress: string[] = [];
  const host = createX86Host({
    runtimeDir: dir,
    accel: 'tcg',
    guest: { command },
    // The SoC serves the console wire (its VUART's host side); HostPower listens in.
    console: soc.consoleWire,
    mctpSerial: false,
    onProgress: (l) => progress.push(l),
  });
  const log: string[] = [];
  const states: string[] = [];
  const events: HostEvent[] = [];
  host.on('log', (l: string) => log.push(l));
  host.on('state', (c: HostStateChange) => states.push(c.to));
  host.on('host-event', (e: HostEvent) => events.push(e));
  t.teardown(async () => {
    await host.close();
    if (t.passing()) return;
    t.comment(`host log:\n${log.join('\n')}\nconsole:\n${host.console.tail(60).join('\n')}`);
  });

  const t0 = performance.now();
  const secs = (at: number, from = t0): string => `${((at - from) / 1000).toFixed(1)} s`;
  await host.powerOn();
  t.equal(host.state, 'running');
  t.comment(`QEMU running after ${secs(performance.now())} (${progress.join('; ')})`);
  const init1 = await host.waitForConsoleLine(MILESTONES.initStarted, { timeoutMs: BOOT_MS });
  const mods1 = await host.waitForConsoleLine(MILESTONES.modulesLoaded, { timeoutMs: BOOT_MS });
  const root1 = await host.waitForConsoleLine(MILESTONES.hostRootMounted, { timeoutMs: BOOT_MS });
  t.comment(`boot 1 from power on: init ${secs(init1.at)}, modules ${secs(mods1.at)}, host root ${secs(root1.at)}`);
  t.pass('boot 1: host root mounted');
  await host.waitForConsoleLine('bmcemu-guest: hello', { timeoutMs: BOOT_MS });
  const version = await host.waitForConsoleLine(/^Linux version \d/, { timeoutMs: BOOT_MS });
  t.match(version.text, /Debian/, 'the chroot read /proc/version');
  t.ok(await host.waitForConsoleLine('port=bmcemu.kcs.3', { timeoutMs: BOOT_MS }), 'the KCS wire port is named in the guest');
  t.ok(await host.waitForConsoleLine(/^ivshmem=0000:/, { timeoutMs: BOOT_MS }), 'the LPC window device is on the PCI bus');
  const exited = await host.waitForConsoleLine(MILESTONES.commandExited, { timeoutMs: BOOT_MS });
  t.comment(`command done ${secs(exited.at)} after power on`);
  t.equal(exited.text, `${MILESTONES.commandExited} status=0`);
  t.ok(soc.kcsWire.stats().connections >= 1, 'QEMU connected the KCS wire to the BMC');
  t.ok(fs.statSync(soc.windowFile).size === 1 << 20, 'the window file is intact');

  // Reset: the milestones come back, in a new boot.
  const bootsBefore = host.boots;
  const r0 = performance.now();
  await host.reset();
  t.equal(host.boots, bootsBefore + 1, 'one reset, one new boot');
  const again = await host.waitForConsoleLine(MILESTONES.hostRootMounted, { timeoutMs: BOOT_MS });
  t.ok(again.seq > exited.seq, 'boot 2: host root mounted again, after the reset');
  t.comment(`reset to host root mounted: ${secs(again.at, r0)}`);

  // Soft off: the ACPI power button; the guest's acpid powers off.
  await host.waitForConsoleLine(MILESTONES.commandExited, { timeoutMs: BOOT_MS });
  t.equal(await host.softOff({ timeoutMs: 30_000 }), 'soft', 'the guest powered itself off');
  t.equal(host.state, 'off');
  t.ok(host.console.lines().some((l) => l.text === MILESTONES.poweringOff), 'the guest said so');
  t.ok(events.some((e) => e.type === 'shutdown' && e.data.reason === 'guest-shutdown'));

  // Power on again, kill -9 QEMU mid-boot: a crash; then power on once more.
  await host.powerOn();
  await host.waitForConsoleLine(MILESTONES.initStarted, { timeoutMs: BOOT_MS });
  const pid = host.pid!;
  process.kill(pid, 'SIGKILL');
  await host.waitForState('crashed', 10_000);
  t.notOk(pidAlive(pid), 'QEMU is gone');
  t.match(host.snapshot().lastExit, { signal: 'SIGKILL', expected: false });
  await host.powerOn();
  await host.waitForConsoleLine(MILESTONES.initStarted, { timeoutMs: BOOT_MS });
  t.pass('boot 4 after the crash');
  await host.hardOff();
  t.equal(host.state, 'off');
  t.same(states, ['starting', 'running', 'stopping', 'off', 'starting', 'running', 'crashed', 'starting', 'running', 'stopping', 'off']);
  t.comment(`total: ${secs(performance.now())}`);
});

/**
 * IPMI end to end: a real QEMU guest (Debian kernel under TCG) with
 * isa-ipmi-kcs + ipmi-bmc-extern; Linux's ipmi_si finds the KCS interface,
 * and Debian's ipmitool — run in the guest from the machine's read-only root,
 * through /dev/ipmi0 — is answered by bmcemu. The test types into the guest's
 * console shell as a person would. It checks the identity, the SEL (add,
 * list, clear), SDRs, sensors, FRU, chassis status, a chassis power cycle
 * (QEMU really restarts and the guest boots again) and a watchdog left to
 * expire (the host really resets, and the SEL says why).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { BmcInstance } from '../../instance/bmc-instance.js';
import { MILESTONES } from '../../images/guest-init.js';
import type { HostPower } from '../../qemu/host-power.js';
import { waitFor } from '../../lib/wait.js';

const BOOT_LIMIT_MS = 120_000;
const END = /^@@end (\d+)$/;

/** The guest's console shell, driven as a person would type into it. */
class GuestShell {
  #n = 0;
  constructor(
    private readonly inst: BmcInstance,
    private readonly host: HostPower,
  ) {}

  /** After (re)boot: the shell the guest's init started is up and answers. */
  async ready(after: number): Promise<void> {
    await this.host.console.waitForLine(MILESTONES.runningCommand, { after, timeoutMs: BOOT_LIMIT_MS });
    const { status } = await this.run('echo shell-ready');
    if (status !== 0) throw new Error('the guest shell did not answer');
  }

  /** Type a command line and do not wait for it (it may take the host down). */
  send(cmd: string): void {
    this.inst.fw.console.write(`${cmd}\n`);
  }

  /** One command line; its output lines (without the echo of what was typed) and its exit status. */
  async run(cmd: string, timeoutMs = 60_000): Promise<{ out: string[]; status: number }> {
    const id = ++this.#n;
    const mark = this.host.console.mark();
    this.inst.fw.console.write(`${cmd}; echo "@@end $?" # ${id}\n`);
    const end = await this.host.console.waitForLine(END, { after: mark, timeoutMs });
    const lines = this.host.console
      .lines(mark)
      .filter((l) => l.seq < end.seq && !l.text.includes(`# ${id}`))
      .map((l) => l.text.trimEnd());
    return { out: lines, status: Number(END.exec(end.text)![1]) };
  }
}

t.test('ipmitool in the guest, through Linux ipmi_si and /dev/ipmi0, answered by bmcemu', async (t) => {
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bipmi-'));
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bipmi-state-'));
  const log: string[] = [];
  const inst = new BmcInstance({ runtimeDir, stateDir, api: false, guestCommand: 'exec /bin/sh -i', log: (l) => log.push(l) });
  t.teardown(async () => {
    await inst.stop();
    fs.rmSync(runtimeDir, { recursive: true, force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  const t0 = Date.now();
  const since = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  await inst.start();
  const host = inst.host!;
  const sh = new GuestShell(inst, host);
  await sh.ready(0);

  const dev = await sh.run('for i in $(seq 150); do [ -e /dev/ipmi0 ] && break; sleep 0.2; done; ls /dev/ipmi0');
  t.equal(dev.status, 0, `/dev/ipmi0 appears (ipmi_si found the KCS interface) at ${since()}`);

  const info = await sh.run('ipmitool mc info');
  t.equal(info.status, 0, 'mc info');
  t.ok(info.out.some((l) => /^IPMI Version\s+: 2\.0$/.test(l)), 'IPMI 2.0');
  t.ok(info.out.some((l) => /^Manufacturer ID\s+: 49871$/.test(l)), 'the manufacturer bmcemu reports');
  t.ok(info.out.some((l) => /SEL Device/.test(l)) && info.out.some((l) => /FRU Inventory Device/.test(l)), 'device support lists SEL and FRU');

  const guid = await sh.run('ipmitool mc guid');
  t.equal(guid.status, 0, 'mc guid');
  t.ok(guid.out.some((l) => /GUID/.test(l)));

  t.equal((await sh.run('ipmitool sel clear')).status, 0, 'sel clear');
  const add = await sh.run("echo '0x04 0x01 0x01 0x01 0x57 0xff 0xff' > /dev/shm/ev && ipmitool sel add /dev/shm/ev");
  t.equal(add.status, 0, 'sel add');
  const sel = await sh.run('ipmitool sel list');
  t.equal(sel.status, 0, 'sel list');
  t.ok(sel.out.some((l) => /Temperature .*Upper Non-critical going high \| Asserted/.test(l)), 'the added event is listed');

  const sdr = await sh.run('ipmitool sdr list');
  t.equal(sdr.status, 0, 'sdr list');
  t.ok(sdr.out.some((l) => /^Inlet Temp\s+\| \d+ degrees C\s+\| (ok|nc|cr|nr)$/.test(l)), 'a temperature with a reading');
  t.ok(sdr.out.some((l) => /^Fan 1\s+\| \d+ RPM/.test(l)), 'a fan with a reading');
  const sensors = await sh.run('ipmitool sensor list');
  t.equal(sensors.status, 0, 'sensor list');
  t.ok(sensors.out.some((l) => /^Inlet Temp\s+\|/.test(l)), 'sensor list shows thresholds');
  const fru = await sh.run('ipmitool fru print 0');
  t.equal(fru.status, 0, 'fru print');
  t.ok(fru.out.some((l) => /Board Mfg\s+:/.test(l)) && fru.out.some((l) => /Product Name\s+:/.test(l)), 'board and product areas');
  const chassis = await sh.run('ipmitool chassis status');
  t.equal(chassis.status, 0, 'chassis status');
  t.ok(chassis.out.some((l) => /^System Power\s+: on$/.test(l)), 'power is on');
  t.comment(`inventory checks done at ${since()}`);

  // Chassis power cycle: the BMC answers, then really turns QEMU off and on
  // (at once, as a real BMC does: the guest may not live to print the answer).
  const bootsBefore = host.boots;
  const off = waitFor(host, 'state', (s: { to: string }) => s.to !== 'running');
  sh.send('ipmitool chassis power cycle');
  await off;
  t.pass(`the host went down after Chassis Control at ${since()}`);
  await waitFor(host, 'state', (s: { to: string }) => s.to === 'running', { timeoutMs: BOOT_LIMIT_MS, what: 'the host running again' });
  await sh.ready(host.console.mark());
  t.ok(host.boots > bootsBefore, `the host booted again (${host.boots} boots) at ${since()}`);

  // The watchdog: 5 s, hard reset, SMS/OS use; started by mc watchdog reset and left to expire.
  const dev2 = await sh.run('for i in $(seq 150); do [ -e /dev/ipmi0 ] && break; sleep 0.2; done; ls /dev/ipmi0');
  t.equal(dev2.status, 0, '/dev/ipmi0 after the power cycle');
  t.equal((await sh.run('ipmitool raw 0x06 0x24 0x04 0x01 0x00 0x10 0x32 0x00')).status, 0, 'Set Watchdog Timer: 5 s, hard reset');
  const markDog = host.console.mark();
  const resetsBefore = host.boots;
  t.equal((await sh.run('ipmitool mc watchdog reset')).status, 0, 'the watchdog is started');
  const get = await sh.run('ipmitool mc watchdog get');
  t.ok(get.out.some((l) => /Hard Reset/.test(l)), 'mc watchdog get shows the hard-reset action');
  await sh.ready(markDog);
  t.ok(host.boots > resetsBefore, `the watchdog reset the host at ${since()}`);
  const after = await sh.run('for i in $(seq 150); do [ -e /dev/ipmi0 ] && break; sleep 0.2; done; ipmitool sel list');
  t.ok(after.out.some((l) => /Watchdog2 .*Hard reset \| Asserted/.test(l)), 'the SEL records the watchdog hard reset');
  t.comment(`done at ${since()}`);
});

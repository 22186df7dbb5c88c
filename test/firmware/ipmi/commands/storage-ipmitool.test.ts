/**
 * The real ipmitool against these commands, through its "dummy" interface
 * (a Unix socket; storage-ipmitool-server.ts). Skipped where ipmitool is
 * not installed. What it prints is what a host user will see.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { createStorageAndSensors } from '../../../../firmware/ipmi/commands/storage-and-sensors.js';
import { stateDir } from '../../../helpers/state-dir.js';
import { ipmitoolDummyServer } from './storage-ipmitool-server.js';

const IPMITOOL = ['/usr/bin/ipmitool', '/usr/local/bin/ipmitool'].find((p) => fs.existsSync(p));
const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);
const run = promisify(execFile);

const skip = !IPMITOOL ? 'ipmitool is not installed' : process.arch !== 'x64' && process.arch !== 'arm64' ? 'the dummy interface structs assume LP64' : false;

t.test('ipmitool prints the SEL, SDRs, sensors and FRU as meant', { skip }, async (t) => {
  const dir = stateDir(t, 'bmcemu-ipmitool-');
  const clock = new ManualClock();
  const ipmi = createStorageAndSensors({ clock, stateDir: dir, wallClock: () => T0 + clock.now(), selSyncEachChange: false });
  t.teardown(() => ipmi.close());
  ipmi.inletTemp.override(47);
  ipmi.fan.override(450);
  ipmi.sensors.scan();
  ipmi.inletTemp.override(30);
  clock.advance(60_000);
  ipmi.sensors.scan();
  ipmi.watchdog.timerExpired({ action: 'hard-reset', timerUse: 4, interrupt: 'none' });

  const sock = path.join(dir, 'ipmi.sock');
  const server = await ipmitoolDummyServer(sock, ipmi.commands);
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  /** stdout + stderr; the exit status is ignored (`fru edit` exits 1 after "Done."). */
  const ipmitool = async (...args: string[]): Promise<string> => {
    const r = await run(IPMITOOL!, ['-I', 'dummy', ...args], { env: { ...process.env, IPMI_DUMMY_SOCK: sock, TZ: 'UTC' }, timeout: 60_000 }).catch(
      (e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );
    return r.stdout + r.stderr;
  };
  const lines = (s: string) => s.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

  t.same(lines(await ipmitool('sel', 'elist')), [
    '1 | 01/02/25 | 03:04:05 UTC | Temperature Inlet Temp | Upper Non-critical going high | Asserted | Reading 47 > Threshold 40 degrees C',
    '2 | 01/02/25 | 03:04:05 UTC | Temperature Inlet Temp | Upper Critical going high | Asserted | Reading 47 > Threshold 45 degrees C',
    '3 | 01/02/25 | 03:04:05 UTC | Fan Fan 1 | Lower Non-critical going low  | Asserted | Reading 450 < Threshold 1000 RPM',
    '4 | 01/02/25 | 03:04:05 UTC | Fan Fan 1 | Lower Critical going low  | Asserted | Reading 450 < Threshold 500 RPM',
    '5 | 01/02/25 | 03:05:05 UTC | Temperature Inlet Temp | Upper Critical going high | Deasserted | Reading 30 < Threshold 45 degrees C',
    '6 | 01/02/25 | 03:05:05 UTC | Temperature Inlet Temp | Upper Non-critical going high | Deasserted | Reading 30 < Threshold 40 degrees C',
    '7 | 01/02/25 | 03:05:05 UTC | Watchdog2 Watchdog | Hard reset | Asserted',
  ].map((l) => l.padStart(l.length + 3)));

  t.same(lines(await ipmitool('sdr', 'list')), [
    'Inlet Temp       | 30 degrees C      | ok',
    'Fan 1            | 450 RPM           | cr',
    'Watchdog         | 0x02              | ok',
  ]);

  t.same(lines(await ipmitool('sdr', 'elist', 'all')).map((l) => l.replace(/\s+/g, ' ')), [
    'Inlet Temp | 01h | ok | 55.1 | 30 degrees C',
    'Fan 1 | 02h | lcr | 29.1 | 450 RPM',
    'Watchdog | 03h | ok | 7.1 | Hard reset',
    'BMC | 00h | ok | 6.1 | Dynamic MC @ 20h',
    'Builtin FRU | 00h | ns | 7.1 | Logical FRU @00h',
  ]);

  t.same(lines(await ipmitool('sensor', 'list')).slice(0, 2).map((l) => l.split('|').map((f) => f.trim())), [
    ['Inlet Temp', '30.000', 'degrees C', 'ok', 'na', 'na', 'na', '40.000', '45.000', '50.000'],
    ['Fan 1', '450.000', 'RPM', 'cr', '300.000', '500.000', '1000.000', 'na', 'na', 'na'],
  ]);

  const info = await ipmitool('sel', 'info');
  t.match(info, /Entries +: 7\n/);
  t.match(info, /Last Add Time +: 01\/02\/25 03:05:05 UTC/);
  t.match(info, /Supported Cmds +: 'Delete' 'Partial Add' 'Reserve' 'Get Alloc Info'/);
  t.match(info, /# of Alloc Units : 1024/);

  t.same(lines(await ipmitool('fru', 'print', '0')).map((l) => l.replace(/\s+:\s/, ': ').trim()), [
    'Board Mfg Date: Mon Jan  1 00:00:00 2024 UTC',
    'Board Mfg: bmcemu',
    'Board Product: Emulated AST2500 board',
    'Board Serial: BMCEMU-0001',
    'Board Part Number: AST2500-EMU',
    'Product Manufacturer: bmcemu',
    'Product Name: Emulated server',
    'Product Part Number: EMU-1U',
    'Product Version: 1.0',
    'Product Serial: BMCEMU-SYS-0001',
  ]);

  t.same(lines(await ipmitool('sel', 'delete', '3', '4')), ['Deleted entry 4', 'Deleted entry 3'], 'several deletes under one reservation');
  t.match(await ipmitool('sensor', 'thresh', 'Inlet Temp', 'unc', '38'), /Setting sensor "Inlet Temp" Upper Non-Critical threshold to 38.000/);
  t.same(ipmi.inletTemp.thresholds().unc, 38);

  await ipmitool('fru', 'edit', '0', 'field', 'b', '0', 'NewMfgName');
  t.match(await ipmitool('fru', 'print', '0'), /Board Mfg +: NewMfgName/);
  t.same(ipmi.fru.parse().problems, [], 'ipmitool kept every checksum right');

  t.match(await ipmitool('sel', 'clear'), /Clearing SEL/);
  t.match(await ipmitool('sel', 'list'), /SEL has no entries/);
  t.equal(ipmi.sel.size, 0);
});

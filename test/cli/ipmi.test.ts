/**
 * bmcemu ipmi raw|log, sel list|clear and fru print against a real API
 * server on an ephemeral port with a real IpmiService behind it: the bytes
 * are the BMC's own answers, the lines ipmitool's formats.
 */
import t from 'tap';
import { main as fru } from '../../cli/commands/fru.js';
import { main as ipmi } from '../../cli/commands/ipmi.js';
import { main as sel } from '../../cli/commands/sel.js';
import type { CliIo } from '../../cli/options.js';
import { fixture, serve } from '../firmware/services/api/helpers.js';

/** SEL time of the events the tests log: 2026-12-06 05:53:15 UTC. */
const WALL = Date.UTC(2026, 11, 6, 5, 53, 15);

function capture(extra: Partial<CliIo> = {}) {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string | Uint8Array) => (out += typeof s === 'string' ? s : Buffer.from(s).toString()) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    ...extra,
  };
  return {
    io,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
  };
}

async function setup(t: Parameters<typeof serve>[0]) {
  const f = fixture({ ipmi: true, wallClock: () => WALL });
  const s = await serve(t, f);
  const { url } = await s.listen();
  const run = async (cmd: (argv: string[], io: CliIo) => Promise<number>, argv: string[], extra: Partial<CliIo> = {}) => {
    const c = capture(extra);
    const code = await cmd([...argv, '--api', url], c.io);
    return { code, out: c.out, err: c.err };
  };
  return { f, s, url, run, service: f.ipmi! };
}

t.test('ipmi raw prints the response bytes as ipmitool raw does', async (t) => {
  const { run } = await setup(t);
  const id = await run(ipmi, ['raw', '0x06', '0x01']);
  t.equal(id.code, 0, id.err);
  t.match(id.out, /^ 20 01 00 01 02 8f cf c2 00 00 25 00 00 00 00\n$/, 'Get Device ID: 15 bytes on one line');
  t.equal((await run(ipmi, ['raw', 'application', '1'])).out, id.out, 'netfn by name, cmd in decimal');
  t.equal((await run(ipmi, ['raw', '6', '01'])).out, id.out, 'leading zero: octal, as strtoul reads it');

  // Get SDR Repository Info answers 14 bytes; Get Device GUID 16: exactly one line of 16.
  const guid = await run(ipmi, ['raw', '6', '0x08']);
  t.equal(guid.code, 0, guid.err);
  t.match(guid.out, /^( [0-9a-f]{2}){16}\n$/, 'sixteen bytes fill one line');

  // Read FRU Data, 20 bytes after the count byte: 16 on the first line, 5 on the second.
  const fruData = await run(ipmi, ['raw', '0x0a', '0x11', '0', '0', '0', '20']);
  t.equal(fruData.code, 0, fruData.err);
  const lines = fruData.out.split('\n');
  t.equal(lines.length, 3);
  t.match(lines[0], /^ 14 01 00 00 01 0b /, 'count 20, then the FRU common header');
  t.equal(lines[0]!.length, 16 * 3);
  t.equal(lines[1]!.length, 5 * 3);
  t.equal(lines[2], '');

  // A command without response data prints an empty line (ipmitool prints its newline anyway).
  const empty = await run(ipmi, ['raw', '6', '0x2e', '0x08']);
  t.match(empty, { code: 0, out: '\n' }, 'Set BMC Global Enables answers no data');
});

t.test('ipmi raw: a non-zero completion code is ipmitool\'s line on stderr and exit 1', async (t) => {
  const { run } = await setup(t);
  const r = await run(ipmi, ['raw', '0x06', '0xfe']);
  t.equal(r.code, 1);
  t.equal(r.out, '');
  t.equal(r.err, 'Unable to send RAW command (channel=0x0 netfn=0x6 lun=0x0 cmd=0xfe rsp=0xc1): Invalid command\n');
  const len = await run(ipmi, ['raw', '6', '1', '0xff']);
  t.equal(len.err, 'Unable to send RAW command (channel=0x0 netfn=0x6 lun=0x0 cmd=0x1 rsp=0xc7): Request data length invalid\n');
  const specific = await run(ipmi, ['raw', '6', '0x22']);
  t.equal(specific.err, 'Unable to send RAW command (channel=0x0 netfn=0x6 lun=0x0 cmd=0x22 rsp=0x80): Unknown (0x80)\n', 'a command-specific code, as ipmitool names it');
  const j = await run(ipmi, ['raw', '6', '0xfe', '--json']);
  t.equal(j.code, 1);
  t.match(JSON.parse(j.out), { netfn: 6, cmd: 0xfe, cc: 0xc1, data: [] });
});

t.test('ipmi raw: arguments ipmitool would refuse are usage errors in its words', async (t) => {
  const { run, service } = await setup(t);
  const cases: Array<[string[], RegExp]> = [
    [['raw'], /Not enough parameters given\./],
    [['raw', '6'], /Not enough parameters given\./],
    [['raw', 'x', '1'], /Given netfn "x" is invalid\./],
    [['raw', 'app', '1'], /Given netfn "app" is invalid\./],
    [['raw', '0x40', '1'], /Given netfn "0x40" is out of range\./],
    [['raw', '6', '256'], /Given command "256" is invalid\./],
    [['raw', '6', '08'], /Given command "08" is invalid\./],
    [['raw', '6', '1', '0x'], /Given data "0x" is invalid\./],
    [['raw', '6', '1', '1.5'], /Given data "1.5" is invalid\./],
    [['raw', '6', '1', ...new Array(255).fill('0')], /Raw command input limit \(256 bytes\) exceeded/],
    [['raw', '6', '1', '--lun', '4'], /--lun must be 0\.\.3/],
    [['raw', '6', '1', '-f'], /options of ipmi log/],
    [[], /a subcommand is required/],
    [['frob'], /unknown ipmi subcommand "frob"/],
  ];
  for (const [argv, message] of cases) {
    const r = await run(ipmi, argv);
    t.equal(r.code, 2, argv.slice(0, 4).join(' '));
    t.match(r.err, message);
    t.match(r.err, /usage: bmcemu ipmi raw/);
  }
  t.equal(service.router.lastSeq, 0, 'nothing reached the BMC');
  t.equal((await run(ipmi, ['raw', '6', '1', ...new Array(254).fill('0')])).err, 'Unable to send RAW command (channel=0x0 netfn=0x6 lun=0x0 cmd=0x1 rsp=0xc7): Request data length invalid\n', '256 arguments are fine');
});

t.test('ipmi log: one line per message; --bus; -f follows until stopped', async (t) => {
  const { run, service, url } = await setup(t);
  await run(ipmi, ['raw', '6', '1']);
  await service.router.dispatch({ netfn: 0x0a, cmd: 0x40, lun: 0, data: Buffer.alloc(0), bus: 'system', privilege: 4, requester: 'qemu#1' });
  await run(ipmi, ['raw', '6', '0xfe']);
  const r = await run(ipmi, ['log']);
  t.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  t.equal(lines.length, 3);
  t.match(lines[0], /^\d{4}-\d\d-\d\dT[\d:.]+Z api\/127\.0\.0\.1 App 0x06\/0x01 Get Device ID -> 0x00 \(command completed normally\) [\d.]+ ms$/);
  t.match(lines[1], / system\/qemu#1 Storage 0x0a\/0x40 Get SEL Info -> 0x00 \(command completed normally\) /);
  t.match(lines[2], / api\/127\.0\.0\.1 App 0x06\/0xfe unregistered -> 0xc1 \(invalid command\) /);
  t.same((await run(ipmi, ['log', '--bus', 'system'])).out.trimEnd().split('\n').length, 1);
  t.equal((await run(ipmi, ['log', '--limit', '1'])).out.split('\n').length, 2, 'the newest one');
  t.match(JSON.parse((await run(ipmi, ['log', '--json'])).out), { lastSeq: 3, entries: [{ seq: 1 }, { seq: 2 }, { seq: 3 }] });
  t.match((await run(ipmi, ['log', '--limit', '0'])).err, /--limit must be 1\.\.1000/);

  // Follow: the past first, then what arrives, until the signal.
  const stop = new AbortController();
  const c = capture({ signal: stop.signal });
  const following = ipmi(['log', '-f', '--bus', 'api', '--limit', '1', '--api', url], c.io);
  await until(() => c.out.split('\n').length === 2);
  t.match(c.out, /App 0x06\/0xfe unregistered/, 'the newest past message first');
  await service.router.dispatch({ netfn: 0x0a, cmd: 0x40, lun: 0, data: Buffer.alloc(0), bus: 'system', privilege: 4 });
  await run(ipmi, ['raw', '0x0a', '0x40']);
  await until(() => c.out.split('\n').length === 3);
  t.match(c.out.split('\n')[1], / api\/127\.0\.0\.1 Storage 0x0a\/0x40 Get SEL Info /, 'the new api message, not the system one');
  stop.abort();
  t.equal(await following, 0, 'Ctrl-C ends the follow with 0');
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('sel list prints ipmitool\'s lines; sel clear clears', async (t) => {
  const { run, service } = await setup(t);
  const empty = await run(sel, ['list']);
  t.match(empty, { code: 0, out: '', err: 'SEL has no entries\n' });
  const log = service.storage.sel;
  log.logEvent({ generatorId: 0x20, sensorType: 0x01, sensorNumber: 0x01, eventDirType: 0x01, eventData: [0x57, 0x29, 0x28] });
  log.logEvent({ generatorId: 0x20, sensorType: 0x01, sensorNumber: 0x01, eventDirType: 0x01, eventData: [0x50, 0x10, 0x28] });
  log.logEvent({ generatorId: 0x20, sensorType: 0x23, sensorNumber: 0x03, eventDirType: 0x6f, eventData: [0xc1, 0x00, 0xff] });
  log.logEvent({ generatorId: 0x41, sensorType: 0x12, sensorNumber: 0x00, eventDirType: 0xef, eventData: [0x05, 0xff, 0xff] });
  log.logEvent({ generatorId: 0x20, sensorType: 0xc0, sensorNumber: 0x10, eventDirType: 0x70, eventData: [0x01, 0xff, 0xff] });
  const oem = Buffer.alloc(16);
  oem[2] = 0xc1;
  oem.writeUIntLE(49871, 7, 3);
  oem.fill(0xa5, 10);
  log.add(oem);
  const r = await run(sel, ['list']);
  t.equal(r.code, 0, r.err);
  t.equal(
    r.out,
    [
      '   1 | 12/06/26 | 05:53:15 UTC | Temperature #0x01 | Upper Non-critical going high | Asserted',
      '   2 | 12/06/26 | 05:53:15 UTC | Temperature #0x01 | Lower Non-critical going low  | Asserted',
      '   3 | 12/06/26 | 05:53:15 UTC | Watchdog2 #0x03 | Hard reset | Asserted',
      '   4 | 12/06/26 | 05:53:15 UTC | System Event | Timestamp Clock Sync | Deasserted',
      '   5 | 12/06/26 | 05:53:15 UTC | Unknown #0x10 |  | Asserted',
      '   6 | 12/06/26 | 05:53:15 UTC | OEM record c1 | cfc200 | a5a5a5a5a5a5',
      '',
    ].join('\n'),
  );
  t.equal((await run(sel, ['list', 'last', '2'])).out.split('\n').length, 3);
  t.match((await run(sel, ['list', 'first', '1'])).out, /^ {3}1 \|/);
  t.match((await run(sel, ['list', 'last'])).err, /expected "first N" or "last N"/);
  t.match(JSON.parse((await run(sel, ['list', '--json'])).out), { info: { entries: 6 }, entries: [{ id: 1, event: 'Upper Non-critical going high' }] });

  const cleared = await run(sel, ['clear']);
  t.match(cleared, { code: 0, out: 'Clearing SEL.  Please allow a few seconds to erase.\n' });
  t.equal(log.size, 0);
  t.match(await run(sel, ['list']), { err: 'SEL has no entries\n' });
  t.match((await run(sel, [])).err, /a subcommand is required/);
  t.match((await run(sel, ['clear', 'now'])), { code: 2, err: /unexpected argument "now"/ });
});

t.test('fru print prints ipmitool\'s fru print layout', async (t) => {
  const { run } = await setup(t);
  const areas = [
    ' Board Mfg Date        : Mon Jan  1 00:00:00 2024 UTC',
    ' Board Mfg             : bmcemu',
    ' Board Product         : Emulated AST2500 board',
    ' Board Serial          : BMCEMU-0001',
    ' Board Part Number     : AST2500-EMU',
    ' Board Area Checksum   : OK',
    ' Product Manufacturer  : bmcemu',
    ' Product Name          : Emulated server',
    ' Product Part Number   : EMU-1U',
    ' Product Version       : 1.0',
    ' Product Serial        : BMCEMU-SYS-0001',
    ' Product Area Checksum : OK',
  ];
  const zero = await run(fru, ['print', '0']);
  t.equal(zero.code, 0, zero.err);
  t.equal(zero.out, `${areas.join('\n')}\n`, 'fru print 0: the areas');
  const all = await run(fru, ['print']);
  t.equal(all.out, `FRU Device Description : Builtin FRU Device (ID 0)\n${areas.join('\n')}\n\n`, 'fru print: with the heading');
  t.equal((await run(fru, [])).out, all.out, 'bare fru is fru print, as in ipmitool');
  t.match((await run(fru, ['print', '0', '-v'])).out, / Board FRU ID          : bmcemu-fru-v1\n/);
  t.match(await run(fru, ['print', '3']), { code: 1, out: ' Device not present (Requested sensor, data, or record not found)\n' });
  t.match(await run(fru, ['print', 'x']), { code: 2, err: /FRU ID 'x' is either invalid or out of range\./ });
  t.match(JSON.parse((await run(fru, ['--json'])).out), { board: { manufacturer: 'bmcemu' } });

  // The host breaks the image: the problem is said, the areas that still parse are printed.
  await run(ipmi, ['raw', '0x0a', '0x12', '0', '9', '0', '0xff']);
  const broken = await run(fru, ['print', '0']);
  t.equal(broken.code, 0);
  t.match(broken.err, /bmcemu fru: FRU device 0: board area length/);
  t.match(broken.out, /^ Product Manufacturer {2}: bmcemu\n/, 'the board area is gone, the product area stays');
  await run(ipmi, ['raw', '0x0a', '0x12', '0', '0', '0', '0x02']);
  const header = await run(fru, ['print']);
  t.equal(header.code, 1, 'a broken common header: nothing to print');
  t.match(header.err, /common header/);
});

t.test('the commands say 501 when the BMC has no IPMI', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const { url } = await s.listen();
  for (const [cmd, argv] of [
    [ipmi, ['raw', '6', '1']],
    [ipmi, ['log']],
    [sel, ['list']],
    [sel, ['clear']],
    [fru, ['print']],
  ] as const) {
    const c = capture();
    t.equal(await cmd([...argv, '--api', url], c.io), 1, argv.join(' '));
    t.match(c.err, /IPMI is not implemented yet: no IPMI service is wired into this BMC/);
  }
});

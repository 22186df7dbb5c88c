/** ipmitool's formats for raw, sel list and fru print, and the log line, from the API's JSON. */
import t from 'tap';
import { formatFru, cDate, type FruJson } from '../../../cli/format/ipmi-fru.js';
import { formatLogLine } from '../../../cli/format/ipmi-log.js';
import { formatRawResponse, ipmitoolCcText, parseByte, parseCNumber, parseNetfn, rawFailureLine } from '../../../cli/format/ipmi-raw.js';
import { formatSelLine } from '../../../cli/format/ipmi-sel.js';
import { decodeSelRecord } from '../../../firmware/ipmi/storage/sel-decode.js';

t.test('numbers as strtoul(s, _, 0) reads them; bytes and netfns as ipmitool raw takes them', async (t) => {
  const cases: Array<[string, number | null]> = [
    ['0', 0],
    ['6', 6],
    ['0x06', 6],
    ['0X1F', 0x1f],
    ['010', 8],
    ['  7', 7],
    ['+5', 5],
    ['08', null],
    ['0x', null],
    ['-1', null],
    ['1 ', null],
    ['1.0', null],
    ['', null],
    ['0xg', null],
  ];
  for (const [s, n] of cases) t.equal(parseCNumber(s), n, JSON.stringify(s));
  t.equal(parseByte('255'), 255);
  t.equal(parseByte('0x100'), null);
  t.equal(parseByte('99999999999999999999999'), null);
  t.equal(parseNetfn('Application'), 6);
  t.equal(parseNetfn('STORAGE'), 0x0a);
  t.equal(parseNetfn('sensorevent'), 4);
  t.equal(parseNetfn('stor'), null, 'names match whole');
  t.equal(parseNetfn('0x2c'), 0x2c);
});

t.test('raw response bytes: 16 to a line, a newline at the end', async (t) => {
  t.equal(formatRawResponse([]), '\n');
  t.equal(formatRawResponse([0x20, 1]), ' 20 01\n');
  const bytes = Array.from({ length: 33 }, (_, i) => i);
  t.equal(formatRawResponse(bytes), ` ${bytes.slice(0, 16).map((b) => b.toString(16).padStart(2, '0')).join(' ')}\n ${bytes.slice(16, 32).map((b) => b.toString(16).padStart(2, '0')).join(' ')}\n 20\n`);
  t.equal(ipmitoolCcText(0xd1), 'Device firmeware in update mode', 'ipmitool\'s spelling');
  t.equal(ipmitoolCcText(0x81), 'Unknown (0x81)');
  t.equal(rawFailureLine({ netfn: 0x2c, lun: 2, cmd: 0xab, cc: 0xd4 }), 'Unable to send RAW command (channel=0x0 netfn=0x2c lun=0x2 cmd=0xab rsp=0xd4): Insufficient privilege level');
});

function record(fill: (r: Buffer) => void): Buffer {
  const r = Buffer.alloc(16);
  fill(r);
  return r;
}

t.test('sel list lines: timestamps, pre-init, unspecified, OEM records', async (t) => {
  const event = (id: number, stamp: number, sensorType: number, num: number, dirType: number, d1: number) =>
    record((r) => {
      r.writeUInt16LE(id, 0);
      r[2] = 2;
      r.writeUInt32LE(stamp, 3);
      r.writeUInt16LE(0x20, 7);
      r[9] = 4;
      r[10] = sensorType;
      r[11] = num;
      r[12] = dirType;
      r[13] = d1;
      r[14] = 0xff;
      r[15] = 0xff;
    });
  const line = (b: Buffer) => formatSelLine(decodeSelRecord(b));
  const stamp = Date.UTC(2026, 11, 6, 5, 53, 15) / 1000;
  t.equal(line(event(1, stamp, 1, 1, 0x01, 0x57)), '   1 | 12/06/26 | 05:53:15 UTC | Temperature #0x01 | Upper Non-critical going high | Asserted');
  t.equal(line(event(0xabcd, stamp, 4, 2, 0x81, 0x52)), 'abcd | 12/06/26 | 05:53:15 UTC | Fan #0x02 | Lower Critical going low  | Deasserted');
  t.equal(line(event(2, 42, 0x1d, 0, 0x6f, 0x01)), '   2 |  Pre-Init  |0000000042| System Boot Initiated | Initiated by hard reset | Asserted');
  t.equal(line(event(3, 0xffffffff, 0x2c, 7, 0x6f, 0x00)), '   3 | Unspecified | Unspecified | FRU State #0x07 |  | Asserted', 'no text for an unlisted sensor type');
  t.equal(line(event(4, stamp, 0x50, 1, 0x03, 0x01)), '   4 | 12/06/26 | 05:53:15 UTC | Unknown #0x01 | State Asserted | Asserted');
  const oem = record((r) => {
    r.writeUInt16LE(5, 0);
    r[2] = 0xe0;
    for (let i = 3; i < 16; i++) r[i] = i;
  });
  t.equal(line(oem), '   5 | OEM record e0 | 030405060708090a0b0c0d0e0f');
});

t.test('fru print: the chassis area, extras, checksums and an unspecified date', async (t) => {
  const fru: FruJson = {
    deviceId: 0,
    headerOk: true,
    problems: [],
    chassis: { type: 0x17, partNumber: 'CH-1', serialNumber: '', custom: ['extra 1', ''], checksumOk: false },
    board: { mfgDate: null, manufacturer: 'ACME', productName: null, serialNumber: 'S', partNumber: '', fruFileId: 'f', custom: ['b'], checksumOk: true },
    product: null,
  };
  t.equal(
    formatFru(fru),
    [
      ' Chassis Type          : Rack Mount Chassis',
      ' Chassis Part Number   : CH-1',
      ' Chassis Extra         : extra 1',
      ' Chassis Area Checksum : INVALID',
      ' Board Mfg Date        : Unspecified',
      ' Board Mfg             : ACME',
      ' Board Serial          : S',
      ' Board Extra           : b',
      ' Board Area Checksum   : OK',
      '',
    ].join('\n'),
  );
  t.match(formatFru({ ...fru, chassis: { ...fru.chassis!, type: 0x99 } }), /^ Chassis Type {10}: Unknown\n/, 'past the table: Unknown');
  t.equal(cDate('2024-01-01T00:00:00.000Z'), 'Mon Jan  1 00:00:00 2024 UTC');
  t.equal(cDate('2019-11-23T13:05:00.000Z'), 'Sat Nov 23 13:05:00 2019 UTC');
});

t.test('log lines', async (t) => {
  const base = {
    seq: 1,
    bus: 'system',
    requester: 'qemu#1',
    netfn: 6,
    netfnName: 'App',
    cmd: 1,
    name: 'Get Device ID',
    cc: 0,
    ccText: 'command completed normally',
    time: '2026-12-06T05:53:15.120Z',
    durationMs: 0.42,
  };
  t.equal(formatLogLine(base), '2026-12-06T05:53:15.120Z system/qemu#1 App 0x06/0x01 Get Device ID -> 0x00 (command completed normally) 0.4 ms');
  t.equal(
    formatLogLine({ ...base, requester: null, netfn: 0x3a, netfnName: null, cmd: 0x5a, name: null, cc: 0xc3, ccText: 'timeout while processing command', durationMs: 3000 }),
    '2026-12-06T05:53:15.120Z system netfn 0x3a/0x5a unregistered -> 0xc3 (timeout while processing command) 3000 ms',
  );
});

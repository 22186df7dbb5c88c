/** The dashboard's text formatting: exact strings for good input, "–" (never a throw) for bad. */
import t from 'tap';
import {
  formatBytes,
  formatCount,
  formatDuration,
  messageTypeName,
  nonZeroDrops,
  UNKNOWN,
} from '../../web/dashboard/src/model/format.js';

const HOSTILE: unknown[] = [undefined, null, '12', '', NaN, Infinity, -Infinity, -1, {}, [], true, Symbol('x'), () => 1, 10n];

t.test('bytes in binary units', async (t) => {
  t.equal(formatBytes(0), '0 B');
  t.equal(formatBytes(167), '167 B');
  t.equal(formatBytes(1023), '1023 B');
  t.equal(formatBytes(1024), '1.0 KiB');
  t.equal(formatBytes(1536), '1.5 KiB');
  t.equal(formatBytes(32772), '32 KiB');
  t.equal(formatBytes(5 * 1024 * 1024), '5.0 MiB');
  t.equal(formatBytes(3 * 1024 ** 4), '3.0 TiB');
  t.equal(formatBytes(Number.MAX_SAFE_INTEGER), '8.0 PiB');
  t.match(formatBytes(1e300), /^\S+ EiB$/, 'absurd sizes stay in EiB, in short form');
  t.ok(formatBytes(1e300).length < 20);
  for (const v of HOSTILE) t.equal(formatBytes(v), UNKNOWN, `formatBytes(${String(typeof v === 'symbol' ? 'symbol' : v)})`);
});

t.test('counts stay plain digits', async (t) => {
  t.equal(formatCount(0), '0');
  t.equal(formatCount(7), '7');
  t.equal(formatCount(123456789), '123456789');
  t.equal(formatCount(1e30), '1.00000e+30');
  for (const v of HOSTILE) t.equal(formatCount(v), UNKNOWN);
});

t.test('durations at the precision that matters', async (t) => {
  t.equal(formatDuration(0), '0.0 s');
  t.equal(formatDuration(8.24), '8.2 s');
  t.equal(formatDuration(59.94), '59.9 s');
  t.equal(formatDuration(59.96), '1 m 00 s', 'no "60.0 s"');
  t.equal(formatDuration(68.342), '1 m 08 s');
  t.equal(formatDuration(185), '3 m 05 s');
  t.equal(formatDuration(3599.9), '59 m 59 s');
  t.equal(formatDuration(3720), '1 h 02 m');
  t.equal(formatDuration(86399), '23 h 59 m');
  t.equal(formatDuration(90000), '1 d 01 h');
  t.match(formatDuration(1e300), /^\S+ d \d\d h$/, 'absurd uptimes do not throw');
  for (const v of HOSTILE) t.equal(formatDuration(v), UNKNOWN);
});

t.test('MCTP message type names', async (t) => {
  t.equal(messageTypeName(0), 'control');
  t.equal(messageTypeName(1), 'PLDM');
  t.equal(messageTypeName(2), 'NC-SI');
  t.equal(messageTypeName(3), 'Ethernet');
  t.equal(messageTypeName(4), 'NVMe-MI');
  t.equal(messageTypeName(5), 'SPDM');
  t.equal(messageTypeName(6), 'secured messages');
  t.equal(messageTypeName(0x7e), 'vendor-defined PCI');
  t.equal(messageTypeName(126), 'vendor-defined PCI');
  t.equal(messageTypeName(0x7f), 'vendor-defined IANA');
  t.equal(messageTypeName(7), '0x07');
  t.equal(messageTypeName(0x42), '0x42');
  t.equal(messageTypeName(300), '0x12c');
  for (const v of [...HOSTILE, 1.5, '0', 'control']) t.equal(messageTypeName(v), '?');
});

t.test('drop reasons: only the non-zero ones, largest first', async (t) => {
  const rx = { 'if-down': 0, short: 1, 'bad-version': 3, 'no-route': 1, weird: 'lots', neg: -2, nan: NaN, inf: Infinity };
  t.same(nonZeroDrops(rx), [
    { reason: 'bad-version', count: 3 },
    { reason: 'no-route', count: 1 },
    { reason: 'short', count: 1 },
  ]);
  t.same(nonZeroDrops({ 'if-down': 0 }), []);
  for (const v of HOSTILE) t.same(nonZeroDrops(v), []);
  t.same(nonZeroDrops([3, 4]), [], 'an array is not a reason map');
  // A key like __proto__ arrives as an own property from JSON.parse and is just a name here.
  t.same(nonZeroDrops(JSON.parse('{"__proto__": 5}')), [{ reason: '__proto__', count: 5 }]);
});

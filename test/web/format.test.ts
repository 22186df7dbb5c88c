/** The dashboard's text formatting: exact strings for good input, "–" (never a throw) for bad. */
import t from 'tap';
import {
  formatBytes,
  formatCount,
  formatDropReasons,
  formatDuration,
  messageTypeName,
  nonZeroDrops,
  UNKNOWN,
} from '../../web/dashboard/src/model/format.js';
import { cookieValue } from '../../web/dashboard/src/model/cookie.js';

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
  t.equal(formatDropReasons(rx, { 'carrier-lost': 2 }), 'rx bad-version 3, rx no-route 1, rx short 1, tx carrier-lost 2');
  t.equal(formatDropReasons({ 'if-down': 0 }, {}), 'none');
  for (const v of HOSTILE) {
    t.same(nonZeroDrops(v), []);
    t.equal(formatDropReasons(v, v), 'none');
  }
  t.same(nonZeroDrops([3, 4]), [], 'an array is not a reason map');
  // A key like __proto__ arrives as an own property from JSON.parse and is just a name here.
  t.same(nonZeroDrops(JSON.parse('{"__proto__": 5}')), [{ reason: '__proto__', count: 5 }]);
});

t.test('the login cookie yields a header-safe token', async (t) => {
  t.equal(cookieValue('bmcemu_token=abc123'), 'abc123');
  t.equal(cookieValue('a=1; bmcemu_token=tok%2Fen%3D%3D; b=2'), 'tok/en==', 'URI-decoded');
  t.equal(cookieValue('xbmcemu_token=nope; bmcemu_token=yes'), 'yes', 'exact name only');
  t.equal(cookieValue('bmcemu_token=a=b=c'), 'a=b=c', 'only the first = splits');
  t.equal(cookieValue('  bmcemu_token =  spaced  '), 'spaced');
  t.equal(cookieValue(''), null);
  t.equal(cookieValue('other=1'), null);
  t.equal(cookieValue('bmcemu_token='), null, 'empty is no token');
  t.equal(cookieValue('bmcemu_token=%E0%A4%A'), '%E0%A4%A', 'bad %-encoding: the raw text, not a throw');
  t.equal(cookieValue('bmcemu_token=%0d%0aX-Evil: 1'), null, 'CR/LF would break the header');
  t.equal(cookieValue('bmcemu_token=caf%C3%A9'), null, 'non-ASCII would make fetch throw');
  t.equal(cookieValue(undefined as unknown as string), null);
});

/** The untrusted-JSON accessors, fed hostile values directly: every one answers null/empty, never a throw or a guess. */
import t from 'tap';
import { arr, bool, isRecord, num, rec, str, timeMs, uint } from '../../web/dashboard/src/model/coerce.js';

/** Values no field should accept as anything but what they literally are. */
const HOSTILE: unknown[] = [
  undefined,
  null,
  NaN,
  Infinity,
  -Infinity,
  '',
  '5',
  '0x10',
  ' 7 ',
  '1e3',
  'NaN',
  {},
  [],
  [5],
  { valueOf: () => 5 },
  { toString: () => 'on' },
  true,
  false,
  Symbol('x'),
  () => 1,
  10n,
  new Date(0),
  Object.create(null),
];
const label = (v: unknown): string => (typeof v === 'symbol' ? 'symbol' : typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? 'function' : JSON.stringify(v) ?? String(v));
const is = (v: unknown, want: unknown): boolean => Object.is(v, want);

t.test('num: finite numbers only; -0 is 0; numeric strings are refused', async (t) => {
  t.equal(num(0), 0);
  t.equal(num(4.37), 4.37);
  t.equal(num(-5), -5, 'the sign is the caller’s to judge');
  t.ok(is(num(-0), 0), '-0 comes back as +0');
  t.equal(num(Number.MAX_VALUE), Number.MAX_VALUE, 'huge but finite passes');
  t.equal(num(1e308 * 10), null, 'overflow to Infinity does not');
  t.equal(num(Number.MIN_VALUE), Number.MIN_VALUE);
  for (const v of HOSTILE) t.equal(num(v), null, `num(${label(v)})`);
});

t.test('uint: non-negative safe integers only', async (t) => {
  t.equal(uint(0), 0);
  t.ok(is(uint(-0), 0), '-0 comes back as +0');
  t.equal(uint(255), 255);
  t.equal(uint(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
  for (const v of [...HOSTILE, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, 1e300, '9', -Number.MIN_VALUE]) t.equal(uint(v), null, `uint(${label(v)})`);
});

t.test('str and bool: exactly their own type, no conversions', async (t) => {
  t.equal(str(''), '');
  t.equal(str('on'), 'on');
  t.equal(str('__proto__'), '__proto__', 'a name is just a name');
  for (const v of HOSTILE) if (typeof v !== 'string') t.equal(str(v), null, `str(${label(v)})`);
  t.equal(str(new String('x')), null, 'a String object is not a string');
  t.equal(bool(true), true);
  t.equal(bool(false), false);
  for (const v of [...HOSTILE, 0, 1, 'true', 'false']) if (typeof v !== 'boolean') t.equal(bool(v), null, `bool(${label(v)})`);
});

t.test('isRecord/rec/arr: objects where objects belong, empties otherwise', async (t) => {
  for (const v of [undefined, null, 0, 'x', true, [], [1], Symbol('s'), () => 1]) {
    t.equal(isRecord(v), false, `isRecord(${label(v)})`);
    t.same(rec(v), {}, `rec(${label(v)})`);
  }
  t.ok(Object.isFrozen(rec(null)), 'the empty stand-in cannot be written through');
  t.equal(isRecord({}), true);
  t.equal(isRecord(Object.create(null)), true, 'a prototype-less object is a record');
  t.same(arr({ length: 2, 0: 'a', 1: 'b' }), [], 'array-likes are not arrays');
  t.same(arr('ab'), []);
  t.same(arr([1, 'x']), [1, 'x']);
  for (const v of HOSTILE) if (!Array.isArray(v)) t.same(arr(v), [], `arr(${label(v)})`);
});

t.test('prototype-ish keys: own data from JSON.parse, never the prototype', async (t) => {
  const evil = rec(JSON.parse('{"__proto__": {"state": "on"}, "constructor": "x", "toString": 5}'));
  t.equal(Object.getPrototypeOf(evil), Object.prototype, 'JSON.parse made __proto__ an own key, not the prototype');
  t.equal(str(evil.state), null, 'nothing leaks in through __proto__');
  t.equal(str(evil.constructor), 'x', 'an own "constructor" is just data');
  t.equal(num(evil.toString), 5);
  // Reading a field the record lacks can reach Object.prototype's members: the accessors refuse them.
  const plain = rec({});
  t.equal(str(plain.constructor), null);
  t.equal(num(plain.valueOf), null);
  t.equal(bool(plain.hasOwnProperty), null);
  t.same(arr(plain.__proto__), []);
  t.equal(isRecord(plain.__proto__), true, 'Object.prototype is an object, but…');
  t.equal(str(rec(plain.__proto__).toString), null, '…nothing readable comes out of it');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'and nothing was written to it');
});

t.test('timeMs: epoch-ms numbers and ISO 8601 date-times only', async (t) => {
  t.equal(timeMs('2026-11-21T07:16:43.234Z'), Date.parse('2026-11-21T07:16:43.234Z'));
  t.equal(timeMs('2026-11-21T07:16:43+01:00'), Date.parse('2026-11-21T06:16:43Z'), 'with an offset');
  t.equal(timeMs(1795000000000), 1795000000000);
  t.equal(timeMs(0), 0);
  for (const v of [
    '5',
    '0',
    '1795000000000',
    'May 5, 2026',
    'Thu, 21 Nov 2026 07:16:43 GMT',
    '2026-11-21',
    '2026-11-21 07:16:43',
    ' 2026-11-21T07:16:43Z',
    '2026-13-45T99:99:99Z',
    '9999-99-99Tnonsense',
    'not a time',
    '',
    NaN,
    Infinity,
    -Infinity,
    null,
    undefined,
    {},
    [],
    true,
    new Date(0),
    { toISOString: () => '2026-11-21T07:16:43Z' },
  ]) {
    t.equal(timeMs(v), null, `timeMs(${label(v)})`);
  }
});

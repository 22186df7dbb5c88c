import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import {
  StateFileError,
  decodeEnvelope,
  encodeEnvelope,
  readStateFile,
  removeStaleTemps,
  writeFileAtomic,
  writeStateFile,
} from '../../lib/state-file.js';
import { isCodedError } from '../../lib/errors.js';
import { stateDir as tmpdir } from '../helpers/state-dir.js';

t.test('round trip; a missing file reads as undefined; the directory is created', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'sub', 'fru0.bin');
  t.equal(readStateFile(file, 'fru'), undefined);
  writeStateFile(file, 'fru', Buffer.from([1, 2, 3]));
  t.same(readStateFile(file, 'fru'), Buffer.from([1, 2, 3]));
  writeStateFile(file, 'fru', Buffer.alloc(0));
  t.same(readStateFile(file, 'fru'), Buffer.alloc(0), 'empty payloads are state too');
  t.same(fs.readdirSync(path.dirname(file)), ['fru0.bin'], 'no temporary file left behind');
});

t.test('envelope layout is fixed: magic, kind, length, CRC over kind..payload', async (t) => {
  const env = encodeEnvelope('fru', Buffer.from('ab'));
  t.equal(env.subarray(0, 8).toString('latin1'), 'BMCSTATE');
  t.equal(env.subarray(8, 16).toString('latin1'), 'fru\0\0\0\0\0');
  t.equal(env.readUInt32LE(16), 2);
  t.equal(env.length, 26);
  t.same(decodeEnvelope('fru', env), Buffer.from('ab'));
});

t.test('damage is reported, never handed to the parser', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 's.bin');
  writeStateFile(file, 'fru', Buffer.from('hello world'));
  const good = fs.readFileSync(file);

  const flipped = Buffer.from(good);
  flipped[good.length - 1]! ^= 0x01;
  fs.writeFileSync(file, flipped);
  const e1 = t.throws(() => readStateFile(file, 'fru')) as unknown;
  t.ok(isCodedError(e1, 'ERR_STATE_CORRUPT', StateFileError));
  t.match((e1 as Error).message, /checksum mismatch/);

  fs.writeFileSync(file, good.subarray(0, good.length - 3));
  t.match(t.throws(() => readStateFile(file, 'fru')), { code: 'ERR_STATE_CORRUPT', message: /length field/ });

  fs.writeFileSync(file, good.subarray(0, 10));
  t.match(t.throws(() => readStateFile(file, 'fru')), { code: 'ERR_STATE_CORRUPT', message: /bad magic/ });

  fs.writeFileSync(file, good);
  t.match(t.throws(() => readStateFile(file, 'sel')), { code: 'ERR_STATE_KIND', message: /holds "fru" state, expected "sel"/ });
});

t.test('a crash between temp write and rename keeps the old contents; stale temps are swept', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'x.bin');
  writeStateFile(file, 'x', Buffer.from('old'));
  // What a kill -9 after step 1 leaves: a complete or partial temporary file beside the real one.
  fs.writeFileSync(`${file}.tmp-99999-1`, encodeEnvelope('x', Buffer.from('new')).subarray(0, 7));
  t.same(readStateFile(file, 'x'), Buffer.from('old'), 'the real name still holds the last completed write');
  t.equal(removeStaleTemps(file), 1);
  fs.writeFileSync(`${file}.tmp-99999-2`, 'junk');
  writeStateFile(file, 'x', Buffer.from('new'));
  t.same(fs.readdirSync(dir), ['x.bin'], 'writing sweeps leftovers');
  t.same(readStateFile(file, 'x'), Buffer.from('new'));
});

t.test('writeFileAtomic replaces an existing file and leaves nothing on failure', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'plain');
  writeFileAtomic(file, Buffer.from('one'));
  writeFileAtomic(file, Buffer.from('two'));
  t.equal(fs.readFileSync(file, 'utf8'), 'two');
  const missing = path.join(dir, 'no-such-dir', 'f');
  t.throws(() => writeFileAtomic(missing, Buffer.from('x')), { code: 'ENOENT' });
  t.same(fs.readdirSync(dir), ['plain']);
});

t.test('bad kinds are programming errors', async (t) => {
  t.throws(() => encodeEnvelope('', Buffer.alloc(0)), TypeError);
  t.throws(() => encodeEnvelope('waytoolongkind', Buffer.alloc(0)), TypeError);
});

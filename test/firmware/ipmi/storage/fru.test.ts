import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { encodeEnvelope } from '../../../../lib/state-file.js';
import { buildFru } from '../../../../firmware/ipmi/storage/fru-format.js';
import { DEFAULT_FRU_IDENTITY, FRU_STATE_FILE, FruInventory } from '../../../../firmware/ipmi/storage/fru.js';
import { stateDir } from '../../../helpers/state-dir.js';

t.test('seeded from the identity options; nothing persisted until written', async (t) => {
  const dir = stateDir(t);
  const fru = new FruInventory({ stateDir: dir, identity: { board: { manufacturer: 'Contoso', productName: 'X1' } }, size: 128 });
  t.same(fru.loadReport, { source: 'identity' });
  t.same(fru.image(), buildFru({ board: { manufacturer: 'Contoso', productName: 'X1' } }, 128));
  t.same(fs.readdirSync(dir), []);
  t.same(fru.parse().board!.fields.map((f) => f.text), ['Contoso', 'X1', '', '', '']);
  t.same(new FruInventory().image(), buildFru(DEFAULT_FRU_IDENTITY, 512), 'defaults: 512 bytes of the default identity');
});

t.test('writes persist across a reload and win over the options', async (t) => {
  const dir = stateDir(t);
  const fru = new FruInventory({ stateDir: dir });
  t.same(fru.write(500, Buffer.from('hello')), { ok: true, written: 5 });
  t.same(fru.read(498, 9), Buffer.from([0, 0, ...Buffer.from('hello'), 0, 0]));
  const again = new FruInventory({ stateDir: dir, identity: { board: { manufacturer: 'ignored now' } } });
  t.same(again.loadReport, { source: 'state-file' });
  t.same(again.image(), fru.image());
});

t.test('a write that breaks a checksum is stored as written and reported by the parser', async (t) => {
  const dir = stateDir(t);
  const fru = new FruInventory({ stateDir: dir });
  const boardAt = fru.image()[3]! * 8;
  t.same(fru.write(boardAt + 8, Buffer.from('X')), { ok: true, written: 1 });
  t.same(fru.parse().problems, ['board area checksum is wrong']);
  t.same(new FruInventory({ stateDir: dir }).parse().problems, ['board area checksum is wrong']);
});

t.test('bounds: reads stop at the end, reads past it and writes beyond it are refused', async (t) => {
  const fru = new FruInventory({ size: 64, identity: {} });
  t.equal(fru.read(60, 10)!.length, 4);
  t.equal(fru.read(64, 1), undefined);
  t.same(fru.write(60, Buffer.alloc(5)), { ok: false, reason: 'out-of-range' });
  t.same(fru.write(60, Buffer.alloc(4, 7)), { ok: true, written: 4 });
  t.same(fru.write(64, Buffer.alloc(0)), { ok: false, reason: 'out-of-range' });
  t.same(fru.write(63, Buffer.alloc(0)), { ok: true, written: 0 });
  t.throws(() => new FruInventory({ size: 4 }), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => new FruInventory({ size: 0x10000 }), { code: 'ERR_BAD_CONFIG' });
});

t.test('a damaged or wrong-sized state file is set aside and the image rebuilt', async (t) => {
  const dir = stateDir(t);
  const file = path.join(dir, FRU_STATE_FILE);
  fs.writeFileSync(file, 'garbage');
  const a = new FruInventory({ stateDir: dir, now: () => 7 });
  t.match(a.loadReport, { source: 'identity', setAside: `${file}.bad-7`, reason: /not a bmcemu state file/ });
  t.equal(fs.readFileSync(`${file}.bad-7`, 'utf8'), 'garbage');
  t.notOk(fs.existsSync(file));
  fs.writeFileSync(file, encodeEnvelope('fru', Buffer.alloc(100)));
  const b = new FruInventory({ stateDir: dir, now: () => 8 });
  t.match(b.loadReport, { source: 'identity', reason: /100 bytes, the inventory area is 512/ });
});

t.test('a failed persist leaves the image unchanged', async (t) => {
  const dir = stateDir(t);
  const fru = new FruInventory({ stateDir: path.join(dir, 'gone') });
  fs.writeFileSync(path.join(dir, 'gone'), 'a file where the directory should be');
  const before = fru.image();
  t.match(fru.write(0, Buffer.from([9])), { ok: false, reason: 'store-failed' });
  t.same(fru.image(), before);
});

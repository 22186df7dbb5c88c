import t from 'tap';
import {
  buildFru,
  encodeBoardArea,
  encodeField,
  fruMinutes,
  packSixBitAscii,
  parseFru,
  unpackSixBitAscii,
  zeroChecksum,
} from '../../../../firmware/ipmi/storage/fru-format.js';
import { DEFAULT_FRU_IDENTITY } from '../../../../firmware/ipmi/storage/fru.js';

const sum = (b: Uint8Array) => b.reduce((s, x) => (s + x) & 0xff, 0);

t.test('board area: exact bytes', async (t) => {
  const area = encodeBoardArea({ mfgDate: new Date(Date.UTC(1996, 0, 1, 0, 10)), manufacturer: 'Acme', productName: 'Bd', serialNumber: 'S1', partNumber: 'P', fruFileId: '' });
  t.same([...area], [
    0x01, 0x03, 0x00, 0x0a, 0x00, 0x00, // version, 3 × 8 bytes, English, 10 minutes after 1996-01-01
    0xc4, 0x41, 0x63, 0x6d, 0x65, // "Acme"
    0xc2, 0x42, 0x64, // "Bd"
    0xc2, 0x53, 0x31, // "S1"
    0x81, 0x30, // "P" as 6-bit ASCII (C1h would end the fields)
    0xc0, // empty FRU file ID
    0xc1, // end of fields
    0x00, 0x00, // padding
    area[23]!,
  ]);
  t.equal(area.length, 24);
  t.equal(sum(area), 0, 'zero checksum');
});

t.test('whole image: header offsets in multiples of 8, every checksum zero, parse round trip', async (t) => {
  const id = { ...DEFAULT_FRU_IDENTITY, chassis: { type: 0x17, partNumber: 'CH-1', serialNumber: 'CS-9', custom: ['rack 4'] } };
  const image = buildFru(id, 512);
  t.equal(image.length, 512);
  const h = image.subarray(0, 8);
  t.equal(h[0], 0x01);
  t.equal(h[1], 0, 'no internal use area');
  t.equal(h[2], 1, 'chassis right after the header');
  t.equal(h[5], 0, 'no multirecord area');
  t.equal(sum(h), 0);
  for (const slot of [2, 3, 4]) {
    const at = h[slot]! * 8;
    t.equal(sum(image.subarray(at, at + image[at + 1]! * 8)), 0, `area in slot ${slot} sums to 0`);
  }
  t.equal(h[3]! * 8, 8 + image[9]! * 8, 'board follows chassis');
  const parsed = parseFru(image);
  t.same(parsed.problems, []);
  t.equal(parsed.chassis!.chassisType, 0x17);
  t.same(parsed.chassis!.fields.map((f) => f.text), ['CH-1', 'CS-9', 'rack 4']);
  t.same(parsed.board!.mfgDate, new Date(Date.UTC(2024, 0, 1)));
  t.same(parsed.board!.fields.map((f) => f.text), ['bmcemu', 'Emulated AST2500 board', 'BMCEMU-0001', 'AST2500-EMU', 'bmcemu-fru-v1']);
  t.same(parsed.product!.fields.map((f) => f.text), ['bmcemu', 'Emulated server', 'EMU-1U', '1.0', 'BMCEMU-SYS-0001', '', 'bmcemu-fru-v1']);
  t.ok(image.subarray(h[4]! * 8 + image[h[4]! * 8 + 1]! * 8).every((b) => b === 0), 'unused space is 00h');
});

t.test('6-bit ASCII packs four characters in three bytes (as ipmitool unpacks them)', async (t) => {
  t.same([...packSixBitAscii('IPMI')], [0x29, 0xdc, 0xa6]);
  t.equal(unpackSixBitAscii(packSixBitAscii('IPMI')), 'IPMI');
  t.equal(unpackSixBitAscii(packSixBitAscii('A')), 'A', 'one byte holds one character (and 2 spare bits)');
  t.same([...encodeField('7')], [0x81, 0x17]);
  t.throws(() => encodeField('x'), { code: 'ERR_BAD_CONFIG', message: /one-character/ });
  t.throws(() => encodeField('a'.repeat(64)), { code: 'ERR_BAD_CONFIG', message: /at most 63/ });
  t.throws(() => encodeField('tab\there'), { code: 'ERR_BAD_CONFIG' });
});

t.test('dates: minutes since 1996-01-01 UTC, 24 bits', async (t) => {
  t.equal(fruMinutes(new Date(Date.UTC(1996, 0, 1))), 0);
  t.equal(fruMinutes(new Date(Date.UTC(1996, 0, 2))), 1440);
  t.throws(() => fruMinutes(new Date(Date.UTC(1995, 11, 31))), { code: 'ERR_BAD_CONFIG' });
  t.throws(() => fruMinutes(new Date(Date.UTC(2028, 0, 1))), { code: 'ERR_BAD_CONFIG' });
  const noDate = parseFru(buildFru({ board: { manufacturer: 'x y' } }));
  t.equal(noDate.board!.mfgDate, undefined, '0 = unspecified');
});

t.test('the parser reports what a bad write broke, and never throws', async (t) => {
  const good = buildFru(DEFAULT_FRU_IDENTITY, 256);
  const boardAt = good[3]! * 8;

  const badArea = Buffer.from(good);
  badArea[boardAt + 7]! ^= 0x01;
  t.same(parseFru(badArea).problems, ['board area checksum is wrong']);
  t.equal(parseFru(badArea).board!.checksumOk, false);

  const badHeader = Buffer.from(good);
  badHeader[4] = 0x1f;
  t.same(parseFru(badHeader).problems, ['common header checksum is wrong']);

  const fixedHeader = Buffer.from(badHeader);
  fixedHeader[7] = zeroChecksum(fixedHeader.subarray(0, 7));
  t.match(parseFru(fixedHeader).problems, [/product area .* does not fit|product area version/]);

  const noEnd = Buffer.from(good);
  const len = noEnd[boardAt + 1]! * 8;
  noEnd.fill(0x00, boardAt + 6, boardAt + len - 1);
  noEnd[boardAt + 6] = 0xc4;
  noEnd[boardAt + len - 1] = zeroChecksum(noEnd.subarray(boardAt, boardAt + len - 1));
  t.match(parseFru(noEnd).problems, [/board area (has no end marker|field .* runs past)/]);

  t.same(parseFru(Buffer.alloc(4)).problems, ['FRU image is 4 bytes, shorter than the 8-byte common header']);
  t.match(parseFru(Buffer.alloc(64, 0xff)).problems, ['common header version is 0xff, expected 0x01', 'common header checksum is wrong']);
  const types = parseFru(Buffer.from([0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xfe, 0x01, 0x02, 0x00, 0, 0, 0, 0x02, 0xab, 0xcd, 0x41, 0x12, 0xc1, 0, 0, 0, 0]));
  t.same(types.board!.fields, [
    { type: 'binary', text: 'abcd' },
    { type: 'bcd-plus', text: '12' },
  ]);
});

t.test('build limits are configuration errors', async (t) => {
  t.throws(() => buildFru(DEFAULT_FRU_IDENTITY, 64), { code: 'ERR_BAD_CONFIG', message: /needs \d+ bytes, the inventory area has 64/ });
  t.throws(() => buildFru({ chassis: { type: 300 } }), { code: 'ERR_BAD_CONFIG' });
  t.equal(buildFru({}).length, 8, 'a header alone');
});

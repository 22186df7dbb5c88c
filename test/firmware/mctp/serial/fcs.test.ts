import t from 'tap';
import { FCS_INIT, fcs16, fcs16Byte } from '../../../../firmware/mctp/serial/fcs.js';
import { hex } from './helpers.js';

t.test('check value: FCS("123456789") = 0x6F91 (CRC-16/MCRF4XX)', async (t) => {
  t.equal(fcs16(Buffer.from('123456789', 'ascii')), 0x6f91);
  // X.25 (RFC1662 literally) would complement it: make sure we do not.
  t.not(fcs16(Buffer.from('123456789', 'ascii')), 0x906e);
});

t.test('empty input leaves the initial value', async (t) => {
  t.equal(FCS_INIT, 0xffff);
  t.equal(fcs16(Buffer.alloc(0)), 0xffff);
});

t.test('Get EID frame FCS covers revision, count and packet', async (t) => {
  t.equal(fcs16(hex('01 07 01 00 08 c8 00 80 02')), 0x2bc1);
});

t.test('libmctp capture: 7e 01 08 01 09 08 ca 7d 5e 7d 5d 01 02 98 01 7e', async (t) => {
  t.equal(fcs16(hex('01 08 01 09 08 ca 7e 7d 01 02')), 0x9801);
});

t.test('byte-wise, incremental and ranged forms agree', async (t) => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog');
  let byByte = FCS_INIT;
  for (const b of data) byByte = fcs16Byte(byByte, b);
  const split = fcs16(data.subarray(10), fcs16(data.subarray(0, 10)));
  const ranged = fcs16(data, fcs16(data, FCS_INIT, 0, 17), 17);
  t.equal(byByte, fcs16(data));
  t.equal(split, fcs16(data));
  t.equal(ranged, fcs16(data));
});

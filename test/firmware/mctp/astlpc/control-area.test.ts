import t from 'tap';
import * as zlib from 'node:zlib';
import {
  ASTLPC_MAGIC,
  CONTROL_SIZE,
  LPC_WIN_SIZE,
  bmcInitialBufferSize,
  bmcInitialLayout,
  bmcNegotiateMtu,
  bodySize,
  decodeControlArea,
  encodeControlArea,
  encodeLayout,
  decodeLayout,
  hostRxSize,
  minBufferSize,
  negotiateVersion,
  packetSize,
  validateBuffer,
  validateLayout,
  type Layout,
} from '../../../../firmware/mctp/astlpc/control-area.js';
import { CRC32_IS_NATIVE, crc32, crc32Table } from '../../../../lib/crc32.js';
import { checkBody, encodeBody, lengthFits } from '../../../../firmware/mctp/astlpc/packet-buffer.js';

t.test('control area codec is big-endian and byte-exact', async (t) => {
  const layout: Layout = { rx: { offset: 0x100, size: 0x7ff7c }, tx: { offset: 0x8007c, size: 0x7ff7c } };
  const buf = encodeControlArea({
    magic: ASTLPC_MAGIC,
    bmcVerMin: 1,
    bmcVerCur: 3,
    hostVerMin: 0,
    hostVerCur: 0,
    negotiatedVer: 0,
    pad0: 0,
    layout,
  });
  t.equal(buf.toString('hex'), '4d435450' + '0001' + '0003' + '0000' + '0000' + '0000' + '0000' + '00000100' + '0007ff7c' + '0008007c' + '0007ff7c');
  t.equal(buf.subarray(0, 4).toString('ascii'), 'MCTP');
  const back = decodeControlArea(buf);
  t.same(back.layout, layout);
  t.equal(back.magic, ASTLPC_MAGIC);
  t.equal(back.bmcVerCur, 3);
  t.same(decodeLayout(encodeLayout(layout)), layout);
  t.throws(() => decodeControlArea(Buffer.alloc(31)), RangeError);
});

t.test('packet_size / body_size per version', async (t) => {
  t.equal(packetSize(1, 68), 72);
  t.equal(packetSize(2, 68), 72);
  t.equal(packetSize(3, 68), 76);
  t.equal(bodySize(3, 76), 68);
  t.equal(minBufferSize(1), 72);
  t.equal(minBufferSize(2), 72);
  t.equal(minBufferSize(3), 76);
});

t.test('BMC initial layout: the numbers observed with libmctp', async (t) => {
  t.equal(bmcInitialBufferSize(3, LPC_WIN_SIZE), 0x7ff7c, 'mtu=0 → 524156');
  t.equal(bodySize(3, bmcInitialBufferSize(3, LPC_WIN_SIZE)) - 4, 524144, 'max libmctp MTU 524144');
  t.same(bmcInitialLayout(3, LPC_WIN_SIZE), { rx: { offset: 0x100, size: 524156 }, tx: { offset: 0x8007c, size: 524156 } });
  t.same(bmcInitialLayout(3, LPC_WIN_SIZE, 68), { rx: { offset: 0x100, size: 76 }, tx: { offset: 0x14c, size: 76 } }, 'libmctp mtu 64');
  // v2 formulas: payload trimmed to 524144, +4 header +4 length.
  t.equal(bmcInitialBufferSize(2, LPC_WIN_SIZE), 524152);
  t.equal(bmcInitialBufferSize(3, LPC_WIN_SIZE, 1_000_000), 0x7ff7c, 'requested mtu above the window is capped');
});

t.test('host rx_size for its MTU', async (t) => {
  t.equal(hostRxSize(3, 32768 + 4), 32780);
  t.equal(hostRxSize(2, 32768 + 4), 32776);
  t.equal(hostRxSize(1, 68), 72);
});

t.test('BMC MTU negotiation arithmetic', async (t) => {
  const own = bmcInitialLayout(3, LPC_WIN_SIZE);
  t.same(bmcNegotiateMtu(3, own, 32780), { size: 32780, mtu: 32772 }, 'host asks less than the BMC offers');
  t.same(bmcNegotiateMtu(3, own, 0xffffffff), { size: 524156, mtu: 524148 }, 'host asks more: capped at the BMC limit (payload 524144)');
  t.same(bmcNegotiateMtu(3, own, 32780, 1028), { size: 1036, mtu: 1028 }, 'BMC mtu caps');
  t.same(bmcNegotiateMtu(2, own, 32776), { size: 32776, mtu: 32772 });
  const small = bmcInitialLayout(3, LPC_WIN_SIZE, 68);
  t.same(bmcNegotiateMtu(3, small, 32780), { size: 76, mtu: 68 }, 'mtu-64 BMC vs 32768 host');
  t.same(bmcNegotiateMtu(2, small, 32776), { size: 76, mtu: 72 }, 'v2 with a v3-sized limit');
});

t.test('version negotiation', async (t) => {
  t.equal(negotiateVersion(1, 3, 1, 3), 3);
  t.equal(negotiateVersion(1, 2, 1, 3), 2, 'choose BMC cur');
  t.equal(negotiateVersion(1, 3, 1, 2), 2, 'choose host cur');
  t.equal(negotiateVersion(1, 3, 1, 1), 1, 'v1-only host');
  t.equal(negotiateVersion(1, 1, 1, 3), 1, 'v1-only BMC');
  t.equal(negotiateVersion(2, 3, 1, 1), 0, 'disjoint (host below)');
  t.equal(negotiateVersion(1, 1, 2, 3), 0, 'disjoint (host above)');
  t.equal(negotiateVersion(0, 3, 1, 3), 0, 'zero bmc min');
  t.equal(negotiateVersion(1, 3, 1, 0), 0, 'zero host cur');
  t.equal(negotiateVersion(3, 1, 1, 3), 0, 'inverted BMC range');
  t.equal(negotiateVersion(1, 3, 3, 2), 0, 'inverted host range');
  t.equal(negotiateVersion(1, 3, 1, 0xffff), 3, 'huge host cur still picks ours');
});

t.test('buffer validation rules, in libmctp order', async (t) => {
  const W = LPC_WIN_SIZE;
  t.equal(validateBuffer(3, { offset: 0x100, size: 76 }, W), null);
  t.equal(validateBuffer(3, { offset: 0xffffff00, size: 0x200 }, W), 'overflow', 'offset overflow');
  t.equal(validateBuffer(3, { offset: 0x100, size: 0xffffffff }, W), 'overflow', 'size overflow');
  t.equal(validateBuffer(3, { offset: W - 75, size: 76 }, W), 'window', 'one past the window');
  t.equal(validateBuffer(3, { offset: W - 76, size: 76 }, W), null, 'exactly at the end');
  t.equal(validateBuffer(3, { offset: 0x100, size: 75 }, W), 'btu');
  t.equal(validateBuffer(2, { offset: 0x100, size: 72 }, W), null, 'v2 BTU is 72');
  t.equal(validateBuffer(2, { offset: 0x100, size: 71 }, W), 'btu');
  t.equal(validateBuffer(3, { offset: 0xff, size: 76 }, W), 'control');
  t.equal(validateBuffer(3, { offset: 0, size: 0 }, W), 'btu', 'all-zero: BTU check comes before control');

  const ok: Layout = { rx: { offset: 0x100, size: 76 }, tx: { offset: 0x14c, size: 76 } };
  t.equal(validateLayout(3, ok, W), null);
  t.equal(validateLayout(3, { rx: ok.rx, tx: { offset: 0x14b, size: 76 } }, W), 'overlap', 'tx starts inside rx');
  t.equal(validateLayout(3, { rx: { offset: 0x14c, size: 76 }, tx: { offset: 0x100, size: 77 } }, W), 'overlap', 'rx starts inside tx (tx low)');
  t.equal(validateLayout(3, { rx: ok.rx, tx: ok.rx }, W), 'overlap', 'exact overlap');
  t.equal(validateLayout(3, { rx: { offset: 0x80, size: 76 }, tx: ok.tx }, W), 'rx-control');
  t.equal(validateLayout(3, { rx: ok.rx, tx: { offset: 0x10, size: 76 } }, W), 'tx-control');
  t.equal(validateLayout(3, { rx: { offset: 0x100, size: 0xffffffff }, tx: { offset: 0, size: 0 } }, W), 'rx-overflow', 'rx checked first');
  t.equal(validateLayout(3, { rx: ok.rx, tx: { offset: W, size: 76 } }, W), 'tx-window');
});

t.test('CRC-32', async (t) => {
  const check = Buffer.from('123456789');
  t.equal(crc32(check), 0xcbf43926, 'check value');
  t.equal(crc32Table(check), 0xcbf43926, 'table fallback check value');
  t.equal(crc32Table(Buffer.alloc(0)), 0);
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
  t.equal(crc32Table(data), crc32(data), 'fallback agrees with the selected implementation');
  const native = (zlib as { crc32?: unknown }).crc32;
  t.equal(CRC32_IS_NATIVE, typeof native === 'function', `zlib.crc32 ${CRC32_IS_NATIVE ? 'present' : 'absent'} on ${process.version}`);
});

t.test('packet body framing and checks', async (t) => {
  const pkt = Buffer.from([0x01, 0x09, 0x08, 0xc8, 0xaa, 0xbb]);
  t.equal(encodeBody(2, pkt), pkt, 'v2: no trailer');
  const v3 = encodeBody(3, pkt);
  t.equal(v3.length, pkt.length + 4);
  t.equal(v3.readUInt32BE(pkt.length), crc32(pkt), 'v3: BE CRC of the packet only');
  t.equal(checkBody(3, pkt.length, v3), null);
  t.equal(checkBody(2, pkt.length, pkt), null);
  const bad = Buffer.from(v3);
  bad[bad.length - 1]! ^= 1;
  t.equal(checkBody(3, pkt.length, bad), 'crc');
  const ver = Buffer.from(pkt);
  ver[0] = 0x02;
  t.equal(checkBody(2, pkt.length, ver), 'hdr-version');
  t.equal(checkBody(3, 3, encodeBody(3, pkt.subarray(0, 3))), 'short');
  t.ok(lengthFits(3, 68, 76));
  t.notOk(lengthFits(3, 69, 76));
  t.notOk(lengthFits(3, 0xffffffff, 76));
  t.equal(CONTROL_SIZE, 0x100);
});

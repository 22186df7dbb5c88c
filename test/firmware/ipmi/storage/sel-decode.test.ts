/** SEL records as JSON for the API: system events with ipmitool's names, OEM records as bytes. */
import t from 'tap';
import { encodeSystemEvent, stampRecord } from '../../../../firmware/ipmi/storage/sel-record.js';
import { decodeSelRecord } from '../../../../firmware/ipmi/storage/sel-decode.js';

t.test('a system event decodes to its fields, names and time', async (t) => {
  const stamp = Date.UTC(2026, 11, 6, 5, 53, 15) / 1000;
  const r = stampRecord(encodeSystemEvent({ generatorId: 0x0020, sensorType: 0x23, sensorNumber: 3, eventDirType: 0x6f, eventData: [0xc2, 0x10, 0xff] }), 7, stamp);
  t.same(decodeSelRecord(r), {
    id: 7,
    recordType: 2,
    raw: r.toString('hex'),
    timestamp: stamp,
    time: '2026-12-06T05:53:15.000Z',
    kind: 'system-event',
    generatorId: 0x20,
    evmRev: 4,
    sensorType: 0x23,
    sensorTypeName: 'Watchdog2',
    sensorNumber: 3,
    eventType: 0x6f,
    direction: 'assertion',
    eventData: [0xc2, 0x10, 0xff],
    offset: 2,
    event: 'Power down',
  });
  const pre = decodeSelRecord(stampRecord(encodeSystemEvent({ generatorId: 0x41, sensorType: 1, sensorNumber: 1, eventDirType: 0x81, eventData: [0x09, 0, 0] }), 1, 100));
  t.match(pre, { timestamp: 100, time: null, direction: 'deassertion', event: 'Upper Critical going high' }, 'pre-init stamps have no wall time');
  t.equal((decodeSelRecord(stampRecord(encodeSystemEvent({ generatorId: 0, sensorType: 1, sensorNumber: 1, eventDirType: 1, eventData: [0, 0, 0] }), 1, 0xffffffff)) as { time: unknown }).time, null);
});

t.test('OEM records: timestamped with a manufacturer ID, or bytes only', async (t) => {
  const ts = Buffer.alloc(16);
  ts.writeUInt16LE(9, 0);
  ts[2] = 0xc0;
  ts.writeUInt32LE(0x60000000, 3);
  ts.writeUIntLE(0x00c2cf, 7, 3);
  ts.fill(0x11, 10);
  t.match(decodeSelRecord(ts), { id: 9, kind: 'oem-timestamped', recordType: 0xc0, timestamp: 0x60000000, manufacturerId: 0xc2cf, oemData: '111111111111' });
  t.notOk('sensorType' in decodeSelRecord(ts));
  const nts = Buffer.alloc(16, 0x22);
  nts.writeUInt16LE(10, 0);
  nts[2] = 0xff;
  t.same(decodeSelRecord(nts), { id: 10, recordType: 0xff, raw: nts.toString('hex'), kind: 'oem', oemData: '22'.repeat(13) });
  t.throws(() => decodeSelRecord(Buffer.alloc(15)), RangeError);
});

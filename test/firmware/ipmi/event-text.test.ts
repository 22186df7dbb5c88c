/** The names ipmitool gives sensor types and events, and the netfn names of logs and the API. */
import t from 'tap';
import { eventDescription, sensorTypeName } from '../../../firmware/ipmi/event-text.js';
import { netfnName } from '../../../firmware/ipmi/netfn-names.js';

t.test('names: sensor types, events, netfns', async (t) => {
  t.equal(sensorTypeName(0x01), 'Temperature');
  t.equal(sensorTypeName(0x2c), 'FRU State');
  t.equal(sensorTypeName(0x2d), 'Unknown');
  t.equal(sensorTypeName(0xc0), 'Unknown');
  t.equal(eventDescription(0x01, 0x01, 0x50), 'Lower Non-critical going low ', 'ipmitool\'s trailing space kept');
  t.equal(eventDescription(0x01, 0x01, 0x0c), null, 'offset past the table');
  t.equal(eventDescription(0x12, 0x6f, 0x05), 'Timestamp Clock Sync');
  t.equal(eventDescription(0x23, 0x6f, 0x08), 'Timer interrupt');
  t.equal(eventDescription(0x2c, 0x6f, 0x00), null, 'unlisted sensor-specific type');
  t.equal(eventDescription(0x01, 0x70, 0x00), null, 'OEM event types have no text');
  t.equal(eventDescription(0x02, 0x0b, 0x01), 'Redundancy Lost');
  t.equal(netfnName(0x06), 'App');
  t.equal(netfnName(0x0b), 'Storage', 'a response netfn names its request');
  t.equal(netfnName(0x30), 'OEM');
  t.equal(netfnName(0x3f), 'OEM');
  t.equal(netfnName(0x2e), 'OEM/Group');
  t.equal(netfnName(0x10), undefined);
  t.equal(netfnName(0xff), undefined);
});

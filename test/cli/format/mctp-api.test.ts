/** mctp(1)'s exact line formats. */
import t from 'tap';
import { formatAddress, formatEndpoint, formatLink, formatLladdr, formatNeighbour, formatRoute } from '../../../cli/format/mctp-api.js';

t.test('link-layer addresses', async (t) => {
  t.equal(formatLladdr(''), 'none');
  t.equal(formatLladdr('1d'), '0x1d', 'one byte gets 0x so it is not read as decimal');
  t.equal(formatLladdr('0a1b2c'), '0a:1b:2c');
});

t.test('lines', async (t) => {
  t.equal(formatLink({ index: 3, name: 'mctplpc0', hwAddr: '', net: 1, mtu: 4100, up: true }), 'dev mctplpc0 index 3 address none net 1 mtu 4100 up');
  t.equal(formatLink({ index: 1, name: 'mctpi2c1', hwAddr: '1d', net: 2, mtu: 68, up: false }), 'dev mctpi2c1 index 1 address 0x1d net 2 mtu 68 down');
  t.equal(formatAddress({ eid: 8, net: 1, iface: 'mctplpc0' }), 'eid 8 net 1 dev mctplpc0');
  t.equal(
    formatRoute({ min: 9, max: 9, type: 'unicast', net: 1, dev: 'mctp0', gateway: null, mtu: 0 }),
    'eid min 9 max 9 net 1 dev mctp0 mtu 0',
    'the line from mctp\'s own test: route add 9 via mctp0',
  );
  t.equal(
    formatRoute({ min: 20, max: 30, type: 'unicast', net: 1, dev: null, gateway: { net: 2, eid: 10 }, mtu: 128 }),
    'eid min 20 max 30 net 2 gw 10 mtu 128',
    'gateway routes print the gateway\'s net, as mctp does',
  );
  t.equal(formatNeighbour({ eid: 10, net: 1, iface: 'mctpi2c1', lladdr: '1d' }), 'eid 10 net 1 dev mctpi2c1 lladdr 0x1d');
  t.equal(formatNeighbour({ eid: 11, net: 1, iface: 'x', lladdr: 'aabb' }), 'eid 11 net 1 dev x lladdr aa:bb');
  t.equal(
    formatEndpoint({ eid: 9, net: 1, iface: 'mctplpc0', types: [0, 0x7e], uuid: null, connectivity: 'Available' }),
    'eid 9 net 1 dev mctplpc0 types 0x00,0x7e uuid none connectivity Available',
  );
});

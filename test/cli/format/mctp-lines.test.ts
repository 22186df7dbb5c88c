/**
 * Golden output of the mctp(1)-style formatters: the exact lines
 * CodeConstruct's tool prints (its printf formats, and the expectations of
 * its own tests: "eid min 9 max 9 net 1 dev mctp0 mtu 0", ...).
 */
import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import { formatAddresses, formatEndpoints, formatLinks, formatLladdr, formatNeighbours, formatRoutes } from '../../../cli/format/mctp-lines.js';
import { createBindingPair, createLoopbackBinding } from '../../../firmware/mctp/loopback/binding.js';
import { MctpStack } from '../../../firmware/mctp/stack.js';
import { BusOwner } from '../../../firmware/services/bus-owner/bus-owner.js';
import { World } from '../../firmware/services/bus-owner/bus-owner-world.js';

/** mctpenv's default system: mctp0 with lladdr 0x10, EID 8, net 1. */
function sysnet() {
  const stack = new MctpStack({ clock: new ManualClock() });
  const [a] = createBindingPair({ hwAddr: Buffer.from([0x10]) }, { hwAddr: Buffer.from([0x1d]) });
  stack.addInterface('mctp0', a).setUp(true);
  stack.addAddress('mctp0', 8);
  return stack;
}

t.test('link-layer addresses', async (t) => {
  t.equal(formatLladdr(Buffer.alloc(0)), 'none');
  t.equal(formatLladdr(undefined), 'none');
  t.equal(formatLladdr(Buffer.from([0x1d])), '0x1d', 'one byte: 0x, to tell hex from decimal');
  t.equal(formatLladdr(Buffer.from([0x0a])), '0x0a');
  t.equal(formatLladdr(Buffer.from([0x00, 0x11, 0xab])), '00:11:ab');
});

t.test('mctp link', async (t) => {
  const stack = sysnet();
  t.same(formatLinks(stack), ['dev mctp0 index 1 address 0x10 net 1 mtu 68 up']);
  const lo = stack.addInterface('lo', createLoopbackBinding({ mtu: { initial: 65536 } }));
  const [c] = createBindingPair({ hwAddr: Buffer.from([0xde, 0xad, 0xbe, 0xef]) });
  stack.addInterface('mctpi2c1', c, { net: 0x80000001 });
  t.same(formatLinks(stack), [
    'dev mctp0 index 1 address 0x10 net 1 mtu 68 up',
    'dev lo index 2 address none net 1 mtu 65536 down',
    'dev mctpi2c1 index 3 address de:ad:be:ef net -2147483647 mtu 68 down',
  ]);
  lo.setUp(true);
  t.same(formatLinks(stack, 'lo'), ['dev lo index 2 address none net 1 mtu 65536 up'], 'link show <ifname>');
  t.throws(() => formatLinks(stack, 'nosuch'), { code: 'ENODEV', message: /invalid device nosuch/ });
});

t.test('mctp address', async (t) => {
  const stack = sysnet();
  const [b] = createBindingPair();
  stack.addInterface('mctpserial0', b, { net: 0x80000001 });
  stack.addAddress('mctpserial0', 8);
  stack.addAddress('mctp0', 20);
  t.same(formatAddresses(stack), ['eid 8 net 1 dev mctp0', 'eid 20 net 1 dev mctp0', 'eid 8 net 2147483649 dev mctpserial0']);
  t.same(formatAddresses(stack, 'mctpserial0'), ['eid 8 net 2147483649 dev mctpserial0']);
  t.throws(() => formatAddresses(stack, 'eth0'), { code: 'ENODEV' });
});

t.test('mctp route: the tool test suite cases, plus the local route the kernel also dumps', async (t) => {
  const single = sysnet();
  single.addRoute({ min: 9, dev: 'mctp0' });
  t.same(formatRoutes(single), ['eid min 9 max 9 net 1 dev mctp0 mtu 0', 'eid min 8 max 8 net 1 dev mctp0 mtu 0']);

  const range = sysnet();
  range.addRoute({ min: 9, max: 10, dev: 'mctp0' });
  t.equal(formatRoutes(range)[0], 'eid min 9 max 10 net 1 dev mctp0 mtu 0');

  const gw = sysnet();
  gw.addRoute({ min: 10, gateway: { eid: 9 } });
  t.equal(formatRoutes(gw)[0], 'eid min 10 max 10 net 1 gw 9 mtu 0');
  const gwr = sysnet();
  gwr.addRoute({ min: 10, max: 11, gateway: { net: 3, eid: 9 }, mtu: 254 });
  t.equal(formatRoutes(gwr)[0], 'eid min 10 max 11 net 3 gw 9 mtu 254', 'a gateway route prints the gateway\'s net');

  const mtu = sysnet();
  mtu.addRoute({ min: 12, dev: 'mctp0', mtu: 68 });
  mtu.setInterfaceNet('mctp0', 0xffffffff);
  t.same(formatRoutes(mtu), ['eid min 12 max 12 net -1 dev mctp0 mtu 68', 'eid min 8 max 8 net -1 dev mctp0 mtu 0'], 'net printed with %d');
});

t.test('mctp neigh', async (t) => {
  const stack = sysnet();
  stack.addNeighbour('mctp0', 9, Buffer.from([0x1d]));
  stack.addNeighbour('mctp0', 10, Buffer.from([0x1e]));
  const [c] = createBindingPair({ hwAddr: Buffer.from([0x02, 0x00]) });
  stack.addInterface('mctpusb0', c);
  stack.addNeighbour('mctpusb0', 11, Buffer.from([0x0a, 0x0b]));
  t.same(formatNeighbours(stack), [
    'eid 10 net 1 dev mctp0 lladdr 0x1e',
    'eid 9 net 1 dev mctp0 lladdr 0x1d',
    'eid 11 net 1 dev mctpusb0 lladdr 0a:0b',
  ]);
  t.same(formatNeighbours(stack, { dev: 'mctpusb0' }), ['eid 11 net 1 dev mctpusb0 lladdr 0a:0b']);
});

t.test('endpoints listing', async (t) => {
  t.same(
    formatEndpoints([
      { eid: 12, net: 1, iface: 'mctplpc0', hwAddr: Buffer.alloc(0), connectivity: 'degraded', messageTypes: [0], vdmTypes: [], uuid: null },
      {
        eid: 9,
        net: 1,
        iface: 'mctp0',
        hwAddr: Buffer.from([0x1d]),
        connectivity: 'available',
        messageTypes: [0x00, 0x01, 0x7e, 0x7f],
        vdmTypes: [
          { format: 'pci', vendorId: 0xccde, commandSet: 0xf0 },
          { format: 'iana', vendorId: 0xa015, commandSet: 1 },
        ],
        uuid: '11111111-2222-3333-4444-555555555555',
      },
    ]),
    [
      'eid 9 net 1 dev mctp0 address 0x1d available types 0x00,0x01,0x7e,0x7f vdm pci:0xccde:0x00f0,iana:0x0000a015:0x0001 uuid 11111111-2222-3333-4444-555555555555',
      'eid 12 net 1 dev mctplpc0 address none degraded types 0x00 vdm none uuid none',
    ],
  );
  t.same(formatEndpoints([]), []);
});

t.test('a bus owner at work, as the tool would show it', async (t) => {
  const w = new World();
  w.link('mctp0', { hw: 0x1d, uuid: '11111111-2222-3333-4444-555555555555' });
  const bo = new BusOwner(w.bmc, { peers: { mctp0: [Buffer.from([0x1d])] } });
  bo.start();
  await bo.waitForEndpoint();
  t.same(formatLinks(w.bmc), ['dev mctp0 index 1 address 0x10 net 1 mtu 68 up']);
  t.same(formatAddresses(w.bmc), ['eid 8 net 1 dev mctp0']);
  t.same(formatRoutes(w.bmc), ['eid min 9 max 9 net 1 dev mctp0 mtu 68', 'eid min 8 max 8 net 1 dev mctp0 mtu 0']);
  t.same(formatNeighbours(w.bmc), ['eid 9 net 1 dev mctp0 lladdr 0x1d']);
  t.same(formatEndpoints(bo.endpoints()), [
    'eid 9 net 1 dev mctp0 address 0x1d available types 0x00,0x01,0x7e vdm pci:0xccde:0x00f0 uuid 11111111-2222-3333-4444-555555555555',
  ]);
  const host = w.host('mctp0').stack;
  t.same(formatRoutes(host), ['eid min 8 max 8 net 1 dev mctp0 mtu 68', 'eid min 9 max 9 net 1 dev mctp0 mtu 0'], 'the host: its route to the bus owner, newest first');
  t.same(formatNeighbours(host), ['eid 8 net 1 dev mctp0 lladdr 0x10']);
  bo.stop();
});

/**
 * The bus owner over the real astlpc binding: a BMC-mode and a host-mode
 * binding joined in memory (the astlpc test harness), each under an MCTP
 * stack. When the channel comes up, the host (no EID yet) is assigned one,
 * then re-assigned the same EID after its side restarts.
 */
import t from 'tap';
import { Cmd } from '../../../../firmware/mctp/control/constants.js';
import { ControlResponder } from '../../../../firmware/mctp/control/responder.js';
import { MctpStack } from '../../../../firmware/mctp/stack.js';
import { BusOwner } from '../../../../firmware/services/bus-owner/bus-owner.js';
import { Harness } from '../../mctp/astlpc/harness.js';

const UUID = '0badc0de-0000-4000-8000-000000000001';

/** Settle the bindings and advance the clock 1 ms at a time until cond() holds. */
async function until(h: Harness, cond: () => boolean, maxMs = 5000): Promise<void> {
  for (let i = 0; i < maxMs; i++) {
    await h.settle();
    if (cond()) return;
    h.clock.advance(1);
  }
  throw new Error('condition not met over astlpc');
}

t.test('astlpc: the host gets an EID from the pool when the channel comes up', async (t) => {
  const h = new Harness();
  const bmc = new MctpStack({ clock: h.clock });
  const host = new MctpStack({ clock: h.clock });
  bmc.addInterface('mctplpc0', h.makeBmc());
  bmc.addAddress('mctplpc0', 8);
  host.addInterface('mctplpc0', h.makeHost());
  let responder = new ControlResponder(host, { role: 'endpoint', uuid: UUID, types: [{ type: 0x01, versions: [0xf1f0f000] }] });
  const bo = new BusOwner(bmc);
  bo.start();

  bmc.interface('mctplpc0').setUp(true);
  await h.settle();
  host.interface('mctplpc0').setUp(true);
  await until(h, () => bo.endpoint(9)?.connectivity === 'available');
  t.match(bo.endpoint(9), { iface: 'mctplpc0', hwAddr: Buffer.alloc(0), messageTypes: [0, 1], uuid: UUID, origin: 'dynamic' });
  t.same(host.interface('mctplpc0').addrs, [9]);
  t.ok(host.lookupRoute(1, 8), 'the host routes to the bus owner');
  const r = await bo.requester.request({ eid: 9 }, { command: Cmd.GetEndpointUuid });
  t.equal(r.uuid.toString('hex'), UUID.replace(/-/g, ''), 'routed control traffic over astlpc');

  // The host restarts: a new stack and binding instance; the BMC sees the channel drop and come
  // back when the new host sends Init (astlpc has no "host gone" signal before that).
  const seen: string[] = [];
  bo.on('endpoint-changed', (e: { connectivity: string }) => seen.push(e.connectivity));
  responder.close();
  await host.close();
  const host2 = new MctpStack({ clock: h.clock });
  host2.addInterface('mctplpc0', h.makeHost());
  responder = new ControlResponder(host2, { role: 'endpoint', uuid: UUID });
  host2.interface('mctplpc0').setUp(true);
  await until(h, () => seen.length === 2 && bo.endpoint(9)?.connectivity === 'available');
  t.same(seen, ['degraded', 'available']);
  t.same(host2.interface('mctplpc0').addrs, [9], 'same UUID, same EID');
  t.same(bo.endpoint(9)?.messageTypes, [0], 'and what it supports now');

  bo.stop();
  responder.close();
  await h.closeAll();
});

t.test('astlpc: a host reset makes the channel down and the endpoint unavailable at once, until the new boot inits', async (t) => {
  const h = new Harness();
  const bmc = new MctpStack({ clock: h.clock });
  const host = new MctpStack({ clock: h.clock });
  const bmcBinding = h.makeBmc();
  bmc.addInterface('mctplpc0', bmcBinding);
  bmc.addAddress('mctplpc0', 8);
  host.addInterface('mctplpc0', h.makeHost());
  let responder = new ControlResponder(host, { role: 'endpoint', uuid: UUID });
  const bo = new BusOwner(bmc);
  bo.start();
  bmc.interface('mctplpc0').setUp(true);
  await h.settle();
  const str = bmcBinding.stats().status;
  bmcBinding.hostReset();
  await h.settle();
  t.match(bmcBinding.stats(), { state: 'ready', status: str }, 'no host has initialised the channel yet: nothing to undo');
  host.interface('mctplpc0').setUp(true);
  await until(h, () => bo.endpoint(9)?.connectivity === 'available');

  // The host is reset: it vanishes without a word (astlpc has none), and host power control tells the BMC.
  const seen: string[] = [];
  bo.on('endpoint-changed', (e: { connectivity: string }) => seen.push(e.connectivity));
  responder.close();
  await host.close();
  t.equal(bmcBinding.state, 'active', 'on its own the BMC cannot know');
  bo.linkLost('mctplpc0');
  bmcBinding.hostReset();
  t.equal(bmcBinding.state, 'ready', 'at once: waiting for an Init');
  t.match(bmcBinding.stats(), { carrier: false, buffers: { tx: 'idle', rx: 'idle' } });
  t.equal(bmc.interface('mctplpc0').carrier, false);
  t.equal(bo.endpoint(9)?.connectivity, 'unavailable');
  await h.settle();
  t.match(bmcBinding.stats(), { state: 'ready', status: { bmcReady: true, channelActive: false } }, 'STR: BMC_READY, CHANNEL_ACTIVE gone');
  bmcBinding.hostReset();
  t.equal(bmcBinding.state, 'ready', 'a second notice changes nothing');

  // The new boot's host finds a BMC ready for its Init.
  const host2 = new MctpStack({ clock: h.clock });
  host2.addInterface('mctplpc0', h.makeHost());
  responder = new ControlResponder(host2, { role: 'endpoint', uuid: UUID });
  host2.interface('mctplpc0').setUp(true);
  await until(h, () => bo.endpoint(9)?.connectivity === 'available');
  t.equal(bmcBinding.state, 'active');
  t.same(seen, ['unavailable', 'available'], 'never merely degraded: it was known to be gone');
  t.same(host2.interface('mctplpc0').addrs, [9], 'same UUID, same EID');

  h.host!.hostReset();
  t.equal(h.host!.state, 'active', 'host mode: not applicable, nothing happens');
  bo.stop();
  responder.close();
  await h.closeAll();
});

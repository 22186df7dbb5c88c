/**
 * A BMC instance without its QEMU host: a host agent in this process stands in
 * for the guest, so astlpcEndpoint() can be watched waiting for the bus owner.
 */
import t from 'tap';
import { HostAgent } from '../../host/host-agent.js';
import { BmcInstance } from '../../instance/bmc-instance.js';
import { shortTempDir } from '../transport/helpers/util.js';

t.test('astlpcEndpoint waits for the bus owner to assign the astlpc host, and can be called off', async (t) => {
  const inst = new BmcInstance({ runtimeDir: shortTempDir(t), host: false, api: false });
  await inst.start();
  t.teardown(() => inst.stop());

  const ac = new AbortController();
  const calledOff = inst.astlpcEndpoint({ signal: ac.signal });
  ac.abort();
  await t.rejects(calledOff, { name: 'WaitError', code: 'ERR_WAIT_ABORTED' });

  const waiting = inst.astlpcEndpoint();
  const kcs = inst.soc.kcsWire.endpoint;
  if (kcs.kind !== 'unix') throw new Error('expected a UNIX KCS wire socket');
  const agent = new HostAgent({ kcs: { kind: 'unix', path: kcs.path }, window: inst.soc.windowFile });
  t.teardown(() => agent.stop());
  await agent.start();
  const ep = await waiting;
  t.match(ep, { eid: 9, iface: 'mctplpc0', connectivity: 'available' });
  t.same(await inst.astlpcEndpoint(), ep, 'once published, at once');
  await t.rejects(inst.powerOn(), { name: 'ConfigError', code: 'ERR_BAD_CONFIG', message: /no host/ });
});

/**
 * A BMC instance without its QEMU host: a host agent in this process stands in
 * for the guest, so astlpcEndpoint() can be watched waiting for the bus owner.
 */
import t from 'tap';
import { HostAgent } from '../../host/host-agent.js';
import { BmcInstance } from '../../instance/bmc-instance.js';
import { HostPower } from '../../qemu/host-power.js';
import { fakeMachine, shortTempDir as qemuTempDir } from '../qemu/helpers/util.js';
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

/**
 * The host's power as the BMC sees it, with a fake QEMU (power on, reset,
 * off in milliseconds) and a host agent in this process standing in for the
 * guest's: a new agent per boot, as a rebooted guest starts its own.
 */
t.test('state follows the host: a reset or power-off voids its endpoints and channel at once; waits see only the new boot', async (t) => {
  const power = new HostPower({ machine: () => fakeMachine(qemuTempDir(t)) });
  const inst = new BmcInstance({ runtimeDir: shortTempDir(t), hostPower: power, api: {} });
  await inst.start();
  t.teardown(() => inst.stop());
  const app = inst.api!.app;
  const get = async (url: string): Promise<{ statusCode: number; body: any }> => {
    const r = await app.inject({ url });
    return { statusCode: r.statusCode, body: JSON.parse(r.body) };
  };
  const powerAction = async (action: string): Promise<void> => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/host/power', payload: { action } });
    t.equal(r.statusCode, 200, `power ${action}`);
  };
  const kcs = inst.soc.kcsWire.endpoint;
  if (kcs.kind !== 'unix') throw new Error('expected a UNIX KCS wire socket');
  const guestAgent = async (): Promise<HostAgent> => {
    const agent = new HostAgent({ kcs: { kind: 'unix', path: kcs.path }, window: inst.soc.windowFile });
    await agent.start();
    return agent;
  };

  // Boot 1: the guest's agent brings the channel up and is assigned EID 9.
  let agent = await guestAgent();
  await inst.astlpcEndpoint();
  let st = (await get('/api/v1/status')).body;
  t.match(st.host, { power: 'on', boot: { id: 1, reason: 'power-on' } });
  t.match(st.mctp, { astlpc: 'active', endpoints: 1, endpointsUnavailable: 0 });
  t.match((await get('/api/v1/wait?condition=endpoint:9&timeoutMs=0')).body, { met: true, boot: 1 });
  const uptime1 = st.host.uptimeSeconds as number;

  // Reset. The guest (and its agent) is gone; nothing on the wire says so, host power control does.
  await agent.stop();
  await powerAction('reset');
  st = (await get('/api/v1/status')).body;
  t.match(st.host, { power: 'on', boot: { id: 2, reason: 'reset' } }, 'a new boot');
  t.ok(st.host.uptimeSeconds <= uptime1 + 0.5 && st.host.uptimeSeconds < 5, 'uptime restarts with the boot');
  t.match(st.mctp, { astlpc: 'ready', endpoints: 1, endpointsUnavailable: 1 }, 'channel down, endpoint unavailable: at once');
  t.match(inst.fw.busOwner.endpoint(9), { connectivity: 'unavailable' });
  for (const c of ['endpoint:9', 'astlpc-up']) {
    const r = await get(`/api/v1/wait?condition=${c}&timeoutMs=0`);
    t.equal(r.statusCode, 408, `${c} is not met by the previous boot`);
  }
  t.match((await get('/api/v1/mctp/endpoints')).body, [{ eid: 9, connectivity: 'unavailable' }]);

  // Boot 2's agent: the wait is met by the new boot's assignment, and says so.
  const waiting = get('/api/v1/wait?condition=endpoint:9&timeoutMs=20000');
  agent = await guestAgent();
  t.teardown(() => agent.stop());
  const met = await waiting;
  t.equal(met.statusCode, 200);
  t.match(met.body, { met: true, boot: 2, observed: { connectivity: 'available' } });
  t.match((await get('/api/v1/wait?condition=astlpc-up&timeoutMs=5000')).body, { met: true, boot: 2 });
  const records = (await get('/api/v1/readiness')).body.records as Array<Record<string, unknown>>;
  t.match(records.find((r) => r.kind === 'host-boot'), { boot: 2, reason: 'reset' });
  t.match(records.find((r) => String(r.kind).startsWith('endpoint-') && r.eid === 9), { connectivity: 'available', boot: 2 });

  // Power off: no boot, channel down, endpoint unavailable.
  await agent.stop();
  await powerAction('off');
  st = (await get('/api/v1/status')).body;
  t.match(st.host, { power: 'off', uptimeSeconds: null, boot: { id: null } });
  t.match(st.mctp, { astlpc: 'ready', endpointsUnavailable: 1 });
  t.equal((await get('/api/v1/wait?condition=endpoint:9&timeoutMs=0')).statusCode, 408);

  // Power on again: boot 3, set up afresh when its agent comes.
  await powerAction('on');
  agent = await guestAgent();
  t.match((await get('/api/v1/wait?condition=endpoint:9&timeoutMs=20000')).body, { met: true, boot: 3 });
});

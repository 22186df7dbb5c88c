/**
 * Two bmcemu instances at once on one machine: each has its own runtime
 * directory (window file, sockets, QMP), its own QEMU host and its own bus
 * owner; both come up and neither sees the other's traffic.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { withTimeout } from '../helpers/timeout.js';
import { BmcInstance } from '../../instance/bmc-instance.js';


t.test('two instances side by side', async (t) => {
  const insts = [0, 1].map(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btwo-'));
    const inst = new BmcInstance({ runtimeDir: dir, api: { port: 0 } });
    t.teardown(async () => {
      await inst.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return { dir, inst };
  });
  await Promise.all(insts.map(({ inst }) => inst.start()));
  const eps = await Promise.all(insts.map(({ inst }) => withTimeout(inst.astlpcEndpoint(), 180_000, 'an endpoint')));
  for (const [i, { inst }] of insts.entries()) {
    const r = await inst.echo(eps[i]!.eid, 1000, 5000);
    t.ok(r.bytes === 1003, `instance ${i}: echo over its own astlpc link`);
  }
  t.not(insts[0]!.inst.host!.pid, insts[1]!.inst.host!.pid, 'two QEMUs');
  t.not(insts[0]!.inst.api!.address!.url, insts[1]!.inst.api!.address!.url, 'two APIs');
  // Traffic on one instance does not show on the other.
  const before = insts[1]!.inst.fw.stack.interface('mctplpc0').counters.rxPackets;
  for (let i = 0; i < 5; i++) await insts[0]!.inst.echo(eps[0]!.eid, 100);
  const after = insts[1]!.inst.fw.stack.interface('mctplpc0').counters.rxPackets;
  t.ok(after - before < 5, 'the other instance saw none of those echoes');
  // Resetting one host leaves the other's link up.
  await insts[0]!.inst.host!.reset();
  const r = await insts[1]!.inst.echo(eps[1]!.eid);
  t.ok(r.bytes > 0, 'instance 1 still answers while instance 0 reboots');
});

/**
 * The instance's IPMI service over its real socket, without QEMU: a client
 * speaks the VM protocol as QEMU's ipmi-bmc-extern does, and the SEL survives
 * a BMC restart through the state directory.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { main as ipmi } from '../../cli/commands/ipmi.js';
import { main as selCommand } from '../../cli/commands/sel.js';
import type { CliIo } from '../../cli/options.js';
import { BmcInstance } from '../../instance/bmc-instance.js';
import { encodeControl, encodeRequest, parseResponse, splitFrames } from '../../firmware/ipmi/vm/codec.js';
import { shortTempDir } from '../transport/helpers/util.js';

/** A stand-in for QEMU's ipmi-bmc-extern: connects, says VERSION and CAPABILITIES, sends requests one at a time. */
async function fakeQemu(socketPath: string): Promise<{ ask(netfn: number, cmd: number, data?: number[]): Promise<number[]>; close(): void }> {
  const sock = net.connect(socketPath);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.write(Buffer.concat([encodeControl(0xff, [0x01]), encodeControl(0x08, [0x3f])]));
  let pending = Buffer.alloc(0);
  let msgid = 1;
  return {
    ask: (netfn, cmd, data = []) =>
      new Promise((resolve, reject) => {
        const id = msgid++;
        const timer = setTimeout(() => reject(new Error(`no answer to ${netfn.toString(16)}/${cmd.toString(16)}`)), 5000);
        const onData = (chunk: Buffer): void => {
          pending = Buffer.concat([pending, chunk]);
          const end = pending.lastIndexOf(0xa0);
          if (end < 0) return;
          const frames = splitFrames(pending.subarray(0, end + 1));
          pending = pending.subarray(end + 1);
          for (const f of frames) {
            if (f.terminator !== 0xa0) continue;
            const r = parseResponse(f.raw);
            if (r && r.msgid === id) {
              clearTimeout(timer);
              sock.off('data', onData);
              resolve([r.cc, ...r.data]);
            }
          }
        };
        sock.on('data', onData);
        sock.write(encodeRequest({ msgid: id, netfn, cmd, data: Buffer.from(data) }));
      }),
    close: () => sock.destroy(),
  };
}

t.test('QEMU reaches ipmid on <runtime>/ipmi.sock; the SEL persists across a BMC restart', async (t) => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmcemu-state-'));
  t.teardown(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  const runtimeDir = shortTempDir(t);
  const start = async (): Promise<BmcInstance> => {
    const inst = new BmcInstance({ runtimeDir, stateDir, host: false, api: false });
    await inst.start();
    return inst;
  };

  let inst = await start();
  let qemu = await fakeQemu(path.join(runtimeDir, 'ipmi.sock'));
  const id = await qemu.ask(0x06, 0x01);
  t.equal(id[0], 0, 'Get Device ID answered');
  t.equal(id[6]! & 0x8f, 0x8f, 'advertises chassis, FRU, SEL, SDR repository and sensors (ipmitool needs them)');
  const add = await qemu.ask(0x0a, 0x44, [0, 0, 0x02, 0, 0, 0, 0, 0x20, 0, 0x04, 0x01, 0x01, 0x01, 0x57, 0xff, 0xff]);
  t.equal(add[0], 0, 'Add SEL Entry');
  const recordId = add[1]! | (add[2]! << 8);
  qemu.close();
  await inst.stop();

  inst = await start();
  t.teardown(() => inst.stop());
  qemu = await fakeQemu(path.join(runtimeDir, 'ipmi.sock'));
  t.teardown(() => qemu.close());
  const info = await qemu.ask(0x0a, 0x40);
  t.equal(info[0], 0);
  t.equal(info[2]! | (info[3]! << 8), 1, 'one entry after the restart');
  const entry = await qemu.ask(0x0a, 0x43, [0, 0, recordId & 0xff, recordId >> 8, 0, 0xff]);
  t.equal(entry[0], 0, 'Get SEL Entry by the id Add returned');
  t.same(entry.slice(3 + 7, 3 + 16), [0x20, 0, 0x04, 0x01, 0x01, 0x01, 0x57, 0xff, 0xff], 'the event body as added');
  t.equal((await qemu.ask(0x00, 0x01))[0], 0, 'Get Chassis Status');
});

t.test('the instance serves its IPMI service through the API: the host\'s messages in the log, raw requests, the SEL', async (t) => {
  const runtimeDir = shortTempDir(t);
  const inst = new BmcInstance({ runtimeDir, host: false });
  await inst.start();
  t.teardown(() => inst.stop());
  const qemu = await fakeQemu(path.join(runtimeDir, 'ipmi.sock'));
  t.teardown(() => qemu.close());
  t.equal((await qemu.ask(0x06, 0x01))[0], 0, 'the host asks Get Device ID');
  t.equal((await qemu.ask(0x0a, 0x44, [0, 0, 0x02, 0, 0, 0, 0, 0x20, 0, 0x04, 0x01, 0x01, 0x01, 0x57, 0xff, 0xff]))[0], 0, 'and adds a SEL entry');

  const cli = async (cmd: (argv: string[], io: CliIo) => Promise<number>, argv: string[]) => {
    let out = '';
    let err = '';
    const code = await cmd([...argv, '--runtime-dir', runtimeDir], {
      stdout: { write: (s: string | Uint8Array) => (out += String(s)) },
      stderr: { write: (s: string) => (err += s) },
      env: {},
    });
    return { code, out, err };
  };
  const log = await cli(ipmi, ['log', '--bus', 'system']);
  t.equal(log.code, 0, log.err);
  t.match(log.out, / system\/qemu#\d+ App 0x06\/0x01 Get Device ID -> 0x00 \(command completed normally\) /);
  t.match(log.out, / system\/qemu#\d+ Storage 0x0a\/0x44 Add SEL Entry -> 0x00 /);
  const raw = await cli(ipmi, ['raw', '0x0a', '0x40']);
  t.equal(raw.code, 0, raw.err);
  t.match(raw.out, /^ 51 01 00 /, 'Get SEL Info through the API: version 51h, one entry');
  const sel = await cli(selCommand, ['list']);
  t.match(sel.out, /^ {3}1 \| \d\d\/\d\d\/\d\d \| \d\d:\d\d:\d\d UTC \| Temperature #0x01 \| Upper Non-critical going high \| Asserted\n$/);
  const metrics = await (await fetch(`${inst.api!.address!.url}/metrics`)).text();
  t.match(metrics, /ipmi_requests_total\{bus="system",netfn="0x06",cmd="0x01",cc="0x00",command="Get Device ID"\} 1\n/);
  t.match(metrics, /ipmi_requests_total\{bus="api",netfn="0x0a",cmd="0x40",cc="0x00",command="Get SEL Info"\} 1\n/);
});

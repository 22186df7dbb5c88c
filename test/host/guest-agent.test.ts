/**
 * `bmcemu guest-agent` end to end, as far as it can run outside a QEMU guest:
 * the agent in a child process finds its devices in a fake sysfs — an
 * ivshmem device whose resource2 is the BMC's window file, and a
 * virtio-serial port named bmcemu.kcs.3 whose /dev node is a pty relayed to
 * the BMC's KCS wire socket (what QEMU's virtserialport does) — against the
 * real BMC side in this process: Ast2500Soc + BmcFirmware + echo responder.
 * Everything above the device files is the production path: sysfs discovery,
 * enabling the device, mmap through the addon, the char-device link, SYNC,
 * the astlpc binding, the status lines. Then the BMC restarts, and the agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { BmcFirmware } from '../../firmware/bmc/bmc-firmware.js';
import { systemClock } from '../../lib/clock.js';
import { echoRequest, startEchoResponder } from '../../firmware/mctp/echo.js';
import type { EndpointInfo } from '../../firmware/services/bus-owner/bus-owner.js';
import { Ast2500Soc } from '../../hw-models/ast2500-soc.js';
import { createWindowFile } from '../../transport/window-file.js';
import { shortTempDir, until } from '../transport/helpers/util.js';
import { addIvshmem, addPciDevice, addVirtioPort } from './helpers/fake-sysfs.js';
import { startPtyRelay } from './helpers/pty-relay.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'guest-agent-child.ts');

interface Agent {
  proc: ChildProcess;
  out: () => string;
  /** Resolves with the n-th (1-based) match of `re` on stdout. */
  waitFor: (re: RegExp, n?: number, ms?: number) => Promise<string>;
  exited: Promise<number | null>;
}

function startAgent(args: string[]): Agent {
  const proc = spawn(process.execPath, [...process.execArgv, CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (b) => (out += b));
  proc.stderr!.on('data', (b) => (err += b));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const waitFor = (re: RegExp, n = 1, ms = 30000): Promise<string> =>
    new Promise((resolve, reject) => {
      const g = new RegExp(re.source, 'gm');
      const check = (): boolean => {
        const all = [...out.matchAll(g)];
        if (all.length < n) return false;
        clearTimeout(timer);
        proc.stdout!.off('data', check);
        resolve(all[n - 1]![0]);
        return true;
      };
      const timer = setTimeout(() => {
        proc.stdout!.off('data', check);
        reject(new Error(`timed out waiting for ${re} #${n}; stdout:\n${out}\nstderr:\n${err}`));
      }, ms);
      proc.stdout!.on('data', check);
      check();
    });
  return { proc, out: () => out, waitFor, exited };
}

interface Bmc {
  soc: Ast2500Soc;
  fw: BmcFirmware;
  stop(): Promise<void>;
}

/** The BMC as `bmcemu run` has it: bus owner on, no static route to the host (unless `static`). */
async function startBmc(runtimeDir: string, opts: { static?: boolean } = {}): Promise<Bmc> {
  const soc = new Ast2500Soc({ runtimeDir });
  await soc.start();
  const fw = new BmcFirmware(opts.static ? { soc, busOwner: false, hostEid: 9 } : { soc });
  fw.start();
  const echo = startEchoResponder(fw.stack);
  return {
    soc,
    fw,
    async stop() {
      echo.close();
      await fw.stop();
      await soc.close();
    },
  };
}

/** The agent as the BMC's bus owner sees it, once set up. */
async function agentEndpoint(bmc: Bmc): Promise<EndpointInfo> {
  const find = (): EndpointInfo | undefined => bmc.fw.busOwner.endpoints().find((e) => e.iface === 'mctplpc0' && e.connectivity === 'available');
  await until(() => find() !== undefined, { what: 'the bus owner set up the agent', limitMs: 10000 });
  return find()!;
}

const kcsSocket = (bmc: Bmc): string => {
  const ep = bmc.soc.kcsWire.endpoint;
  if (ep.kind !== 'unix') throw new Error('expected a UNIX KCS wire socket');
  return ep.path;
};

t.test('guest agent against the BMC: discovery, astlpc up, echo; BMC restart; agent restart', async (t) => {
  const dir = shortTempDir(t);
  const rt = path.join(dir, 'rt');
  fs.mkdirSync(rt);
  let bmc = await startBmc(rt);
  t.teardown(() => bmc.stop());

  const sys = path.join(dir, 'sys');
  const dev = path.join(dir, 'dev');
  addPciDevice(sys, { address: '0000:00:00.0', vendor: 0x8086, device: 0x1237 });
  addPciDevice(sys, { address: '0000:00:03.0', vendor: 0x1af4, device: 0x1003, bars: { 1: 4096 } });
  const ivshmem = addIvshmem(sys, '0000:00:04.0', 1 << 20, { bar2File: bmc.soc.windowFile });
  const relay = await startPtyRelay(kcsSocket(bmc));
  t.teardown(() => relay.stop());
  await relay.waitLine('connected');
  addVirtioPort(sys, dev, 'vport0p0', 'org.qemu.guest_agent.0', '/dev/null');
  addVirtioPort(sys, dev, 'vport0p1', 'bmcemu.kcs.3', relay.tty);

  const agent = startAgent(['--sysfs', sys, '--dev', dev, '--echo', '--mtu', '68', '--wait', '0']);
  t.teardown(() => agent.proc.kill('SIGKILL'));
  t.match(
    await agent.waitFor(/^bmcemu-agent: started .*$/),
    /started eid dynamic bmc-eid 8 window ivshmem 0000:00:04.0 BAR2 \(enabled it\) \(1048576 bytes\) kcs .*vport0p1 \(bmcemu.kcs.3\)/,
  );
  t.equal(fs.readFileSync(path.join(ivshmem, 'enable'), 'utf8').trim(), '1', 'the agent enabled the device');
  t.equal(await agent.waitFor(/^bmcemu-agent: astlpc up .*$/), 'bmcemu-agent: astlpc up v3 mtu 68', 'astlpc up at the MTU asked for');
  t.match(await agent.waitFor(/^bmcemu-agent: echo ok .*$/), /^bmcemu-agent: echo ok \d+\.\d\d ms$/, 'echo to the BMC came back');
  t.ok(bmc.fw.stack.interface('mctplpc0').carrier, 'BMC side up too');
  const host = await agentEndpoint(bmc);
  t.match(host, { iface: 'mctplpc0', origin: 'dynamic' }, `the agent answered MCTP control: the bus owner assigned it EID ${host.eid}`);
  const r = await echoRequest(bmc.fw.stack, { eid: host.eid, len: 200, clock: systemClock, timeoutMs: 5000 });
  t.equal(r.bytes, 203, 'BMC -> agent echo (multi-packet at MTU 68)');

  // The BMC restarts: its socket closes, the relay (QEMU) reconnects, the agent carries on.
  await bmc.stop();
  bmc = await startBmc(rt);
  await relay.waitLine('connected', 2);
  t.equal(await agent.waitFor(/^bmcemu-agent: astlpc up .*$/, 2), 'bmcemu-agent: astlpc up v3 mtu 68', 'astlpc up again after the BMC restart');
  t.match(await agent.waitFor(/^bmcemu-agent: echo ok .*$/, 2), /echo ok/, 'and the echo works again');
  await agentEndpoint(bmc);

  // The agent restarts on the same port (stale bytes may wait in it: SYNC), here
  // through the explicit-device options used outside a guest.
  agent.proc.kill('SIGTERM');
  t.equal(await agent.exited, 0, 'SIGTERM: clean exit');
  t.notMatch(agent.out(), /bmcemu-agent: error/, 'no error lines from the first agent');
  const again = startAgent(['--window', bmc.soc.windowFile, '--kcs-port', relay.tty, '--echo']);
  t.teardown(() => again.proc.kill('SIGKILL'));
  t.match(await again.waitFor(/^bmcemu-agent: started .*$/), new RegExp(`window ${bmc.soc.windowFile} .* kcs ${relay.tty}`));
  t.match(await again.waitFor(/^bmcemu-agent: astlpc up .*$/), /astlpc up v3 mtu \d+/, 'astlpc up for a new agent on the same port');
  t.match(await again.waitFor(/^bmcemu-agent: echo ok .*$/), /echo ok/);
  again.proc.kill('SIGINT');
  t.equal(await again.exited, 0);
  t.notMatch(again.out(), /bmcemu-agent: error/);
});

t.test('--serial: the MCTP serial binding on the guest tty cabled to the BMC UART', async (t) => {
  const dir = shortTempDir(t);
  const rt = path.join(dir, 'rt');
  fs.mkdirSync(rt);
  // Static routing: with the bus owner on both links the agent would get a second EID on serial.
  const bmc = await startBmc(rt, { static: true });
  t.teardown(() => bmc.stop());
  const kcs = await startPtyRelay(kcsSocket(bmc));
  t.teardown(() => kcs.stop());
  const uartEp = bmc.soc.mctpSerialWire.endpoint;
  const uart = await startPtyRelay(uartEp.kind === 'unix' ? uartEp.path : '');
  t.teardown(() => uart.stop());
  await uart.waitLine('connected');
  await until(() => bmc.fw.serial.carrier, { what: 'BMC serial carrier' });

  const agent = startAgent(['--eid', '9', '--window', bmc.soc.windowFile, '--kcs-port', kcs.tty, '--serial', uart.tty]);
  t.teardown(() => agent.proc.kill('SIGKILL'));
  await agent.waitFor(/^bmcemu-agent: astlpc up .*$/);

  // The BMC routes the host's EID over its UART instead of astlpc: its echo
  // request crosses the serial link; the agent answers along its own routes.
  bmc.fw.stack.removeRoute({ min: 9, dev: 'mctplpc0' });
  bmc.fw.stack.addRoute({ min: 9, dev: 'mctpserial0' });
  const r = await echoRequest(bmc.fw.stack, { eid: 9, len: 40, clock: systemClock, timeoutMs: 5000 });
  t.equal(r.bytes, 43, 'BMC -> agent over serial, echoed back');
  t.match(bmc.fw.serial.stats(), { txPackets: 1 }, 'the request left on the UART');
  agent.proc.kill('SIGTERM');
  t.equal(await agent.exited, 0);
  t.notMatch(agent.out(), /bmcemu-agent: error/);
});

t.test('errors name the fix', async (t) => {
  const dir = shortTempDir(t);
  const sys = path.join(dir, 'sys');
  fs.mkdirSync(path.join(sys, 'bus', 'pci', 'devices'), { recursive: true });
  addPciDevice(sys, { address: '0000:00:00.0', vendor: 0x8086, device: 0x1237 });

  const win = path.join(dir, 'window');
  createWindowFile(win);
  const sys2 = path.join(dir, 'sys2');
  addIvshmem(sys2, '0000:00:04.0', 1 << 20, { bar2File: win });
  // Children in parallel: each spends most of its time starting Node.
  const noBar = startAgent(['--sysfs', sys, '--wait', '0']);
  const noPort = startAgent(['--sysfs', sys2, '--dev', path.join(dir, 'dev'), '--wait', '0.3']);
  const badOpt = startAgent(['--eid', '300']);
  const unknown = startAgent(['--frobnicate']);

  t.equal(await noBar.exited, 1, 'exit code 1');
  t.match(noBar.out(), /^bmcemu-agent: error no ivshmem device \(1af4:1110\) in .*: is QEMU started with -device ivshmem-plain\?$/m);
  t.equal(await noPort.exited, 1);
  t.match(noPort.out(), /^bmcemu-agent: error no virtio-serial port named bmcemu.kcs.3 .*-device virtserialport,chardev=...,name=bmcemu.kcs.3\?$/m);
  t.equal(await badOpt.exited, 2, 'bad option: exit code 2');
  t.match(badOpt.out(), /^bmcemu-agent: error --eid must be an integer 8..254, got "300"/m);
  t.equal(await unknown.exited, 2);
  t.match(unknown.out(), /^bmcemu-agent: error .*--frobnicate/m);
});

/**
 * `bmcemu run` and `bmcemu host-agent` as a user runs them: two processes,
 * one instance directory; the host agent starts first and waits for the BMC,
 * the link comes up, an echo crosses it, and Ctrl-C leaves no sockets behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { testStateBase } from './spawn-cli.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'cli', 'bmcemu.ts');

function start(args: string[]): { proc: ChildProcess; out: () => string; waitFor: (re: RegExp, ms?: number) => Promise<string> } {
  const proc = spawn(process.execPath, [...process.execArgv, CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { BMCEMU_STATE_DIR: testStateBase(), ...process.env },
  });
  let out = '';
  proc.stdout!.on('data', (b) => (out += b));
  proc.stderr!.on('data', (b) => (out += b));
  const waitFor = (re: RegExp, ms = 20000): Promise<string> =>
    new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${out}`)), ms);
      const check = (): void => {
        const m = out.match(re);
        if (m) {
          clearTimeout(deadline);
          proc.stdout!.off('data', check);
          resolve(m[0]);
        }
      };
      proc.stdout!.on('data', check);
      check();
    });
  return { proc, out: () => out, waitFor };
}

const exited = (p: ChildProcess): Promise<number | null> =>
  p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));

t.test('bmcemu run + bmcemu host-agent --echo', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bcli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const host = start(['host-agent', '--runtime-dir', dir, '--echo', '--mtu', '68']);
  t.teardown(() => host.proc.kill('SIGKILL'));
  await host.waitFor(/connecting to the BMC/);
  const bmc = start(['run', '--runtime-dir', dir, '--no-host']);
  t.teardown(() => bmc.proc.kill('SIGKILL'));
  await bmc.waitFor(/Ctrl-C stops/);
  t.ok(fs.existsSync(path.join(dir, 'kcs-mctp.sock')), 'KCS wire socket in the runtime directory');
  t.equal(fs.statSync(path.join(dir, 'lpc-fw-window')).size, 1 << 20, 'window file of exactly 1 MiB');
  t.match(await host.waitFor(/astlpc channel up: protocol v3, MTU 68 .*/), /MTU 68/, 'host negotiated the MTU it asked for');
  t.match(await host.waitFor(/MCTP EID \d+ \(assigned by the BMC bus owner\)/), /EID 9/, 'the BMC bus owner assigned the host EID 9');
  t.match(await host.waitFor(/echo round trip to EID 8 OK.*/), /OK/);
  t.match(await bmc.waitFor(/echo round trip to EID 9 over astlpc OK.*/), /OK/, 'and the BMC echoed the host back');
  t.match(await bmc.waitFor(/astlpc channel up: protocol v3, MTU 68.*/), /v3/);

  // A second BMC on the same instance directory is refused with a clear reason.
  const second = start(['run', '--runtime-dir', dir, '--no-host']);
  t.equal(await exited(second.proc), 1);
  t.match(second.out(), /in use by bmcemu pid \d+/);

  host.proc.kill('SIGINT');
  bmc.proc.kill('SIGINT');
  t.equal(await exited(host.proc), 0, 'host agent exits cleanly on Ctrl-C');
  t.equal(await exited(bmc.proc), 0, 'BMC exits cleanly on Ctrl-C');
  t.notOk(fs.existsSync(path.join(dir, 'kcs-mctp.sock')), 'no stale socket left');
  t.notOk(fs.existsSync(path.join(dir, 'bmcemu.pid')), 'pid file removed');
});

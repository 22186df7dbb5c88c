/**
 * `bmcemu run` (BMC alone, --no-host) as a process: whatever ends it — Ctrl-C,
 * kill, the terminal going away, Ctrl-C of `bmcemu run | tee log` where tee
 * is gone before the goodbye line — its runtime directory is swept; and after
 * a SIGKILL, which nothing can clean up after, the next start says what it
 * found and clears it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startCli } from './spawn-cli.js';

const READY = /Ctrl-C stops/;
/** What a running BMC keeps in its directory; --no-host keeps the window file (a host agent may still map it). */
const LIVE_FILES = ['api.json', 'bmcemu.pid', 'host-console.sock', 'kcs-mctp.sock', 'mctp-serial.sock'];

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brun-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const present = (dir: string): string[] => fs.readdirSync(dir).filter((n) => LIVE_FILES.includes(n)).sort();

// SIGTERM: the last start of the SIGKILL test below.
for (const sig of ['SIGINT', 'SIGHUP'] as const) {
  t.test(`${sig} stops the BMC and sweeps its runtime directory`, async (t) => {
    const dir = tempDir(t);
    const bmc = startCli(['run', '--runtime-dir', dir, '--no-host']);
    t.teardown(() => bmc.proc.kill('SIGKILL'));
    await bmc.waitFor(READY);
    t.match(
      bmc.out(),
      /\nbmcemu: MCTP: EID 8 on mctplpc0 \(astlpc\), EID 20 on mctpserial0 \(serial\); bus owner and echo responder running\n/,
      'the start-up line gives each link its own EID',
    );
    t.same(present(dir), LIVE_FILES, 'running: pid file, api.json and the sockets');
    bmc.proc.kill(sig);
    t.same(await bmc.exited(), { code: 0, signal: null }, `exit 0 on ${sig}`);
    t.match(bmc.out(), new RegExp(`${sig}: shutting down`));
    t.same(present(dir), [], 'nothing of the instance is left');
    t.same(fs.readdirSync(dir), ['lpc-fw-window'], 'but the window file (--no-host: a host agent may still map it)');
  });
}

t.test('Ctrl-C of `run | tee log`: stdout is gone before the goodbye line (EPIPE), cleanup still happens', async (t) => {
  const dir = tempDir(t);
  const bmc = startCli(['run', '--runtime-dir', dir, '--no-host']);
  t.teardown(() => bmc.proc.kill('SIGKILL'));
  await bmc.waitFor(READY);
  // tee died first: the read end of our stdout closes, the next write fails with EPIPE.
  bmc.proc.stdout!.destroy();
  bmc.proc.kill('SIGINT');
  const exit = await bmc.exited();
  t.same(exit, { code: 0, signal: null }, `exit 0, not a crash:\n${bmc.out()}`);
  t.notMatch(bmc.out(), /EPIPE|Error/, 'no stack trace on stderr');
  t.same(present(dir), [], 'runtime directory swept');
});

t.test('a start after SIGKILL reports the dead instance and clears what it left', async (t) => {
  const dir = tempDir(t);
  const first = startCli(['run', '--runtime-dir', dir, '--no-host']);
  t.teardown(() => first.proc.kill('SIGKILL'));
  await first.waitFor(READY);
  const deadPid = first.proc.pid!;
  first.proc.kill('SIGKILL');
  t.equal((await first.exited()).signal, 'SIGKILL');
  t.same(present(dir), LIVE_FILES, 'SIGKILL leaves everything behind');

  const second = startCli(['run', '--runtime-dir', dir, '--no-host']);
  t.teardown(() => second.proc.kill('SIGKILL'));
  const line = await second.waitFor(/.*exited without cleaning up.*/);
  t.equal(
    line,
    `bmcemu: runtime directory ${dir}: bmcemu pid ${deadPid} exited without cleaning up; removed its bmcemu.pid, api.json, host-console.sock, ipmi.sock, kcs-mctp.sock, mctp-serial.sock`,
    'one line: whose leftovers, and what was removed',
  );
  await second.waitFor(READY);
  t.equal(second.out().match(/exited without cleaning up/g)?.length, 1, 'said once');
  t.equal(JSON.parse(fs.readFileSync(path.join(dir, 'api.json'), 'utf8')).pid, second.proc.pid, 'api.json is the new instance’s');
  t.equal(fs.readFileSync(path.join(dir, 'bmcemu.pid'), 'utf8').trim(), String(second.proc.pid));
  second.proc.kill('SIGINT');
  t.equal((await second.exited()).code, 0);
  t.same(present(dir), []);

  const third = startCli(['run', '--runtime-dir', dir, '--no-host']);
  t.teardown(() => third.proc.kill('SIGKILL'));
  await third.waitFor(READY);
  t.notMatch(third.out(), /without cleaning up/, 'after a clean exit there is nothing to report');
  third.proc.kill('SIGTERM');
  t.same(await third.exited(), { code: 0, signal: null }, 'exit 0 on SIGTERM');
  t.match(third.out(), /SIGTERM: shutting down/);
  t.same(present(dir), [], 'and swept');
});

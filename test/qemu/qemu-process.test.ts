/**
 * One QEMU process, against the fake QEMU (test/qemu/helpers/fake-qemu.mjs):
 * spawn, QMP attach, expected and unexpected exits, quit with its SIGKILL
 * fallback, start-up failures, stale sockets, and the parent-death signal.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { MachineSpec } from '../../qemu/cmdline.js';
import { QMP_SOCKET } from '../../transport/runtime-files.js';
import { findQemuBinary } from '../../qemu/qemu-binary.js';
import { qemuLaunch, QemuProcess, type QemuExit } from '../../qemu/qemu-process.js';
import type { QmpEvent } from '../../qemu/qmp.js';
import { fakeMachine, HELPERS, pidAlive, shortTempDir, until } from './helpers/util.js';

async function start(t: Test, dir: string, spec: MachineSpec = fakeMachine(dir)): Promise<{ proc: QemuProcess; logs: string[]; exits: QemuExit[] }> {
  const logs: string[] = [];
  const proc = QemuProcess.start(qemuLaunch(spec, await findQemuBinary(spec.binary)), { log: (l) => logs.push(l) });
  t.teardown(() => proc.kill('test over'));
  const exits: QemuExit[] = [];
  proc.on('exit', (e: QemuExit) => exits.push(e));
  return { proc, logs, exits };
}

function withEnv(t: Test, name: string, value: string): void {
  process.env[name] = value;
  t.teardown(() => delete process.env[name]);
}

t.test('the launch: the resolved binary first, the spec validated', async (t) => {
  const dir = shortTempDir(t);
  const spec = fakeMachine(dir);
  const binary = await findQemuBinary(spec.binary);
  const launch = qemuLaunch(spec, binary);
  t.equal(launch.argv[0], binary.path);
  t.ok(launch.argv.includes('-S'), 'started paused');
  t.equal(launch.qmpPath, path.join(dir, QMP_SOCKET));
  const dangling: MachineSpec = { ...spec, serials: ['nope'] };
  t.throws(() => qemuLaunch(dangling, binary), { code: 'ERR_QEMU_CMDLINE', message: /unknown chardev "nope"/ });
});

t.test('spawn, attach QMP, quit: an expected exit, reported once', async (t) => {
  const dir = shortTempDir(t);
  const { proc, logs, exits } = await start(t, dir);
  t.ok(proc.running);
  t.ok(proc.pid && pidAlive(proc.pid), 'QEMU runs');
  t.ok(logs.some((l) => l.startsWith('command: ')), 'the command line is logged');
  const qmp = await proc.attachQmp({ timeoutMs: 10_000 });
  t.equal(proc.qmp, qmp);
  t.match(qmp.greeting.version, { major: 7, minor: 2 });
  const events: string[] = [];
  proc.on('qmp-event', (e: QmpEvent) => events.push(e.event));
  await qmp.execute('cont');
  await until(() => events.includes('RESUME'), 'RESUME forwarded');

  const pid = proc.pid!;
  const exit = await proc.quit('power off', 5000);
  t.match(exit, { code: 0, signal: null, expected: true, reason: 'power off' });
  t.same(exits, [exit], "'exit' once, with what exited resolves to");
  t.equal(await proc.exited, exit);
  t.notOk(proc.running);
  t.notOk(pidAlive(pid), 'QEMU is gone');
  t.equal(proc.qmp, undefined, 'QMP is closed with the process');
  t.equal(qmp.closed, true);
  t.ok(proc.exitSignal.aborted, 'the exit signal fired');
  t.notOk(fs.existsSync(path.join(dir, QMP_SOCKET)), 'no QMP socket left');
  t.equal(await proc.quit('again', 5000), exit, 'quit after the exit just answers the exit');
});

t.test('an exit nobody announced is unexpected; an announced one keeps its first reason', async (t) => {
  const dir = shortTempDir(t);
  const a = await start(t, dir);
  await a.proc.attachQmp({ timeoutMs: 10_000 });
  process.kill(a.proc.pid!, 'SIGKILL');
  t.match(await a.proc.exited, { code: null, signal: 'SIGKILL', expected: false, reason: '' });
  t.ok(fs.existsSync(path.join(dir, QMP_SOCKET)), 'the killed QEMU left its QMP socket behind');

  const b = await start(t, dir);
  await b.proc.attachQmp({ timeoutMs: 10_000 });
  t.pass('a new QEMU attaches: the stale socket was replaced');
  b.proc.expectExit('shutdown: guest-shutdown');
  t.match(await b.proc.kill('hard off'), { signal: 'SIGKILL', expected: true, reason: 'shutdown: guest-shutdown' });
});

t.test('a QEMU that ignores quit is killed after the grace time', async (t) => {
  const dir = shortTempDir(t);
  withEnv(t, 'FAKE_QEMU_IGNORE_QUIT', '1');
  const { proc, logs } = await start(t, dir);
  await proc.attachQmp({ timeoutMs: 10_000 });
  t.notOk(await proc.exitsWithin(50), 'still running');
  const exit = await proc.quit('hard off', 200);
  t.match(exit, { signal: 'SIGKILL', expected: true, reason: 'hard off' });
  t.ok(logs.includes('QEMU did not exit after quit; sending SIGKILL'));
  t.ok(await proc.exitsWithin(0), 'exitsWithin answers at once once it has exited');
});

t.test('a QEMU that exits during start-up: ERR_QEMU_EXITED, its stderr kept for the report', async (t) => {
  const dir = shortTempDir(t);
  withEnv(t, 'FAKE_QEMU_FAIL_START', '1');
  const { proc, logs } = await start(t, dir);
  await t.rejects(proc.attachQmp({ timeoutMs: 10_000 }), { code: 'ERR_QEMU_EXITED', message: 'QEMU exited during start-up' });
  t.match(await proc.exited, { code: 1, expected: false });
  await until(() => /fake start failure/.test(proc.stderrHint()), 'stderr read');
  t.match(proc.stderrHint(), /^\nQEMU said:\n {2}qemu-system-x86_64: .*fake start failure$/);
  t.ok(logs.some((l) => /^qemu: .*fake start failure/.test(l)), 'stderr lines are logged');
});

t.test('a QMP socket that never answers: ERR_QMP_TIMEOUT after the attach deadline', async (t) => {
  const dir = shortTempDir(t);
  const spec = fakeMachine(dir);
  // QEMU listens on one path, we are told another.
  const binary = await findQemuBinary(spec.binary);
  const proc = QemuProcess.start({ ...qemuLaunch(spec, binary), qmpPath: path.join(dir, 'elsewhere.sock') });
  t.teardown(() => proc.kill('test over'));
  await t.rejects(proc.attachQmp({ timeoutMs: 300 }), { code: 'ERR_QMP_TIMEOUT', message: /QMP did not come up on .*elsewhere\.sock: .*ENOENT/ });
});

t.test('a binary that cannot be spawned is an exit, with the reason in the hint', async (t) => {
  const dir = shortTempDir(t);
  const proc = QemuProcess.start({ argv: [path.join(dir, 'no-qemu')], qmpPath: path.join(dir, 'q.sock') }, { pdeathsig: false });
  t.match(await proc.exited, { code: null, signal: null, expected: false });
  t.match(proc.stderrHint(), /spawn failed: .*ENOENT/);
  await t.rejects(proc.attachQmp({ timeoutMs: 1000 }), { code: 'ERR_QEMU_EXITED' });
});

t.test('QEMU dies with bmcemu, even on kill -9 (parent-death signal)', async (t) => {
  const dir = shortTempDir(t);
  const child = fork(path.join(HELPERS, 'process-child.ts'), [dir], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  const [msg] = (await once(child, 'message')) as [{ pid: number }];
  t.ok(pidAlive(msg.pid), 'QEMU runs under the child bmcemu');
  child.kill('SIGKILL');
  await once(child, 'exit');
  await until(() => !pidAlive(msg.pid), 'QEMU to die with its parent', 5000);
  t.pass('QEMU is gone');
});

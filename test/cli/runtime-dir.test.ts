/** Instance names and runtime directories: which one, claiming it, sweeping it, and a dead holder's leftovers. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { claimRuntimeDir, describeStaleClaim, instanceDir, instanceName } from '../../cli/runtime-dir.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brd-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A UNIX socket file nobody listens on any more, as a killed process leaves it. */
async function deadSocket(file: string): Promise<void> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(file, r));
  // Hard-link it away first: closing the server unlinks its path, the link keeps a socket inode to put back.
  const keep = `${file}.keep`;
  fs.linkSync(file, keep);
  await new Promise((r) => srv.close(r));
  fs.renameSync(keep, file);
}

/** The pid of a process that has exited (and been reaped). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

t.test('instanceName: --instance, else $BMCEMU_INSTANCE, else "default"', async (t) => {
  t.equal(instanceName('lab', { BMCEMU_INSTANCE: 'other' }), 'lab');
  t.equal(instanceName(undefined, { BMCEMU_INSTANCE: 'other' }), 'other');
  t.equal(instanceName(undefined, { BMCEMU_INSTANCE: '' }), 'default', 'empty is unset');
  t.equal(instanceName(undefined, {}), 'default');
  t.equal(instanceDir('x', '/explicit/dir'), '/explicit/dir');
  t.throws(() => instanceDir('../up'), { code: 'ERR_BAD_CONFIG' });
});

t.test('release sweeps the instance out of its directory; captures stay', async (t) => {
  const dir = path.join(tempDir(t), 'inst');
  const claim = claimRuntimeDir(dir);
  t.equal(claim.stale, null);
  t.equal(fs.readFileSync(path.join(dir, 'bmcemu.pid'), 'utf8'), `${process.pid}\n`);
  await deadSocket(path.join(dir, 'kcs-mctp.sock'));
  fs.writeFileSync(path.join(dir, 'api.json'), '{}');
  fs.writeFileSync(path.join(dir, 'lpc-fw-window'), Buffer.alloc(16));
  fs.writeFileSync(path.join(dir, 'capture-mctplpc0.pcap'), 'pcap');
  claim.release();
  t.same(fs.readdirSync(dir).sort(), ['capture-mctplpc0.pcap', 'lpc-fw-window'], 'without removeWindow the window file is kept');
  claim.release(); // idempotent
  t.ok(fs.existsSync(dir));
});

t.test('release with removeWindow and removeDir leaves nothing', async (t) => {
  const dir = path.join(tempDir(t), 'inst');
  const claim = claimRuntimeDir(dir, { removeWindow: true, removeDir: true });
  fs.writeFileSync(path.join(dir, 'lpc-fw-window'), Buffer.alloc(16));
  fs.writeFileSync(path.join(dir, 'api.json.123.tmp'), '{');
  await deadSocket(path.join(dir, 'qmp.sock'));
  claim.release();
  t.notOk(fs.existsSync(dir), 'the directory is gone');
});

t.test('release of a claim taken over touches nothing', async (t) => {
  const dir = tempDir(t);
  const claim = claimRuntimeDir(dir, { removeWindow: true });
  fs.writeFileSync(path.join(dir, 'bmcemu.pid'), `${deadPid()}\n`);
  fs.writeFileSync(path.join(dir, 'api.json'), '{}');
  claim.release();
  t.same(fs.readdirSync(dir).sort(), ['api.json', 'bmcemu.pid']);
});

t.test('a live holder is refused; a dead one’s leftovers are cleared and reported', async (t) => {
  const dir = tempDir(t);
  // Our parent is alive and is not us: a live holder.
  fs.writeFileSync(path.join(dir, 'bmcemu.pid'), `${process.ppid}\n`);
  t.throws(() => claimRuntimeDir(dir), { code: 'ERR_INSTANCE_BUSY', message: new RegExp(`in use by bmcemu pid ${process.ppid}`) });

  const pid = deadPid();
  fs.writeFileSync(path.join(dir, 'bmcemu.pid'), `${pid}\n`);
  fs.writeFileSync(path.join(dir, 'api.json'), '{"url":"http://127.0.0.1:1"}');
  await deadSocket(path.join(dir, 'kcs-mctp.sock'));
  await deadSocket(path.join(dir, 'host-console.sock'));
  fs.writeFileSync(path.join(dir, 'lpc-fw-window'), Buffer.alloc(16));
  fs.writeFileSync(path.join(dir, 'mctp-serial.sock'), 'not a socket');
  const claim = claimRuntimeDir(dir);
  t.same(claim.stale, { pid, removed: ['bmcemu.pid', 'api.json', 'host-console.sock', 'kcs-mctp.sock'] });
  t.same(fs.readdirSync(dir).sort(), ['bmcemu.pid', 'lpc-fw-window', 'mctp-serial.sock'], 'the window file is reused; what is not a socket is not ours');
  t.equal(
    describeStaleClaim(dir, claim.stale!),
    `runtime directory ${dir}: bmcemu pid ${pid} exited without cleaning up; removed its bmcemu.pid, api.json, host-console.sock, kcs-mctp.sock`,
  );
  claim.release();

  fs.writeFileSync(path.join(dir, 'bmcemu.pid'), 'garbage');
  const again = claimRuntimeDir(dir);
  t.same(again.stale, { pid: null, removed: ['bmcemu.pid'] }, 'an unreadable pid file is a dead holder');
  t.match(describeStaleClaim(dir, again.stale!), /a bmcemu \(unreadable pid file\) exited without cleaning up/);
  again.release();
});

/**
 * `bmcemu status` in a fresh shell after `make run`: scripts/install-bin.sh
 * links bin/bmcemu.js onto PATH, and the link runs the checkout's compiled
 * CLI wherever it lives. Run against a throw-away copy of the checkout's
 * entry points (its dist/ a stub), so nothing outside a temp dir is touched.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A checkout with the real bin/ and script, a stub dist/cli/bmcemu.js; and an empty bin directory. */
function sandbox(t: { teardown(fn: () => void): void }) {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'binst-')));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const checkout = path.join(tmp, 'checkout');
  for (const d of ['bin', 'scripts', 'dist/cli']) fs.mkdirSync(path.join(checkout, d), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'bin', 'bmcemu.js'), path.join(checkout, 'bin', 'bmcemu.js'));
  fs.copyFileSync(path.join(ROOT, 'scripts', 'install-bin.sh'), path.join(checkout, 'scripts', 'install-bin.sh'));
  fs.chmodSync(path.join(checkout, 'bin', 'bmcemu.js'), fs.statSync(path.join(ROOT, 'bin', 'bmcemu.js')).mode);
  fs.chmodSync(path.join(checkout, 'scripts', 'install-bin.sh'), fs.statSync(path.join(ROOT, 'scripts', 'install-bin.sh')).mode);
  fs.writeFileSync(path.join(checkout, 'package.json'), '{"type":"module"}\n');
  fs.writeFileSync(path.join(checkout, 'dist', 'cli', 'bmcemu.js'), "process.stdout.write('stub cli: ' + JSON.stringify(process.argv.slice(2)) + '\\n');\n");
  const binDir = path.join(tmp, 'path-bin');
  // PATH as a fresh shell has it, plus the bin directory; node must be found by the #! line.
  const PATH = [binDir, path.dirname(process.execPath), '/usr/bin', '/bin'].join(':');
  const env = { ...process.env, PATH, HOME: tmp, BMCEMU_BIN_DIR: binDir };
  const install = (extra: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(path.join(checkout, 'scripts', 'install-bin.sh'), [], { env: { ...env, ...extra }, encoding: 'utf8' });
    return { code: r.status, out: r.stdout + r.stderr };
  };
  return { tmp, checkout, binDir, env, install };
}

t.test('the tracked entry points are executable', async (t) => {
  for (const f of ['bin/bmcemu.js', 'scripts/install-bin.sh']) {
    const ls = spawnSync('git', ['ls-files', '-s', f], { cwd: ROOT, encoding: 'utf8' }).stdout;
    t.match(ls, /^100755 /, `${f} is 100755 in git`);
  }
});

t.test('install-bin links bmcemu onto PATH, idempotently, and the link runs the checkout', async (t) => {
  const s = sandbox(t);
  let r = s.install();
  t.equal(r.code, 0, r.out);
  const link = path.join(s.binDir, 'bmcemu');
  t.equal(r.out, `==> bmcemu command: installed ${link} -> ${path.join(s.checkout, 'bin', 'bmcemu.js')}\n`, 'says what it did');
  t.equal(fs.readlinkSync(link), path.join(s.checkout, 'bin', 'bmcemu.js'));

  r = s.install();
  t.equal(r.code, 0);
  t.equal(r.out, '', 'silent once it is there');

  // A fresh shell: `bmcemu status` found on PATH, through the symlink, into this checkout's dist/.
  const run = spawnSync('bash', ['-c', 'bmcemu --instance lab status'], { env: s.env, encoding: 'utf8', cwd: s.tmp });
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stdout, 'stub cli: ["--instance","lab","status"]\n');

  // Not built yet: a clear message, not a module-resolution stack trace.
  fs.rmSync(path.join(s.checkout, 'dist'), { recursive: true });
  const unbuilt = spawnSync('bash', ['-c', 'bmcemu status'], { env: s.env, encoding: 'utf8' });
  t.equal(unbuilt.status, 1);
  t.equal(unbuilt.stderr, `bmcemu: ${path.join(s.checkout, 'dist', 'cli', 'bmcemu.js')} is not built yet: run make build in ${s.checkout}/\n`);
});

t.test('another checkout’s link is repointed and said so; a real file is left alone', async (t) => {
  const s = sandbox(t);
  fs.mkdirSync(s.binDir);
  const link = path.join(s.binDir, 'bmcemu');
  fs.symlinkSync('/elsewhere/bin/bmcemu.js', link);
  let r = s.install();
  t.equal(r.code, 0);
  t.match(r.out, `now points at this checkout (${path.join(s.checkout, 'bin', 'bmcemu.js')}; it pointed at /elsewhere/bin/bmcemu.js)`);
  t.equal(fs.readlinkSync(link), path.join(s.checkout, 'bin', 'bmcemu.js'));

  fs.rmSync(link);
  fs.writeFileSync(link, '#!/bin/sh\n');
  r = s.install();
  t.equal(r.code, 0, 'not an error: make run goes on');
  t.match(r.out, /exists and is not a symlink; left alone/);
  t.equal(fs.readFileSync(link, 'utf8'), '#!/bin/sh\n');
});

t.test('a bin directory not on PATH gets a note every time', async (t) => {
  const s = sandbox(t);
  const r = s.install({ PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(':') });
  t.equal(r.code, 0);
  t.match(r.out, `${s.binDir} is not on your PATH; add it`);
  t.match(s.install({ PATH: '/usr/bin:/bin' }).out, /is not on your PATH/);
});

t.test('without BMCEMU_BIN_DIR and no writable /usr/local/bin: ~/.local/bin', { skip: fs.existsSync('/usr/local/bin') && isWritable('/usr/local/bin') ? '/usr/local/bin is writable here' : false }, async (t) => {
  const s = sandbox(t);
  const r = s.install({ BMCEMU_BIN_DIR: '' });
  t.equal(r.code, 0, r.out);
  t.equal(fs.readlinkSync(path.join(s.tmp, '.local', 'bin', 'bmcemu')), path.join(s.checkout, 'bin', 'bmcemu.js'));
});

function isWritable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

t.test('make run installs the command', async (t) => {
  const mk = fs.readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
  t.match(mk, /^run: [^\n]*\n\t@scripts\/install-bin\.sh \|\| /m, 'run installs it first, and goes on if it cannot');
  t.match(mk, /^install-bin:\n\t@scripts\/install-bin\.sh$/m);
});

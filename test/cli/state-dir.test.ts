import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { defaultStateBase, instanceStateDir } from '../../cli/state-dir.js';

t.test('the state base: BMCEMU_STATE_DIR, then XDG_STATE_HOME/bmcemu, then ~/.local/state/bmcemu', async (t) => {
  t.equal(defaultStateBase({ BMCEMU_STATE_DIR: '/srv/bmc' }), '/srv/bmc');
  t.equal(defaultStateBase({ XDG_STATE_HOME: '/x/state' }), '/x/state/bmcemu');
  t.equal(defaultStateBase({ XDG_STATE_HOME: 'relative' }), path.join(os.homedir(), '.local', 'state', 'bmcemu'), 'a relative XDG path is ignored, as the spec says');
  t.equal(defaultStateBase({}), path.join(os.homedir(), '.local', 'state', 'bmcemu'));
});

t.test('one private directory per instance, created on demand', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'bmcemu-statebase-'));
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const a = instanceStateDir('a', undefined, { BMCEMU_STATE_DIR: base });
  const b = instanceStateDir('b', undefined, { BMCEMU_STATE_DIR: base });
  t.not(a, b);
  t.equal(fs.statSync(a).mode & 0o777, 0o700);
  const explicit = instanceStateDir('ignored', path.join(base, 'mine'), {});
  t.equal(explicit, path.join(base, 'mine'));
  t.ok(fs.statSync(explicit).isDirectory());
});

/** Which QEMU runs: found on PATH or by path, its version read once, a missing one explained. */
import fs from 'node:fs';
import t from 'tap';
import { findQemuBinary, qemuMissingMessage } from '../../qemu/qemu-binary.js';
import { FAKE_QEMU } from './helpers/util.js';

t.test('a path: resolved as is, its version read', async (t) => {
  fs.chmodSync(FAKE_QEMU, 0o755);
  const b = await findQemuBinary(FAKE_QEMU);
  t.same(b, { path: FAKE_QEMU, version: { major: 7, minor: 2, micro: 0 }, versionText: 'QEMU emulator version 7.2.0 (fake)' });
  t.same(await findQemuBinary(FAKE_QEMU), b, 'asked again: the same answer');
});

t.test('a missing binary says how to install QEMU', async (t) => {
  for (const name of ['qemu-system-bmcemu-does-not-exist', '/nonexistent/qemu-system-x86_64']) {
    const err = await findQemuBinary(name).catch((e: unknown) => e);
    t.match(err, { name: 'QemuError', code: 'ERR_QEMU_MISSING', message: qemuMissingMessage(name) });
  }
  t.match(qemuMissingMessage('qemu-system-x86_64'), /^qemu-system-x86_64 not found on PATH\. .*install-system-deps\.sh.*apt-get install/);
});

t.test('a binary that prints no version is refused', async (t) => {
  // true(1) is on every PATH and prints nothing.
  await t.rejects(findQemuBinary('true'), { code: 'ERR_QEMU_VERSION' });
});

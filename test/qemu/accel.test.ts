/**
 * Accelerator choice: KVM only when a probe boots a real kernel under it.
 * The probe mechanism is checked under TCG (where it must succeed), and the
 * KVM probe on this machine must answer within its timeout either way.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ensureX86HostImage } from '../../images/x86-host-image.js';
import { chooseAccel, probeKvm, whichSync, type KvmProbeResult } from '../../qemu/accel.js';
import { X86_QEMU_BINARY } from '../../qemu/machines.js';
import { qemuMissingMessage } from '../../qemu/qemu-binary.js';
import { accelPreferenceFromEnv } from '../../qemu/x86-host.js';
import { FAKE_PROBE, shortTempDir } from './helpers/util.js';

const yes: KvmProbeResult = { usable: true, reason: 'ok', cached: false };
const no: KvmProbeResult = { usable: false, reason: 'hangs', cached: false };

t.test('preference resolution', async (t) => {
  let probed = 0;
  const probe = (r: KvmProbeResult) => async () => {
    probed++;
    return r;
  };
  t.match(await chooseAccel('tcg', probe(yes)), { accel: 'tcg' });
  t.match(await chooseAccel('kvm', probe(no)), { accel: 'kvm' });
  t.equal(probed, 0, 'an explicit choice does not probe');
  t.match(await chooseAccel('auto', probe(yes)), { accel: 'kvm' });
  t.match(await chooseAccel('auto', probe(no)), { accel: 'tcg', reason: /KVM not usable: hangs/ });
  t.equal(accelPreferenceFromEnv({ BMCEMU_ACCEL: 'TCG' }), 'tcg');
  t.equal(accelPreferenceFromEnv({}), undefined);
  t.throws(() => accelPreferenceFromEnv({ BMCEMU_ACCEL: 'hvf' }), { name: 'ConfigError', code: 'ERR_BAD_CONFIG', message: /BMCEMU_ACCEL/ });
});

t.test('no KVM device: not usable, without starting QEMU', async (t) => {
  const r = await probeKvm({ qemuBinary: '/nonexistent/qemu', kernel: '/nonexistent', kvmDevice: '/nonexistent/kvm' });
  t.match(r, { usable: false, reason: /not accessible \(ENOENT\)/ });
});

t.test('the probe against a fake QEMU: a panic, a hang, a failure, a missing binary', async (t) => {
  // The executable bit may not survive every checkout; the fake must run directly.
  fs.chmodSync(FAKE_PROBE, 0o755);
  const probe = (kernel: string, timeoutMs = 10_000, qemuBinary = FAKE_PROBE) => probeKvm({ qemuBinary, kernel, accel: 'tcg', timeoutMs });
  t.match(await probe('/k/panic'), { usable: true, reason: /first panic under TCG/, cached: false });
  const t0 = Date.now();
  t.match(await probe('/k/hang', 300), { usable: false, reason: 'a kernel made no progress under TCG within 300 ms' });
  t.ok(Date.now() - t0 < 5000, 'a hung probe is given up after its timeout');
  t.match(await probe('/k/broken'), { usable: false, reason: /^QEMU exited \(code 1\) before the kernel ran: .*fake failure/ });
  t.match(await probe('/k/panic', 10_000, '/nonexistent/qemu'), { usable: false, reason: /cannot start|QEMU exited/ });
});

t.test('the probe boots a real kernel (checked under TCG); the KVM answer is bounded and cached', async (t) => {
  if (!whichSync(X86_QEMU_BINARY)) {
    t.fail(qemuMissingMessage(X86_QEMU_BINARY));
    return;
  }
  const img = await ensureX86HostImage();
  const tcg = await probeKvm({ qemuBinary: X86_QEMU_BINARY, kernel: img.kernel, accel: 'tcg', timeoutMs: 60_000 });
  t.match(tcg, { usable: true, reason: /first panic under TCG/ }, 'the mechanism works where the accelerator works');

  const dir = shortTempDir(t);
  const cacheFile = path.join(dir, 'kvm-probe.json');
  const t0 = Date.now();
  const kvm = await probeKvm({ qemuBinary: X86_QEMU_BINARY, kernel: img.kernel, cacheFile, timeoutMs: 4000 });
  const took = Date.now() - t0;
  t.comment(`KVM on this machine: ${kvm.usable ? 'usable' : 'not usable'} (${kvm.reason}) in ${took} ms`);
  t.ok(took < 4000 + 3000, 'answered within the timeout');
  if (fs.existsSync('/dev/kvm')) {
    t.ok(fs.existsSync(cacheFile), 'answer remembered');
    const again = await probeKvm({ qemuBinary: X86_QEMU_BINARY, kernel: img.kernel, cacheFile, timeoutMs: 4000 });
    t.match(again, { usable: kvm.usable, cached: true }, 'second probe comes from the cache');
  }
});

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
import { shortTempDir } from './helpers/util.js';

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
  t.throws(() => accelPreferenceFromEnv({ BMCEMU_ACCEL: 'hvf' }), RangeError);
});

t.test('no KVM device: not usable, without starting QEMU', async (t) => {
  const r = await probeKvm({ qemuBinary: '/nonexistent/qemu', kernel: '/nonexistent', kvmDevice: '/nonexistent/kvm' });
  t.match(r, { usable: false, reason: /not accessible \(ENOENT\)/ });
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

/**
 * The real x86 host image, built from Debian packages into the user's cache
 * (the first run downloads ~70 MB and builds in seconds; later runs find it
 * in the cache), then taken apart and checked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { readNewc, S_IFCHR, S_IFMT } from '../../images/cpio.js';
import { Apt } from '../../images/debian-packages.js';
import { INIT_SCRIPT, POWER_BUTTON_SCRIPT, SHUTDOWN_SCRIPT } from '../../images/guest-init.js';
import { modinfoDepends, readModinfo } from '../../images/kmod.js';
import { ensureX86HostImage, X86_GUEST_MODULES } from '../../images/x86-host-image.js';

t.test('build (or find) the x86 host image and check what is inside', async (t) => {
  const progress: string[] = [];
  const img = await ensureX86HostImage({ onProgress: (l) => progress.push(l) });
  t.comment(progress.join('\n'));
  t.match(img.kernelVersion, /^\d+\.\d+\.\d+-\d+-amd64$/);
  t.ok(fs.statSync(img.kernel).size > 1e6, 'kernel present');
  t.same(
    img.packages.map((p) => p.name.replace(/\d+\.\d+\.\d+-\d+/, 'V')),
    ['linux-image-V-amd64', 'busybox-static'],
  );
  t.notOk(img.dir.startsWith(path.resolve('.')), 'the cache is not in the work tree');

  const files = new Map(readNewc(gunzipSync(fs.readFileSync(img.initrd))).map((r) => [r.name, r]));
  t.equal(files.get('init')?.data.toString(), INIT_SCRIPT, '/init is the generated script');
  t.equal(files.get('init')!.mode & 0o777, 0o755);
  t.equal(files.get('etc/bmcemu/shutdown')?.data.toString(), SHUTDOWN_SCRIPT);
  t.equal(files.get('etc/acpi/PWRF/00000080')?.data.toString(), POWER_BUTTON_SCRIPT);
  t.match(files.get('dev/console'), { rdevMajor: 5, rdevMinor: 1 });
  t.equal(files.get('dev/console')!.mode & S_IFMT, S_IFCHR);
  const bb = files.get('bin/busybox')!.data;
  t.equal(bb.readUInt32BE(0), 0x7f454c46, 'busybox is an ELF binary');

  const listed = files
    .get('etc/bmcemu/modules')!
    .data.toString()
    .trim()
    .split('\n')
    .map((l) => l.split(' ') as [string, string]);
  const names = listed.map(([n]) => n);
  for (const m of X86_GUEST_MODULES.filter((x) => x.required)) t.ok(names.includes(m.name), `${m.name} is loaded`);
  for (const n of ['virtio', 'virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', '9pnet']) {
    t.ok(names.includes(n), `dependency ${n} is loaded`);
  }
  for (const [i, [name]] of listed.entries()) {
    const ko = files.get(`lib/modules/${img.kernelVersion}/${name}.ko`);
    t.ok(ko, `${name}.ko is in the image`);
    if (!ko) continue;
    for (const d of modinfoDepends(readModinfo(ko.data, name))) {
      t.ok(names.indexOf(d) >= 0 && names.indexOf(d) < i, `${d} loads before ${name}`);
    }
  }
  t.same(img.modules.map((m) => m.name), names, 'manifest and image agree');

  const t0 = Date.now();
  const again = await ensureX86HostImage();
  t.equal(again.key, img.key, 'same inputs, same image');
  t.equal(again.built, false, 'second call comes from the cache');
  t.ok(Date.now() - t0 < 3000, `cached lookup is quick (${Date.now() - t0} ms)`);
});

t.test('a package that cannot be found or fetched is named, with the fix', async (t) => {
  const apt = new Apt({ allowUpdate: false });
  const e1 = await apt.candidate('bmcemu-no-such-package').catch((e: unknown) => e);
  t.match(e1, { code: 'ERR_IMAGE_PACKAGE_UNKNOWN', message: /bmcemu-no-such-package[\s\S]*apt-get update/ });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'apt-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const e2 = await apt
    .download({ name: 'busybox-static', version: '0.0-bmcemu-bogus', architecture: 'amd64', size: 1 }, tmp, tmp)
    .catch((e: unknown) => e);
  t.match(e2, { code: 'ERR_IMAGE_DOWNLOAD', message: /busybox-static 0\.0-bmcemu-bogus[\s\S]*apt-get update/ });
  t.same(fs.readdirSync(tmp), [], 'nothing half-downloaded is left');
});

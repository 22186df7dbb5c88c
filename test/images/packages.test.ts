import t from 'tap';
import { debFileName, kernelImageDependency, parseControlRecords } from '../../images/debian-packages.js';

const SHOW = `Package: linux-image-amd64
Source: linux-signed-amd64 (6.1.192+2)
Version: 6.1.192-2
Architecture: amd64
Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)
Description: Linux for 64-bit PCs (meta-package)
 This package depends on the latest Linux kernel
 and modules for use on PCs.
Size: 1496

Package: busybox-static
Version: 1:1.35.0-4+deb12u1+b1
Architecture: amd64
Size: 928188
`;

t.test('apt-cache show records', async (t) => {
  const recs = parseControlRecords(SHOW);
  t.equal(recs.length, 2);
  t.equal(recs[0]!.get('Version'), '6.1.192-2');
  t.equal(recs[0]!.get('Description'), 'Linux for 64-bit PCs (meta-package)\nThis package depends on the latest Linux kernel\nand modules for use on PCs.');
  t.equal(recs[1]!.get('Size'), '928188');
});

t.test('the versioned kernel image behind the metapackage', async (t) => {
  t.same(kernelImageDependency('linux-image-6.1.0-56-amd64 (= 6.1.192-2)'), { name: 'linux-image-6.1.0-56-amd64', version: '6.1.192-2' });
  t.same(kernelImageDependency('initramfs-tools | linux-initramfs-tool, linux-image-6.1.0-9-amd64'), { name: 'linux-image-6.1.0-9-amd64' });
  t.same(kernelImageDependency('linux-image-6.1.0-56-amd64-unsigned (= 1), linux-image-6.1.0-56-amd64 (= 2)'), { name: 'linux-image-6.1.0-56-amd64', version: '2' });
  t.equal(kernelImageDependency('linux-image-6.1.0-56-cloud-amd64'), undefined, 'another flavour is not taken');
  t.equal(kernelImageDependency(''), undefined);
});

t.test('cache file names escape the epoch colon', async (t) => {
  t.equal(debFileName({ name: 'busybox-static', version: '1:1.35.0-4', architecture: 'amd64' }), 'busybox-static_1%3a1.35.0-4_amd64.deb');
});

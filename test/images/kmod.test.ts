import t from 'tap';
import { isImageError } from '../../images/errors.js';
import { loadOrder, modinfoDepends, moduleName, readModinfo } from '../../images/kmod.js';

/** A minimal ELF64 LE file with a .shstrtab and (optionally) a .modinfo section. */
function makeElf(modinfo: string[] | undefined): Buffer {
  const shstr = Buffer.from('\0.shstrtab\0.modinfo\0', 'latin1');
  const info = Buffer.from(modinfo ? modinfo.map((s) => `${s}\0`).join('') : '', 'latin1');
  const dataOff = 64;
  const shstrOff = dataOff;
  const infoOff = shstrOff + shstr.length;
  const shoff = (infoOff + info.length + 7) & ~7;
  const shnum = modinfo ? 3 : 2;
  const elf = Buffer.alloc(shoff + shnum * 64);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2; // 64-bit
  elf[5] = 1; // little-endian
  elf.writeBigUInt64LE(BigInt(shoff), 0x28);
  elf.writeUInt16LE(64, 0x3a);
  elf.writeUInt16LE(shnum, 0x3c);
  elf.writeUInt16LE(1, 0x3e);
  shstr.copy(elf, shstrOff);
  info.copy(elf, infoOff);
  const sh = (i: number, name: number, off: number, size: number): void => {
    const b = shoff + i * 64;
    elf.writeUInt32LE(name, b);
    elf.writeBigUInt64LE(BigInt(off), b + 0x18);
    elf.writeBigUInt64LE(BigInt(size), b + 0x20);
  };
  sh(1, 1, shstrOff, shstr.length);
  if (modinfo) sh(2, 11, infoOff, info.length);
  return elf;
}

t.test('reads .modinfo key=value strings from an ELF module', async (t) => {
  const info = readModinfo(makeElf(['license=GPL', 'alias=virtio:d00000003v*', 'alias=pci:v1AF4*', 'depends=virtio,virtio_ring', 'name=virtio_console']));
  t.same(info.get('alias'), ['virtio:d00000003v*', 'pci:v1AF4*']);
  t.same(modinfoDepends(info), ['virtio', 'virtio_ring']);
  t.same(modinfoDepends(readModinfo(makeElf(['depends=']))), []);
  t.same(modinfoDepends(readModinfo(makeElf(['depends=snd-pcm']))), ['snd_pcm'], "'-' becomes '_'");
});

t.test('non-modules are refused with a coded error', async (t) => {
  for (const [buf, why] of [
    [Buffer.from('not an elf at all, definitely not'.repeat(3)), /not an ELF/],
    [makeElf(undefined), /no \.modinfo/],
    [Object.assign(makeElf(['a=b']), {}).subarray(0, 80), /section header/],
  ] as const) {
    const err = (() => {
      try {
        readModinfo(buf, 'x.ko');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    t.ok(isImageError(err, 'ERR_IMAGE_MODULES'));
    t.match((err as Error).message, why);
  }
});

t.test('module names', async (t) => {
  t.equal(moduleName('/lib/modules/x/kernel/drivers/virtio/virtio_pci-legacy.ko'), 'virtio_pci_legacy');
  t.equal(moduleName('9pnet_virtio.ko.xz'), '9pnet_virtio');
});

t.test('load order: dependencies first, each once, built-ins dropped', async (t) => {
  const deps: Record<string, string[]> = {
    virtio_pci: ['virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio'],
    virtio_ring: [],
    virtio_pci_modern_dev: [],
    virtio_pci_legacy_dev: [],
    virtio: [],
    '9p': ['9pnet', 'fscache', 'netfs'],
    '9pnet': [],
    fscache: ['netfs'],
    netfs: [],
    '9pnet_virtio': ['virtio', '9pnet', 'virtio_ring'],
    crc32c: [],
  };
  const order = loadOrder(['virtio_pci', '9pnet_virtio', '9p'], (n) => deps[n], (n) => n === 'crc32c');
  t.same(order, ['virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio', 'virtio_pci', '9pnet', '9pnet_virtio', 'netfs', 'fscache', '9p']);
  for (const [i, m] of order.entries()) for (const d of deps[m]!) t.ok(order.indexOf(d) < i, `${d} before ${m}`);
  t.same(loadOrder(['crc32c'], (n) => deps[n], (n) => n === 'crc32c'), [], 'a built-in root loads nothing');
});

t.test('unknown modules and cycles are errors naming the chain', async (t) => {
  const deps: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['a'], d: ['zz'] };
  t.throws(() => loadOrder(['a'], (n) => deps[n]), { code: 'ERR_IMAGE_MODULES', message: /cycle: a -> b -> c -> a/ });
  t.throws(() => loadOrder(['d'], (n) => deps[n]), { message: /zz \(needed by d\) is neither/ });
});

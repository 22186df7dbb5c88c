/**
 * The "newc" cpio format (SVR4 without CRC, magic 070701), the only one the
 * kernel's initramfs unpacker reads, and the smallest possible writer for it.
 *
 * Why write cpio here rather than run Debian's cpio on a staging tree:
 * - the archive holds device nodes (/dev/console, which the kernel needs to
 *   give /init a stdout before anything is mounted); a staging tree would
 *   need mknod, i.e. root, while an archive entry is just a header;
 * - output is byte-for-byte deterministic (fixed inode numbers, owner 0:0,
 *   mtime 0, sorted entries), so the same inputs give the same image;
 * - one fewer system package to install, and nothing touches the disk
 *   between the unpacked .debs and the final gzip.
 *
 * Format (all numbers are 8 ASCII hex digits): magic "070701", ino, mode,
 * uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
 * rdevminor, namesize (including the NUL), check (0). The name follows the
 * 110-byte header, NUL-terminated, padded to a multiple of 4 counted from the
 * header's start; then the data, padded to 4. "TRAILER!!!" ends the archive.
 */

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char'; path: string; major: number; minor: number; mode?: number };

const HEADER_LEN = 110;
const TRAILER = 'TRAILER!!!';

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function normalise(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.length === 0 || parts.includes('..')) throw new RangeError(`bad cpio path "${p}"`);
  return parts.join('/');
}

function header(fields: {
  ino: number;
  mode: number;
  nlink: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  nameSize: number;
}): string {
  return (
    '070701' +
    hex8(fields.ino) +
    hex8(fields.mode) +
    hex8(0) + // uid
    hex8(0) + // gid
    hex8(fields.nlink) +
    hex8(0) + // mtime: fixed, for reproducible archives
    hex8(fields.size) +
    hex8(0) + // devmajor
    hex8(0) + // devminor
    hex8(fields.rdevMajor) +
    hex8(fields.rdevMinor) +
    hex8(fields.nameSize) +
    hex8(0) // check
  );
}

/**
 * Serialise entries into one newc archive. Parent directories are added
 * automatically (the kernel does not create them), entries are written in
 * path order (a parent always precedes its children), and duplicate paths
 * are refused.
 */
export function writeNewc(entries: readonly CpioEntry[]): Buffer {
  const byPath = new Map<string, CpioEntry>();
  for (const e of entries) {
    const p = normalise(e.path);
    if (byPath.has(p)) throw new RangeError(`duplicate cpio path "${p}"`);
    byPath.set(p, { ...e, path: p });
  }
  for (const p of [...byPath.keys()]) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = byPath.get(parent);
      if (!existing) byPath.set(parent, { type: 'dir', path: parent });
      else if (existing.type !== 'dir') throw new RangeError(`cpio path "${parent}" is both a ${existing.type} and a directory`);
    }
  }
  // Sorting by path component keeps every parent before its children.
  const sorted = [...byPath.values()].sort((a, b) => {
    const pa = a.path.split('/');
    const pb = b.path.split('/');
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
    }
    return pa.length - pb.length;
  });

  const chunks: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer): void => {
    chunks.push(b);
    offset += b.length;
  };
  const record = (name: string, mode: number, nlink: number, data: Uint8Array, rdev: [number, number], ino: number): void => {
    const nameBytes = Buffer.from(name + '\0', 'utf8');
    push(
      Buffer.from(
        header({ ino, mode, nlink, size: data.length, rdevMajor: rdev[0], rdevMinor: rdev[1], nameSize: nameBytes.length }),
        'ascii',
      ),
    );
    push(nameBytes);
    push(Buffer.alloc(pad4(HEADER_LEN + nameBytes.length)));
    push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    push(Buffer.alloc(pad4(offset)));
  };

  let ino = 1;
  for (const e of sorted) {
    switch (e.type) {
      case 'dir':
        record(e.path, S_IFDIR | (e.mode ?? 0o755), 2, new Uint8Array(0), [0, 0], ino++);
        break;
      case 'file':
        record(e.path, S_IFREG | (e.mode ?? 0o644), 1, e.data, [0, 0], ino++);
        break;
      case 'symlink':
        record(e.path, S_IFLNK | 0o777, 1, Buffer.from(e.target, 'utf8'), [0, 0], ino++);
        break;
      case 'char':
        record(e.path, S_IFCHR | (e.mode ?? 0o600), 1, new Uint8Array(0), [e.major, e.minor], ino++);
        break;
    }
  }
  record(TRAILER, 0, 1, new Uint8Array(0), [0, 0], 0);
  return Buffer.concat(chunks);
}

export interface CpioRecord {
  name: string;
  mode: number;
  data: Buffer;
  rdevMajor: number;
  rdevMinor: number;
}

/** Parse a newc archive (for tests and for inspecting a built image). */
export function readNewc(buf: Buffer): CpioRecord[] {
  const out: CpioRecord[] = [];
  let off = 0;
  for (;;) {
    if (off + HEADER_LEN > buf.length) throw new RangeError(`truncated cpio header at ${off}`);
    const h = buf.toString('ascii', off, off + HEADER_LEN);
    if (!h.startsWith('070701')) throw new RangeError(`bad cpio magic at ${off}`);
    const field = (i: number): number => parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const rdevMajor = field(9);
    const rdevMinor = field(10);
    const nameSize = field(11);
    const nameStart = off + HEADER_LEN;
    const name = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = nameStart + nameSize + pad4(HEADER_LEN + nameSize);
    if (dataStart + size > buf.length) throw new RangeError(`truncated cpio data for "${name}"`);
    if (name === TRAILER) return out;
    out.push({ name, mode, data: buf.subarray(dataStart, dataStart + size), rdevMajor, rdevMinor });
    off = dataStart + size + pad4(size);
  }
}

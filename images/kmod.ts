/**
 * Kernel module metadata and load order, without depmod or modinfo.
 *
 * Debian's kernel package does not ship modules.dep (depmod generates it in
 * the package's postinst), and kmod may not be installed on the build
 * machine. depmod itself takes a module's dependencies from the `depends=`
 * string in the module's `.modinfo` ELF section (written by modpost), so we
 * read that section directly: parse the ELF64 section headers, find
 * `.modinfo`, split its NUL-separated `key=value` strings.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ImageError } from './errors.js';

/** key → values (a key such as `alias` may repeat). */
export type Modinfo = Map<string, string[]>;

/** Read the `.modinfo` section of an ELF64 little-endian kernel module (x86_64). */
export function readModinfo(elf: Buffer, what = 'module'): Modinfo {
  const bad = (why: string): ImageError => new ImageError('ERR_IMAGE_MODULES', `${what}: ${why}`);
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw bad('not an ELF file');
  if (elf[4] !== 2) throw bad('not a 64-bit ELF file');
  if (elf[5] !== 1) throw bad('not a little-endian ELF file');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  if (shentsize < 64 || shoff + shnum * shentsize > elf.length || shstrndx >= shnum) throw bad('bad section header table');
  const section = (i: number): { name: number; offset: number; size: number } => {
    const b = shoff + i * shentsize;
    return {
      name: elf.readUInt32LE(b),
      offset: Number(elf.readBigUInt64LE(b + 0x18)),
      size: Number(elf.readBigUInt64LE(b + 0x20)),
    };
  };
  const strtab = section(shstrndx);
  if (strtab.offset + strtab.size > elf.length) throw bad('bad section name table');
  const nameOf = (off: number): string => {
    const start = strtab.offset + off;
    const end = elf.indexOf(0, start);
    return elf.toString('latin1', start, end < 0 || end > strtab.offset + strtab.size ? strtab.offset + strtab.size : end);
  };
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (nameOf(s.name) !== '.modinfo') continue;
    if (s.offset + s.size > elf.length) throw bad('.modinfo runs past the end of the file');
    const info: Modinfo = new Map();
    for (const entry of elf.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq <= 0) continue;
      const key = entry.slice(0, eq);
      const list = info.get(key) ?? [];
      list.push(entry.slice(eq + 1));
      info.set(key, list);
    }
    return info;
  }
  throw bad('no .modinfo section');
}

/** The module name the kernel uses: file name without .ko, '-' → '_'. */
export function moduleName(file: string): string {
  return path.basename(file).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** Dependencies from `depends=` (comma-separated, possibly empty). */
export function modinfoDepends(info: Modinfo): string[] {
  const v = info.get('depends')?.[0] ?? '';
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => s.replace(/-/g, '_'));
}

/**
 * Load order for `roots`: every module after all of its dependencies
 * (depth-first post-order, so the result is stable for a given input).
 * `depsOf` returns a module's dependencies, or undefined when the module is
 * unknown (neither a file nor built in). Built-in modules are dropped from
 * the result. Cycles and unknown modules are errors.
 */
export function loadOrder(
  roots: readonly string[],
  depsOf: (name: string) => readonly string[] | undefined,
  isBuiltin: (name: string) => boolean = () => false,
): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (name: string, neededBy: string | undefined): void => {
    if (done.has(name)) return;
    if (isBuiltin(name)) {
      done.add(name);
      return;
    }
    if (onPath.includes(name)) {
      throw new ImageError('ERR_IMAGE_MODULES', `module dependency cycle: ${[...onPath, name].join(' -> ')}`);
    }
    const deps = depsOf(name);
    if (deps === undefined) {
      throw new ImageError(
        'ERR_IMAGE_MODULES',
        `kernel module ${name}${neededBy ? ` (needed by ${neededBy})` : ''} is neither in the kernel package nor built in`,
      );
    }
    onPath.push(name);
    for (const d of deps) visit(d, name);
    onPath.pop();
    done.add(name);
    order.push(name);
  };
  for (const r of roots) visit(r.replace(/-/g, '_'), undefined);
  return order;
}

/** Every `*.ko` under dir (recursive): module name → absolute path. */
export function indexModuleFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile() && /\.ko$/.test(ent.name)) out.set(moduleName(ent.name), p);
    }
  };
  walk(dir);
  return out;
}

/** Names listed in modules.builtin (paths such as kernel/fs/ext4/ext4.ko). */
export function readBuiltinModules(file: string): Set<string> {
  const out = new Set<string>();
  if (!fs.existsSync(file)) return out;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim()) out.add(moduleName(line.trim()));
  }
  return out;
}

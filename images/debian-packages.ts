/**
 * Debian packages as build inputs: resolve a name to the exact version apt
 * would pick, download the .deb into the cache (apt-get download: no root, no
 * installation, apt verifies the archive's hashes), and unpack it
 * (dpkg-deb -x).
 *
 * Everything goes through the ordinary apt/dpkg clients so the machine's own
 * sources, proxy and pinning apply.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ImageError } from './errors.js';

export interface DebPackage {
  name: string;
  version: string;
  architecture: string;
  /** Download size in bytes, when apt knows it. */
  size?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion, capturing output. ENOENT becomes ERR_IMAGE_TOOL_MISSING. */
export function run(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      // C locale: the messages we parse are apt's English ones.
      env: { ...process.env, LC_ALL: 'C', LANG: 'C', DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(
          new ImageError(
            'ERR_IMAGE_TOOL_MISSING',
            `${cmd} not found: building guest images needs Debian's apt and dpkg (a Debian or Debian-based machine); ` +
              'run scripts/install-system-deps.sh',
          ),
        );
      } else reject(e);
    });
    child.on('close', (code) =>
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
  });
}

/** Split `apt-cache show` output into records of field → value (continuation lines joined). */
export function parseControlRecords(text: string): Array<Map<string, string>> {
  const records: Array<Map<string, string>> = [];
  let cur = new Map<string, string>();
  let lastKey: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (cur.size) records.push(cur);
      cur = new Map();
      lastKey = undefined;
      continue;
    }
    if (/^\s/.test(line) && lastKey) {
      cur.set(lastKey, `${cur.get(lastKey)}\n${line.trim()}`);
      continue;
    }
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (m) {
      cur.set(m[1]!, m[2]!);
      lastKey = m[1]!;
    }
  }
  if (cur.size) records.push(cur);
  return records;
}

/**
 * From a Depends field, the versioned kernel image package a metapackage
 * such as linux-image-amd64 points at (e.g. linux-image-6.1.0-56-amd64).
 */
export function kernelImageDependency(depends: string, flavour = 'amd64'): { name: string; version?: string } | undefined {
  // linux-image-<upstream>-<abi>-<flavour>, e.g. linux-image-6.1.0-56-amd64;
  // not -cloud-amd64, -rt-amd64 or -unsigned.
  const re = new RegExp(`^linux-image-\\d+\\.\\d+(?:\\.\\d+)?(?:-\\d+)?-${flavour}$`);
  for (const alt of depends.split(/[,|]/)) {
    const m = /^\s*([a-z0-9][a-z0-9.+-]*)(?::[a-z0-9]+)?\s*(?:\(\s*=\s*([^)\s]+)\s*\))?/.exec(alt);
    if (m && re.test(m[1]!)) return m[2] ? { name: m[1]!, version: m[2] } : { name: m[1]! };
  }
  return undefined;
}

export interface AptOptions {
  /** Progress lines for a person (CLI) or a log. */
  onProgress?: (line: string) => void;
  /**
   * Allow `apt-get update` when apt does not know a package or its lists
   * point at a file the mirror no longer has. Only possible as root;
   * default true.
   */
  allowUpdate?: boolean;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

const FIX_HINT =
  'Fix: as root run `apt-get update` (scripts/install-system-deps.sh does it when needed), ' +
  'and check that this machine reaches its Debian mirror (see /etc/apt/sources.list*)';

/** Resolves packages, downloads and unpacks them, updating apt's lists at most once. */
export class Apt {
  #updated = false;
  readonly #opts: AptOptions;

  constructor(opts: AptOptions = {}) {
    this.#opts = opts;
  }

  #progress(line: string): void {
    this.#opts.onProgress?.(line);
  }

  /** Refresh apt's lists once per Apt, when allowed and possible. Returns whether it ran. */
  async #maybeUpdate(reason: string): Promise<boolean> {
    if (this.#updated || this.#opts.allowUpdate === false || !isRoot()) return false;
    this.#updated = true;
    this.#progress(`${reason}; running apt-get update`);
    const r = await run('apt-get', ['update', '-q']);
    if (r.code !== 0) {
      throw new ImageError('ERR_IMAGE_DOWNLOAD', `apt-get update failed:\n${lastLines(r.stderr || r.stdout)}\n${FIX_HINT}`);
    }
    return true;
  }

  /** The candidates (what apt-get install would pick) of several packages, in one apt-cache call. */
  async candidates(names: readonly string[]): Promise<Array<DebPackage & { depends: string }>> {
    for (;;) {
      const r = await run('apt-cache', ['show', '--no-all-versions', ...names]);
      const recs = r.code === 0 ? parseControlRecords(r.stdout) : [];
      const found = names.map((n) => recs.find((rec) => rec.get('Package') === n && rec.get('Version')));
      const missing = names.filter((_, i) => !found[i]);
      if (missing.length === 0) {
        return found.map((rec) => {
          const size = Number(rec!.get('Size'));
          return {
            name: rec!.get('Package')!,
            version: rec!.get('Version')!,
            architecture: rec!.get('Architecture') ?? 'amd64',
            ...(Number.isFinite(size) && size > 0 ? { size } : {}),
            depends: rec!.get('Depends') ?? '',
          };
        });
      }
      if (await this.#maybeUpdate(`apt does not know ${missing.join(', ')}`)) continue;
      throw new ImageError(
        'ERR_IMAGE_PACKAGE_UNKNOWN',
        `apt cannot find the Debian package${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` +
          `${r.stderr.trim() ? ` (${lastLines(r.stderr, 1)})` : ''}. ${FIX_HINT}`,
      );
    }
  }

  async candidate(name: string): Promise<DebPackage & { depends: string }> {
    return (await this.candidates([name]))[0]!;
  }

  /**
   * The exact versioned kernel image package behind a metapackage
   * (linux-image-amd64 → linux-image-6.1.0-NN-amd64 at the version the
   * metapackage pins), plus any other packages, resolved in one apt call.
   */
  async resolveWithKernel(meta: string, others: readonly string[]): Promise<DebPackage[]> {
    const [m, ...rest] = await this.candidates([meta, ...others]);
    const dep = kernelImageDependency(m!.depends);
    if (!dep) {
      throw new ImageError(
        'ERR_IMAGE_PACKAGE_UNKNOWN',
        `${meta} ${m!.version} does not depend on a linux-image-<version>-amd64 package (Depends: ${m!.depends || 'none'})`,
      );
    }
    // The metapackage pins the exact version with "(= V)"; without a pin, ask apt.
    const kernel = dep.version
      ? { name: dep.name, version: dep.version, architecture: m!.architecture }
      : await this.candidate(dep.name);
    return [kernel, ...rest].map(plain);
  }

  /**
   * The .deb of pkg in debsDir, downloading it first if it is not there.
   * Downloads go to a private temp dir and are renamed into place, so a
   * half-downloaded file is never taken for a good one.
   */
  async download(pkg: DebPackage, debsDir: string, tmpDir: string): Promise<string> {
    const file = path.join(debsDir, debFileName(pkg));
    if (fs.existsSync(file)) return file;
    if (pkg.size === undefined) {
      const c = await this.candidate(pkg.name).catch(() => undefined);
      if (c?.version === pkg.version && c.size !== undefined) pkg = { ...pkg, size: c.size };
    }
    const sizeText = pkg.size ? ` (${(pkg.size / 1e6).toFixed(1)} MB)` : '';
    for (;;) {
      this.#progress(`downloading ${pkg.name} ${pkg.version}${sizeText}`);
      const t0 = Date.now();
      const dir = fs.mkdtempSync(path.join(tmpDir, 'dl-'));
      try {
        const r = await run('apt-get', ['download', '-q', `${pkg.name}=${pkg.version}`], { cwd: dir });
        const debs = fs.readdirSync(dir).filter((f) => f.endsWith('.deb'));
        if (r.code === 0 && debs.length === 1) {
          fs.renameSync(path.join(dir, debs[0]!), file);
          this.#progress(`downloaded ${pkg.name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
          return file;
        }
        const why = lastLines(r.stderr || r.stdout) || `apt-get exited ${r.code} without a .deb`;
        if (/Unable to locate|Can't find a source|404\s+Not Found|Failed to fetch|Hash Sum mismatch/i.test(why)) {
          if (await this.#maybeUpdate(`apt could not fetch ${pkg.name} ${pkg.version}`)) continue;
        }
        throw new ImageError('ERR_IMAGE_DOWNLOAD', `could not download the Debian package ${pkg.name} ${pkg.version}:\n${why}\n${FIX_HINT}`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

function plain(p: DebPackage): DebPackage {
  return { name: p.name, version: p.version, architecture: p.architecture, ...(p.size !== undefined ? { size: p.size } : {}) };
}

/**
 * A fingerprint of everything apt's choice of candidate depends on: its
 * package lists, its configuration (sources, pins) and dpkg's status file.
 * While it is unchanged, a resolution made earlier still holds, so the
 * cached-image path can skip apt-cache (which takes about half a second).
 */
export function aptStateFingerprint(): string {
  const h = createHash('sha256');
  const add = (p: string): void => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      h.update(`${p}:-\n`);
      return;
    }
    if (st.isDirectory()) {
      // Skip apt's lock and download-in-progress entries: they change without
      // changing any answer.
      for (const name of fs.readdirSync(p).sort()) if (name !== 'lock' && name !== 'partial') add(path.join(p, name));
    } else {
      h.update(`${p}:${st.size}:${st.mtimeMs}\n`);
    }
  };
  for (const p of ['/var/lib/apt/lists', '/etc/apt', '/var/lib/dpkg/status']) add(p);
  return h.digest('hex');
}

/** Our own cache name for a package file (apt's own names escape the epoch colon inconsistently). */
export function debFileName(pkg: DebPackage): string {
  return `${pkg.name}_${pkg.version.replace(/:/g, '%3a')}_${pkg.architecture}.deb`;
}

/** Unpack a .deb's files (not its maintainer scripts) into dest. */
export async function extractDeb(deb: string, dest: string): Promise<void> {
  fs.mkdirSync(dest, { recursive: true });
  const r = await run('dpkg-deb', ['-x', deb, dest]);
  if (r.code !== 0) {
    throw new ImageError(
      'ERR_IMAGE_EXTRACT',
      `dpkg-deb -x ${deb} failed:\n${lastLines(r.stderr)}\n` +
        'The cached file may be damaged: delete it and run again (it will be downloaded anew)',
    );
  }
}

function lastLines(text: string, n = 4): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l && !/^W: Download is performed unsandboxed/.test(l))
    .slice(-n)
    .join('\n');
}

/**
 * The layering check checks something. A dependency-cruiser config that
 * resolves nothing, or matches paths it never sees, passes every tree; so:
 *
 *  - a fixture tree with one deliberate violation of each rule must produce
 *    exactly those violations (and a failing exit status);
 *  - a fixture tree that uses every allowed direction must produce none, with
 *    every `.js` specifier resolved to its `.ts` source;
 *  - the real run (`npm run layering`'s folders) must cruise every .ts file
 *    of those folders and resolve every relative import they contain.
 *
 * Each case spawns depcruise once (about a second each).
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Dependency {
  module: string;
  resolved: string;
  couldNotResolve: boolean;
  dependencyTypes: string[];
}
interface CruiseResult {
  modules: { source: string; dependencies: Dependency[] }[];
  summary: {
    totalCruised: number;
    error: number;
    violations: { rule: { name: string }; from: string; to: string }[];
  };
}

/** `npm run layering` split into its options and its folders, read from package.json so the test and the check cannot drift apart. */
function layeringScript(): { options: string[]; dirs: string[] } {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words = pkg.scripts['layering']!.split(/\s+/);
  if (words[0] !== 'depcruise') throw new Error(`unexpected layering script: ${pkg.scripts['layering']}`);
  const options: string[] = [];
  const dirs: string[] = [];
  for (let i = 1; i < words.length; i++) {
    if (words[i]!.startsWith('-')) options.push(words[i]!, words[++i]!); // every option it uses takes a value
    else dirs.push(words[i]!);
  }
  return { options, dirs };
}

function depcruise(cwd: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DEPCRUISE, ...args], { cwd, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ exitCode: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** The cruise as JSON (whose exit status says nothing: only the err reporters count errors into it). */
async function cruise(cwd: string, dirs: string[]): Promise<CruiseResult> {
  const { stdout, stderr } = await depcruise(cwd, ['--config', CONFIG, '--output-type', 'json', ...dirs]);
  try {
    return JSON.parse(stdout) as CruiseResult;
  } catch {
    throw new Error(`depcruise gave no JSON: ${stderr}`);
  }
}

/** How a violation reads in a test: npm packages by name, whatever path they resolved to. */
const describe = (v: CruiseResult['summary']['violations'][number]): string =>
  `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+)\/.*$/, 'npm:$1')}`;

/** A throw-away tree: the files given, a package.json, and the repo's node_modules (so npm imports resolve). */
function fixture(t: Test, files: Record<string, string>, pkg: object): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmcemu-layering-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fixture', type: 'module', ...pkg }));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

const topDirs = (files: Record<string, string>): string[] => [...new Set(Object.keys(files).map((f) => f.split('/')[0]!))].sort();

t.test('a deliberate violation of each rule is reported, and only those', async (t) => {
  const files: Record<string, string> = {
    // upward imports, one per floor rule
    'lib/clock.ts': "import { run } from '../cli/main.js';\nexport const clock = run;\n",
    'cli/main.ts': 'export const run = 1;\n',
    'transport/link.ts': "import { kcs } from '../hw-models/kcs.js';\nimport t from 'tap';\nexport const link = [kcs, t];\n",
    'hw-models/kcs.ts': 'export const kcs = 1;\n',
    'hw-models/vuart.ts': "import type { RawKcs } from '../firmware/drivers/raw-kcs.js';\nexport type V = RawKcs;\n",
    'firmware/drivers/raw-kcs.ts': "import { kcs } from '../../hw-models/kcs.js';\nexport type RawKcs = typeof kcs;\n",
    'firmware/mctp/astlpc/binding.ts': "import type { RawKcs } from '../../drivers/raw-kcs.js';\nexport type B = RawKcs;\n",
    'firmware/mctp/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
    'firmware/mctp/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    'firmware/ipmi/router.ts': "import { fake } from '../../test/helpers/fake.js';\nexport const r = fake;\n",
    'firmware/pldm/pdr.ts': "import { r } from '../ipmi/router.js';\nexport const p = r;\n",
    'firmware/services/console/console.ts': "import { kcs } from '../../../hw-models/kcs.js';\nexport const c = kcs;\n",
    'firmware/bmc/bmc.ts': "import { x } from '../foo/x.js';\nimport { agent } from '../../host/agent.js';\nexport const bmc = [x, agent];\n",
    'firmware/foo/x.ts': "import { kcs } from '../../hw-models/kcs.js';\nexport const x = kcs;\n",
    'host/agent.ts': "import { c } from '../firmware/services/console/console.js';\nimport { kcs } from '../hw-models/kcs.js';\nexport const agent = [c, kcs];\n",
    'qemu/machine.ts': "import { nothing } from './missing.js';\nexport const m = nothing;\n",
    'images/image.ts': "import { SmartBuffer } from 'smart-buffer';\nexport const i = SmartBuffer;\n",
    'bench/run.ts': "import { run } from '../cli/main.js';\nexport const b = run;\n",
    'web/main.ts': "import { clock } from '../lib/clock.js';\nimport fs from 'node:fs';\nexport const w = [clock, fs];\n",
    // allowed: a cycle among tests, tests importing anything
    'test/helpers/fake.ts': "import { run } from '../../cli/main.js';\nimport { other } from './other.js';\nexport const fake = () => [run, other];\n",
    'test/helpers/other.ts': "import { fake } from './fake.js';\nexport const other = () => fake;\n",
  };
  const dir = fixture(t, files, { devDependencies: { tap: '*' } });
  const result = await cruise(dir, topDirs(files));
  const got = result.summary.violations.map(describe).sort();
  t.same(
    got,
    [
      'floor-bench: bench/run.ts -> cli/main.ts',
      'floor-bmc: firmware/bmc/bmc.ts -> firmware/foo/x.ts',
      'floor-bmc: firmware/bmc/bmc.ts -> host/agent.ts',
      'floor-host: host/agent.ts -> firmware/services/console/console.ts',
      'floor-host: host/agent.ts -> hw-models/kcs.ts',
      'floor-hw-models: hw-models/vuart.ts -> firmware/drivers/raw-kcs.ts',
      'floor-ipmi: firmware/ipmi/router.ts -> test/helpers/fake.ts',
      'floor-lib: lib/clock.ts -> cli/main.ts',
      'floor-mctp: firmware/mctp/astlpc/binding.ts -> firmware/drivers/raw-kcs.ts',
      'floor-pldm: firmware/pldm/pdr.ts -> firmware/ipmi/router.ts',
      'floor-services: firmware/services/console/console.ts -> hw-models/kcs.ts',
      'floor-transport: transport/link.ts -> hw-models/kcs.ts',
      'floor-web: web/main.ts -> lib/clock.ts',
      'no-cycles-in-production: firmware/mctp/a.ts -> firmware/mctp/b.ts',
      'no-unknown-firmware-room: firmware/bmc/bmc.ts -> firmware/foo/x.ts',
      'no-module-outside-a-floor: firmware/foo/x.ts -> hw-models/kcs.ts',
      'no-unlisted-packages: images/image.ts -> npm:smart-buffer',
      'not-to-unresolvable: qemu/machine.ts -> ./missing.js',
      'production-imports-no-dev-dependency: transport/link.ts -> npm:tap',
      'production-imports-no-test: firmware/ipmi/router.ts -> test/helpers/fake.ts',
      'web-imports-no-node-builtins: web/main.ts -> fs',
    ].sort(),
  );

  // What make runs: the npm script's own options on this tree must fail, and say why.
  const { options } = layeringScript();
  const run = await depcruise(dir, [...options.map((o) => (o === '.dependency-cruiser.cjs' ? CONFIG : o)), ...topDirs(files)]);
  t.equal(run.exitCode, got.length, 'the npm script exits with the number of errors, so make stops');
  t.match(run.stdout, /floor-lib: lib\/clock\.ts → cli\/main\.ts\n\s+lib\/ is the ground floor/, 'each violation is printed with the reason for its rule');
});

t.test('a tree that uses every allowed direction passes, every .js specifier resolved to its .ts', async (t) => {
  const files: Record<string, string> = {
    'lib/clock.ts': 'export const clock = 1;\n',
    'transport/link.ts': "import { clock } from '../lib/clock.js';\nexport const link = clock;\n",
    'hw-models/kcs.ts': "import { link } from '../transport/link.js';\nexport const kcs = link;\n",
    'hw-models/wire-servers/kcs-wire.ts': "import { kcs } from '../kcs.js';\nexport const wire = kcs;\n",
    'firmware/drivers/raw-kcs.ts': "import { kcs } from '../../hw-models/kcs.js';\nexport const raw = kcs;\n",
    'firmware/mctp/stack.ts': "import { clock } from '../../lib/clock.js';\nexport const stack = clock;\n",
    'firmware/mctp/astlpc/ports.ts': 'export interface Port { read(): number }\n',
    'firmware/mctp/astlpc/binding.ts': "import type { Port } from './ports.js';\nimport { stack } from '../stack.js';\nexport const bind = (p: Port) => p.read() + stack;\n",
    'firmware/ipmi/vm.ts': "import { link } from '../../transport/link.js';\nexport const vm = link;\n",
    'firmware/hiomap/hiomap.ts': "import { vm } from '../ipmi/vm.js';\nexport const h = vm;\n",
    'firmware/pldm/pldm.ts': "import { stack } from '../mctp/stack.js';\nexport const p = stack;\n",
    'firmware/services/bus-owner/owner.ts': "import { stack } from '../../mctp/stack.js';\nimport { vm } from '../../ipmi/vm.js';\nexport const owner = [stack, vm];\n",
    'firmware/services/api/server.ts': "import { owner } from '../bus-owner/owner.js';\nimport Fastify from 'fastify';\nexport const api = [owner, Fastify];\n",
    'firmware/bmc/bmc.ts':
      "import { raw } from '../drivers/raw-kcs.js';\nimport { kcs } from '../../hw-models/kcs.js';\nimport { owner } from '../services/bus-owner/owner.js';\nexport const bmc = [raw, kcs, owner];\n",
    'host/agent.ts': "import { bind } from '../firmware/mctp/astlpc/binding.js';\nimport { link } from '../transport/link.js';\nexport const agent = [bind, link];\n",
    'images/image.ts': "import { clock } from '../lib/clock.js';\nexport const image = clock;\n",
    'qemu/machine.ts': "import { image } from '../images/image.js';\nimport { kcs } from '../hw-models/kcs.js';\nexport const machine = [image, kcs];\n",
    'instance/instance.ts':
      "import { machine } from '../qemu/machine.js';\nimport { bmc } from '../firmware/bmc/bmc.js';\nimport { agent } from '../host/agent.js';\nexport const instance = [machine, bmc, agent];\n",
    'cli/main.ts': "import { instance } from '../instance/instance.js';\nexport const main = () => import('../instance/instance.js').then(() => instance);\n",
    'bench/run.ts': "import { instance } from '../instance/instance.js';\nimport { fake } from '../test/helpers/fake.js';\nexport const b = [instance, fake];\n",
    'test/helpers/fake.ts': "import { main } from '../../cli/main.js';\nimport t from 'tap';\nexport const fake = [main, t];\n",
    'web/main.ts': "import { view } from './view.js';\nimport { Terminal } from '@xterm/xterm';\nexport const w = [view, Terminal];\n",
    'web/view.ts': 'export const view = 1;\n',
  };
  const dir = fixture(t, files, {
    dependencies: { fastify: '*', '@xterm/xterm': '*' },
    devDependencies: { tap: '*' },
  });
  const result = await cruise(dir, topDirs(files));
  t.same(result.summary.violations, [], 'no violations');
  const local = result.modules.flatMap((m) => m.dependencies.filter((d) => d.dependencyTypes.includes('local')));
  const specifiers = Object.values(files).join('').match(/from '\.{1,2}\/|import\('\.{1,2}\//g)!;
  t.equal(local.length, specifiers.length - 1, 'every relative import is a dependency (the dynamic import repeats a static one)');
  t.ok(local.every((d) => !d.couldNotResolve && d.module.endsWith('.js') && d.resolved.endsWith('.ts') && files[d.resolved] !== undefined), 'each resolved to its .ts source');
});

t.test('the real run cruises every source file and resolves every relative import', async (t) => {
  const { dirs } = layeringScript();
  const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  const isSource = (f: string) => /\.(ts|mts|mjs)$/.test(f) && !f.endsWith('.d.ts');
  // Every top-level folder with TypeScript is cruised (native/ is its own npm package, reached as @bmcemu/mmap).
  const tsTops = new Set(tracked.filter((f) => f.endsWith('.ts') && f.includes('/')).map((f) => f.split('/')[0]!));
  tsTops.delete('native');
  t.same([...tsTops].filter((d) => !dirs.includes(d)), [], 'no folder with TypeScript escapes the check');

  const result = await cruise(ROOT, dirs);
  const cruised = new Set(result.modules.map((m) => m.source));
  const sources = tracked.filter((f) => dirs.includes(f.split('/')[0]!) && isSource(f) && fs.existsSync(path.join(ROOT, f)));
  t.ok(sources.length > 200, `a plausible tree (${sources.length} source files)`);
  t.same(sources.filter((f) => !cruised.has(f)), [], 'every source file is cruised');

  // Each relative specifier in the text of a file must be one of its resolved dependencies.
  const missing: string[] = [];
  let relative = 0;
  for (const m of result.modules) {
    // This file's fixture texts look like imports but are strings.
    if (!sources.includes(m.source) || m.source === 'test/layering.test.ts') continue;
    const text = fs.readFileSync(path.join(ROOT, m.source), 'utf8');
    const resolved = new Set(m.dependencies.filter((d) => !d.couldNotResolve).map((d) => d.resolved));
    // Static imports and re-exports start a line (their `from` may be lines further down); dynamic ones may be anywhere.
    const specifiers = text.matchAll(/(?:^(?:import|export)\b[^'"]*?\bfrom\s*|^import\s*|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/gm);
    for (const [, spec] of specifiers) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(m.source), spec!)).replace(/\.js$/, '.ts');
      if (!fs.existsSync(path.join(ROOT, target))) continue; // e.g. a path built at run time in a string
      relative++;
      if (!resolved.has(target)) missing.push(`${m.source}: ${spec}`);
    }
  }
  t.ok(relative > 500, `relative imports found (${relative})`);
  t.same(missing, [], 'every relative import resolved by the cruiser');
  t.same(
    result.modules.flatMap((m) => m.dependencies.filter((d) => d.couldNotResolve).map((d) => `${m.source}: ${d.module}`)),
    [],
    'nothing unresolved',
  );
});

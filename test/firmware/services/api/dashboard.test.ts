/**
 * The dashboard's files through inject(): what is served where, with which
 * types and headers, and what is not served (sources, dotfiles, anything
 * outside the asset roots). Uses a throwaway asset tree, so it does not
 * depend on the checkout being built; the browser test covers the real page.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  contentSecurityPolicy,
  defaultDashboardAssets,
  inlineScriptHashes,
  type DashboardAssets,
} from '../../../../firmware/services/api/dashboard.js';
import { projectDir } from '../../../../lib/project-dir.js';
import { fixture, serve } from './helpers.js';

const IMPORT_MAP = '{"imports": {"@xterm/xterm": "./vendor/xterm/xterm.mjs"}}';
const INDEX = `<!doctype html><html><head><script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="./js/main.js"></script></head><body>dash</body></html>`;

function assetTree(t: { teardown(fn: () => void): void }, opts: { built?: boolean } = {}): DashboardAssets {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bmcemu-dash-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pageDir = path.join(dir, 'page');
  const scriptDir = path.join(dir, 'js');
  fs.mkdirSync(path.join(pageDir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(pageDir, 'index.html'), INDEX);
  fs.writeFileSync(path.join(pageDir, 'dashboard.css'), 'body { color: red }');
  fs.writeFileSync(path.join(pageDir, 'src', 'main.ts'), 'export const sourcesAreNotServed = 1;');
  fs.writeFileSync(path.join(pageDir, '.secret.html'), 'dotfile');
  fs.writeFileSync(path.join(dir, 'outside.css'), 'outside the roots');
  if (opts.built !== false) {
    fs.mkdirSync(path.join(scriptDir, 'model'), { recursive: true });
    fs.writeFileSync(path.join(scriptDir, 'main.js'), 'import "./model/format.js";');
    fs.writeFileSync(path.join(scriptDir, 'model', 'format.js'), 'export {};');
  }
  return { ...defaultDashboardAssets(), pageDir, scriptDir };
}

t.test('the page, its scripts and xterm.js are served where the import map expects them', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { dashboard: assetTree(t) });

  const root = await s.app.inject({ url: '/' });
  t.equal(root.statusCode, 302);
  t.equal(root.headers.location, '/dashboard/', '/ leads to the dashboard');
  const bare = await s.app.inject({ url: '/dashboard' });
  t.ok([301, 302].includes(bare.statusCode), '/dashboard redirects');
  t.equal(bare.headers.location, '/dashboard/', 'to the slash the relative URLs need');

  const page = await s.app.inject({ url: '/dashboard/' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(page.body, INDEX);
  const csp = String(page.headers['content-security-policy']);
  const mapHash = `'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`;
  t.match(csp, `script-src 'self' ${mapHash}`, 'the import map is allowed by its hash, nothing else inline');
  t.match(csp, "frame-ancestors 'none'");
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['cache-control'], 'no-cache', 'browsers revalidate after a rebuild');

  const css = await s.app.inject({ url: '/dashboard/dashboard.css' });
  t.equal(css.statusCode, 200);
  t.match(css.headers['content-type'], /^text\/css/);

  for (const url of ['/dashboard/js/main.js', '/dashboard/js/model/format.js', '/dashboard/vendor/xterm/xterm.mjs', '/dashboard/vendor/addon-fit/addon-fit.mjs']) {
    const r = await s.app.inject({ url });
    t.equal(r.statusCode, 200, url);
    // Browsers refuse module scripts served under any other type.
    t.match(r.headers['content-type'], /^(text|application)\/javascript/, `${url} is served as JavaScript`);
    t.ok(r.headers['content-security-policy'], `${url} carries the policy`);
  }
  const xtermCss = await s.app.inject({ url: '/dashboard/vendor/xterm/xterm.css' });
  t.equal(xtermCss.statusCode, 200);
  t.match(xtermCss.body, /\.xterm/);
});

t.test('nothing outside the asset roots, no sources, no dotfiles', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { dashboard: assetTree(t) });
  const refused = [
    '/dashboard/src/main.ts',
    '/dashboard/.secret.html',
    '/dashboard/../outside.css',
    '/dashboard/%2e%2e/outside.css',
    '/dashboard/js/%2e%2e/%2e%2e/outside.css',
    '/dashboard/js/..%2f..%2foutside.css',
    '/dashboard/vendor/xterm/../package.json',
    '/dashboard/vendor/xterm/%2e%2e%2fpackage.json',
    '/dashboard/vendor/nope/x.js',
    '/dashboard/js/missing.js',
    '/dashboard/%00',
  ];
  for (const url of refused) {
    const r = await s.app.inject({ url });
    t.ok(r.statusCode >= 400 && r.statusCode < 500, `${url} → ${r.statusCode}`);
    t.notMatch(r.body, /outside the roots|sourcesAreNotServed|dotfile|"name": "@xterm/, `${url} leaks nothing`);
  }
  const post = await s.app.inject({ method: 'POST', url: '/dashboard/', payload: {} });
  t.equal(post.statusCode, 404, 'the dashboard is read-only');
});

t.test('an unbuilt checkout says how to fix it', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { dashboard: assetTree(t, { built: false }) });
  for (const url of ['/dashboard/', '/dashboard/js/main.js']) {
    const r = await s.app.inject({ url });
    t.equal(r.statusCode, 503, url);
    t.match(JSON.parse(r.body), { code: 'E_DASHBOARD_NOT_BUILT', message: /main\.js.*run `make build`/ });
  }
});

t.test('dashboard: false serves none, and the OpenAPI document never lists its files', async (t) => {
  const f = fixture();
  const off = await serve(t, f, { dashboard: false });
  t.equal((await off.app.inject({ url: '/dashboard/' })).statusCode, 404);
  t.equal((await off.app.inject({ url: '/' })).statusCode, 404);

  const f2 = fixture();
  const on = await serve(t, f2, { dashboard: assetTree(t) });
  const spec = JSON.parse((await on.app.inject({ url: '/api/v1/openapi.json' })).body) as { paths: Record<string, unknown> };
  t.same(Object.keys(spec.paths).filter((p) => !p.startsWith('/api/v1') && p !== '/metrics'), [], 'only API routes are documented');
});

t.test('inline script hashes and the policy', async (t) => {
  t.same(inlineScriptHashes('<script src="./a.js"></script><p>no scripts</p>'), [], 'external scripts need no hash');
  const two = inlineScriptHashes('<SCRIPT type="importmap">{}</SCRIPT><script>x()</script>');
  t.equal(two.length, 2);
  t.match(two[0], /^'sha256-[A-Za-z0-9+/]+=*'$/);
  t.notMatch(contentSecurityPolicy([]), /unsafe-eval/);
  t.match(contentSecurityPolicy([]), /script-src 'self'(;|$)/);
});

t.test("this checkout's page references only files the server serves", async (t) => {
  const assets = defaultDashboardAssets(projectDir());
  const html = fs.readFileSync(path.join(assets.pageDir, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g), ...html.matchAll(/"@xterm\/[\w-]+": "\.\/([^"]+)"/g)].map((m) => m[1]!);
  t.ok(refs.includes('js/main.js'), 'the entry module is loaded');
  for (const ref of refs) {
    const [top, ...rest] = ref.split('/');
    if (top === 'js') {
      // Compiled output exists only after `make build`; its TypeScript source must exist regardless.
      const source = path.join(assets.pageDir, 'src', ...rest).replace(/\.js$/, '.ts');
      t.ok(fs.existsSync(source), `${ref} is compiled from ${path.relative(projectDir(), source)}`);
    } else if (top === 'vendor') {
      const [name, ...file] = rest;
      const found = (assets.vendor[name!] ?? []).some((d) => fs.existsSync(path.join(d, ...file)));
      t.ok(found, `${ref} is in a vendor package`);
    } else {
      t.ok(fs.existsSync(path.join(assets.pageDir, ref)), `${ref} exists`);
    }
  }
});

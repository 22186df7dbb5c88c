/**
 * The web dashboard, served by the API server itself: no separate front-end
 * build or server. The page and stylesheet come from web/dashboard/, its
 * scripts from what `tsc -p web/tsconfig.json` compiled into
 * dist/web/dashboard/js/, and xterm.js straight from node_modules. The
 * browser resolves the bare `@xterm/*` imports through the page's import map.
 *
 *   /                      → 302 /dashboard/
 *   /dashboard/            index.html (and dashboard.css beside it)
 *   /dashboard/js/…        the compiled ES modules
 *   /dashboard/vendor/…    xterm.js and its fit addon
 *
 * Every response carries a Content-Security-Policy that allows only this
 * origin's scripts plus the page's one inline block (the import map, by hash).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { projectDir } from '../../../lib/project-dir.js';
import { ApiError, sendError } from './errors.js';

export const DASHBOARD_PREFIX = '/dashboard/';

/** Where the dashboard's files are on disk. */
export interface DashboardAssets {
  /** index.html and dashboard.css. */
  pageDir: string;
  /** The compiled browser modules (main.js is the entry point). */
  scriptDir: string;
  /** URL segment under /dashboard/vendor/ → the directories it serves. */
  vendor: Record<string, string[]>;
}

/** The assets of this checkout: web/dashboard, dist/web/dashboard/js, and xterm.js from node_modules. */
export function defaultDashboardAssets(root = projectDir()): DashboardAssets {
  const require = createRequire(path.join(root, 'package.json'));
  const pkgDir = (name: string): string => path.dirname(require.resolve(`${name}/package.json`));
  const xterm = pkgDir('@xterm/xterm');
  return {
    pageDir: path.join(root, 'web', 'dashboard'),
    scriptDir: path.join(root, 'dist', 'web', 'dashboard', 'js'),
    vendor: {
      xterm: [path.join(xterm, 'lib'), path.join(xterm, 'css')],
      'addon-fit': [path.join(pkgDir('@xterm/addon-fit'), 'lib')],
    },
  };
}

/** The sha256 CSP sources of the page's inline scripts (the import map), so nothing else inline can run. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const m of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)) {
    if (/\bsrc\s*=/.test(m[0].slice(0, m[0].indexOf('>')))) continue;
    hashes.push(`'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  }
  return hashes;
}

export function contentSecurityPolicy(scriptHashes: readonly string[]): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${scriptHashes.join(' ')}`.trim(),
    // xterm.js positions its rows with inline styles.
    "style-src 'self' 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface DashboardOptions {
  assets?: DashboardAssets;
}

export const dashboardRoutes: FastifyPluginAsync<DashboardOptions> = async (app, opts) => {
  // Whatever is missing must not take the whole API down: the dashboard answers why.
  const notBuilt = (why: string): void => {
    app.get('/dashboard/*', { schema: { hide: true } }, async (_request, reply) => sendError(reply, new ApiError(503, 'E_DASHBOARD_NOT_BUILT', why)));
  };
  let assets: DashboardAssets;
  try {
    assets = opts.assets ?? defaultDashboardAssets();
  } catch (e) {
    return notBuilt(`the dashboard's packages are missing (${(e as Error).message.split('\n')[0]}): run \`make deps\``);
  }
  const indexFile = path.join(assets.pageDir, 'index.html');
  const entry = path.join(assets.scriptDir, 'main.js');

  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect(DASHBOARD_PREFIX, 302));
  // The page's relative URLs need the trailing slash.
  app.get('/dashboard', { schema: { hide: true } }, async (_request, reply) => reply.redirect(DASHBOARD_PREFIX, 301));

  // Missing files mean an unbuilt checkout: say how to fix it instead of serving a blank page.
  const missing = [indexFile, entry].filter((f) => !fs.existsSync(f));
  if (missing.length > 0) return notBuilt(`the dashboard is not built (missing ${missing.join(', ')}): run \`make build\``);

  const csp = contentSecurityPolicy(inlineScriptHashes(fs.readFileSync(indexFile, 'utf8')));
  const setHeaders = (res: { setHeader(name: string, value: string): void }): void => {
    res.setHeader('content-security-policy', csp);
    res.setHeader('referrer-policy', 'no-referrer');
    // The page and scripts change with every build; let the browser revalidate.
    res.setHeader('cache-control', 'no-cache');
  };

  const mounts: Array<{ prefix: string; root: string | string[]; allowedPath?: (p: string) => boolean }> = [
    // Only the page's own files: web/dashboard/src holds the TypeScript sources, not for serving.
    { prefix: DASHBOARD_PREFIX, root: assets.pageDir, allowedPath: (p) => p === '/' || /^\/[\w.-]+\.(html|css)$/.test(p) },
    { prefix: `${DASHBOARD_PREFIX}js/`, root: assets.scriptDir },
    ...Object.entries(assets.vendor).map(([name, roots]) => ({ prefix: `${DASHBOARD_PREFIX}vendor/${name}/`, root: roots })),
  ];
  let first = true;
  for (const m of mounts) {
    await app.register(fastifyStatic, {
      root: m.root,
      prefix: m.prefix,
      index: m.prefix === DASHBOARD_PREFIX ? 'index.html' : false,
      dotfiles: 'deny',
      setHeaders,
      // Our own cache-control (no-cache) from setHeaders, not the plugin's max-age.
      cacheControl: false,
      // Only the first registration may add reply.sendFile.
      decorateReply: first,
      ...(m.allowedPath ? { allowedPath: m.allowedPath } : {}),
    });
    first = false;
  }
};

/**
 * How the CLI reaches a running instance's API: the address comes from
 * --api (or $BMCEMU_API), else from api.json in the instance's runtime
 * directory, which the server writes when it listens. The token, when the
 * API needs one, comes from --token or $BMCEMU_API_TOKEN (never from
 * api.json: the server does not write it down).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { API_JSON } from '../transport/runtime-files.js';
import { CliError } from './errors.js';
import { instanceDir } from './runtime-dir.js';

export interface TargetOptions {
  api?: string | undefined;
  instance?: string | undefined;
  runtimeDir?: string | undefined;
  token?: string | undefined;
}

export interface ApiTarget {
  url: string;
  token?: string;
}

/** The API could not be located or reached (as opposed to answering with an error). */
function unreachable(message: string, cause?: unknown): CliError {
  return new CliError('ERR_API_UNREACHABLE', message, cause === undefined ? {} : { cause });
}

export function resolveTarget(o: TargetOptions, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const token = o.token ?? env.BMCEMU_API_TOKEN;
  const withToken = (url: string): ApiTarget => (token ? { url, token } : { url });
  const explicit = o.api ?? env.BMCEMU_API;
  if (explicit) {
    let u: URL;
    try {
      u = new URL(explicit);
    } catch {
      throw unreachable(`--api ${explicit} is not a URL (expected http://HOST:PORT)`);
    }
    if (u.protocol !== 'http:') throw unreachable(`--api ${explicit}: only http:// is supported`);
    return withToken(u.origin);
  }
  const dir = instanceDir(o.instance ?? 'default', o.runtimeDir);
  const file = path.join(dir, API_JSON);
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    throw unreachable(`no running bmcemu API found: ${file} does not exist (is the instance running? or pass --api http://127.0.0.1:PORT)`);
  }
  let url: unknown;
  try {
    url = (JSON.parse(raw) as { url?: unknown }).url;
  } catch {
    throw unreachable(`${file} is not valid JSON`);
  }
  if (typeof url !== 'string') throw unreachable(`${file} has no "url"`);
  return withToken(url);
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class ApiClient {
  readonly target: ApiTarget;

  constructor(target: ApiTarget) {
    this.target = target;
  }

  headers(): Record<string, string> {
    return this.target.token ? { authorization: `Bearer ${this.target.token}` } : {};
  }

  /** One request; the whole body is read. Connection failures are ERR_API_UNREACHABLE. */
  request(method: string, urlPath: string, body?: unknown): Promise<RawResponse> {
    const u = new URL(urlPath, this.target.url);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        u,
        {
          method,
          headers: {
            ...this.headers(),
            accept: 'application/json, text/plain, */*',
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ECONNRESET' || e.code === 'EHOSTUNREACH') {
          reject(unreachable(`cannot reach the bmcemu API at ${this.target.url} (${e.code}): is the instance running?`, e));
        } else reject(e);
      });
      req.end(payload);
    });
  }

  /** A JSON call; non-2xx answers throw ERR_API with the server's coded message. */
  async json<T = unknown>(method: string, urlPath: string, body?: unknown): Promise<T> {
    const r = await this.request(method, urlPath, body);
    return parseResponse<T>(r);
  }

  /** A text (or binary) call, e.g. the console log or a pcap file. */
  async raw(urlPath: string): Promise<Buffer> {
    const r = await this.request('GET', urlPath);
    if (r.status >= 400) parseResponse(r);
    return r.body;
  }

  wsUrl(urlPath: string): string {
    return new URL(urlPath, this.target.url).toString().replace(/^http/, 'ws');
  }
}

function parseResponse<T>(r: RawResponse): T {
  let parsed: unknown;
  try {
    parsed = r.body.length ? JSON.parse(r.body.toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  if (r.status >= 200 && r.status < 300) return parsed as T;
  const b = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
  const code = typeof b.code === 'string' ? b.code : `HTTP_${r.status}`;
  const message = typeof b.message === 'string' ? b.message : `HTTP ${r.status}`;
  throw new CliError('ERR_API', message, { status: r.status, apiCode: code, details: b });
}

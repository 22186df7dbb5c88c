/**
 * fetch() for the status API. The page never sees a credential: the server's
 * login form sets an HttpOnly session cookie, which the browser sends by
 * itself on same-origin requests. What this adds:
 *
 * - the x-bmcemu-dashboard header on every request that changes something
 *   (the server refuses a cookie-authenticated non-GET without it: its CSRF
 *   defence, see model/api-paths.ts);
 * - a time limit on every request, covering the body as well as the headers,
 *   so one hung request can't stall the poll loop;
 * - one error type, DashboardRequestError, carrying the server's own message.
 *
 * DOM-free (fetch, Headers and AbortController are in Node too): unit-tested
 * under Node with a fake fetch.
 */
import { DASHBOARD_HEADER, DASHBOARD_HEADER_VALUE } from './model/api-paths.js';
import { rec, str } from './model/coerce.js';

export class DashboardRequestError extends Error {
  override readonly name = 'DashboardRequestError';
  constructor(
    /** HTTP status; 0 when no (complete) response arrived (network, timeout). */
    readonly status: number,
    /** The server's error code (E_…), or one of ours: E_NETWORK, E_TIMEOUT, E_BAD_RESPONSE. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** Called once, on the first 401: the page shows its banner and stops polling. */
  onUnauthorised?: () => void;
  /** For tests: the fetch to use (default: the global one). */
  fetch?: FetchLike;
}

export const GET_TIMEOUT_MS = 8000;
/** Power actions answer when done; soft-off alone may take the server 30 s. */
export const POST_TIMEOUT_MS = 90000;

/** Methods that change nothing; every other one carries the dashboard header. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

export class ApiClient {
  readonly #onUnauthorised: (() => void) | undefined;
  readonly #fetch: FetchLike;
  #unauthorised = false;

  constructor(opts: ApiClientOptions = {}) {
    this.#onUnauthorised = opts.onUnauthorised;
    this.#fetch = opts.fetch ?? ((url, init) => fetch(url, init));
  }

  /** True once any request got a 401: nothing will succeed until the user logs in again. */
  get unauthorised(): boolean {
    return this.#unauthorised;
  }

  /** GET and parse JSON. The result is `unknown`: the model modules check its shape. */
  get(path: string, timeoutMs = GET_TIMEOUT_MS): Promise<unknown> {
    return this.#request('GET', path, undefined, timeoutMs, 'json');
  }

  /** GET a text body (e.g. the console log) as is. */
  async getText(path: string, timeoutMs = GET_TIMEOUT_MS): Promise<string> {
    return (await this.#request('GET', path, undefined, timeoutMs, 'text')) as string;
  }

  post(path: string, body: unknown, timeoutMs = POST_TIMEOUT_MS): Promise<unknown> {
    return this.#request('POST', path, body, timeoutMs, 'json');
  }

  #headers(method: string, hasBody: boolean, expect: 'json' | 'text'): Headers {
    const headers = new Headers({ accept: expect === 'json' ? 'application/json' : 'text/plain, application/json' });
    if (hasBody) headers.set('content-type', 'application/json');
    if (!READ_METHODS.has(method)) headers.set(DASHBOARD_HEADER, DASHBOARD_HEADER_VALUE);
    return headers;
  }

  async #request(method: string, path: string, body: unknown, timeoutMs: number, expect: 'json' | 'text'): Promise<unknown> {
    const ctl = new AbortController();
    // One timer for the whole exchange: aborting the signal also aborts reading the body.
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    const noAnswer = (err: unknown): DashboardRequestError =>
      ctl.signal.aborted
        ? new DashboardRequestError(0, 'E_TIMEOUT', `${method} ${path}: no answer in ${Math.round(timeoutMs / 1000)} s`)
        : new DashboardRequestError(0, 'E_NETWORK', `${method} ${path}: ${err instanceof Error ? err.message : 'network error'}`);
    try {
      // (`cache` is typed apart: Node's RequestInit, which the unit tests compile against, lacks it.)
      const init: RequestInit & { cache?: 'no-store' } = {
        method,
        headers: this.#headers(method, body !== undefined, expect),
        body: body === undefined ? undefined : JSON.stringify(body),
        // The session cookie goes with same-origin requests only (the fetch default, said outright).
        credentials: 'same-origin',
        cache: 'no-store',
        signal: ctl.signal,
      };
      let res: Response;
      try {
        res = await this.#fetch(path, init);
      } catch (err) {
        throw noAnswer(err);
      }
      if (res.status === 401) this.#markUnauthorised();
      let text = '';
      try {
        text = await res.text();
      } catch (err) {
        // A success without its body is no answer; an error status says enough by itself.
        if (res.ok) throw noAnswer(err);
      }
      let json: unknown = null;
      let parsed = text === '';
      if (text !== '') {
        try {
          json = JSON.parse(text);
          parsed = true;
        } catch {
          // A proxy's HTML error page, say: reported below by status.
        }
      }
      if (!res.ok) {
        const b = rec(json);
        const message = str(b.message) ?? `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
        throw new DashboardRequestError(res.status, str(b.code) ?? `HTTP_${res.status}`, message);
      }
      if (expect === 'text') return text;
      if (!parsed) throw new DashboardRequestError(res.status, 'E_BAD_RESPONSE', `${method} ${path}: the answer is not JSON`);
      return json;
    } finally {
      clearTimeout(timer);
    }
  }

  #markUnauthorised(): void {
    if (this.#unauthorised) return;
    this.#unauthorised = true;
    this.#onUnauthorised?.();
  }
}

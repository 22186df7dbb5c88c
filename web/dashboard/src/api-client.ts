/**
 * fetch() for the status API: adds the bearer token the login cookie holds
 * (POSTs need it as a header; the server takes the cookie alone only for GETs
 * and websocket upgrades), bounds every request in time so one hung request
 * can't stall the poll loop, and turns every failure into an ApiError with the
 * server's own message.
 */
import { cookieValue } from './model/cookie.js';
import { rec, str } from './model/coerce.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status; 0 when no response arrived (network, timeout). */
    readonly status: number,
    /** The server's error code (E_…), or one of ours: E_NETWORK, E_TIMEOUT, E_BAD_RESPONSE. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  /** Called once, on the first 401: the page shows its banner and stops polling. */
  onUnauthorised?: () => void;
}

export const GET_TIMEOUT_MS = 8000;
/** Power actions answer when done; soft-off alone may take the server 30 s. */
export const POST_TIMEOUT_MS = 90000;

export class ApiClient {
  readonly #onUnauthorised: (() => void) | undefined;
  #unauthorised = false;

  constructor(opts: ApiClientOptions = {}) {
    this.#onUnauthorised = opts.onUnauthorised;
  }

  /** True once any request got a 401: nothing will succeed until the user logs in again. */
  get unauthorised(): boolean {
    return this.#unauthorised;
  }

  /** GET and parse JSON. The result is `unknown`: the model modules check its shape. */
  get(path: string, timeoutMs = GET_TIMEOUT_MS): Promise<unknown> {
    return this.#request('GET', path, undefined, timeoutMs);
  }

  post(path: string, body: unknown, timeoutMs = POST_TIMEOUT_MS): Promise<unknown> {
    return this.#request('POST', path, body, timeoutMs);
  }

  #headers(hasBody: boolean): Headers {
    const headers = new Headers({ accept: 'application/json' });
    if (hasBody) headers.set('content-type', 'application/json');
    // Read the cookie per request: a login in another tab takes effect without a reload.
    const token = cookieValue(document.cookie);
    if (token) headers.set('authorization', `Bearer ${token}`);
    return headers;
  }

  async #fetch(method: string, path: string, body: unknown, timeoutMs: number): Promise<Response> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      return await fetch(path, {
        method,
        headers: this.#headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
        signal: ctl.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async #request(method: string, path: string, body: unknown, timeoutMs: number): Promise<unknown> {
    let res: Response;
    try {
      res = await this.#fetch(method, path, body, timeoutMs);
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') {
        throw new ApiError(0, 'E_TIMEOUT', `${method} ${path}: no answer in ${Math.round(timeoutMs / 1000)} s`);
      }
      throw new ApiError(0, 'E_NETWORK', `${method} ${path}: ${err instanceof Error ? err.message : 'network error'}`);
    }
    const text = await res.text().catch(() => '');
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
    if (res.status === 401) this.#markUnauthorised();
    if (!res.ok) {
      const b = rec(json);
      const message = str(b.message) ?? `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      throw new ApiError(res.status, str(b.code) ?? `HTTP_${res.status}`, message);
    }
    if (!parsed) throw new ApiError(res.status, 'E_BAD_RESPONSE', `${method} ${path}: the answer is not JSON`);
    return json;
  }

  #markUnauthorised(): void {
    if (this.#unauthorised) return;
    this.#unauthorised = true;
    this.#onUnauthorised?.();
  }
}

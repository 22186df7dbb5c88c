/**
 * The readiness event stream (GET /api/v1/events, SSE) with one state the
 * page shows: "live" while connected, "reconnecting" otherwise.
 *
 * EventSource retries by itself after a dropped connection (sending
 * Last-Event-ID, so the server can send just what was missed); it gives up
 * for good only when the server answers with an error status or the wrong
 * content type. Then we make a new one, backing off 1 s → 10 s.
 */

export type StreamState = 'live' | 'reconnecting';

export interface EventStreamHandlers {
  /** Each connection (first or re-): a replay of the current records may follow. */
  onOpen(): void;
  /** One `data:` record, JSON-parsed (unparseable records are dropped). */
  onEvent(event: unknown): void;
  onState(state: StreamState): void;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 10000;

export class EventStream {
  readonly #url: string;
  readonly #on: EventStreamHandlers;
  #source: EventSource | null = null;
  #retryMs = FIRST_RETRY_MS;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = true;
  #state: StreamState = 'reconnecting';

  constructor(url: string, handlers: EventStreamHandlers) {
    this.#url = url;
    this.#on = handlers;
  }

  get state(): StreamState {
    return this.#state;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#on.onState(this.#state);
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#source?.close();
    this.#source = null;
    this.#setState('reconnecting');
  }

  #connect(): void {
    if (this.#stopped) return;
    const es = new EventSource(this.#url);
    this.#source = es;
    es.onopen = () => {
      if (es !== this.#source) return;
      this.#retryMs = FIRST_RETRY_MS;
      this.#setState('live');
      this.#on.onOpen();
    };
    es.onmessage = (msg: MessageEvent) => {
      if (es !== this.#source) return;
      let ev: unknown;
      try {
        ev = JSON.parse(String(msg.data));
      } catch {
        return;
      }
      this.#on.onEvent(ev);
    };
    es.onerror = () => {
      if (es !== this.#source) return;
      this.#setState('reconnecting');
      if (es.readyState !== EventSource.CLOSED) return; // the browser is retrying by itself
      es.close();
      this.#source = null;
      this.#timer = setTimeout(() => this.#connect(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    };
  }

  #setState(state: StreamState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#on.onState(state);
  }
}

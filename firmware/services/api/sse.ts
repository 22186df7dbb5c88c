/**
 * Server-sent events (text/event-stream) on a raw response. Each event is one
 * `id:` line and one `data:` line of JSON; no `event:` field, so a plain
 * EventSource `onmessage` sees every kind. Comment lines keep proxies and
 * idle timeouts from closing a quiet stream.
 */
import type { ServerResponse } from 'node:http';
import type { ApiEvent } from './hub.js';

export interface SseStream {
  send(ev: ApiEvent): void;
  comment(text: string): void;
  close(): void;
  readonly closed: boolean;
}

/** Bytes queued for one slow client before it is disconnected (the default of maxBacklogBytes). */
export const MAX_BACKLOG = 1 << 20;

export interface SseOptions {
  keepAliveMs: number;
  retryMs?: number;
  /** Prefix of every `id:` line (the hub's epoch), so ids from another server run are recognisable. */
  idPrefix?: string;
  /** Bytes that may wait for the client (default MAX_BACKLOG); past it the client is dropped. */
  maxBacklogBytes?: number;
  onClose(): void;
  /** The client was dropped for not reading; called before onClose. */
  onSlowClient?(queuedBytes: number): void;
}

export function openSse(res: ServerResponse, opts: SseOptions): SseStream {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Tell buffering reverse proxies (nginx) to pass events through at once.
    'x-accel-buffering': 'no',
  });
  let closed = false;
  const timer = opts.keepAliveMs > 0 ? setInterval(() => write(': keep-alive\n\n'), opts.keepAliveMs) : null;
  timer?.unref();
  const finish = (): void => {
    if (closed) return;
    closed = true;
    if (timer) clearInterval(timer);
    opts.onClose();
  };
  res.on('close', finish);
  // The hub never waits for a client. One that stops reading is cut off once
  // its backlog passes the bound (destroying the socket frees the backlog);
  // it reconnects with Last-Event-ID.
  const maxBacklog = opts.maxBacklogBytes ?? MAX_BACKLOG;
  const write = (s: string): void => {
    if (closed) return;
    const queued = res.writableLength;
    if (queued > maxBacklog) {
      res.destroy();
      opts.onSlowClient?.(queued);
      finish();
      return;
    }
    res.write(s);
  };
  write(`retry: ${opts.retryMs ?? 2000}\n\n`);
  return {
    send: (ev) => write(`id: ${opts.idPrefix ? `${opts.idPrefix}.` : ''}${ev.id}\ndata: ${JSON.stringify(ev)}\n\n`),
    comment: (text) => write(`: ${text.replace(/\n/g, ' ')}\n\n`),
    close: () => {
      if (closed) return;
      res.end();
      finish();
    },
    get closed() {
      return closed;
    },
  };
}

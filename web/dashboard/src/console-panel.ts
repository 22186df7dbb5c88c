/**
 * #console: the host console in xterm.js over the API's websocket.
 *
 * Server → page: binary frames of raw console bytes, written as-is (the host
 * sends its own \r\n, so no EOL conversion). Page → server: what the user
 * types, as UTF-8 bytes. On every (re)connect the server replays its rolling
 * log (?replay=true), so the terminal is reset first and nothing shows twice.
 * Reconnects back off 1 s → 10 s; the server closes with 1013 when this page
 * fell behind and 1001 when it shuts down, and both just mean "reconnect".
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { h, setAttr, setText } from './dom.js';

export type ConsoleState = 'connected' | 'disconnected' | 'no console';

const PATH = '/api/v1/console/ws';
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 10000;

const CLOSE_REASONS: Record<number, string> = {
  1001: 'server shutting down',
  1006: 'connection lost',
  1013: 'console output outran this page',
};

export class ConsolePanel {
  readonly terminal: Terminal;
  readonly #fit: FitAddon;
  readonly #stateEl: HTMLElement;
  readonly #encoder = new TextEncoder();
  #ws: WebSocket | null = null;
  #retryMs = FIRST_RETRY_MS;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = true;
  /** Whether the server said it has a console; null until it said. */
  #available: boolean | null = null;

  constructor(root: HTMLElement, stateEl: HTMLElement) {
    this.#stateEl = stateEl;
    this.terminal = new Terminal({
      convertEol: false,
      scrollback: 5000,
      fontFamily: '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
      fontSize: 13,
      cursorBlink: false,
      theme: { background: '#0b0f14', foreground: '#d6dde6', cursor: '#8fb3ff' },
    });
    this.#fit = new FitAddon();
    this.terminal.loadAddon(this.#fit);
    const host = h('div', { class: 'term-host' });
    root.append(host);
    this.terminal.open(host);
    this.#refit();
    // Window resizes and layout changes (the topology growing) both change the space we have.
    window.addEventListener('resize', () => this.#refit());
    new ResizeObserver(() => this.#refit()).observe(host);

    this.terminal.onData((data) => this.#send(this.#encoder.encode(data)));
    // onBinary carries byte-valued strings (some mouse reports): one char per byte, not UTF-8.
    this.terminal.onBinary((data) => this.#send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
    this.#setState('disconnected', 'not connected yet');
  }

  /**
   * What GET /status says (features.console). We wait for it rather than just
   * connecting: a websocket can't see the 501 of an instance without a
   * console, it only fails, and the browser logs each failure as an error.
   */
  setAvailable(available: boolean): void {
    if (available === this.#available) return;
    this.#available = available;
    if (available) {
      this.#start();
    } else {
      this.#halt();
      this.#setState('no console', 'this instance has no host console');
    }
  }

  /** The status poll failed before it ever answered: try the websocket anyway. */
  fallback(): void {
    if (this.#available === null) this.setAvailable(true);
  }

  /** Stop for good (e.g. after a 401): no more reconnects. */
  stop(): void {
    this.#available = false;
    this.#halt();
    this.#setState('disconnected', 'stopped');
  }

  #start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#retryMs = FIRST_RETRY_MS;
    this.#connect();
  }

  #halt(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(1000, 'page stopped');
  }

  #refit(): void {
    try {
      this.#fit.fit();
    } catch {
      // Not laid out yet (hidden or zero-sized): the next resize will fit.
    }
  }

  #send(bytes: Uint8Array): void {
    if (bytes.length && this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(bytes);
  }

  #connect(): void {
    if (this.#stopped) return;
    const url = new URL(`${PATH}?replay=true`, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      this.#retry(err instanceof Error ? err.message : 'cannot connect');
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => {
      if (ws !== this.#ws) return;
      this.#retryMs = FIRST_RETRY_MS;
      // The replay that follows is the whole log: start from a clean screen so nothing is doubled.
      this.terminal.reset();
      this.#setState('connected', 'live host console');
    };
    ws.onmessage = (msg: MessageEvent) => {
      if (ws !== this.#ws) return;
      if (msg.data instanceof ArrayBuffer) this.terminal.write(new Uint8Array(msg.data));
      else if (typeof msg.data === 'string') this.terminal.write(msg.data);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (ws !== this.#ws) return;
      this.#ws = null;
      const why = CLOSE_REASONS[ev.code] ?? (ev.reason || `closed (${ev.code})`);
      this.#retry(why);
    };
  }

  #retry(why: string): void {
    if (this.#stopped) return;
    this.#setState('disconnected', `${why}; retrying in ${Math.round(this.#retryMs / 1000)} s`);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connect(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
  }

  #setState(state: ConsoleState, detail: string): void {
    setText(this.#stateEl, state);
    setAttr(this.#stateEl, 'data-state', state);
    setAttr(this.#stateEl, 'title', detail);
  }
}

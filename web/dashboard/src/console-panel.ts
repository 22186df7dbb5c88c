/**
 * #console: the host console in xterm.js over the API's websocket.
 *
 * Server → page: binary frames of raw console bytes, written as-is (the host
 * sends its own \r\n, so no EOL conversion). Page → server: what the user
 * types, as UTF-8 bytes. On every (re)connect the server replays its rolling
 * log (?replay=true), so the terminal is reset first and nothing shows twice.
 * Reconnects back off 1 s → 10 s; the server closes with 1013 when this page
 * fell behind and 1001 when it shuts down, and both just mean "reconnect".
 *
 * A refused upgrade tells the page nothing, so after PROBE_AFTER_FAILURES
 * failed opens in a row the panel asks GET /console/log?tail=1 through the
 * API client: a 401 stops everything (the client's handler shows the
 * banner), a 501 means there is no console, anything else is shown in the
 * state's title while reconnecting goes on.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { DashboardRequestError, type ApiClient } from './api-client.js';
import { h, setAttr, setText } from './dom.js';
import { API_PATHS } from './model/api-paths.js';
import { probeVerdict, shouldProbe, type ConsoleState, type ProbeOutcome } from './model/console-state.js';

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
  readonly #api: ApiClient;
  readonly #encoder = new TextEncoder();
  #ws: WebSocket | null = null;
  #retryMs = FIRST_RETRY_MS;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Not connecting now (not started yet, or no console). */
  #stopped = true;
  /** Stopped for good (stop(), or the probe said 401/501): nothing may reconnect, whatever answers late. */
  #ended = false;
  /** Whether the server said it has a console; null until it said. */
  #available: boolean | null = null;
  /** Websockets in a row that closed without ever opening. */
  #failedOpens = 0;
  #probing = false;

  constructor(root: HTMLElement, stateEl: HTMLElement, api: ApiClient) {
    this.#stateEl = stateEl;
    this.#api = api;
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
    if (this.#ended || available === this.#available) return;
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

  /** Stop for good (e.g. after a 401): no more reconnects, even if a poll in flight answers later. */
  stop(why = 'stopped'): void {
    this.#end('disconnected', why);
  }

  #end(state: ConsoleState, why: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#available = false;
    this.#halt();
    this.#setState(state, why);
  }

  #start(): void {
    if (this.#ended || !this.#stopped) return;
    this.#stopped = false;
    this.#retryMs = FIRST_RETRY_MS;
    this.#failedOpens = 0;
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
    if (this.#stopped || this.#ended) return;
    const url = new URL(`${API_PATHS.consoleWs}?replay=true`, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      this.#retry(err instanceof Error ? err.message : 'cannot connect', true);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    let opened = false;
    ws.onopen = () => {
      if (ws !== this.#ws) return;
      opened = true;
      this.#failedOpens = 0;
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
      this.#retry(why, !opened);
    };
  }

  #retry(why: string, failedToOpen: boolean): void {
    if (this.#stopped || this.#ended) return;
    this.#failedOpens = failedToOpen ? this.#failedOpens + 1 : 0;
    this.#setState('disconnected', `${why}; retrying in ${Math.round(this.#retryMs / 1000)} s`);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connect(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    if (shouldProbe(this.#failedOpens)) void this.#probe();
  }

  /** Ask over plain HTTP why the websocket won't open (see the file comment). */
  async #probe(): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    let outcome: ProbeOutcome;
    try {
      await this.#api.getText(`${API_PATHS.consoleLog}?tail=1`);
      outcome = { ok: true };
    } catch (err) {
      outcome = { ok: false, status: err instanceof DashboardRequestError ? err.status : 0, message: err instanceof Error ? err.message : String(err) };
    } finally {
      this.#probing = false;
    }
    // Stopped meanwhile (a 401 stops the whole page), or a reconnect got through: the answer is moot.
    if (this.#ended || this.#stopped || this.#ws?.readyState === WebSocket.OPEN) return;
    const verdict = probeVerdict(outcome);
    if (!verdict.retry) this.#end(verdict.state, verdict.detail);
    else this.#setState(verdict.state, `${verdict.detail}; retrying`);
  }

  #setState(state: ConsoleState, detail: string): void {
    setText(this.#stateEl, state);
    setAttr(this.#stateEl, 'data-state', state);
    setAttr(this.#stateEl, 'title', detail);
  }
}

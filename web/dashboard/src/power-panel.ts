/**
 * #power: the host power state badge, host uptime, and the action buttons.
 * A click POSTs the action and keeps every button disabled until the server
 * answers (actions answer when done, which can take seconds), then shows the
 * outcome or the server's own error message.
 */
import { DashboardRequestError, type ApiClient } from './api-client.js';
import { h, setAttr, setText } from './dom.js';
import { API_PATHS } from './model/api-paths.js';
import { formatDuration } from './model/format.js';
import { actionEnabled, NO_HOST, POWER_ACTIONS, powerView, type PowerView } from './model/power.js';

const LABELS: Record<string, string> = {
  on: 'Power on',
  off: 'Power off',
  'soft-off': 'Soft off',
  reset: 'Reset',
  cycle: 'Cycle',
};

const TITLES: Record<string, string> = {
  on: 'Power the host on',
  off: 'Cut host power at once',
  'soft-off': 'Ask the host OS to shut down (ACPI), then power off',
  reset: 'Hard reset: power stays on',
  cycle: 'Power off, then on again',
};

export class PowerPanel {
  readonly #api: ApiClient;
  readonly #onChanged: () => void;
  readonly #badge: HTMLElement;
  readonly #uptime: HTMLElement;
  readonly #message: HTMLElement;
  readonly #buttons = new Map<string, HTMLButtonElement>();
  #view: PowerView | null = null;
  #noHost = false;
  #busy = false;

  /** `onChanged` runs after an action settles, so the page refreshes everything at once. */
  constructor(root: HTMLElement, api: ApiClient, onChanged: () => void) {
    this.#api = api;
    this.#onChanged = onChanged;
    this.#badge = h('span', { class: 'badge', 'data-testid': 'power-state', 'data-state': 'unknown' }, '…');
    this.#uptime = h('span', { class: 'muted', 'data-testid': 'host-uptime' });
    const row = h('div', { class: 'power-buttons' });
    for (const action of POWER_ACTIONS) {
      const b = h('button', { type: 'button', 'data-action': action, title: TITLES[action], disabled: true }, LABELS[action]);
      b.addEventListener('click', () => void this.#run(action));
      this.#buttons.set(action, b);
      row.append(b);
    }
    this.#message = h('div', { class: 'power-message', 'data-testid': 'power-message', role: 'status' });
    root.append(h('div', { class: 'power-state-row' }, this.#badge, this.#uptime), row, this.#message);
  }

  /** A GET /host/power (or POST answer) body. */
  update(body: unknown): void {
    this.#noHost = false;
    this.#view = powerView(body);
    this.#render();
  }

  /** The API answered 501: this instance has no host. */
  setNoHost(): void {
    if (this.#noHost) return;
    this.#noHost = true;
    this.#view = null;
    this.#render();
  }

  #render(): void {
    const state = this.#noHost ? NO_HOST : (this.#view?.state ?? 'unknown');
    setText(this.#badge, this.#noHost || this.#view ? state : '…');
    setAttr(this.#badge, 'data-state', state);
    const up = this.#view?.uptimeSeconds ?? null;
    setText(this.#uptime, up !== null && state === 'on' ? `up ${formatDuration(up)}` : '');
    for (const [action, b] of this.#buttons) {
      b.disabled = this.#busy || this.#noHost || !this.#view || !actionEnabled(action, this.#view);
    }
  }

  #say(text: string, outcome: 'pending' | 'ok' | 'error'): void {
    setText(this.#message, text);
    setAttr(this.#message, 'data-outcome', outcome);
  }

  async #run(action: string): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    this.#render();
    this.#say(`${action}: requested…`, 'pending');
    try {
      const body = await this.#api.post(API_PATHS.power, { action });
      this.update(body);
      this.#say(`${action}: done, host ${this.#view?.state ?? 'unknown'}`, 'ok');
    } catch (err) {
      if (err instanceof DashboardRequestError && err.status === 501) this.setNoHost();
      this.#say(err instanceof Error ? err.message : String(err), 'error');
    } finally {
      this.#busy = false;
      this.#render();
      this.#onChanged();
    }
  }
}

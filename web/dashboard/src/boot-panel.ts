/**
 * #boot: the boot stages as an ordered list (li[data-stage][data-state]) with
 * the seconds after the boot began (power-on or the last host reset) each was
 * reached, and a progress bar.
 */
import { h, setAttr, setText } from './dom.js';
import type { BootView } from './model/boot-progress.js';
import { formatDuration } from './model/format.js';

export class BootPanel {
  readonly #list: HTMLOListElement;
  readonly #fill: HTMLElement;
  readonly #fraction: HTMLElement;
  #last = '';

  constructor(root: HTMLElement) {
    this.#fill = h('div', { class: 'bar-fill' });
    this.#fraction = h('span', { class: 'boot-fraction', 'data-testid': 'boot-fraction' });
    const bar = h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0 }, this.#fill);
    this.#list = h('ol', { class: 'stages' });
    root.append(h('div', { class: 'boot-progress' }, bar, this.#fraction), this.#list);
  }

  render(view: BootView): void {
    // A new state object can still draw the same (a stream reconnect): rebuild only on a visible change.
    const key = JSON.stringify(view);
    if (key === this.#last) return;
    this.#last = key;
    const pct = view.total ? Math.round((view.done / view.total) * 100) : 0;
    this.#fill.style.width = `${pct}%`;
    const bar = this.#fill.parentElement;
    if (bar) {
      setAttr(bar, 'aria-valuemax', String(view.total));
      setAttr(bar, 'aria-valuenow', String(view.done));
    }
    setText(this.#fraction, `${view.done}/${view.total}`);
    // A handful of rows: rebuilding is simpler than diffing and only happens when the state changed.
    this.#list.replaceChildren(
      ...view.stages.map((s) =>
        h(
          'li',
          { 'data-stage': s.name, 'data-state': s.state, class: s.known ? null : 'extra' },
          h('span', { class: 'mark', 'aria-hidden': 'true' }, s.state === 'done' ? '✓' : '·'),
          h('span', { class: 'stage-name' }, s.name),
          h('span', { class: 'stage-time' }, s.seconds !== null ? `+${formatDuration(s.seconds)}` : ''),
        ),
      ),
    );
  }
}

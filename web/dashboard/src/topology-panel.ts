/**
 * #topology: the BMC, its MCTP links and the endpoints behind each, drawn as
 * HTML boxes joined by CSS connector lines (dashboard.css), plus the astlpc
 * channel box. Counters are plain text (data-counter marks which is which).
 */
import { h, type Child } from './dom.js';
import { formatAstlpcVersion, type AstlpcView } from './model/astlpc.js';
import { formatBytes, formatCount, UNKNOWN } from './model/format.js';
import type { EndpointNode, LinkNode, TopologyView } from './model/topology.js';

const flag = (name: string, on: boolean | null, yes: string, no: string): HTMLElement =>
  h('span', { class: 'chip', 'data-flag': name, 'data-on': on === null ? 'unknown' : String(on) }, on === null ? `${yes}?` : on ? yes : no);

function endpointBox(ep: EndpointNode): HTMLElement {
  return h(
    'div',
    { class: 'node ep', 'data-eid': ep.eid, 'data-connectivity': ep.connectivity ?? 'unknown' },
    h('div', { class: 'node-head' }, h('strong', {}, `EID ${ep.eid}`), ep.net !== null ? h('span', { class: 'muted' }, ` net ${ep.net}`) : null),
    h('div', { class: 'ep-types' }, ep.typeNames.length ? ep.typeNames.join(', ') : 'no message types'),
    h('div', { class: 'ep-uuid mono' }, ep.uuid ?? 'no UUID'),
    h('div', { class: 'ep-conn' }, ep.connectivity ?? UNKNOWN),
  );
}

function counterRow(dir: 'tx' | 'rx', packets: number | null, bytes: number | null): HTMLElement {
  return h(
    'tr',
    {},
    h('th', { scope: 'row' }, dir),
    h('td', { 'data-counter': `${dir}Packets` }, formatCount(packets)),
    h('td', { 'data-counter': `${dir}Bytes`, title: bytes === null ? null : `${formatCount(bytes)} bytes` }, formatBytes(bytes)),
  );
}

function linkBox(l: LinkNode): HTMLElement {
  const reasons = [...l.drops.rx.map((d) => ['rx', d] as const), ...l.drops.tx.map((d) => ['tx', d] as const)];
  return h(
    'div',
    { class: 'node link-box' },
    h(
      'div',
      { class: 'node-head' },
      h('strong', { class: 'mono' }, l.name),
      h('span', { class: 'muted' }, ` ${l.kind ?? UNKNOWN} · MTU ${l.mtu ?? UNKNOWN}`),
    ),
    h('div', { class: 'flags' }, flag('up', l.up, 'up', 'down'), flag('carrier', l.carrier, 'carrier', 'no carrier')),
    h('div', { class: 'bmc-eids' }, l.bmcEids.length ? `BMC EID ${l.bmcEids.join(', ')}` : 'no BMC EID'),
    h(
      'table',
      { class: 'counters' },
      h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'packets'), h('th', {}, 'bytes'))),
      h('tbody', {}, counterRow('tx', l.counters.txPackets, l.counters.txBytes), counterRow('rx', l.counters.rxPackets, l.counters.rxBytes)),
    ),
    h(
      'div',
      { class: 'drops', 'data-drops': l.drops.total ?? 'unknown' },
      h('span', { 'data-counter': 'drops' }, `drops ${formatCount(l.drops.total)}`),
      ...reasons.map(([dir, d]) => h('span', { class: 'drop-reason', 'data-reason': d.reason, 'data-dir': dir }, `${dir} ${d.reason} ${formatCount(d.count)}`)),
    ),
  );
}

function linkRow(l: LinkNode): HTMLElement {
  const state = l.up === false ? 'down' : l.carrier === false ? 'no-carrier' : 'up';
  return h(
    'div',
    { class: 'topo-row', 'data-link': l.name, 'data-link-state': state },
    linkBox(l),
    l.endpoints.length ? h('div', { class: 'topo-eps' }, ...l.endpoints.map(endpointBox)) : h('div', { class: 'topo-none muted' }, 'no endpoints'),
  );
}

function astlpcBox(a: AstlpcView): HTMLElement[] {
  const row = (k: string, v: Child, attrs: Record<string, string> = {}): HTMLElement => h('div', { class: 'kv', ...attrs }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, v));
  return [
    h('h3', {}, 'astlpc channel'),
    row('state', a.state, { 'data-field': 'state' }),
    row('protocol', formatAstlpcVersion(a.version), { 'data-field': 'version' }),
    row('MTU', `${a.mtu ?? UNKNOWN} (payload ${a.payload ?? UNKNOWN})`, { 'data-field': 'mtu' }),
    h('div', { class: 'flags' }, flag('bmc-ready', a.bmcReady, 'BMC_READY', 'BMC_READY off'), flag('channel-active', a.channelActive, 'CHANNEL_ACTIVE', 'CHANNEL_ACTIVE off')),
    row('last error', a.lastError ?? 'none', { 'data-field': 'last-error' }),
  ];
}

export class TopologyPanel {
  readonly #diagram: HTMLElement;
  readonly #astlpc: HTMLElement;
  #lastTopology = '';
  #lastAstlpc = '';

  constructor(root: HTMLElement) {
    this.#diagram = h('div', { class: 'topo' }, h('div', { class: 'muted' }, 'loading…'));
    this.#astlpc = h('aside', { class: 'astlpc', 'data-testid': 'astlpc', hidden: true });
    root.append(h('div', { class: 'topo-wrap' }, this.#diagram, this.#astlpc));
  }

  render(view: TopologyView): void {
    // Polled every second: redraw only when something changed (keeps text selectable).
    const key = JSON.stringify(view);
    if (key === this.#lastTopology) return;
    this.#lastTopology = key;
    const bmc = h(
      'div',
      { class: 'node bmc', 'data-node': 'bmc' },
      h('div', { class: 'node-head' }, h('strong', {}, 'BMC')),
      ...(view.bmcEids.length
        ? view.bmcEids.map((e) => h('div', { class: 'bmc-eid', 'data-bmc-eid': e.eid }, h('span', { class: 'mono' }, e.iface), ` EID ${e.eid}`))
        : [h('div', { class: 'muted' }, 'no EIDs')]),
    );
    const rows = view.links.map(linkRow);
    if (view.unattached.length) {
      rows.push(
        h(
          'div',
          { class: 'topo-row', 'data-link-state': 'unknown' },
          h('div', { class: 'node link-box muted' }, 'link not listed'),
          h('div', { class: 'topo-eps' }, ...view.unattached.map(endpointBox)),
        ),
      );
    }
    this.#diagram.replaceChildren(bmc, rows.length ? h('div', { class: 'topo-links' }, ...rows) : h('div', { class: 'muted topo-nolinks' }, 'no MCTP links'));
  }

  /** The astlpc status, or null when the instance has none (501): the box hides. */
  setAstlpc(view: AstlpcView | null): void {
    const key = JSON.stringify(view);
    if (key === this.#lastAstlpc) return;
    this.#lastAstlpc = key;
    this.#astlpc.hidden = view === null;
    this.#astlpc.replaceChildren(...(view ? astlpcBox(view) : []));
  }
}

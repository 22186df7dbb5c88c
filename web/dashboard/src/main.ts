/**
 * The dashboard's wiring: one API client, the event stream feeding the boot
 * reducer, the poll loop (model/poller.ts: a 1 s poll of the REST views plus
 * an immediate, coalesced one on every event) and the panels. Each poll
 * source fails on its own: an error shows in the header and the rest of the
 * page goes on. A 401 anywhere shows the banner and stops everything.
 */
import type { Terminal } from '@xterm/xterm';
import { ApiClient } from './api-client.js';
import { BootPanel } from './boot-panel.js';
import { ConsolePanel } from './console-panel.js';
import { byId, setAttr, setText } from './dom.js';
import { EventStream, type StreamState } from './event-stream.js';
import { API_PATHS } from './model/api-paths.js';
import { astlpcView } from './model/astlpc.js';
import { applyPowerSnapshot, applyStatusSnapshot, bootReducer, initialBootState, stages, streamOpened, type BootState } from './model/boot-progress.js';
import { rec, str } from './model/coerce.js';
import { NOT_AUTHORISED } from './model/console-state.js';
import { formatDuration } from './model/format.js';
import { Poller } from './model/poller.js';
import { topology } from './model/topology.js';
import { PowerPanel } from './power-panel.js';
import { TopologyPanel } from './topology-panel.js';

declare global {
  interface Window {
    /**
     * The console terminal, exposed on purpose: xterm.js draws to a canvas-like
     * DOM that can't be read back as text, so the browser test
     * (test/system/dashboard.test.ts) reads what the host printed from
     * terminal.buffer.active through this. Nothing of the page depends on it.
     */
    bmcemuDashboard?: { terminal: Terminal };
  }
}

const header = {
  version: byId('version'),
  uptime: byId('bmc-uptime'),
  events: byId('events-state'),
  errors: byId('api-errors'),
  banner: byId('auth-banner'),
};

// Set below; the client's 401 handler can only fire once a request is under way.
let poller: Poller | undefined;
const api = new ApiClient({ onUnauthorised: () => poller?.stop() });

// ---- panels ----------------------------------------------------------------------
const power = new PowerPanel(byId('power'), api, () => void poller?.refresh());
const boot = new BootPanel(byId('boot'));
const topo = new TopologyPanel(byId('topology'));
const consolePanel = new ConsolePanel(byId('console'), byId('console-state'), api);
window.bmcemuDashboard = { terminal: consolePanel.terminal };

let bootState: BootState = initialBootState;
function setBoot(next: BootState): void {
  if (next === bootState) return;
  bootState = next;
  boot.render(stages(bootState));
}
boot.render(stages(bootState));

// ---- the event stream --------------------------------------------------------------
const events = new EventStream(API_PATHS.events, {
  onOpen: () => setBoot(streamOpened(bootState)),
  onEvent: (ev) => {
    setBoot(bootReducer(bootState, ev));
    void poller?.refresh();
  },
  onState: (s: StreamState) => {
    setText(header.events, s);
    setAttr(header.events, 'data-state', s);
  },
});

// ---- polling -----------------------------------------------------------------------
poller = new Poller({
  fetches: {
    status: () => api.get(API_PATHS.status),
    power: () => api.get(API_PATHS.power),
    links: () => api.get(API_PATHS.links),
    endpoints: () => api.get(API_PATHS.endpoints),
    astlpc: () => api.get(API_PATHS.astlpc),
  },
  visible: () => document.visibilityState === 'visible',
  streamLive: () => events.state === 'live',
  sinks: {
    status: (body) => {
      const b = rec(body);
      // Servers that don't list features are assumed to have a console.
      consolePanel.setAvailable(rec(b.features).console !== false);
      setText(header.version, str(b.version) ?? '');
      setText(header.uptime, formatDuration(rec(b.bmc).uptimeSeconds));
    },
    // The status poll failed before it ever answered: try the console websocket anyway.
    statusFailed: () => consolePanel.fallback(),
    power: (body) => power.update(body),
    noHost: () => power.setNoHost(),
    topology: (links, endpoints) => topo.render(topology(links, endpoints)),
    astlpc: (body) => topo.setAstlpc(body === null ? null : astlpcView(body)),
    bootSnapshot: (kind, body) => setBoot(kind === 'status' ? applyStatusSnapshot(bootState, body) : applyPowerSnapshot(bootState, body)),
    errors: (failing) => {
      const all = [...failing].map(([s, m]) => `${s}: ${m}`);
      setText(header.errors, all.length ? (all.length > 1 ? `${all[0]} (+${all.length - 1} more)` : (all[0] ?? '')) : '');
      setAttr(header.errors, 'title', all.length ? all.join('\n') : null);
    },
    // Only a 401 stops the poller: nothing can succeed until the user logs in, so say so once and go quiet.
    stopped: () => {
      events.stop();
      consolePanel.stop(NOT_AUTHORISED);
      header.banner.hidden = false;
    },
  },
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void poller?.refresh();
});

events.start();
poller.start();

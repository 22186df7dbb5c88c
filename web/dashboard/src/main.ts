/**
 * The dashboard's wiring: one API client, the event stream feeding the boot
 * reducer, a 1 s poll of the REST views (plus an immediate, coalesced poll on
 * every event, so the panels follow the stream without waiting for the tick),
 * and the panels. Each poll source fails on its own: an error shows in the
 * header and the rest of the page goes on.
 */
import type { Terminal } from '@xterm/xterm';
import { ApiClient, ApiError } from './api-client.js';
import { BootPanel } from './boot-panel.js';
import { ConsolePanel } from './console-panel.js';
import { byId, setAttr, setText } from './dom.js';
import { EventStream, type StreamState } from './event-stream.js';
import { astlpcView } from './model/astlpc.js';
import { applyPowerSnapshot, applyStatusSnapshot, bootReducer, initialBootState, stages, streamOpened, type BootState } from './model/boot-progress.js';
import { rec, str } from './model/coerce.js';
import { formatDuration } from './model/format.js';
import { topology } from './model/topology.js';
import { PowerPanel } from './power-panel.js';
import { TopologyPanel } from './topology-panel.js';

declare global {
  interface Window {
    /** For tests and the curious: the console terminal (read terminal.buffer.active). */
    bmcemuDashboard?: { terminal: Terminal };
  }
}

const POLL_MS = 1000;

const header = {
  version: byId('version'),
  uptime: byId('bmc-uptime'),
  events: byId('events-state'),
  errors: byId('api-errors'),
  banner: byId('auth-banner'),
};

let stopped = false;
const api = new ApiClient({ onUnauthorised: () => stopAll() });

// ---- errors: one line in the header, the latest message per failing source -----
const failing = new Map<string, string>();
function reportError(source: string, err: unknown): void {
  failing.set(source, err instanceof Error ? err.message : String(err));
  renderErrors();
}
function clearError(source: string): void {
  if (failing.delete(source)) renderErrors();
}
function renderErrors(): void {
  const all = [...failing].map(([s, m]) => `${s}: ${m}`);
  setText(header.errors, all.length ? (all.length > 1 ? `${all[0]} (+${all.length - 1} more)` : (all[0] ?? '')) : '');
  setAttr(header.errors, 'title', all.length ? all.join('\n') : null);
}

// ---- panels ----------------------------------------------------------------------
const power = new PowerPanel(byId('power'), api, () => void refresh());
const boot = new BootPanel(byId('boot'));
const topo = new TopologyPanel(byId('topology'));
const consolePanel = new ConsolePanel(byId('console'), byId('console-state'));
window.bmcemuDashboard = { terminal: consolePanel.terminal };

let bootState: BootState = initialBootState;
function setBoot(next: BootState): void {
  if (next === bootState) return;
  bootState = next;
  boot.render(stages(bootState));
}
boot.render(stages(bootState));

// ---- the event stream --------------------------------------------------------------
const events = new EventStream('/api/v1/events', {
  onOpen: () => setBoot(streamOpened(bootState)),
  onEvent: (ev) => {
    setBoot(bootReducer(bootState, ev));
    void refresh();
  },
  onState: (s: StreamState) => {
    setText(header.events, s);
    setAttr(header.events, 'data-state', s);
  },
});

// ---- polling -----------------------------------------------------------------------
/** Polled state only feeds the boot panel while the stream is down: when live, the stream is newer. */
const streamLive = (): boolean => events.state === 'live';

/**
 * Parts this instance lacks (no host, no bus owner, no astlpc) answer 501, and
 * GET /status lists them as features: false. Those aren't errors, and polling
 * them every second would only fill the browser console with 501s, so they
 * are re-checked every ABSENT_RECHECK_MS instead.
 */
const ABSENT_RECHECK_MS = 30000;
const absentUntil = new Map<string, number>();
let features: Readonly<Record<string, unknown>> = {};
const is501 = (err: unknown): boolean => err instanceof ApiError && err.status === 501;
const absent = (feature: string): boolean => features[feature] === false || (absentUntil.get(feature) ?? 0) > Date.now();
const markAbsent = (feature: string): void => void absentUntil.set(feature, Date.now() + ABSENT_RECHECK_MS);

async function pollStatus(): Promise<void> {
  let body: unknown;
  try {
    body = await api.get('/api/v1/status');
  } catch (err) {
    if (!api.unauthorised) consolePanel.fallback();
    throw err;
  }
  const b = rec(body);
  features = rec(b.features);
  // Servers that don't list features are assumed to have a console.
  consolePanel.setAvailable(features.console !== false);
  setText(header.version, str(b.version) ?? '');
  setText(header.uptime, formatDuration(rec(b.bmc).uptimeSeconds));
  if (!streamLive()) setBoot(applyStatusSnapshot(bootState, body));
}

async function pollPower(): Promise<void> {
  if (absent('power')) return power.setNoHost();
  try {
    const body = await api.get('/api/v1/host/power');
    power.update(body);
    if (!streamLive()) setBoot(applyPowerSnapshot(bootState, body));
  } catch (err) {
    if (!is501(err)) throw err;
    markAbsent('power');
    power.setNoHost();
  }
}

/** Kept so one failed endpoint poll doesn't empty the drawing for a second. */
let lastEndpoints: unknown = [];
async function pollEndpoints(): Promise<void> {
  // No bus owner: no endpoints, an empty list rather than an error.
  if (absent('endpoints')) {
    lastEndpoints = [];
    return;
  }
  try {
    lastEndpoints = await api.get('/api/v1/mctp/endpoints');
  } catch (err) {
    if (!is501(err)) throw err;
    markAbsent('endpoints');
    lastEndpoints = [];
  }
}

async function pollTopology(): Promise<void> {
  const [links, eps] = await Promise.allSettled([api.get('/api/v1/mctp/links'), pollEndpoints()]);
  if (links.status === 'rejected') throw links.reason;
  topo.render(topology(links.value, lastEndpoints));
  if (eps.status === 'rejected') throw eps.reason;
}

async function pollAstlpc(): Promise<void> {
  if (absent('astlpc')) return topo.setAstlpc(null);
  try {
    topo.setAstlpc(astlpcView(await api.get('/api/v1/mctp/astlpc')));
  } catch (err) {
    if (!is501(err)) throw err;
    markAbsent('astlpc');
    topo.setAstlpc(null);
  }
}

const SOURCES: Array<[string, () => Promise<void>]> = [
  ['status', pollStatus],
  ['power', pollPower],
  ['topology', pollTopology],
  ['astlpc', pollAstlpc],
];

async function runSource([name, poll]: [string, () => Promise<void>]): Promise<void> {
  try {
    await poll();
    clearError(name);
  } catch (err) {
    if (!stopped) reportError(name, err);
  }
}

let statusSeen = false;
async function refreshOnce(): Promise<void> {
  const [status, ...rest] = SOURCES;
  if (!status) return;
  if (!statusSeen) {
    // The first time, learn the instance's features before asking for parts it may not have.
    await runSource(status);
    statusSeen = !failing.has(status[0]);
    await Promise.all(rest.map(runSource));
    return;
  }
  await Promise.all(SOURCES.map(runSource));
}

let inFlight: Promise<void> | null = null;
let again = false;
/**
 * Refresh everything now, coalesced: calls while one is running ask for one
 * more pass after it (a burst of replayed events costs two passes, not twenty).
 */
function refresh(): Promise<void> {
  if (stopped) return Promise.resolve();
  if (inFlight) {
    again = true;
    return inFlight;
  }
  inFlight = (async () => {
    do {
      again = false;
      await refreshOnce();
    } while (again && !stopped);
  })().finally(() => {
    inFlight = null;
  });
  return inFlight;
}

let tickTimer: ReturnType<typeof setTimeout> | undefined;
async function tick(): Promise<void> {
  if (document.visibilityState === 'visible') await refresh();
  if (!stopped) tickTimer = setTimeout(() => void tick(), POLL_MS);
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void refresh();
});

/** After a 401 nothing can succeed until the user logs in: say so once and go quiet (no retry loop). */
function stopAll(): void {
  if (stopped) return;
  stopped = true;
  clearTimeout(tickTimer);
  events.stop();
  consolePanel.stop();
  header.banner.hidden = false;
  failing.clear();
  renderErrors();
}

events.start();
void tick();

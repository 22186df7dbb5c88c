/**
 * /metrics in the Prometheus text exposition format 0.0.4.
 *
 * Hand-written rather than prom-client: every value already lives in a
 * counter object of the stack or a part, so there is nothing to register or
 * aggregate, only to print at scrape time; the format needs three escaping
 * rules and a HELP/TYPE header per family (about 40 lines here), where a
 * client library would add a registry and a dependency to keep in step.
 */
import { RX_DROP_REASONS, TX_DROP_REASONS } from '../../mctp/counters.js';
import type { ApiContext, IpmiPart } from './context.js';
import { STREAM_DROP_REASONS, STREAM_KINDS, type StreamStats } from './streams.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

/** Label values: backslash, double quote and newline are escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and newline are escaped. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Builds one exposition: families in the order first declared, each with its samples. */
export class Exposition {
  #families = new Map<string, { help: string; type: 'counter' | 'gauge'; samples: string[] }>();

  family(name: string, type: 'counter' | 'gauge', help: string): (value: number, labels?: Labels) => void {
    let f = this.#families.get(name);
    if (!f) {
      f = { help, type, samples: [] };
      this.#families.set(name, f);
    }
    const fam = f;
    return (value, labels) => {
      const l = labels && Object.keys(labels).length
        ? `{${Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`
        : '';
      fam.samples.push(`${name}${l} ${formatValue(value)}`);
    };
  }

  toString(): string {
    let out = '';
    for (const [name, f] of this.#families) {
      out += `# HELP ${name} ${escapeHelp(f.help)}\n# TYPE ${name} ${f.type}\n`;
      for (const s of f.samples) out += `${s}\n`;
    }
    return out;
  }
}

/** Host power states always exported (0 or 1), so a query for one works whatever the state. */
export const KNOWN_POWER_STATES = ['off', 'powering-on', 'on', 'powering-off', 'resetting'];

export interface MetricsSources {
  ctx: ApiContext;
  now: () => number;
  startedAt: number;
  /** Console bytes counted by the API when the console has no stats() of its own. */
  consoleBytes: { fromHostBytes: number; toHostBytes: number };
  /** The API's own connections and streams (absent: not exported). */
  streams?: StreamStats;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function renderMetrics(src: MetricsSources): string {
  const { ctx } = src;
  const x = new Exposition();

  x.family('bmcemu_info', 'gauge', 'bmcemu build information (always 1).')(1, { version: ctx.version });
  x.family('bmcemu_uptime_seconds', 'gauge', 'Seconds since the BMC started.')(Math.max(0, (src.now() - src.startedAt) / 1000));

  // ---- MCTP links ----------------------------------------------------------
  const linkUp = x.family('mctp_link_up', 'gauge', 'Interface administratively up (1) or down (0).');
  const carrier = x.family('mctp_link_carrier', 'gauge', 'Medium reports carrier (1) or not (0).');
  const mtu = x.family('mctp_link_mtu_bytes', 'gauge', 'Interface MTU in bytes, MCTP header included.');
  const queue = x.family('mctp_tx_queue_packets', 'gauge', 'Packets waiting in the interface transmit queue.');
  const rxp = x.family('mctp_rx_packets_total', 'counter', 'Packets received on the interface.');
  const rxb = x.family('mctp_rx_bytes_total', 'counter', 'Bytes received on the interface, MCTP header included.');
  const txp = x.family('mctp_tx_packets_total', 'counter', 'Packets transmitted on the interface.');
  const txb = x.family('mctp_tx_bytes_total', 'counter', 'Bytes transmitted on the interface, MCTP header included.');
  const rxd = x.family('mctp_rx_drops_total', 'counter', 'Received packets dropped, by reason.');
  const txd = x.family('mctp_tx_drops_total', 'counter', 'Queued packets dropped before transmission, by reason.');
  for (const i of ctx.stack.interfaces()) {
    const link = { link: i.name };
    const c = i.counters;
    linkUp(i.up ? 1 : 0, link);
    carrier(i.carrier ? 1 : 0, link);
    mtu(i.mtu, link);
    queue(i.txQueueDepth, link);
    rxp(c.rxPackets, link);
    rxb(c.rxBytes, link);
    txp(c.txPackets, link);
    txb(c.txBytes, link);
    for (const reason of RX_DROP_REASONS) rxd(c.rxDrops[reason], { link: i.name, reason });
    for (const reason of TX_DROP_REASONS) txd(c.txDrops[reason], { link: i.name, reason });
  }

  // ---- MCTP stack ----------------------------------------------------------
  const sc = ctx.stack.counters;
  x.family('mctp_reassembly_timeouts_total', 'counter', 'Messages whose reassembly did not complete within the key lifetime.')(sc.reassemblyTimeouts);
  x.family('mctp_tag_exhausted_total', 'counter', 'Requests refused because no tag was free for the peer (EBUSY).')(sc.tagExhausted);
  x.family('mctp_forwarded_total', 'counter', 'Packets forwarded to another interface (bridging).')(sc.forwarded);
  x.family('mctp_routes', 'gauge', 'Entries in the route table, local routes included.')(ctx.stack.routes.list().length);
  if (ctx.endpoints) x.family('mctp_endpoints', 'gauge', 'Endpoints known to the bus owner.')(ctx.endpoints.list().length);

  // ---- astlpc ----------------------------------------------------------------
  if (ctx.astlpc) {
    const s = ctx.astlpc.stats();
    const state = typeof s.state === 'string' ? s.state : 'unknown';
    x.family('bmcemu_astlpc_state', 'gauge', 'astlpc channel state (1 for the current state).')(1, { state });
    x.family('bmcemu_astlpc_carrier', 'gauge', 'astlpc channel active (1) or not (0).')(s.carrier === true ? 1 : 0);
    const version = num((s.version as Record<string, unknown> | undefined)?.negotiated);
    if (version !== undefined) x.family('bmcemu_astlpc_version', 'gauge', 'Negotiated astlpc protocol version, 0 while down.')(version);
    const m = num((s.mtu as Record<string, unknown> | undefined)?.current);
    if (m !== undefined) x.family('bmcemu_astlpc_mtu_bytes', 'gauge', 'astlpc MTU in bytes, MCTP header included.')(m);
    const counters = s.counters && typeof s.counters === 'object' ? (s.counters as Record<string, unknown>) : {};
    const ev = x.family('bmcemu_astlpc_events_total', 'counter', 'astlpc binding events by name (init, drops by reason, commands).');
    for (const [name, v] of Object.entries(counters).sort(([a], [b]) => a.localeCompare(b))) {
      const n = num(v);
      if (n !== undefined) ev(n, { event: name });
    }
  }

  // ---- host ------------------------------------------------------------------
  if (ctx.power) {
    const state = ctx.power.state;
    const f = x.family('bmcemu_host_power_state', 'gauge', 'Host power state (1 for the current state, 0 for the others).');
    const states = KNOWN_POWER_STATES.includes(state) ? KNOWN_POWER_STATES : [...KNOWN_POWER_STATES, state];
    for (const s of states) f(s === state ? 1 : 0, { state: s });
  }
  if (ctx.console) {
    const b = ctx.console.stats?.() ?? src.consoleBytes;
    const f = x.family('bmcemu_console_bytes_total', 'counter', 'Console bytes, by direction.');
    f(b.fromHostBytes, { direction: 'from-host' });
    f(b.toHostBytes, { direction: 'to-host' });
  }

  // ---- the API itself ------------------------------------------------------------
  if (src.streams) {
    const st = src.streams;
    x.family('bmcemu_api_connections_refused_total', 'counter', 'Connections closed on accept because the API had its maximum open.')(st.connections.refused);
    const open = x.family('bmcemu_api_streams', 'gauge', 'Streams open now, by kind (sse, console).');
    const drops = x.family('bmcemu_api_stream_drops_total', 'counter', 'Streams refused (over-cap) or dropped for not reading (slow-client), by kind.');
    for (const kind of STREAM_KINDS) {
      open(st.streams[kind].open, { kind });
      for (const reason of STREAM_DROP_REASONS) drops(st.streams[kind].drops[reason], { kind, reason });
    }
  }

  // ---- IPMI ------------------------------------------------------------------
  if (ctx.ipmi) renderIpmi(x, ctx.ipmi);
  return x.toString();
}

const hexLabel = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;

/** The router's counters per (bus, netfn, cmd, cc) and per bus, and the SEL's fill. */
function renderIpmi(x: Exposition, ipmi: IpmiPart): void {
  const req = x.family('ipmi_requests_total', 'counter', 'IPMI requests answered, by bus, netfn, command and completion code (command: the registered name, "" when none).');
  for (const c of ipmi.router.counters()) {
    req(c.count, { bus: c.bus, netfn: hexLabel(c.netfn), cmd: hexLabel(c.cmd), cc: hexLabel(c.cc), command: c.name });
  }
  const perBus: Array<[string, 'counter' | 'gauge', string, (b: ReturnType<IpmiPart['router']['busStats']>[number]) => number]> = [
    ['ipmi_bus_requests_total', 'counter', 'IPMI requests that reached the router, by bus.', (b) => b.requests],
    ['ipmi_bus_in_flight', 'gauge', 'IPMI requests being handled now, by bus.', (b) => b.inFlight],
    ['ipmi_bus_busy_total', 'counter', 'Requests answered C0 (node busy: over the bus in-flight limit).', (b) => b.busy],
    ['ipmi_bus_timeouts_total', 'counter', 'Requests answered C3 because the handler did not answer in time.', (b) => b.timeouts],
    ['ipmi_bus_handler_errors_total', 'counter', 'Requests answered FF because the handler failed.', (b) => b.handlerErrors],
    ['ipmi_bus_late_completions_total', 'counter', 'Handlers that finished after their requester had been answered C3.', (b) => b.lateCompletions],
    ['ipmi_bus_oversize_responses_total', 'counter', 'Responses replaced by CA because they did not fit the bus.', (b) => b.oversizeResponses],
  ];
  const buses = ipmi.router.busStats();
  for (const [name, type, help, value] of perBus) {
    const f = x.family(name, type, help);
    for (const b of buses) f(value(b), { bus: b.bus });
  }
  const sel = ipmi.storage.sel;
  const info = sel.info();
  x.family('ipmi_sel_entries', 'gauge', 'Records in the System Event Log.')(info.entries);
  x.family('ipmi_sel_capacity_entries', 'gauge', 'Records the System Event Log can hold.')(sel.capacity);
  x.family('ipmi_sel_overflow', 'gauge', 'The SEL refused a record since it was last cleared (1) or not (0).')(info.overflow ? 1 : 0);
}

/** /metrics: the exposition format, and golden snippets from real traffic over the pair. */
import t from 'tap';
import { escapeLabelValue, escapeHelp, Exposition } from '../../../../firmware/services/api/metrics.js';
import { fixture, serve, settle } from './helpers.js';

t.test('escaping and family layout', async (t) => {
  t.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  t.equal(escapeHelp('a\\b\nc "q"'), 'a\\\\b\\nc "q"');
  const x = new Exposition();
  const f = x.family('x_total', 'counter', 'X.\nSecond line.');
  f(1, { link: 'we"ird\\name\n' });
  f(Infinity);
  f(NaN);
  t.equal(
    x.toString(),
    '# HELP x_total X.\\nSecond line.\n# TYPE x_total counter\nx_total{link="we\\"ird\\\\name\\n"} 1\nx_total +Inf\nx_total NaN\n',
  );
});

t.test('metrics after real traffic', async (t) => {
  const f = fixture();
  const T0 = Date.parse('2026-01-01T00:00:00Z');
  f.ctx.startedAt = T0;
  const s = await serve(t, f, { now: () => T0 + 90_500 });

  // Two echoes (request out, response in, each one packet), then a packet with a bad version byte.
  for (let i = 0; i < 2; i++) {
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/mctp/echo', payload: { eid: 9, len: 4 } });
    t.equal(r.statusCode, 200);
  }
  f.host.interface('mctp0').binding.transmit(Buffer.from([0x02, 8, 9, 0xc8, 0x7e]));
  await settle();
  f.power.set('on');
  f.console.emit('hello\n');
  f.astlpc.up();

  const r = await s.app.inject({ url: '/metrics' });
  t.equal(r.statusCode, 200);
  t.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const text = r.body;

  // Every sample line is well-formed, and every family has HELP then TYPE before its samples.
  const seen = new Set<string>();
  let help = '';
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ')) help = line.split(' ')[2]!;
    else if (line.startsWith('# TYPE ')) {
      const name = line.split(' ')[2]!;
      t.equal(name, help, `TYPE ${name} follows its HELP`);
      t.notOk(seen.has(name), `${name} declared once`);
      seen.add(name);
    } else t.match(line, /^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/, line);
  }

  const golden = `# HELP mctp_rx_packets_total Packets received on the interface.
# TYPE mctp_rx_packets_total counter
mctp_rx_packets_total{link="mctp0"} 3
# HELP mctp_rx_bytes_total Bytes received on the interface, MCTP header included.
# TYPE mctp_rx_bytes_total counter
mctp_rx_bytes_total{link="mctp0"} 29
# HELP mctp_tx_packets_total Packets transmitted on the interface.
# TYPE mctp_tx_packets_total counter
mctp_tx_packets_total{link="mctp0"} 2
# HELP mctp_tx_bytes_total Bytes transmitted on the interface, MCTP header included.
# TYPE mctp_tx_bytes_total counter
mctp_tx_bytes_total{link="mctp0"} 24
# HELP mctp_rx_drops_total Received packets dropped, by reason.
# TYPE mctp_rx_drops_total counter
mctp_rx_drops_total{link="mctp0",reason="if-down"} 0
mctp_rx_drops_total{link="mctp0",reason="short"} 0
mctp_rx_drops_total{link="mctp0",reason="bad-version"} 1
mctp_rx_drops_total{link="mctp0",reason="bad-src"} 0
`;
  t.ok(text.includes(golden), 'link counters and drops by reason');
  t.ok(text.includes('mctp_rx_drops_total{link="mctp0",reason="reasm-timeout"} 0\n'));
  t.ok(text.includes('mctp_tx_drops_total{link="mctp0",reason="carrier-lost"} 0\n'));

  const golden2 = `# HELP mctp_reassembly_timeouts_total Messages whose reassembly did not complete within the key lifetime.
# TYPE mctp_reassembly_timeouts_total counter
mctp_reassembly_timeouts_total 0
# HELP mctp_tag_exhausted_total Requests refused because no tag was free for the peer (EBUSY).
# TYPE mctp_tag_exhausted_total counter
mctp_tag_exhausted_total 0
# HELP mctp_forwarded_total Packets forwarded to another interface (bridging).
# TYPE mctp_forwarded_total counter
mctp_forwarded_total 0
`;
  t.ok(text.includes(golden2), 'stack counters');

  for (const line of [
    'bmcemu_info{version="0.1.0-test"} 1',
    'bmcemu_uptime_seconds 90.5',
    'mctp_link_up{link="mctp0"} 1',
    'mctp_link_carrier{link="mctp0"} 1',
    'mctp_link_mtu_bytes{link="mctp0"} 68',
    'mctp_routes 2',
    'mctp_endpoints 0',
    'bmcemu_astlpc_state{state="active"} 1',
    'bmcemu_astlpc_carrier 1',
    'bmcemu_astlpc_version 3',
    'bmcemu_astlpc_mtu_bytes 4100',
    'bmcemu_astlpc_events_total{event="rx-drop:crc"} 2',
    'bmcemu_host_power_state{state="off"} 0',
    'bmcemu_host_power_state{state="on"} 1',
    'bmcemu_console_bytes_total{direction="from-host"} 6',
    'bmcemu_console_bytes_total{direction="to-host"} 0',
  ]) {
    t.ok(text.includes(`\n${line}\n`), line);
  }
});

t.test('families of parts that are not wired in are absent, not zero', async (t) => {
  const f = fixture({ parts: false });
  const s = await serve(t, f);
  const text = (await s.app.inject({ url: '/metrics' })).body;
  for (const name of ['bmcemu_astlpc_state', 'bmcemu_host_power_state', 'bmcemu_console_bytes_total', 'mctp_endpoints']) {
    t.notOk(text.includes(name), name);
  }
  t.ok(text.includes('mctp_rx_packets_total{link="mctp0"}'));
});

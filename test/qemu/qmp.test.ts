/**
 * The QMP client against a scripted fake server: negotiation, id matching,
 * events, errors, and a hostile peer (malformed JSON, unknown ids, wrong
 * shapes, over-long lines, silence, sudden exit).
 */
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { isQemuError, type QemuError } from '../../qemu/errors.js';
import { QmpClient, type QmpEvent } from '../../qemu/qmp.js';
import { shortTempDir, until } from './helpers/util.js';

const GREETING = '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7"}, "capabilities": ["oob"]}}\r\n';

interface Fake {
  path: string;
  /** Lines the client sent, parsed. */
  received: Array<Record<string, unknown>>;
  sock(): net.Socket;
  send(text: string): void;
  connections: number;
}

/**
 * A fake QMP server. `onCommand` answers each command (return a string to
 * send, or undefined to stay silent); by default everything returns {}.
 */
async function fakeServer(
  t: Test,
  opts: { greeting?: string | null; onCommand?: (msg: Record<string, unknown>, f: Fake) => string | undefined } = {},
): Promise<Fake> {
  const dir = shortTempDir(t);
  const p = path.join(dir, 'qmp.sock');
  let current: net.Socket | undefined;
  const fake: Fake = {
    path: p,
    received: [],
    sock: () => current!,
    send: (text) => current!.write(text),
    connections: 0,
  };
  const server = net.createServer((s) => {
    fake.connections++;
    current = s;
    s.on('error', () => {});
    if (opts.greeting !== null) s.write(opts.greeting ?? GREETING);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        fake.received.push(msg);
        const out = opts.onCommand ? opts.onCommand(msg, fake) : `{"return": {}, "id": ${JSON.stringify(msg.id)}}\r\n`;
        if (out !== undefined) s.write(out);
      }
    });
  });
  await new Promise<void>((r) => server.listen(p, r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        current?.destroy();
        server.close(() => r());
      }),
  );
  return fake;
}

const ret = (id: unknown, value: unknown = {}): string => `${JSON.stringify({ return: value, id })}\r\n`;

t.test('greeting, capabilities negotiation, then commands', async (t) => {
  const fake = await fakeServer(t, {
    onCommand: (m) => (m.execute === 'query-status' ? ret(m.id, { status: 'running', running: true }) : ret(m.id)),
  });
  const qmp = await QmpClient.connect(fake.path);
  t.teardown(() => qmp.close());
  t.same(qmp.greeting, { version: { major: 7, minor: 2, micro: 22, package: 'Debian 1:7.2+dfsg-7' }, capabilities: ['oob'] });
  t.match(fake.received[0], { execute: 'qmp_capabilities' }, 'negotiates first');
  t.notOk('arguments' in fake.received[0]!, 'no arguments when none are given');
  t.same(await qmp.execute('query-status'), { status: 'running', running: true });
  await qmp.execute('device_del', { id: 'x' });
  t.same(fake.received[2], { execute: 'device_del', id: 3, arguments: { id: 'x' } });
  t.match(qmp.stats(), { commands: 3, protocolErrors: 0 });
});

t.test('replies are matched by id, not by order; events are emitted in between', async (t) => {
  const held: Array<Record<string, unknown>> = [];
  const fake = await fakeServer(t, {
    onCommand: (m) => {
      if (m.execute === 'qmp_capabilities') return ret(m.id);
      held.push(m);
      return undefined;
    },
  });
  const qmp = await QmpClient.connect(fake.path);
  t.teardown(() => qmp.close());
  const events: QmpEvent[] = [];
  qmp.on('event', (e: QmpEvent) => events.push(e));
  const a = qmp.execute('a');
  const b = qmp.execute('b');
  await until(() => held.length === 2, 'both commands at the server');
  // Answer b first, with an event and both replies in one write, split oddly.
  const text =
    ret(held[1]!.id, 'B') +
    '{"event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}, "timestamp": {"seconds": 1700000000, "microseconds": 250000}}\r\n' +
    ret(held[0]!.id, 'A');
  fake.send(text.slice(0, 7));
  await new Promise((r) => setTimeout(r, 5));
  fake.send(text.slice(7));
  t.equal(await a, 'A');
  t.equal(await b, 'B');
  t.same(events, [{ event: 'RESET', data: { guest: false, reason: 'host-qmp-system-reset' }, timestamp: 1700000000.25 }]);
});

t.test('an error reply rejects with ERR_QMP_COMMAND carrying class and desc', async (t) => {
  const fake = await fakeServer(t, {
    onCommand: (m) =>
      m.execute === 'qmp_capabilities'
        ? ret(m.id)
        : `${JSON.stringify({ error: { class: 'CommandNotFound', desc: 'The command nope has not been found' }, id: m.id })}\r\n`,
  });
  const qmp = await QmpClient.connect(fake.path);
  t.teardown(() => qmp.close());
  const err = await qmp.execute('nope').catch((e: unknown) => e);
  t.ok(isQemuError(err, 'ERR_QMP_COMMAND'));
  t.match(err, {
    message: 'QMP nope: CommandNotFound: The command nope has not been found',
    details: { command: 'nope', errorClass: 'CommandNotFound', desc: 'The command nope has not been found' },
  });
  t.equal(qmp.closed, false, 'a command error does not close the connection');
});

t.test('hostile peer: malformed JSON, wrong shapes and unknown ids are reported, not fatal', async (t) => {
  const fake = await fakeServer(t, {
    onCommand: (m) => {
      if (m.execute === 'qmp_capabilities') return ret(m.id);
      return (
        '{"return": \r\n' + // truncated JSON
        '[1,2,3]\r\n' + // not an object
        '"just a string"\r\n' +
        'null\r\n' +
        `${ret(9999)}` + // nobody asked
        '{"return": {}, "id": "not-a-number"}\r\n' +
        '{"something": "else"}\r\n' +
        `${GREETING}` + // a second greeting
        '{"event": 42}\r\n' + // event name not a string: unrecognised
        '{"event": "X", "data": [1], "timestamp": "later"}\r\n' + // odd data/timestamp: tolerated
        '\r\n\r\n' + // blank lines: ignored
        ret(m.id, 'fine')
      );
    },
  });
  const qmp = await QmpClient.connect(fake.path);
  t.teardown(() => qmp.close());
  const problems: QemuError[] = [];
  const events: QmpEvent[] = [];
  qmp.on('protocol-error', (e: QemuError) => problems.push(e));
  qmp.on('event', (e: QmpEvent) => events.push(e));
  t.equal(await qmp.execute('x'), 'fine', 'the real reply still arrives');
  t.equal(problems.length, 9, 'each bad line reported');
  t.ok(problems.every((p) => isQemuError(p, 'ERR_QMP_PROTOCOL')));
  t.match(problems[0]!.message, /malformed JSON/);
  t.same(events, [{ event: 'X', data: {}, timestamp: 0 }]);
  t.equal(qmp.stats().protocolErrors, 9);
  t.equal(await qmp.execute('y'), 'fine', 'still usable');
});

t.test('an over-long line closes the connection; pending commands fail as closed', async (t) => {
  const fake = await fakeServer(t, {
    onCommand: (m) => (m.execute === 'qmp_capabilities' ? ret(m.id) : `{"return": "${'x'.repeat(5000)}`),
  });
  const qmp = await QmpClient.connect(fake.path, { maxLineBytes: 1024 });
  const closed = new Promise<unknown>((r) => qmp.once('close', r));
  const err = await qmp.execute('big').catch((e: unknown) => e);
  t.ok(isQemuError(err, 'ERR_QMP_CLOSED'), 'rejected as closed');
  t.match(err, { message: /^QMP big: QMP peer sent an over-long line/ });
  t.ok(isQemuError(await closed, 'ERR_QMP_PROTOCOL'), 'close reason is the protocol error');
  t.equal(qmp.closed, true);
  await t.rejects(qmp.execute('after'), { code: 'ERR_QMP_CLOSED' }, 'no commands after close');
});

t.test('a QEMU that stops reading: commands queue up to the bound, then the connection closes (counted)', async (t) => {
  const fake = await fakeServer(t, {
    onCommand: (m, f) => {
      // Answer the negotiation, then never read again.
      f.sock().pause();
      return ret(m.id);
    },
  });
  const bound = 64 * 1024;
  const qmp = await QmpClient.connect(fake.path, { maxQueuedBytes: bound, commandTimeoutMs: 0 });
  const closed = new Promise<unknown>((r) => qmp.once('close', r));
  const arg = { blob: 'z'.repeat(16 * 1024) };
  const pending: Array<Promise<unknown>> = [];
  // The kernel's socket buffers take the first few hundred KiB; then commands queue in the client.
  for (let i = 0; i < 4096 && !qmp.closed; i++) pending.push(qmp.execute('human-monitor-command', arg).catch((e: unknown) => e));
  t.ok(qmp.closed, `closed after ${pending.length} commands`);
  const why = await closed;
  t.ok(isQemuError(why, 'ERR_QMP_CLOSED'));
  t.match(why, { message: /QEMU is not reading QMP commands \(\d+ bytes unsent, limit 65536\)/ });
  const results = await Promise.all(pending);
  t.ok(results.every((e) => isQemuError(e, 'ERR_QMP_CLOSED')), 'every pending command failed as closed');
  t.match(results.at(-1), { message: /^QMP human-monitor-command: QEMU is not reading/ });
  t.equal(qmp.stats().overflowDisconnects, 1);
  await t.rejects(QmpClient.connect(fake.path, { maxQueuedBytes: 0 }), { code: 'ERR_BAD_CONFIG' });
});

t.test('QEMU exiting mid-command: pending commands reject, close is emitted once, nothing throws', async (t) => {
  const fake = await fakeServer(t, { onCommand: (m) => (m.execute === 'qmp_capabilities' ? ret(m.id) : undefined) });
  const qmp = await QmpClient.connect(fake.path);
  let closes = 0;
  qmp.on('close', () => closes++);
  const p1 = qmp.execute('quit');
  const p2 = qmp.execute('query-status');
  await until(() => fake.received.length === 3, 'commands at the server');
  fake.sock().destroy();
  await t.rejects(p1, { code: 'ERR_QMP_CLOSED', message: /^QMP quit: QMP connection closed by QEMU/ });
  await t.rejects(p2, { code: 'ERR_QMP_CLOSED' });
  qmp.close();
  t.equal(closes, 1);
});

t.test('no greeting (another client holds the socket) times out on the injected clock', async (t) => {
  const fake = await fakeServer(t, { greeting: null });
  const clock = new ManualClock();
  const p = QmpClient.connect(fake.path, { clock, timeoutMs: 3000 });
  await until(() => fake.connections === 1, 'connection');
  clock.advance(2999);
  await new Promise((r) => setTimeout(r, 5));
  clock.advance(1);
  const err = await p.catch((e: unknown) => e);
  t.ok(isQemuError(err, 'ERR_QMP_TIMEOUT'));
  t.match(err, { message: /no QMP greeting.*another client/ });
  t.equal(clock.pending, 0, 'no timer left');
});

t.test('a bad greeting is refused', async (t) => {
  for (const greeting of ['hello\r\n', '{"return": {}}\r\n', '{"QMP": {"version": {}}}\r\n']) {
    const fake = await fakeServer(t, { greeting });
    await t.rejects(QmpClient.connect(fake.path, { timeoutMs: 2000 }), { code: 'ERR_QMP_PROTOCOL' }, JSON.stringify(greeting));
  }
});

t.test('command timeout on the injected clock; a late reply is dropped as an unknown id', async (t) => {
  let held: Record<string, unknown> | undefined;
  const fake = await fakeServer(t, {
    onCommand: (m) => {
      if (m.execute === 'qmp_capabilities') return ret(m.id);
      held = m;
      return undefined;
    },
  });
  const clock = new ManualClock();
  const qmp = await QmpClient.connect(fake.path, { clock, commandTimeoutMs: 1000 });
  t.teardown(() => qmp.close());
  const problems: Error[] = [];
  qmp.on('protocol-error', (e: Error) => problems.push(e));
  const p = qmp.execute('slow');
  await until(() => held !== undefined, 'command at the server');
  clock.advance(1000);
  await t.rejects(p, { code: 'ERR_QMP_TIMEOUT', message: 'QMP slow: no reply within 1000 ms' });
  fake.send(ret(held!.id, 'late'));
  await until(() => problems.length === 1, 'late reply reported');
  t.match(problems[0]!.message, /unknown id/);
});

t.test('connecting to a missing socket fails with the socket error', async (t) => {
  const dir = shortTempDir(t);
  await t.rejects(QmpClient.connect(path.join(dir, 'nope.sock')), { code: 'ENOENT' });
});

t.test('bytes behind the greeting in the same write are not lost', async (t) => {
  const event = '{"event": "RESUME", "data": {}, "timestamp": {"seconds": 1, "microseconds": 0}}\r\n';
  const fake = await fakeServer(t, { greeting: GREETING + event });
  const events: QmpEvent[] = [];
  const qmp = await QmpClient.connect(fake.path);
  t.teardown(() => qmp.close());
  qmp.on('event', (e: QmpEvent) => events.push(e));
  // The event was parsed while connect() ran, before this listener: it counts in the stats.
  t.match(qmp.stats(), { events: 1, protocolErrors: 0 });
  t.same(await qmp.execute('x'), {}, 'the connection works after it');
});

t.test('a peer that hangs up before the greeting, or sends an endless one, is refused', async (t) => {
  const hangUp = await fakeServer(t, { greeting: null });
  const p = QmpClient.connect(hangUp.path, { timeoutMs: 2000 });
  await until(() => hangUp.connections === 1, 'connection');
  hangUp.sock().destroy();
  await t.rejects(p, { code: 'ERR_QMP_CLOSED', message: /closed before the greeting/ });
  const endless = await fakeServer(t, { greeting: 'x'.repeat(3000) });
  await t.rejects(QmpClient.connect(endless.path, { maxLineBytes: 1024, timeoutMs: 2000 }), {
    code: 'ERR_QMP_PROTOCOL',
    message: /greeting too long/,
  });
});

t.test('impossible options are a ConfigError', async (t) => {
  await t.rejects(QmpClient.connect('/nonexistent', { timeoutMs: -1 }), { code: 'ERR_BAD_CONFIG', name: 'ConfigError' });
  await t.rejects(QmpClient.connect('/nonexistent', { commandTimeoutMs: Number.NaN }), { code: 'ERR_BAD_CONFIG' });
  await t.rejects(QmpClient.connect('/nonexistent', { maxLineBytes: 0 }), { code: 'ERR_BAD_CONFIG' });
});

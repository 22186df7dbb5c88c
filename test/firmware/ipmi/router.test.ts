import t from 'tap';
import { ManualClock } from '../../../lib/clock.js';
import { isCodedError, ConfigError } from '../../../lib/errors.js';
import { NETFN, PRIVILEGE, ok, type IpmiCommand, type IpmiResponse } from '../../../firmware/ipmi/message.js';
import { IpmiRouter, IpmiRouterError, formatLogEntry } from '../../../firmware/ipmi/router.js';
import { req } from './helpers.js';

function command(over: Partial<IpmiCommand> & Pick<IpmiCommand, 'netfn' | 'cmd'>): IpmiCommand {
  return { name: `cmd ${over.cmd}`, owner: 'test', privilege: PRIVILEGE.USER, handler: () => ok([0x01]), ...over };
}

const bytes = (r: IpmiResponse): number[] => [r.cc, ...r.data];

t.test('dispatch finds the handler; unknown commands and response netfns get C1', async (t) => {
  const r = new IpmiRouter({ clock: new ManualClock() });
  r.register(command({ netfn: NETFN.APP, cmd: 0x01, handler: (q) => ok([q.data.length]) }));
  t.same(bytes(await r.dispatch(req(6, 0x01, [1, 2, 3]))), [0, 3]);
  t.same(bytes(await r.dispatch(req(6, 0x02))), [0xc1]);
  t.same(bytes(await r.dispatch(req(7, 0x01))), [0xc1], 'odd netfn is a response, not a request');
  t.same(bytes(await r.dispatch(req(0x0a, 0x01))), [0xc1]);
});

t.test('registering a key twice throws, naming both registrants', async (t) => {
  const r = new IpmiRouter({ clock: new ManualClock() });
  r.register(command({ netfn: 6, cmd: 1, name: 'Get Device ID', owner: 'ipmi/app' }));
  const err = t.throws(() => r.register(command({ netfn: 6, cmd: 1, name: 'My Device ID', owner: 'plugin/x' }))) as unknown;
  t.ok(isCodedError(err, 'ERR_IPMI_DUPLICATE_COMMAND', IpmiRouterError));
  const msg = (err as Error).message;
  t.match(msg, /ipmi\/app/);
  t.match(msg, /plugin\/x/);
  t.match(msg, /Get Device ID/);
  t.match(msg, /My Device ID/);
  // The first registration still answers.
  t.same(bytes(await r.dispatch(req(6, 1))), [0, 1]);
});

t.test('bad command definitions are refused at registration', async (t) => {
  const r = new IpmiRouter({ clock: new ManualClock() });
  t.throws(() => r.register(command({ netfn: 7, cmd: 1 })), ConfigError, 'odd netfn');
  t.throws(() => r.register(command({ netfn: 0x40, cmd: 1 })), ConfigError);
  t.throws(() => r.register(command({ netfn: 6, cmd: 0x100 })), ConfigError);
  t.throws(() => r.register(command({ netfn: NETFN.GROUP_EXTENSION, cmd: 1 })), ConfigError, '2C needs a body');
  t.throws(() => r.register(command({ netfn: 6, cmd: 1, groupBody: 0 })), ConfigError, 'body outside 2C');
  t.throws(() => r.register(command({ netfn: NETFN.OEM_GROUP, cmd: 1 })), ConfigError, '2E needs IANA');
  t.throws(() => r.register(command({ netfn: 6, cmd: 1, iana: 1 })), ConfigError, 'IANA outside OEM netfns');
  t.throws(() => r.register(command({ netfn: 0x2e, cmd: 1, iana: 0x1000000 })), ConfigError);
  t.throws(() => r.register(command({ netfn: 6, cmd: 1, minLength: 3, maxLength: 2 })), ConfigError);
  t.same(r.registered(), [], 'nothing half-registered');
});

t.test('group extension (netfn 2C) is keyed by the defining body', async (t) => {
  const r = new IpmiRouter({ clock: new ManualClock() });
  r.register([
    command({ netfn: 0x2c, cmd: 0x01, groupBody: 0x00, name: 'PICMG Get Address Info', handler: () => ok([0x00, 0xaa]) }),
    command({ netfn: 0x2c, cmd: 0x01, groupBody: 0xdc, name: 'DMTF thing', owner: 'dmtf', handler: () => ok([0xdc, 0xbb]) }),
  ]);
  t.same(bytes(await r.dispatch(req(0x2c, 0x01, [0x00]))), [0, 0x00, 0xaa]);
  t.same(bytes(await r.dispatch(req(0x2c, 0x01, [0xdc, 9]))), [0, 0xdc, 0xbb]);
  t.same(bytes(await r.dispatch(req(0x2c, 0x01, [0x03]))), [0xc1, 0x03], 'unknown body: C1, body echoed');
  t.same(bytes(await r.dispatch(req(0x2c, 0x01, []))), [0xc7], 'no body byte: C7');
  t.throws(() => r.register(command({ netfn: 0x2c, cmd: 0x01, groupBody: 0xdc, owner: 'other' })), IpmiRouterError);
});

t.test('OEM/group netfn 2E is keyed by IANA (3 bytes, LS first)', async (t) => {
  const r = new IpmiRouter({ clock: new ManualClock() });
  r.register([
    command({ netfn: 0x2e, cmd: 0x10, iana: 0x00c2cf, handler: () => ok([0xcf, 0xc2, 0x00, 1]) }),
    command({ netfn: 0x2e, cmd: 0x10, iana: 0x000157, handler: () => ok([0x57, 0x01, 0x00, 2]) }),
  ]);
  t.same(bytes(await r.dispatch(req(0x2e, 0x10, [0xcf, 0xc2, 0x00]))), [0, 0xcf, 0xc2, 0x00, 1]);
  t.same(bytes(await r.dispatch(req(0x2e, 0x10, [0x57, 0x01, 0x00, 0xff]))), [0, 0x57, 0x01, 0x00, 2]);
  t.same(bytes(await r.dispatch(req(0x2e, 0x10, [0x01, 0x02, 0x03]))), [0xc1, 0x01, 0x02, 0x03], 'unknown IANA echoed');
  t.same(bytes(await r.dispatch(req(0x2e, 0x10, [0xcf, 0xc2]))), [0xc7], 'short IANA: C7');
});

t.test('netfns 30–3E: plain and IANA-keyed commands, never both for one netfn/cmd', async (t) => {
  const r = new IpmiRouter({ clock: new ManualClock() });
  r.register(command({ netfn: 0x3a, cmd: 0x5a, name: 'HIOMAP', owner: 'hiomap', handler: () => ok([9, 1]) }));
  r.register(command({ netfn: 0x30, cmd: 0x01, iana: 7154, name: 'OEM A', owner: 'oem-a', handler: () => ok([0xa]) }));
  t.same(bytes(await r.dispatch(req(0x3a, 0x5a, [9, 1, 3]))), [0, 9, 1]);
  t.same(bytes(await r.dispatch(req(0x3a, 0x5a, []))), [0, 9, 1], 'plain OEM commands need no IANA bytes');
  t.same(bytes(await r.dispatch(req(0x30, 0x01, [0xf2, 0x1b, 0x00]))), [0, 0xa]);
  t.same(bytes(await r.dispatch(req(0x30, 0x01, [0xf2]))), [0xc7]);
  const e1 = t.throws(() => r.register(command({ netfn: 0x3a, cmd: 0x5a, iana: 1, name: 'Shadow', owner: 'oem-b' }))) as Error;
  t.match(e1.message, /hiomap/);
  t.match(e1.message, /oem-b/);
  t.throws(() => r.register(command({ netfn: 0x30, cmd: 0x01, name: 'Plain', owner: 'oem-c' })), IpmiRouterError);
  t.throws(() => r.register(command({ netfn: 0x30, cmd: 0x01, iana: 7154, owner: 'oem-d' })), IpmiRouterError);
  r.register(command({ netfn: 0x30, cmd: 0x01, iana: 7155, owner: 'oem-e' }));
});

t.test('privilege below the command\'s gets D4; length outside bounds gets C7', async (t) => {
  const r = new IpmiRouter({ clock: new ManualClock() });
  let ran = 0;
  r.register(
    command({
      netfn: 0,
      cmd: 2,
      privilege: PRIVILEGE.OPERATOR,
      minLength: 1,
      maxLength: 2,
      handler: () => {
        ran++;
        return ok();
      },
    }),
  );
  t.same(bytes(await r.dispatch(req(0, 2, [0], { privilege: PRIVILEGE.USER }))), [0xd4]);
  t.same(bytes(await r.dispatch(req(0, 2, [0], { privilege: PRIVILEGE.OPERATOR }))), [0]);
  t.same(bytes(await r.dispatch(req(0, 2, []))), [0xc7]);
  t.same(bytes(await r.dispatch(req(0, 2, [1, 2, 3]))), [0xc7]);
  t.same(bytes(await r.dispatch(req(0, 2, [1, 2]))), [0]);
  t.equal(ran, 2, 'the handler only ran for admissible requests');
});

t.test('per-bus in-flight limit answers C0; other buses are not affected', async (t) => {
  const clock = new ManualClock();
  const r = new IpmiRouter({ clock, defaultBus: { maxInFlight: 2 } });
  const pending: Array<(v: IpmiResponse) => void> = [];
  r.register(command({ netfn: 6, cmd: 0x40, handler: () => new Promise<IpmiResponse>((res) => pending.push(res)) }));
  const a = r.dispatch(req(6, 0x40));
  const b = r.dispatch(req(6, 0x40));
  t.same(bytes(await r.dispatch(req(6, 0x40))), [0xc0], 'third on the same bus: busy');
  const other = r.dispatch(req(6, 0x40, [], { bus: 'lan' }));
  t.equal(pending.length, 3, 'the lan request ran');
  pending.forEach((p) => p(ok([7])));
  t.same(bytes(await a), [0, 7]);
  t.same(bytes(await b), [0, 7]);
  t.same(bytes(await other), [0, 7]);
  const again = r.dispatch(req(6, 0x40));
  t.equal(pending.length, 4, 'slots are free again once answered');
  pending[3]!(ok([8]));
  t.same(bytes(await again), [0, 8]);
  const sys = r.busStats().find((s) => s.bus === 'system')!;
  t.equal(sys.busy, 1);
  r.configureBus('system', { maxInFlight: 1 });
  t.equal(r.busStats().find((s) => s.bus === 'system')!.maxInFlight, 1);
});

t.test('a handler that never answers gets C3 after the timeout on the clock; the slot is freed', async (t) => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const r = new IpmiRouter({ clock, defaultBus: { maxInFlight: 1 }, log: (l) => lines.push(l) });
  let release: ((v: IpmiResponse) => void) | undefined;
  r.register(command({ netfn: 6, cmd: 0x50, name: 'Hang', handler: () => new Promise<IpmiResponse>((res) => (release = res)) }));
  r.register(command({ netfn: 6, cmd: 0x51, name: 'Quick' }));
  const p = r.dispatch(req(6, 0x50));
  let done = false;
  void p.then(() => (done = true));
  clock.advance(2999);
  await new Promise((res) => setImmediate(res));
  t.notOk(done, 'not before 3 s');
  clock.advance(1);
  t.same(bytes(await p), [0xc3]);
  t.same(bytes(await r.dispatch(req(6, 0x51))), [0, 1], 'the bus is usable again');
  release!(ok([5]));
  await new Promise((res) => setImmediate(res));
  const s = r.busStats()[0]!;
  t.equal(s.timeouts, 1);
  t.equal(s.lateCompletions, 1);
  t.equal(s.inFlight, 0);
  t.equal(clock.pending, 0, 'no timer left behind');
  t.ok(lines.some((l) => /Hang.*3000 ms.*C3/.test(l)));
  const custom = new IpmiRouter({ clock, handlerTimeoutMs: 500 });
  custom.register(command({ netfn: 6, cmd: 0x50, handler: () => new Promise<IpmiResponse>(() => {}) }));
  const q = custom.dispatch(req(6, 0x50));
  clock.advance(500);
  t.same(bytes(await q), [0xc3]);
  t.throws(() => new IpmiRouter({ handlerTimeoutMs: 0 }), ConfigError);
});

t.test('a handler that throws, rejects or returns garbage gets FF, counted and logged', async (t) => {
  const lines: string[] = [];
  const r = new IpmiRouter({ clock: new ManualClock(), log: (l) => lines.push(l) });
  r.register([
    command({ netfn: 6, cmd: 0x60, name: 'Throws', handler: () => { throw new Error('boom'); } }),
    command({ netfn: 6, cmd: 0x61, name: 'Rejects', handler: () => Promise.reject(new Error('async boom')) }),
    command({ netfn: 6, cmd: 0x62, name: 'Garbage', handler: () => ({ cc: 300, data: Buffer.alloc(0) }) }),
    command({ netfn: 6, cmd: 0x63, name: 'Nothing', handler: () => undefined as unknown as IpmiResponse }),
  ]);
  for (const cmd of [0x60, 0x61, 0x62, 0x63]) t.same(bytes(await r.dispatch(req(6, cmd))), [0xff]);
  t.equal(r.busStats()[0]!.handlerErrors, 4);
  t.ok(lines.some((l) => /Throws.*boom.*FF/.test(l)));
  t.ok(lines.some((l) => /Rejects.*async boom/.test(l)));
});

t.test('a response longer than the bus carries becomes CA', async (t) => {
  const r = new IpmiRouter({ clock: new ManualClock() });
  r.configureBus('system', { maxResponseData: 4 });
  r.register(command({ netfn: 6, cmd: 0x70, handler: (q) => ok(Buffer.alloc(q.data[0]!)) }));
  t.same(bytes(await r.dispatch(req(6, 0x70, [4]))), [0, 0, 0, 0, 0]);
  t.same(bytes(await r.dispatch(req(6, 0x70, [5]))), [0xca]);
  t.same(bytes(await r.dispatch(req(6, 0x70, [5], { bus: 'lan' }))).length, 6, 'no limit on an unconfigured bus');
  t.equal(r.busStats().find((b) => b.bus === 'system')!.oversizeResponses, 1);
});

t.test('every message is logged per bus (bounded ring) and counted per netfn/cmd/cc', async (t) => {
  const clock = new ManualClock(1000);
  const r = new IpmiRouter({ clock, defaultBus: { logSize: 3 } });
  r.register(command({ netfn: 6, cmd: 1, name: 'Get Device ID' }));
  for (let i = 0; i < 5; i++) await r.dispatch(req(6, 1, [], { requester: `q${i}` }));
  await r.dispatch(req(6, 9));
  await r.dispatch(req(6, 1, [], { bus: 'lan' }));
  const log = r.logOf('system');
  t.equal(log.length, 3);
  t.same(log.map((e) => e.requester), ['q3', 'q4', undefined], 'oldest first, oldest dropped');
  t.same(log[2], { seq: 6, bus: 'system', requester: undefined, netfn: 6, cmd: 9, name: undefined, cc: 0xc1, startedAt: 1000, durationMs: 0 });
  t.same(r.logOf('lan').map((e) => e.seq), [7], 'one sequence across buses');
  t.equal(r.lastSeq, 7);
  t.same(r.logOf('nope'), []);
  t.same(r.counters(), [
    { bus: 'lan', netfn: 6, cmd: 1, cc: 0, name: 'Get Device ID', count: 1 },
    { bus: 'system', netfn: 6, cmd: 1, cc: 0, name: 'Get Device ID', count: 5 },
    { bus: 'system', netfn: 6, cmd: 9, cc: 0xc1, name: '', count: 1 },
  ]);
  const all = r.logSince(0);
  t.same(all.entries.map((e) => e.seq), [4, 5, 6, 7], 'every bus, in message order');
  t.equal(all.lost, true, 'the system ring dropped 1..3');
  t.same(r.logSince(3, 'system'), { entries: log, lost: false }, 'nothing after 3 was dropped');
  t.same(r.logSince(6, 'lan').entries.map((e) => e.seq), [7]);
  t.same(r.logSince(7), { entries: [], lost: false });
  t.same(r.logSince(0, 'nope'), { entries: [], lost: false });
  t.match(formatLogEntry(log[0]!), /^system\/q3 0x06\/0x01 Get Device ID -> 0x00/);
  r.configureBus('system', { logSize: 2 });
  t.same(r.logOf('system').map((e) => e.requester), ['q4', undefined], 'shrinking keeps the newest');
  t.same([r.logSince(3, 'system').lost, r.logSince(4, 'system').lost], [true, false], 'shrinking counts as dropping');
  const stats = r.busStats().find((b) => b.bus === 'system')!;
  t.equal(stats.requests, 6);
});

t.test('onMessage sees every answered message; a throwing listener does not reach the requester', async (t) => {
  const lines: string[] = [];
  const r = new IpmiRouter({ clock: new ManualClock(), log: (l) => lines.push(l) });
  r.register(command({ netfn: 6, cmd: 1, name: 'Get Device ID' }));
  const seen: number[] = [];
  const off = r.onMessage((e) => seen.push(e.seq));
  r.onMessage(() => {
    throw new Error('boom');
  });
  t.equal((await r.dispatch(req(6, 1))).cc, 0);
  t.equal((await r.dispatch(req(6, 2))).cc, 0xc1);
  off();
  await r.dispatch(req(6, 1));
  t.same(seen, [1, 2]);
  t.match(lines, [/listener threw: boom/]);
});

t.test('registered() lists commands for people and the API', async (t) => {
  const r = new IpmiRouter({ clock: new ManualClock() });
  r.register([command({ netfn: 6, cmd: 2, name: 'B' }), command({ netfn: 0, cmd: 1, name: 'A' })]);
  t.same(r.registered().map((c) => c.name), ['A', 'B']);
});

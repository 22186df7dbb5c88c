/** Packet capture per link: start, one per link, bounds, stop, download as a valid pcap. */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fixture, serve } from './helpers.js';

const json = (body: string): any => JSON.parse(body);

/** Parse a classic pcap: header fields and each record's direction and MCTP packet. */
function parsePcap(b: Buffer) {
  t.equal(b.readUInt32LE(0), 0xa1b2c3d4, 'pcap magic');
  const linktype = b.readUInt32LE(20);
  const records: Array<{ dir: 'in' | 'out'; packet: Buffer; sec: number; usec: number }> = [];
  let off = 24;
  while (off < b.length) {
    const caplen = b.readUInt32LE(off + 8);
    const rec = b.subarray(off + 16, off + 16 + caplen);
    records.push({ dir: rec.readUInt16BE(0) === 4 ? 'out' : 'in', packet: rec.subarray(16), sec: b.readUInt32LE(off), usec: b.readUInt32LE(off + 4) });
    off += 16 + caplen;
  }
  t.equal(off, b.length, 'the file ends on a record boundary');
  return { linktype, records };
}

t.test('start, traffic, stop, download', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const capUrl = '/api/v1/mctp/links/mctp0/capture';

  let r = await s.app.inject({ url: capUrl });
  t.equal(r.statusCode, 404);
  t.equal(json(r.body).code, 'E_NO_CAPTURE');

  r = await s.app.inject({ method: 'POST', url: capUrl, payload: { action: 'start' } });
  t.equal(r.statusCode, 200);
  const started = json(r.body);
  t.match(started, { link: 'mctp0', state: 'running', full: false, packets: 0, bytes: 24, dropped: 0, maxBytes: 16 * 1024 * 1024, stoppedAt: null });
  t.equal(started.file, path.join(f.dir, 'capture-mctp0.pcap'), 'the file is in the runtime directory');

  r = await s.app.inject({ method: 'POST', url: capUrl, payload: { action: 'start' } });
  t.equal(r.statusCode, 409, 'one capture per link');
  t.equal(json(r.body).code, 'E_CAPTURE_RUNNING');

  r = await s.app.inject({ method: 'POST', url: '/api/v1/mctp/echo', payload: { eid: 9, len: 4 } });
  t.equal(r.statusCode, 200);

  // A running capture downloads up to its last complete record.
  r = await s.app.inject({ url: capUrl });
  t.equal(r.statusCode, 200);
  t.equal(r.headers['content-type'], 'application/vnd.tcpdump.pcap');
  t.equal(r.headers['content-disposition'], 'attachment; filename="mctp0.pcap"');
  const running = parsePcap(r.rawPayload);
  t.equal(running.linktype, 113, 'LINUX_SLL, as tcpdump -i mctpN');
  t.same(running.records.map((x) => x.dir), ['out', 'in']);
  t.same([...running.records[0]!.packet.subarray(0, 8)], [0x01, 9, 8, 0xc8, 0x7e, 0xcc, 0xde, 0xf0], 'the echo request as sent');

  r = await s.app.inject({ url: '/api/v1/mctp/captures' });
  t.match(json(r.body), [{ link: 'mctp0', state: 'running', packets: 2 }]);

  r = await s.app.inject({ method: 'POST', url: capUrl, payload: { action: 'stop' } });
  t.equal(r.statusCode, 200);
  const stopped = json(r.body);
  t.match(stopped, { state: 'stopped', packets: 2 });
  t.type(stopped.stoppedAt, 'string');
  t.equal(fs.statSync(stopped.file).size, stopped.bytes);

  r = await s.app.inject({ method: 'POST', url: capUrl, payload: { action: 'stop' } });
  t.equal(r.statusCode, 409);
  t.equal(json(r.body).code, 'E_CAPTURE_NOT_RUNNING');

  // Traffic after stop is not captured; the download is the stopped file.
  await s.app.inject({ method: 'POST', url: '/api/v1/mctp/echo', payload: { eid: 9 } });
  r = await s.app.inject({ url: capUrl });
  t.equal(parsePcap(r.rawPayload).records.length, 2);

  // A new capture starts a fresh file.
  r = await s.app.inject({ method: 'POST', url: capUrl, payload: { action: 'start' } });
  t.equal(json(r.body).packets, 0);
});

t.test('packet timestamps have microseconds, not milliseconds padded with zeros', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  const capUrl = '/api/v1/mctp/links/mctp0/capture';
  const before = Date.now();
  await s.app.inject({ method: 'POST', url: capUrl, payload: { action: 'start' } });
  for (let i = 0; i < 4; i++) await s.app.inject({ method: 'POST', url: '/api/v1/mctp/echo', payload: { eid: 9, len: 4 } });
  await s.app.inject({ method: 'POST', url: capUrl, payload: { action: 'stop' } });
  const after = Date.now();
  const { records } = parsePcap((await s.app.inject({ url: capUrl })).rawPayload);
  t.equal(records.length, 8);
  const times = records.map((r) => r.sec * 1e6 + r.usec);
  for (const [i, r] of records.entries()) t.ok(r.usec < 1e6, `record ${i}: usec field in range`);
  t.ok(times.every((x) => x >= (before - 2) * 1000 && x <= (after + 2) * 1000), 'wall-clock time, within the test');
  t.ok(times.every((x, i) => i === 0 || x >= times[i - 1]!), 'in order');
  // With whole milliseconds every field is a multiple of 1000; 8 real microsecond readings all being so is a 1e-24 chance.
  t.ok(records.some((r) => r.usec % 1000 !== 0), `sub-millisecond fields: ${records.map((r) => r.usec).join(' ')}`);
});

t.test('the size bound: packets past it are counted, the file stays valid', async (t) => {
  const f = fixture();
  const s = await serve(t, f, { captureMaxBytes: 4096 });
  const capUrl = '/api/v1/mctp/links/mctp0/capture';
  let r = await s.app.inject({ method: 'POST', url: capUrl, payload: { action: 'start', maxBytes: 8192 } });
  t.equal(r.statusCode, 400, 'no more than the server allows');
  t.match(json(r.body).message, /exceeds this server's capture limit of 4096 bytes/);

  // One echo of 12-byte packets is 2 records of 16 + 16 + 12 = 44 bytes: room for exactly 2 after the header.
  r = await s.app.inject({ method: 'POST', url: capUrl, payload: { action: 'start', maxBytes: 24 + 88 + 43 } });
  t.equal(r.statusCode, 200);
  for (let i = 0; i < 2; i++) await s.app.inject({ method: 'POST', url: '/api/v1/mctp/echo', payload: { eid: 9, len: 4 } });
  r = await s.app.inject({ method: 'POST', url: capUrl, payload: { action: 'stop' } });
  t.match(json(r.body), { packets: 2, dropped: 2, full: true, bytes: 24 + 88 });
  r = await s.app.inject({ url: capUrl });
  t.equal(parsePcap(r.rawPayload).records.length, 2);
});

t.test('bad input', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  let r = await s.app.inject({ method: 'POST', url: '/api/v1/mctp/links/nope0/capture', payload: { action: 'start' } });
  t.equal(r.statusCode, 404);
  t.equal(json(r.body).code, 'ENODEV');
  r = await s.app.inject({ method: 'POST', url: '/api/v1/mctp/links/nope0/capture', payload: { action: 'stop' } });
  t.equal(r.statusCode, 404);
  for (const payload of [{}, { action: 'pause' }, { action: 'start', maxBytes: 10 }, { action: 'start', path: '/etc/passwd' }]) {
    r = await s.app.inject({ method: 'POST', url: '/api/v1/mctp/links/mctp0/capture', payload });
    t.equal(r.statusCode, 400, JSON.stringify(payload));
  }
  r = await s.app.inject({ url: '/api/v1/mctp/links/..%2f..%2fetc/capture' });
  t.equal(r.statusCode, 400, 'names that are not interface names never reach the file system');
});

t.test('closing the server stops running captures and keeps their files', async (t) => {
  const f = fixture();
  const s = await serve(t, f);
  await s.app.inject({ method: 'POST', url: '/api/v1/mctp/links/mctp0/capture', payload: { action: 'start' } });
  await s.close();
  f.bmc.interface('mctp0').transmit([Buffer.from([1, 9, 8, 0xc8, 0x7e, 0xcc, 0xde, 0xf0])]);
  t.equal(fs.statSync(path.join(f.dir, 'capture-mctp0.pcap')).size, 24, 'nothing written after close');
});

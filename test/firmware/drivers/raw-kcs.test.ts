import t from 'tap';
import { KCS_STR_CMD_DAT, KCS_STR_IBF, KCS_STR_OBF, KcsChannel } from '../../../hw-models/kcs.js';
import { RawKcs } from '../../../firmware/drivers/raw-kcs.js';

/** Let queued interrupt work (microtasks) run. Not a sleep: no time passes. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(): { kcs: KcsChannel; raw: RawKcs; events: string[] } {
  const kcs = new KcsChannel({ channel: 3 });
  const raw = new RawKcs(kcs);
  const events: string[] = [];
  raw.on('input', () => events.push('input'));
  raw.on('obf-clear', () => events.push('obf-clear'));
  raw.on('warning', (m) => events.push(`warning: ${m}`));
  return { kcs, raw, events };
}

t.test('IBF interrupt: the driver takes IDR after the host access completes', async (t) => {
  const { kcs, raw, events } = setup();
  t.equal(raw.name, 'raw-kcs3');
  t.equal(kcs.hostWrite(1, 0x00), KCS_STR_IBF | KCS_STR_CMD_DAT, 'host write returns with IBF set');
  t.same(events, [], 'no interrupt work inside the host access');
  await settle();
  t.same(events, ['input']);
  t.equal(kcs.peekStatus() & KCS_STR_IBF, 0, 'hardware IBF cleared by the interrupt handler');
  t.equal(raw.readStatus() & KCS_STR_IBF, KCS_STR_IBF, 'STR reads IBF while the taken byte is unread');
  t.same(raw.poll(), { readable: true, writable: true });
  t.equal(raw.readData(), 0x00);
  t.equal(raw.readStatus() & KCS_STR_IBF, 0);
  t.equal(raw.readData(), null, 'nothing more: EAGAIN');
  t.same(raw.poll(), { readable: false, writable: true });
});

t.test('a second host byte waits in IDR while the first is unread (back-pressure)', async (t) => {
  const { kcs, raw, events } = setup();
  kcs.hostWrite(0, 0x01);
  await settle();
  kcs.hostWrite(0, 0x02);
  await settle();
  t.same(events, ['input'], 'IBF interrupt was off');
  t.equal(kcs.peekStatus() & KCS_STR_IBF, KCS_STR_IBF, 'second byte still in IDR');
  t.equal(kcs.counters.overrunWrites, 0, 'nothing overwritten');
  t.equal(raw.readData(), 0x01);
  await settle();
  t.same(events, ['input', 'input'], 're-armed interrupt found IBF high');
  t.equal(raw.readData(), 0x02);
  t.equal(raw.stats.bytesRead, 2);
});

t.test('readData takes IDR directly when IBF is set and nothing was taken yet', async (t) => {
  const { kcs, raw } = setup();
  kcs.hostWrite(0, 0x07);
  t.equal(raw.readData(), 0x07, 'before the interrupt work ran');
  await settle();
  t.equal(raw.readData(), null, 'no phantom second byte');
});

t.test('readDataWait resolves on the next byte and can be aborted', async (t) => {
  const { kcs, raw } = setup();
  const first = raw.readDataWait();
  const second = raw.readDataWait();
  kcs.hostWrite(0, 0x11);
  t.equal(await first, 0x11);
  kcs.hostWrite(0, 0x22);
  t.equal(await second, 0x22);
  const ac = new AbortController();
  const aborted = raw.readDataWait({ signal: ac.signal });
  ac.abort();
  await t.rejects(aborted);
  kcs.hostWrite(0, 0x33);
  await settle();
  t.equal(raw.readData(), 0x33, 'an aborted reader took nothing');
});

t.test('writeData: non-blocking, refused while OBF is set', async (t) => {
  const { kcs, raw, events } = setup();
  const hostIrqs: number[] = [];
  kcs.on('host-irq', (str) => hostIrqs.push(str));
  t.equal(raw.writeData(0x01), true);
  t.same(hostIrqs, [KCS_STR_OBF]);
  t.equal(raw.writeData(0x02), false, 'EBUSY while OBF');
  t.same(raw.poll(), { readable: false, writable: false });
  t.equal(raw.stats.busyWrites, 1);
  t.equal(kcs.hostRead(0), 0x01, 'host consumes ODR');
  t.same(events, []);
  await settle();
  t.same(events, ['obf-clear']);
  t.equal(raw.writeData(0x02), true);
});

t.test('writeDataWait: queued writes go out in order as the host reads', async (t) => {
  const { kcs, raw } = setup();
  raw.writeData(0xaa);
  const done: number[] = [];
  const writes = [0x01, 0x02, 0x03].map((v) => raw.writeDataWait(v).then(() => done.push(v)));
  t.equal(raw.writeData(0x09), false, 'a non-blocking write cannot jump the queue');
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) {
    await settle();
    seen.push(kcs.hostRead(0));
  }
  await Promise.all(writes);
  t.same(seen, [0xaa, 0x01, 0x02, 0x03]);
  t.same(done, [0x01, 0x02, 0x03]);
  t.equal(raw.stats.bytesWritten, 4);
});

t.test('writeDataWait can be aborted', async (t) => {
  const { kcs, raw } = setup();
  raw.writeData(0xaa);
  const ac = new AbortController();
  const pending = raw.writeDataWait(0x01, { signal: ac.signal });
  ac.abort();
  await t.rejects(pending);
  kcs.hostRead(0);
  await settle();
  t.equal(kcs.peekStatus() & KCS_STR_OBF, 0, 'the aborted byte was never written');
});

t.test('status writes: OBF clearing warns and wakes writers; libmctp init sequence', async (t) => {
  const { kcs, raw, events } = setup();
  kcs.bmcWriteOdr(0xff); // stale OBF from an earlier BMC life
  const pending = raw.writeDataWait(0x05);
  raw.writeStatus(0x80);
  t.same(events, ['warning: Clearing OBF with status write: 0x80']);
  t.equal(raw.stats.obfClearingStatusWrites, 1);
  await pending;
  t.equal(kcs.peekStatus(), 0x81, 'the waiting writer went once OBF cleared');
  t.equal(kcs.hostRead(0), 0x05);
  await settle();
  events.length = 0;
  raw.writeStatus(0x80);
  t.same(events, [], 'no warning when OBF was already clear');
  // libmctp: STR 0x80, then the dummy 0xFF; host sees 0x81 and its interrupt.
  const irqs: number[] = [];
  kcs.on('host-irq', (s) => irqs.push(s));
  t.equal(raw.writeData(0xff), true);
  t.equal(raw.readStatus(), 0x81);
  t.same(irqs, [0x81]);
  raw.writeStatus(0xc1);
  t.equal(raw.readStatus(), 0xc1, 'bit 0 set keeps OBF');
});

t.test('opening with IBF already set services it', async (t) => {
  const kcs = new KcsChannel({ channel: 4 });
  kcs.hostWrite(0, 0x42);
  const raw = new RawKcs(kcs);
  await settle();
  t.equal(kcs.peekStatus() & KCS_STR_IBF, 0);
  t.equal(raw.readData(), 0x42);
});

t.test('close fails waits with EBADF and detaches from the model', async (t) => {
  const { kcs, raw } = setup();
  raw.writeData(1);
  const reader = raw.readDataWait();
  const writer = raw.writeDataWait(2);
  raw.close();
  raw.close();
  await t.rejects(reader, { code: 'EBADF' });
  await t.rejects(writer, { code: 'EBADF' });
  t.equal(kcs.listenerCount('bmc-irq'), 0);
  t.equal(kcs.listenerCount('obf-cleared'), 0);
  t.throws(() => raw.readData(), { code: 'EBADF' });
  t.throws(() => raw.writeStatus(0), { code: 'EBADF' });
  await t.rejects(raw.readDataWait(), { code: 'EBADF' });
  await t.rejects(raw.writeDataWait(1), { code: 'EBADF' });
  t.equal(raw.isOpen, false);
  kcs.hostWrite(0, 9);
  await settle();
  t.equal(kcs.peekStatus() & KCS_STR_IBF, KCS_STR_IBF, 'a closed driver does not take input');
});

t.test('hostile values: EINVAL, nothing written', async (t) => {
  const { kcs, raw } = setup();
  for (const v of [256, -1, NaN, 1.5, '1' as unknown as number]) {
    t.throws(() => raw.writeData(v), { name: 'DriverError', code: 'EINVAL' }, `writeData(${String(v)})`);
    t.throws(() => raw.writeStatus(v), { name: 'DriverError', code: 'EINVAL' }, `writeStatus(${String(v)})`);
    await t.rejects(raw.writeDataWait(v), { name: 'DriverError', code: 'EINVAL' }, `writeDataWait(${String(v)})`);
  }
  t.same(kcs.snapshot().counters.bmcWrites, 0);
  t.equal(kcs.peekStatus(), 0);
});

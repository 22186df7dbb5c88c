import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { BootOptions, type BootOptionsPersistence } from '../../../../firmware/ipmi/boot-options.js';
import { bootOptionsCommands } from '../../../../firmware/ipmi/commands/boot-options.js';
import { call } from '../helpers.js';

class MemoryStore implements BootOptionsPersistence {
  saved: object | undefined;
  saves = 0;
  constructor(initial?: object) {
    this.saved = initial;
  }
  load(): object | undefined {
    return this.saved === undefined ? undefined : JSON.parse(JSON.stringify(this.saved));
  }
  save(obj: object): void {
    this.saves++;
    this.saved = JSON.parse(JSON.stringify(obj));
  }
}

function setup(store: BootOptionsPersistence = new MemoryStore()) {
  const clock = new ManualClock();
  const lines: string[] = [];
  const boot = new BootOptions({ clock, persistence: store, log: (l) => lines.push(l) });
  const cmds = bootOptionsCommands(boot);
  const set = async (data: number[]): Promise<number[]> => {
    const r = await call(cmds, 0, 0x08, data);
    return [r.cc, ...r.data];
  };
  const get = async (param: number, setSel = 0, block = 0): Promise<number[]> => {
    const r = await call(cmds, 0, 0x09, [param, setSel, block]);
    return [r.cc, ...r.data];
  };
  return { clock, boot, set, get, store, lines };
}

const PXE = [0x80, 0x04, 0x00, 0x00, 0x00];

t.test('power-up values of parameters 0–7', async (t) => {
  const { get } = setup();
  t.same(await get(0), [0, 0x01, 0x00, 0x00]);
  t.same(await get(1), [0, 0x01, 0x01, 0x00]);
  t.same(await get(2), [0, 0x01, 0x02, 0x00]);
  t.same(await get(3), [0, 0x01, 0x03, 0x00]);
  t.same(await get(4), [0, 0x01, 0x04, 0x00, 0x00]);
  t.same(await get(5), [0, 0x01, 0x05, 0, 0, 0, 0, 0]);
  t.same(await get(6), [0, 0x01, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.same(await get(7, 0), [0, 0x01, 0x07, 0x00, ...Array(16).fill(0)]);
  t.same(await get(8), [0x80], 'not supported');
  t.same(await get(0x62), [0x80], 'skiboot\'s OEM parameter: not supported');
});

t.test('set in progress: 81 when already in progress; commit write completes', async (t) => {
  const { set, get } = setup();
  t.same(await set([0x00, 0x01]), [0]);
  t.same(await get(0), [0, 0x01, 0x00, 0x01]);
  t.same(await set([0x00, 0x01]), [0x81]);
  t.same(await set([0x00, 0x02]), [0]);
  t.same(await get(0), [0, 0x01, 0x00, 0x00]);
  t.same(await set([0x00, 0x03]), [0xcc]);
  t.same(await set([0x00]), [0xc7]);
});

t.test('ipmitool chassis bootdev pxe: boot flags stored and read back', async (t) => {
  const { set, get, boot, store } = setup();
  t.same(await set([0x05, ...PXE]), [0]);
  t.same(await get(5), [0, 0x01, 0x05, ...PXE]);
  t.ok(boot.valid);
  t.same((store as MemoryStore).saved, {
    version: 1,
    servicePartitionSelector: 0,
    servicePartitionScan: 0,
    validBitClearing: 0,
    bootFlags: PXE,
    mailbox: Array.from({ length: 5 }, () => Array(16).fill(0)),
    invalid: 0,
  });
  t.same(await set([0x05, 0x80, 0x04]), [0xc7], 'boot flags are 5 bytes');
  t.same(await set([0x05, ...PXE, 0]), [0xc7]);
});

t.test('the valid bit clears 60 s after it was set unless a Chassis Control restarts the window', async (t) => {
  const { set, get, clock, boot, lines } = setup();
  await set([0x05, ...PXE]);
  clock.advance(50_000);
  boot.chassisControlReceived();
  clock.advance(50_000);
  t.ok(boot.valid, 'the window restarted at the Chassis Control');
  clock.advance(10_000);
  t.notOk(boot.valid);
  t.same(await get(5), [0, 0x01, 0x05, 0x00, 0x04, 0x00, 0x00, 0x00], 'only the valid bit cleared');
  t.match(lines.join('\n'), /60 s/);
});

t.test('param 3 controls which events clear the valid bit', async (t) => {
  const { set, get, clock, boot } = setup();
  t.same(await set([0x03, 0x08 | 0x01]), [0], 'keep on timeout and on power button');
  await set([0x05, ...PXE]);
  clock.advance(120_000);
  t.ok(boot.valid, 'no 60 s timeout');
  boot.hostEvent('power-button');
  t.ok(boot.valid);
  boot.hostEvent('watchdog');
  t.notOk(boot.valid, 'watchdog reset clears it');
  t.same(await get(3), [0, 0x01, 0x03, 0x09]);
  await set([0x05, ...PXE]);
  await set([0x03, 0x00]);
  clock.advance(60_000);
  t.notOk(boot.valid, 'clearing bit 3 arms the timeout again');
  t.equal(clock.pending, 0);
});

t.test('boot info acknowledge: write mask, reads back 00 + data', async (t) => {
  const { set, get } = setup();
  t.same(await set([0x04, 0x01, 0x01]), [0]);
  t.same(await get(4), [0, 0x01, 0x04, 0x00, 0x01]);
  t.same(await set([0x04, 0x02, 0xff]), [0]);
  t.same(await get(4), [0, 0x01, 0x04, 0x00, 0x03]);
  t.same(await set([0x04, 0xff, 0xe0]), [0], 'reserved bits are not kept');
  t.same(await get(4), [0, 0x01, 0x04, 0x00, 0x00]);
  t.same(await set([0x04, 0x01]), [0xc7]);
});

t.test('service partition, initiator info and mailbox', async (t) => {
  const { set, get } = setup();
  t.same(await set([0x01, 0x42]), [0]);
  t.same(await get(1), [0, 0x01, 0x01, 0x42]);
  t.same(await set([0x02, 0xff]), [0]);
  t.same(await get(2), [0, 0x01, 0x02, 0x03]);
  const info = [0x0f, 1, 2, 3, 4, 5, 6, 7, 8];
  t.same(await set([0x06, ...info]), [0]);
  t.same(await get(6), [0, 0x01, 0x06, ...info]);
  const block = Array.from({ length: 16 }, (_, i) => i + 1);
  t.same(await set([0x07, 0x02, ...block]), [0]);
  t.same(await get(7, 2), [0, 0x01, 0x07, 0x02, ...block]);
  t.same(await set([0x07, 0x03, 0xaa]), [0], 'a short last block');
  t.same((await get(7, 3)).slice(3, 6), [0x03, 0xaa, 0x00]);
  t.same(await get(7, 5), [0xc9], 'block out of range');
  t.same(await set([0x07, 0x05, 1]), [0xc9]);
  t.same(await set([0x07, 0x00]), [0xc7]);
  t.same(await set([0x09, 0x00]), [0x80]);
});

t.test('marking a parameter invalid/locked shows in Get byte 2 bit 7', async (t) => {
  const { set, get } = setup();
  t.same(await set([0x85, ...PXE]), [0]);
  t.same((await get(5))[2], 0x85);
  await set([0x05, ...PXE]);
  t.same((await get(5))[2], 0x05);
});

t.test('persistence: saved parameters come back; volatile ones do not', async (t) => {
  const store = new MemoryStore();
  const a = setup(store);
  await a.set([0x01, 0x11]);
  await a.set([0x03, 0x08]);
  await a.set([0x05, ...PXE]);
  await a.set([0x04, 0x01, 0x01]);
  await a.set([0x06, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8]);
  await a.set([0x07, 0x00, 0xde, 0xad]);
  const b = setup(store);
  t.same(await b.get(1), [0, 0x01, 0x01, 0x11]);
  t.same(await b.get(3), [0, 0x01, 0x03, 0x08]);
  t.same(await b.get(5), [0, 0x01, 0x05, ...PXE]);
  t.same((await b.get(7, 0)).slice(4, 6), [0xde, 0xad]);
  t.same(await b.get(4), [0, 0x01, 0x04, 0x00, 0x00], 'acknowledge starts at 00 again');
  t.same((await b.get(6)).slice(3), Array(9).fill(0), 'initiator info is volatile');
});

t.test('a saved valid bit gets a fresh 60 s window after a restart', async (t) => {
  const store = new MemoryStore();
  await setup(store).set([0x05, ...PXE]);
  const b = setup(store);
  t.ok(b.boot.valid);
  b.clock.advance(60_000);
  t.notOk(b.boot.valid);
  t.equal((store.saved as { bootFlags: number[] }).bootFlags[0], 0x00, 'the clearing is saved');
});

t.test('broken saved state falls back to defaults, logged', async (t) => {
  for (const bad of [{ version: 2 }, { version: 1, bootFlags: [1, 2] }, { version: 1, servicePartitionSelector: 300 }]) {
    const { get, lines } = setup(new MemoryStore(bad));
    t.same(await get(5), [0, 0x01, 0x05, 0, 0, 0, 0, 0]);
    t.match(lines[0], /not valid/);
  }
  const throwing = setup({ load: () => { throw new Error('EACCES'); }, save: () => { throw new Error('EROFS'); } });
  t.match(throwing.lines[0], /EACCES/);
  t.same(await throwing.set([0x05, ...PXE]), [0], 'a failing save does not fail the command');
  t.match(throwing.lines[1], /EROFS/);
});

t.test('consumeBootFlags: what a BIOS does at boot', async (t) => {
  const { set, boot } = setup();
  t.equal(boot.consumeBootFlags(), null);
  await set([0x05, ...PXE]);
  t.same([...boot.consumeBootFlags()!], PXE);
  t.notOk(boot.valid, 'next boot only: consumed');
  await set([0x05, 0xc0, 0x08, 0, 0, 0]);
  t.same([...boot.consumeBootFlags()!], [0xc0, 0x08, 0, 0, 0]);
  t.ok(boot.valid, 'persistent: kept');
  boot.bmcReset();
  boot.close();
});

t.test('request lengths', async (t) => {
  const { boot } = setup();
  const cmds = bootOptionsCommands(boot);
  t.equal((await call(cmds, 0, 0x09, [5, 0])).cc, 0xc7);
  t.equal((await call(cmds, 0, 0x09, [5, 0, 0, 0])).cc, 0xc7);
  t.equal((await call(cmds, 0, 0x08, [])).cc, 0xc7);
});

import t from 'tap';
import { ConfigError } from '../../../../lib/errors.js';
import { AcpiPowerState, appCommands, deviceIdBytes, uuidToIpmiGuid, DEFAULT_IDENTITY, type BmcResetKind } from '../../../../firmware/ipmi/commands/app.js';
import { IpmiRouter } from '../../../../firmware/ipmi/router.js';
import { ManualClock } from '../../../../lib/clock.js';
import { call, hex } from '../helpers.js';

const bytes = async (p: ReturnType<typeof call>): Promise<number[]> => {
  const r = await p;
  return [r.cc, ...r.data];
};

t.test('Get Device ID: default identity, 15 bytes (skiboot\'s limit)', async (t) => {
  const cmds = appCommands();
  const r = await bytes(call(cmds, 6, 0x01));
  t.same(r, [0, 0x20, 0x01, 0x00, 0x01, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.equal(r.length - 1, 15);
  t.same(await bytes(call(cmds, 6, 0x01, [0])), [0xc7]);
});

t.test('Get Device ID: configured identity, BCD minor, 20-bit IANA, optional aux', async (t) => {
  const cmds = appCommands({
    identity: { firmwareMajor: 2, firmwareMinor: 5, additionalDeviceSupport: 0xbf, productId: 1 },
  });
  // The reply a real skiboot accepted.
  t.same((await call(cmds, 6, 0x01)).data, hex('20 01 02 05 02 bf 00 00 00 01 00 00 00 00 00'));
  const id = { ...DEFAULT_IDENTITY, deviceRevision: 3, providesDeviceSdrs: true, firmwareMajor: 127, firmwareMinor: 99, manufacturerId: 0xc2cf, productId: 0xbeef, auxFirmwareRevision: null };
  t.same(deviceIdBytes(id), hex('20 83 7f 99 02 80 cf c2 00 ef be'));
  t.same(deviceIdBytes({ ...id, firmwareMinor: 10, manufacturerId: 0xfffff })[3], 0x10);
  t.same(deviceIdBytes({ ...id, manufacturerId: 0xfffff }).subarray(6, 9), hex('ff ff 0f'));
  for (const bad of [{ firmwareMinor: 100 }, { firmwareMajor: 128 }, { deviceRevision: 16 }, { manufacturerId: 0x100000 }, { productId: -1 }, { auxFirmwareRevision: Buffer.alloc(3) }]) {
    t.throws(() => appCommands({ identity: bad }), ConfigError, JSON.stringify(bad));
  }
});

t.test('Get Self Test Results: 55 00', async (t) => {
  t.same(await bytes(call(appCommands(), 6, 0x04)), [0, 0x55, 0x00]);
});

t.test('Cold/Warm Reset answer first, then tell the composition', async (t) => {
  const deferred: Array<() => void> = [];
  const resets: BmcResetKind[] = [];
  const cmds = appCommands({ onReset: (k) => resets.push(k), defer: (fn) => deferred.push(fn) });
  t.same(await bytes(call(cmds, 6, 0x02)), [0]);
  t.same(resets, [], 'not before the reply is out');
  deferred.shift()!();
  t.same(resets, ['cold']);
  t.same(await bytes(call(cmds, 6, 0x03)), [0]);
  deferred.shift()!();
  t.same(resets, ['cold', 'warm']);
  // Default defer: after the current turn.
  const seen: BmcResetKind[] = [];
  const real = appCommands({ onReset: (k) => seen.push(k) });
  await call(real, 6, 0x02);
  t.same(seen, []);
  await new Promise((r) => setImmediate(r));
  t.same(seen, ['cold']);
});

t.test('Set/Get ACPI Power State', async (t) => {
  const acpi = new AcpiPowerState();
  const cmds = appCommands({}, acpi);
  t.same(await bytes(call(cmds, 6, 0x07)), [0, 0x2a, 0x2a], 'unknown until the host says');
  t.same(await bytes(call(cmds, 6, 0x06, [0x80, 0x7f])), [0], 'skiboot: S0, device unchanged');
  t.same(await bytes(call(cmds, 6, 0x07)), [0, 0x00, 0x2a]);
  t.same(await bytes(call(cmds, 6, 0x06, [0x05, 0x83])), [0], 'system bit 7 clear: unchanged');
  t.same(await bytes(call(cmds, 6, 0x07)), [0, 0x00, 0x03]);
  t.same(await bytes(call(cmds, 6, 0x06, [0x8b, 0x00])), [0xcc], '0x0B is no system state');
  t.same(await bytes(call(cmds, 6, 0x06, [0x85, 0x85])), [0xcc], '0x05 is no device state');
  t.same(await bytes(call(cmds, 6, 0x07)), [0, 0x00, 0x03], 'a refused request changes nothing');
  t.same(await bytes(call(cmds, 6, 0x06, [0x80])), [0xc7]);
});

t.test('Device and System GUID: 16 bytes in IPMI order', async (t) => {
  const guid = uuidToIpmiGuid('00112233-4455-6677-8899-aabbccddeeff');
  t.same(guid, hex('ffeeddccbbaa99887766554433221100'));
  const cmds = appCommands({ deviceGuid: guid, systemGuid: Buffer.alloc(16, 7) });
  t.same((await call(cmds, 6, 0x08)).data, guid);
  t.same((await call(cmds, 6, 0x37)).data, Buffer.alloc(16, 7));
  t.same((await call(appCommands(), 6, 0x08)).data, Buffer.alloc(16), 'zero by default');
  t.throws(() => uuidToIpmiGuid('nope'), ConfigError);
  t.throws(() => appCommands({ deviceGuid: Buffer.alloc(15) }), ConfigError);
});

t.test('the whole list registers without clashes', async (t) => {
  const r = new IpmiRouter({ clock: new ManualClock() });
  r.register(appCommands());
  t.equal(r.registered().length, 8);
});

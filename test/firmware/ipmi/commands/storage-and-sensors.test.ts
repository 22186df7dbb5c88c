import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { createStorageAndSensors } from '../../../../firmware/ipmi/commands/storage-and-sensors.js';
import { SEL_CMD } from '../../../../firmware/ipmi/commands/storage-sel.js';
import { FRU_CMD } from '../../../../firmware/ipmi/commands/storage-fru.js';
import { NETFN } from '../../../../firmware/ipmi/message.js';
import { stateDir } from '../../../helpers/state-dir.js';
import { bytes, call } from './storage-helpers.js';

const T0 = Date.UTC(2025, 2, 3, 4, 5, 6);

t.test('one registration list, no netfn/cmd twice', async (t) => {
  const ipmi = createStorageAndSensors({ clock: new ManualClock() });
  t.teardown(() => ipmi.close());
  const keys = ipmi.commands.map((c) => `${c.netfn}:${c.cmd}`);
  t.equal(new Set(keys).size, keys.length);
  t.equal(ipmi.commands.filter((c) => c.netfn === NETFN.STORAGE).length, 3 + 4 + 10);
  t.equal(ipmi.commands.filter((c) => c.netfn === NETFN.SENSOR_EVENT).length, 11);
});

t.test('a threshold crossing on the scan clock is in the SEL after a restart; so is a FRU write', async (t) => {
  const dir = stateDir(t);
  const clock = new ManualClock();
  const wallClock = () => T0 + clock.now();
  const first = createStorageAndSensors({ stateDir: dir, clock, wallClock, selSyncEachChange: false });
  first.sensors.startScanning(clock, 1000);
  clock.advance(3000);
  t.equal(first.sel.size, 0, 'the default sensors sit between their thresholds');
  first.inletTemp.override(46);
  clock.advance(1000);
  t.equal(first.sel.size, 2, 'UNC and UCR going high');
  t.same(bytes(await call(first.commands, NETFN.STORAGE, FRU_CMD.WRITE_FRU_DATA, [0, 0x00, 0x01, 0xee])), [0x00, 1]);
  first.close();
  t.equal(clock.pending, 0, 'close stops the scan');

  const second = createStorageAndSensors({ stateDir: dir, clock, wallClock });
  t.teardown(() => second.close());
  const entry = bytes(await call(second.commands, NETFN.STORAGE, SEL_CMD.GET_SEL_ENTRY, [0, 0, 0xff, 0xff, 0, 0xff]));
  t.same(entry.slice(0, 6), [0x00, 0xff, 0xff, 0x02, 0x00, 0x02]);
  t.same(entry.slice(13), [0x01, 0x01, 0x01, 0x59, 46, 45], 'temperature #1, UCR going high, 46 °C > 45 °C');
  t.same(bytes(await call(second.commands, NETFN.STORAGE, FRU_CMD.READ_FRU_DATA, [0, 0x00, 0x01, 1])), [0x00, 1, 0xee]);
});

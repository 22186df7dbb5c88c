import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { createDefaultSensors } from '../../../../firmware/ipmi/sensors/default-sensors.js';
import { SensorSet } from '../../../../firmware/ipmi/sensors/sensor-set.js';

t.test('sensor set: unique numbers, lookup, ordered list', async (t) => {
  const clock = new ManualClock();
  const { set, fan } = createDefaultSensors({ clock });
  t.same(set.list().map((s) => s.number), [1, 2, 3]);
  t.equal(set.get(2), fan);
  t.equal(set.get(9), undefined);
  t.throws(() => new SensorSet([fan, fan]), { code: 'ERR_BAD_CONFIG', message: /both have number 0x2/ });
  t.throws(() => set.startScanning(clock, 0), { code: 'ERR_BAD_CONFIG' });
});

t.test('default sensors read plausible values and stay deterministic', async (t) => {
  const a = new ManualClock();
  const b = new ManualClock();
  const one = createDefaultSensors({ clock: a });
  const two = createDefaultSensors({ clock: b });
  const seen: number[] = [];
  for (let i = 0; i < 60; i++) {
    a.advance(10_000);
    b.advance(10_000);
    const temp = one.inletTemp.value();
    const rpm = one.fan.value();
    t.ok(temp >= 20 && temp <= 28, `temp ${temp}`);
    t.ok(rpm >= 4300 && rpm <= 5300 && rpm % 50 === 0, `rpm ${rpm}`);
    t.equal(two.inletTemp.value(), temp);
    t.equal(two.fan.value(), rpm);
    seen.push(temp);
  }
  t.ok(new Set(seen).size > 3, 'the temperature moves');
});

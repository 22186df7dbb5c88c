import t from 'tap';
import { jitterUnit, wanderValue } from '../../../../firmware/ipmi/sensors/wander.js';

t.test('wander is a pure function of time: sine plus held jitter', async (t) => {
  const spec = { nominal: 20, amplitude: 2, periodMs: 4000 };
  t.equal(wanderValue(spec, 0), 20);
  t.equal(Math.round(wanderValue(spec, 1000) * 1e9) / 1e9, 22);
  t.equal(Math.round(wanderValue(spec, 3000) * 1e9) / 1e9, 18);
  const j = { nominal: 0, amplitude: 0, periodMs: 1, jitter: 5, jitterStepMs: 100, seed: 7 };
  t.equal(wanderValue(j, 10), wanderValue(j, 99), 'jitter holds within a step');
  t.equal(wanderValue(j, 250), wanderValue({ ...j }, 250), 'same inputs, same value');
  const values = Array.from({ length: 200 }, (_, i) => jitterUnit(3, i));
  t.ok(values.every((v) => v >= -1 && v <= 1));
  t.ok(new Set(values.map((v) => v.toFixed(3))).size > 150, 'spread out');
  t.not(jitterUnit(1, 5), jitterUnit(2, 5), 'seeds differ');
});

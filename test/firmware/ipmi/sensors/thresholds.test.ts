import t from 'tap';
import { compareThresholds } from '../../../../firmware/ipmi/sensors/thresholds.js';

t.test('compareThresholds: hysteresis, order of several crossings', async (t) => {
  const th = { lnc: 10, unc: 70, ucr: 80 };
  const h = { positive: 2, negative: 3 };
  t.same(compareThresholds(0, 50, th, h), { states: 0, changes: [] });
  t.same(compareThresholds(0, 85, th, h), { states: 0x18, changes: [{ name: 'unc', asserted: true }, { name: 'ucr', asserted: true }] });
  t.same(compareThresholds(0x18, 78, th, h).states, 0x18, 'ucr held by hysteresis (78 ≥ 80-3)');
  t.same(compareThresholds(0x18, 76, th, h), { states: 0x08, changes: [{ name: 'ucr', asserted: false }] });
  t.same(compareThresholds(0x18, 10, th, h), { states: 0x01, changes: [{ name: 'lnc', asserted: true }, { name: 'ucr', asserted: false }, { name: 'unc', asserted: false }] });
  t.same(compareThresholds(0x01, 12, th, h).states, 0x01, 'lnc held until above 10+2');
  t.same(compareThresholds(0x01, 13, th, h).states, 0);
  t.same(compareThresholds(0x20, 50, th, h).states, 0, 'a threshold that went away is no longer asserted');
});

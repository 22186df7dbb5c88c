import t from 'tap';
import { ManualClock } from '../../../../lib/clock.js';
import { Watchdog2Sensor } from '../../../../firmware/ipmi/sensors/watchdog-sensor.js';
import { SystemEventLog } from '../../../../firmware/ipmi/storage/sel.js';

const T0 = Date.UTC(2024, 5, 1);

t.test('Watchdog 2: sensor-specific events with timer use and interrupt type', async (t) => {
  const clock = new ManualClock();
  const sel = new SystemEventLog({ wallClock: () => T0 + clock.now() });
  const w = new Watchdog2Sensor({ number: 0x03, name: 'Watchdog', entityId: 0x07, entityInstance: 1 }, { events: sel });
  t.same(w.sample(), { raw: 0, unavailable: false, state: 0 });
  w.preTimeoutInterrupt({ timerUse: 4, interrupt: 'nmi' });
  w.timerExpired({ action: 'hard-reset', timerUse: 4, interrupt: 'nmi' });
  t.same(w.sample().state, 0x0002);
  w.timerExpired({ action: 'power-cycle', timerUse: 3, interrupt: 'none' });
  w.timerExpired({ action: 'none', timerUse: 2, interrupt: 'smi' });
  t.same(
    sel.records().map((r) => [...r.subarray(7)]),
    [
      [0x20, 0x00, 0x04, 0x23, 0x03, 0x6f, 0xc8, 0x24, 0xff],
      [0x20, 0x00, 0x04, 0x23, 0x03, 0x6f, 0xc1, 0x24, 0xff],
      [0x20, 0x00, 0x04, 0x23, 0x03, 0x6f, 0xc3, 0x03, 0xff],
      [0x20, 0x00, 0x04, 0x23, 0x03, 0x6f, 0xc0, 0x12, 0xff],
    ],
  );
  t.same(w.eventStatus(), { assertions: 0x010b, deassertions: 0 });
  w.rearm();
  t.same(w.sample().state, 0);
  t.same(w.eventStatus().assertions, 0);
  const body = w.sdr().body;
  t.same([...body.subarray(0, 27)], [
    0x20, 0x00, 0x03, 0x07, 0x01, 0x67, 0x40, 0x23, 0x6f,
    0x0f, 0x01, 0x00, 0x00, 0x0f, 0x01, // assert 0,1,2,3,8; no deassert; reading mask
    0xc0, 0x00, 0x00, // no analog reading
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // sharing, hysteresis, reserved, OEM
    0xc8, // "Watchdog"
  ]);
});

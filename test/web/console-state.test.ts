/** Why the console websocket won't open, as the console panel explains it after asking over HTTP. */
import t from 'tap';
import { NOT_AUTHORISED, PROBE_AFTER_FAILURES, probeVerdict, shouldProbe } from '../../web/dashboard/src/model/console-state.js';

t.test('the probe runs after every few failed opens in a row, not on each', async (t) => {
  t.equal(PROBE_AFTER_FAILURES, 3);
  t.same(
    [0, 1, 2, 3, 4, 5, 6, 7].map(shouldProbe),
    [false, false, false, true, false, false, true, false],
  );
});

t.test('what each answer means', async (t) => {
  t.same(probeVerdict({ ok: false, status: 401, message: 'log in' }), { state: 'disconnected', detail: NOT_AUTHORISED, retry: false });
  t.equal(NOT_AUTHORISED, 'not authorised: reload to log in', 'the same words as the banner');
  t.same(probeVerdict({ ok: false, status: 501, message: 'no console service' }), { state: 'no console', detail: 'this instance has no host console', retry: false });
  const ok = probeVerdict({ ok: true });
  t.same([ok.state, ok.retry], ['disconnected', true]);
  t.match(ok.detail, /websocket/, 'HTTP works: the websocket itself is what fails');
  const busy = probeVerdict({ ok: false, status: 503, message: 'the console is not ready' });
  t.same([busy.state, busy.retry], ['disconnected', true]);
  t.match(busy.detail, 'HTTP 503: the console is not ready', 'the status and the server’s message, for the title');
  const net = probeVerdict({ ok: false, status: 0, message: 'GET /api/v1/console/log?tail=1: no answer in 8 s' });
  t.match(net.detail, /console\/log: GET .*no answer in 8 s$/);
  t.notMatch(net.detail, /HTTP 0/);
});

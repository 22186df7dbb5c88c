import t from 'tap';
import { CliError, isCliError, usageError } from '../../cli/errors.js';

t.test('one class, usage errors by name', async (t) => {
  const e = usageError('a condition is required');
  t.type(e, CliError);
  t.ok(isCliError(e, 'ERR_USAGE'));
  t.equal(e.name, 'CliError');
  const api = new CliError('ERR_API', 'no route', { status: 404, apiCode: 'E_NOT_FOUND', details: { statusCode: 404 } });
  t.match(api, { code: 'ERR_API', status: 404, apiCode: 'E_NOT_FOUND', details: { statusCode: 404 } });
  t.notOk(isCliError(api, 'ERR_USAGE'));
  t.notOk(isCliError(new Error('plain')));
});

import t from 'tap';
import { CodedError, ConfigError, ERRNO, ErrnoError, errnoOf, isCodedError, isErrnoName } from '../../lib/errors.js';

class LayerError extends CodedError<'ERR_A' | 'ERR_B'> {}

t.test('coded errors carry code, name, cause and details', async (t) => {
  const cause = new Error('root');
  const e = new LayerError('ERR_A', 'it broke', { cause, details: { n: 1 } });
  t.equal(e.code, 'ERR_A');
  t.equal(e.name, 'LayerError');
  t.equal(e.message, 'it broke');
  t.equal(e.cause, cause);
  t.same(e.details, { n: 1 });
  t.ok(isCodedError(e, 'ERR_A'));
  t.notOk(isCodedError(e, 'ERR_B'));
  t.ok(isCodedError(e, 'ERR_A', LayerError));
  t.notOk(isCodedError(new ConfigError('x'), undefined, LayerError));
  t.notOk(isCodedError(new Error('plain')));
});

t.test('errno errors: one table, Linux numbers, message starts with the name', async (t) => {
  const e = new ErrnoError('EHOSTUNREACH', 'no route to EID 9');
  t.equal(e.errno, 113);
  t.equal(e.message, 'EHOSTUNREACH: no route to EID 9');
  t.equal(errnoOf('ETIMEDOUT'), 110);
  t.ok(isErrnoName('EINVAL'));
  t.notOk(isErrnoName('toString'), 'prototype names are not errnos');
  const numbers = Object.values(ERRNO);
  t.equal(new Set(numbers).size, numbers.length, 'no two names share a number');
});

t.test('configuration errors are one code', async (t) => {
  const e = new ConfigError('mtu 3 is below the baseline 64');
  t.equal(e.code, 'ERR_BAD_CONFIG');
  t.equal(e.name, 'ConfigError');
});

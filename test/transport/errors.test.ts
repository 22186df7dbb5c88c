import t from 'tap';
import { CodedError } from '../../lib/errors.js';
import { TransportError, connectFailureCode, isTransportError } from '../../transport/errors.js';

t.test('one transport error class, coded', async (t) => {
  const e = new TransportError('ECLOSED', 'the link is closed');
  t.type(e, CodedError);
  t.equal(e.name, 'TransportError');
  t.ok(isTransportError(e, 'ECLOSED'));
  t.notOk(isTransportError(e, 'ENOTCONN'));
  t.notOk(isTransportError(Object.assign(new Error('x'), { code: 'ECLOSED' })), 'a look-alike is not one');
});

t.test('a failed connect keeps the OS code it knows, and names the rest ECONNECT', async (t) => {
  t.equal(connectFailureCode(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'ECONNREFUSED');
  t.equal(connectFailureCode(Object.assign(new Error('x'), { code: 'ENOENT' })), 'ENOENT');
  t.equal(connectFailureCode(Object.assign(new Error('x'), { code: 'EWEIRD' })), 'ECONNECT');
  t.equal(connectFailureCode(new Error('no code')), 'ECONNECT');
  t.equal(connectFailureCode(undefined), 'ECONNECT');
});

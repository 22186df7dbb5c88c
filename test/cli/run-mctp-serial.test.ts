/** `bmcemu run --mctp-serial PATH[,BAUD]`: parsed into the BMC firmware's serial device, bad values are usage errors. */
import t from 'tap';
import { RUN_USAGE, mctpSerialOpt } from '../../cli/commands/run.js';

t.test('--mctp-serial', async (t) => {
  t.equal(mctpSerialOpt(undefined), undefined, 'absent: the UART, as before');
  t.same(mctpSerialOpt('/dev/ttyUSB0'), { path: '/dev/ttyUSB0', baudRate: 115200 });
  t.same(mctpSerialOpt('/dev/ttyUSB0,57600'), { path: '/dev/ttyUSB0', baudRate: 57600 });
  t.throws(() => mctpSerialOpt('/dev/ttyUSB0,fast'), { code: 'ERR_USAGE', message: /--mctp-serial: .*baud rate must be a positive integer/ });
  t.throws(() => mctpSerialOpt(',9600'), { code: 'ERR_USAGE', message: /--mctp-serial: .*no path/ });
  t.match(RUN_USAGE, /--mctp-serial PATH\[,BAUD\]/);
});

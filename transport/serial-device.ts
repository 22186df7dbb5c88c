/**
 * Open a real serial device or a pty as a Duplex for SerialBinding, through
 * @serialport/stream + @serialport/bindings-cpp. They are optional (native
 * code), so they are loaded on demand; chardev sockets never need them.
 */
import type { Duplex } from 'node:stream';
import { TransportError } from './errors.js';

export interface SerialDeviceOptions {
  path: string;
  /** DSP0253 leaves the rate to the platform; 115200 is the common choice. */
  baudRate?: number;
}

const INSTALL_HINT = 'npm install @serialport/stream @serialport/bindings-cpp';

export async function openSerialDevice(options: SerialDeviceOptions): Promise<Duplex> {
  // Specifiers in variables keep tsc from requiring the packages' types.
  const streamPkg: string = '@serialport/stream';
  const bindingsPkg: string = '@serialport/bindings-cpp';
  let mods: [any, any];
  try {
    mods = await Promise.all([import(streamPkg), import(bindingsPkg)]);
  } catch (err) {
    throw new TransportError('ENOPKG', `opening ${options.path} needs the serialport packages: ${INSTALL_HINT}`, { cause: err });
  }
  const [{ SerialPortStream }, { autoDetect }] = mods;
  return new Promise<Duplex>((resolve, reject) => {
    const port: Duplex = new SerialPortStream(
      { binding: autoDetect(), path: options.path, baudRate: options.baudRate ?? 115200 },
      (err: Error | null) => (err ? reject(err) : resolve(port)),
    );
  });
}

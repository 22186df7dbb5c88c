/**
 * A serial tty (the guest's ttyS1, cabled to the BMC's UART) as a Duplex for
 * the MCTP serial binding. The line must be 8-bit clean: no echo, no line
 * editing, no CR/LF translation in either direction. Node's own raw mode
 * (tty.ReadStream#setRawMode, libuv's UV_TTY_MODE_RAW) keeps output
 * post-processing on, so a 0x0A byte would leave as 0D 0A; stty(1) sets the
 * line fully raw instead, then Node's tty streams (which poll the descriptor,
 * unlike fs reads) carry the bytes.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { Duplex } from 'node:stream';
import tty from 'node:tty';

export interface SerialTtyOptions {
  /** Line rate; meaningless for QEMU's emulated UARTs but set for real ones (default 115200). */
  baudRate?: number;
}

export function openSerialTty(path: string, opts: SerialTtyOptions = {}): Duplex {
  const baud = String(opts.baudRate ?? 115200);
  try {
    execFileSync('stty', ['-F', path, 'raw', '-echo', 'cs8', '-parenb', '-cstopb', 'clocal', baud], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    const why = e.code === 'ENOENT' ? 'stty(1) is not installed (coreutils)' : (e.stderr?.toString().trim() || e.message);
    throw new Error(`cannot set ${path} to raw mode: ${why}`, { cause: err });
  }
  const { O_RDWR, O_NOCTTY } = fs.constants;
  const rfd = fs.openSync(path, O_RDWR | O_NOCTTY);
  if (!tty.isatty(rfd)) {
    fs.closeSync(rfd);
    throw new Error(`${path} is not a tty`);
  }
  // Separate descriptors: two libuv handles must not watch the same fd.
  const wfd = fs.openSync(path, O_RDWR | O_NOCTTY);
  return new TtyDuplex(new tty.ReadStream(rfd), new tty.WriteStream(wfd));
}

/** One Duplex over the two tty streams; destroying it closes both descriptors. */
class TtyDuplex extends Duplex {
  constructor(
    readonly input: tty.ReadStream,
    readonly output: tty.WriteStream,
  ) {
    super({ allowHalfOpen: false });
    input.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) input.pause();
    });
    input.on('end', () => this.push(null));
    input.on('error', (err) => this.destroy(err));
    output.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.input.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.output.write(chunk, done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.input.destroy();
    this.output.destroy();
    done(err);
  }
}

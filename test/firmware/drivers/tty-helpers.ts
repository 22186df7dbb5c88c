/** What the tty driver tests share. */
import type { Readable } from 'node:stream';

/** Let stream callbacks (nextTick/microtasks) run. No time passes on the model's clock. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** n bytes that are not all alike, so reordering or loss shows. */
export function pattern(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));
}

/** A slow reader: up to `want` bytes, five at a time, one event-loop turn between reads (bounded rounds). */
export async function readSlowly(tty: Readable, want: number): Promise<Buffer> {
  const got: Buffer[] = [];
  let have = 0;
  for (let round = 0; round < want && have < want; round++) {
    const chunk = (tty.read(5) ?? tty.read()) as Buffer | null;
    if (chunk) {
      got.push(chunk);
      have += chunk.length;
    }
    await settle();
  }
  return Buffer.concat(got);
}

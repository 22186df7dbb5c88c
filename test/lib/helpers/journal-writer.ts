/**
 * Child process for the kill -9 test: appends numbered entries to a journal
 * as fast as it can and prints each number on stdout only after append()
 * returned (its acknowledgement). The parent kills it with SIGKILL mid-burst.
 */
import fs from 'node:fs';
import { RecordJournal } from '../../../lib/record-journal.js';

/** Write all of `s` to stdout; the pipe is non-blocking, so a full pipe (EAGAIN) is retried. */
function say(s: string): void {
  const b = Buffer.from(s);
  let off = 0;
  while (off < b.length) {
    try {
      off += fs.writeSync(1, b, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

// Run by tap as part of a directory (no arguments): nothing to do.
if (process.argv[2] === undefined) process.exit(0);

const [file, payloadSize] = [process.argv[2]!, Number(process.argv[3] ?? 24)];
const { journal, recovery } = RecordJournal.open(file, { kind: 'burst', payloadSize, syncEachAppend: false });
let n = recovery.entries.length;
say(`ready ${n}\n`);
for (;;) {
  const p = Buffer.alloc(payloadSize, n & 0xff);
  p.writeUInt32LE(n, 0);
  journal.append(p);
  say(`${n}\n`);
  n++;
}

/**
 * Child process for the SEL kill -9 test: logs events into a journal-backed
 * SEL as fast as it can (small capacity, deleting the oldest to make room,
 * so compactions happen mid-burst too) and prints "<record id> <sensor #>"
 * only after logEvent/delete returned (the acknowledgement a command
 * response would carry). The parent kills it with SIGKILL.
 */
import fs from 'node:fs';
import { JournalSelStore } from '../../../../../firmware/ipmi/storage/sel-store.js';
import { SystemEventLog } from '../../../../../firmware/ipmi/storage/sel.js';

function say(s: string): void {
  const b = Buffer.from(s);
  for (let off = 0; off < b.length; ) {
    try {
      off += fs.writeSync(1, b, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

// Run by tap as part of a directory (no arguments): nothing to do.
if (process.argv[2] === undefined) process.exit(0);

const sel = new SystemEventLog({ store: new JournalSelStore(process.argv[2]!, { syncEachAppend: false }), capacity: 64 });
say(`ready ${sel.size}\n`);
for (let n = 0; ; n++) {
  if (sel.size >= 64) {
    const d = sel.delete(0);
    if (d.ok) say(`deleted ${d.recordId}\n`);
  }
  const r = sel.logEvent({ generatorId: 0x20, sensorType: 0x01, sensorNumber: n & 0xff, eventDirType: 0x01, eventData: [0x57, n & 0xff, (n >> 8) & 0xff] });
  if (r.ok) say(`added ${r.recordId} ${n}\n`);
}

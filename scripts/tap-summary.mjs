#!/usr/bin/env node
// Reads tap's TAP output on stdin, echoes it, and ends with the one line CI
// reads: "N passed, N failed" (leaf assertions across all test files; skips
// and todos are reported separately and not counted as passed).
import { Parser } from 'tap-parser';

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
const parser = new Parser(() => {});
// Count leaf test points only: a subtest's own closing "ok N - name" line
// summarises its children, which are counted where they occur. A failing
// subtest with no failing leaf inside (a crash, a bad plan, a timeout) counts
// as one failure, so a crash can never look like success.
const leafFails = new WeakMap();
const watch = (p, ancestors) => {
  const chain = [p, ...ancestors];
  leafFails.set(p, 0);
  let lastChild = null;
  p.on('child', (c) => {
    lastChild = c;
    watch(c, chain);
  });
  p.on('assert', (res) => {
    if (res.closingTestPoint) {
      if (!res.ok && !res.skip && !res.todo && !(lastChild && leafFails.get(lastChild) > 0)) {
        failed++;
        failures.push(res.fullname || res.name);
        for (const q of chain) leafFails.set(q, leafFails.get(q) + 1);
      }
      return;
    }
    if (res.skip || res.todo) skipped++;
    else if (res.ok) passed++;
    else {
      failed++;
      failures.push(res.fullname || res.name);
      for (const q of chain) leafFails.set(q, leafFails.get(q) + 1);
    }
  });
};
watch(parser, []);
process.stdin.on('data', (chunk) => process.stdout.write(chunk));
process.stdin.pipe(parser);
parser.on('complete', (final) => {
  // A test file that crashed or bailed shows up as a failed plan, not always as
  // a failed assertion; count it so a crash can never look like success.
  if (!final.ok && failed === 0) {
    failed = Math.max(1, final.fail);
    failures.push('test run did not complete cleanly');
  }
  if (failures.length) {
    process.stdout.write(`\n# failures:\n${failures.map((f) => `#   ${f}`).join('\n')}\n`);
  }
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exitCode = failed ? 1 : 0;
});

#!/usr/bin/env node
// A stand-in for qemu-system-x86_64 in the KVM probe's tests. The probe
// passes `-kernel <path>`; the path's base name says how the "kernel" fares:
//   panic  prints the panic a kernel without a root file system reaches, exits 0
//   hang   prints nothing and never exits (a kernel stuck under a broken KVM)
//   broken exits 1 with an error, as QEMU does for a bad option
import path from 'node:path';

const argv = process.argv.slice(2);
const mode = path.basename(argv[argv.indexOf('-kernel') + 1] ?? '');
if (mode === 'panic') {
  process.stdout.write('Linux version 6.1.0 (fake)\nKernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n');
  process.exit(0);
} else if (mode === 'hang') {
  setInterval(() => {}, 1 << 30);
} else {
  process.stderr.write(`qemu-system-x86_64: -kernel ${mode}: fake failure\n`);
  process.exit(1);
}

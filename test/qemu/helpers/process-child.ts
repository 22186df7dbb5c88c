/**
 * A bmcemu stand-in in its own process: starts a (fake) QEMU the way
 * HostPower does, reports the QEMU pid over IPC, then waits to be killed.
 * The parent kills it with SIGKILL and checks that QEMU died with it
 * (parent-death signal).
 */
import { findQemuBinary } from '../../../qemu/qemu-binary.js';
import { qemuLaunch, QemuProcess } from '../../../qemu/qemu-process.js';
import { fakeMachine } from './util.js';

const spec = fakeMachine(process.argv[2]!);
const proc = QemuProcess.start(qemuLaunch(spec, await findQemuBinary(spec.binary)));
await proc.attachQmp({ timeoutMs: 30_000 });
process.send!({ pid: proc.pid });
setInterval(() => {}, 1 << 30);

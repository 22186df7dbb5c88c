/**
 * A bmcemu stand-in in its own process: powers on a (fake) QEMU host,
 * reports the QEMU pid over IPC, then waits to be killed. The parent kills
 * it with SIGKILL and checks that QEMU died with it (parent-death signal).
 */
import { HostPower } from '../../../qemu/host-power.js';
import { fakeMachine } from './util.js';

const runtimeDir = process.argv[2]!;
const power = new HostPower({ machine: () => fakeMachine(runtimeDir) });
await power.powerOn();
process.send!({ pid: power.pid });
setInterval(() => {}, 1 << 30);

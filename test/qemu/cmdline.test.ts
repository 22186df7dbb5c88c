/**
 * The machine definition and the command-line builder: golden argv for the
 * x86 host, QEMU-version spelling, escaping and limits; and the real QEMU
 * accepting the argv (paused, no guest code run), including the optional
 * ipmi-bmc-extern slot, whose chardev must not crash QEMU 7.2 at start-up.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { whichSync } from '../../qemu/accel.js';
import {
  buildQemuArgv,
  chardevArg,
  escapeOptValue,
  parseQemuVersion,
  shellQuote,
  type MachineSpec,
} from '../../qemu/cmdline.js';
import { hostPaths, x86GuestCmdline, x86HostMachine, X86_QEMU_BINARY } from '../../qemu/machines.js';
import { qemuMissingMessage } from '../../qemu/qemu-binary.js';
import { QmpClient } from '../../qemu/qmp.js';
import { shortTempDir, until } from './helpers/util.js';

const V7_2 = { major: 7, minor: 2, micro: 22 };
const V10_2 = { major: 10, minor: 2, micro: 2 };
const IMAGE = { kernel: '/cache/img/vmlinuz', initrd: '/cache/img/initrd.img' };

t.test('golden: the x86 host on QEMU 7.2 under TCG', async (t) => {
  const spec = x86HostMachine({ runtimeDir: '/run/bmcemu/i1', image: IMAGE, accel: 'tcg', guest: { command: 'echo hi' } });
  t.same(buildQemuArgv(spec, V7_2), [
    '-name', 'bmcemu-host-i1,debug-threads=on',
    '-machine', 'q35',
    '-accel', 'tcg',
    '-cpu', 'max',
    '-m', '512M',
    '-smp', '1',
    '-nodefaults', '-no-user-config',
    '-display', 'none',
    '-S',
    '-kernel', '/cache/img/vmlinuz',
    '-initrd', '/cache/img/initrd.img',
    '-append', 'console=ttyS0,115200 quiet panic=0 bmcemu.cmd=ZWNobyBoaQ==',
    '-chardev', 'socket,id=qmp,path=/run/bmcemu/i1/qmp.sock,server=on,wait=off',
    '-chardev', 'socket,id=console,path=/run/bmcemu/i1/host-console.sock,reconnect=1',
    '-chardev', 'socket,id=mctp-serial,path=/run/bmcemu/i1/mctp-serial.sock,reconnect=1',
    '-chardev', 'socket,id=kcs3,path=/run/bmcemu/i1/kcs-mctp.sock,reconnect=1',
    '-mon', 'chardev=qmp,mode=control',
    '-serial', 'chardev:console',
    '-serial', 'chardev:mctp-serial',
    '-object', 'memory-backend-file,id=lpcfw,share=on,mem-path=/run/bmcemu/i1/lpc-fw-window,size=1048576',
    '-device', 'virtio-serial-pci,id=vser0',
    '-device', 'virtserialport,bus=vser0.0,chardev=kcs3,name=bmcemu.kcs.3',
    '-device', 'ivshmem-plain,id=lpcfw0,memdev=lpcfw',
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
  ]); // prettier-ignore
});

t.test('golden: KVM, pc, IPMI slot, no MCTP serial, QEMU 10.2 spelling', async (t) => {
  const spec = x86HostMachine({
    runtimeDir: '/run/bmcemu/i2',
    instance: 'lab',
    image: IMAGE,
    accel: 'kvm',
    machine: 'pc',
    memoryMiB: 1024,
    smp: 2,
    ipmi: true,
    mctpSerial: false,
    startPaused: false,
    guest: { onExit: 'poweroff', tmpfs: ['/tmp', '/var/tmp'], rootCache: 'none', kernelLog: 'verbose' },
  });
  t.same(buildQemuArgv(spec, V10_2), [
    '-name', 'bmcemu-host-lab,debug-threads=on',
    '-machine', 'pc',
    '-accel', 'kvm',
    '-cpu', 'host',
    '-m', '1024M',
    '-smp', '2',
    '-nodefaults', '-no-user-config',
    '-display', 'none',
    '-kernel', '/cache/img/vmlinuz',
    '-initrd', '/cache/img/initrd.img',
    '-append', 'console=ttyS0,115200 panic=0 bmcemu.on_exit=poweroff bmcemu.tmpfs=/tmp,/var/tmp bmcemu.9p_cache=none',
    '-chardev', 'socket,id=qmp,path=/run/bmcemu/i2/qmp.sock,server=on,wait=off',
    '-chardev', 'socket,id=console,path=/run/bmcemu/i2/host-console.sock,reconnect-ms=1000',
    '-chardev', 'socket,id=kcs3,path=/run/bmcemu/i2/kcs-mctp.sock,reconnect-ms=1000',
    '-chardev', 'socket,id=ipmi,path=/run/bmcemu/i2/ipmi.sock,reconnect-ms=1000',
    '-mon', 'chardev=qmp,mode=control',
    '-serial', 'chardev:console',
    '-object', 'memory-backend-file,id=lpcfw,share=on,mem-path=/run/bmcemu/i2/lpc-fw-window,size=1048576',
    '-device', 'virtio-serial-pci,id=vser0',
    '-device', 'virtserialport,bus=vser0.0,chardev=kcs3,name=bmcemu.kcs.3',
    '-device', 'ivshmem-plain,id=lpcfw0,memdev=lpcfw',
    '-device', 'ipmi-bmc-extern,id=bmc0,chardev=ipmi',
    '-device', 'isa-ipmi-kcs,bmc=bmc0',
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
  ]); // prettier-ignore
});

t.test('every path of an instance is inside its runtime directory', async (t) => {
  const p = hostPaths('/r/x');
  for (const [k, v] of Object.entries(p)) if (k !== 'runtimeDir') t.equal(path.dirname(v), '/r/x', k);
  t.equal(new Set(Object.values(p)).size, Object.keys(p).length, 'no two wires share a file');
});

t.test('QEMU versions and the reconnect spelling', async (t) => {
  t.same(parseQemuVersion('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright'), V7_2);
  t.same(parseQemuVersion('QEMU emulator version 9.2.0'), { major: 9, minor: 2, micro: 0 });
  t.throws(() => parseQemuVersion('qemu: unknown'), { code: 'ERR_QEMU_VERSION' });
  const c = { id: 'x', path: '/s', qemuRole: 'client' as const };
  t.equal(chardevArg(c, { major: 9, minor: 1, micro: 0 }), 'socket,id=x,path=/s,reconnect=1');
  t.equal(chardevArg(c, { major: 9, minor: 2, micro: 0 }), 'socket,id=x,path=/s,reconnect-ms=1000');
  t.equal(chardevArg({ ...c, qemuRole: 'server' }, V10_2), 'socket,id=x,path=/s,server=on,wait=off', 'never wait=on');
});

t.test('commas in paths are escaped; over-long socket paths and bad ids are refused', async (t) => {
  t.equal(escapeOptValue('/a,b,,c'), '/a,,b,,,,c');
  const spec = x86HostMachine({ runtimeDir: '/tmp/a,b', image: IMAGE, accel: 'tcg' });
  const argv = buildQemuArgv(spec, V7_2);
  t.ok(argv.includes('socket,id=qmp,path=/tmp/a,,b/qmp.sock,server=on,wait=off'));
  t.ok(argv.includes('memory-backend-file,id=lpcfw,share=on,mem-path=/tmp/a,,b/lpc-fw-window,size=1048576'));
  t.ok(argv.includes('bmcemu-host-a,,b,debug-threads=on'));
  const long = x86HostMachine({ runtimeDir: `/tmp/${'d'.repeat(100)}`, image: IMAGE, accel: 'tcg' });
  t.throws(() => buildQemuArgv(long, V7_2), { name: 'QemuError', code: 'ERR_QEMU_CMDLINE', message: /107-byte limit/ });
  const bad: MachineSpec = { ...spec, chardevs: [...spec.chardevs, { id: '1bad', path: '/x', qemuRole: 'client' }] };
  t.throws(() => buildQemuArgv(bad, V7_2), { code: 'ERR_QEMU_CMDLINE', message: /invalid QEMU id "1bad"/ });
  const dup: MachineSpec = { ...spec, chardevs: [...spec.chardevs, spec.chardevs[1]!] };
  t.throws(() => buildQemuArgv(dup, V7_2), { code: 'ERR_QEMU_CMDLINE', message: /duplicate chardev/ });
  const qmpClient: MachineSpec = { ...spec, chardevs: spec.chardevs.map((c) => (c.id === 'qmp' ? { ...c, qemuRole: 'client' as const } : c)) };
  t.throws(() => buildQemuArgv(qmpClient, V7_2), { message: /QMP chardev must be a server/ });
  const dangling: MachineSpec = { ...spec, serials: ['nope'] };
  t.throws(() => buildQemuArgv(dangling, V7_2), { message: /unknown chardev "nope"/ });
});

t.test('kernel command line: base64 command, limits, one-word arguments', async (t) => {
  const cmd = `node '/work/a b/dist/cli/bmcemu.js' guest-agent --eid 9 && echo "done; ok"`;
  const line = x86GuestCmdline({ command: cmd });
  const b64 = /bmcemu\.cmd=(\S+)/.exec(line)![1]!;
  t.equal(Buffer.from(b64, 'base64').toString(), cmd, 'the command survives exactly');
  t.notMatch(line, /bmcemu\.on_exit/, 'defaults are left to the image');
  t.throws(() => x86GuestCmdline({ command: 'x'.repeat(1600) }), { message: /over the 2047-byte x86 limit/ });
  t.throws(() => x86GuestCmdline({ command: '  ' }), RangeError);
  t.throws(() => x86GuestCmdline({ extraKernelArgs: ['two words'] }), RangeError);
  t.throws(() => x86GuestCmdline({ tmpfs: ['/tmp/../etc'] }), RangeError);
  t.throws(() => x86GuestCmdline({ tmpfs: ['relative'] }), RangeError);
  t.equal(x86GuestCmdline({ extraKernelArgs: ['loglevel=7'] }), 'console=ttyS0,115200 quiet panic=0 loglevel=7');
});

t.test('shellQuote makes a pasteable line', async (t) => {
  t.equal(shellQuote(['qemu', '-append', "a b 'c'", 'x,y=z']), `qemu -append 'a b '\\''c'\\''' x,y=z`);
});

t.test('the real QEMU accepts the argv; the IPMI chardev connects without the 7.2 start-up crash', async (t) => {
  const qemu = whichSync(X86_QEMU_BINARY);
  if (!qemu) {
    t.fail(qemuMissingMessage(X86_QEMU_BINARY));
    return;
  }
  const dir = shortTempDir(t);
  const paths = hostPaths(dir);
  fs.writeFileSync(paths.window, Buffer.alloc(1 << 20));
  // A BMC-side listener for the IPMI chardev, up before QEMU: the case that
  // crashes QEMU 7.2 if the chardev connects before the device is realised.
  const ipmiBytes: Buffer[] = [];
  const server = net.createServer((s) => s.on('data', (b: Buffer) => ipmiBytes.push(b)));
  await new Promise<void>((r) => server.listen(paths.ipmi, r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));

  const spec = x86HostMachine({ runtimeDir: dir, image: IMAGE, accel: 'tcg', ipmi: true });
  delete spec.kernel; // no guest code runs: -S and no kernel
  const version = parseQemuVersion(
    await new Promise<string>((resolve) => {
      const p = spawn(qemu, ['--version']);
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      p.on('close', () => resolve(out));
    }),
  );
  const child = spawn(qemu, buildQemuArgv(spec, version), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = once(child, 'exit');
  t.teardown(() => child.kill('SIGKILL'));

  let qmp: QmpClient | undefined;
  await until(() => child.exitCode !== null || fs.existsSync(paths.qmp), 'QMP socket', 10_000);
  for (let i = 0; i < 100 && !qmp && child.exitCode === null; i++) {
    qmp = await QmpClient.connect(paths.qmp, { timeoutMs: 2000 }).catch(() => undefined);
    if (!qmp) await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(qmp, `QMP came up (QEMU stderr: ${stderr.trim() || 'none'})`);
  if (!qmp) return;
  t.match(await qmp.execute('query-status'), { status: 'prelaunch', running: false }, 'paused before the first instruction');
  const devices = (await qmp.execute<Array<{ label: string; filename: string }>>('query-chardev')).map((c) => c.label);
  t.same(devices.sort(), ['console', 'ipmi', 'kcs3', 'mctp-serial', 'qmp'].sort());
  await until(() => Buffer.concat(ipmiBytes).length >= 6, 'ipmi-bmc-extern hello', 10_000);
  t.same([...Buffer.concat(ipmiBytes).subarray(0, 6)], [0xff, 0x01, 0xa1, 0x08, 0x3f, 0xa1], 'VERSION + CAPABILITIES from QEMU');
  await qmp.execute('quit').catch(() => undefined);
  const [code] = await exited;
  t.equal(code, 0, 'QEMU exits cleanly on quit');
});

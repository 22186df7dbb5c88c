#!/usr/bin/env node
// A stand-in for qemu-system-x86_64, for HostPower's state-machine tests:
// it understands the argv bmcemu builds (the QMP server chardev, the console
// client chardev, -S), speaks QMP and prints "boots" on the console, in
// milliseconds instead of seconds. Plain JS so it runs as an executable.
//
// Env: FAKE_QEMU_IGNORE_POWERDOWN=1  the guest ignores the power button
//      FAKE_QEMU_FAIL_START=1        exit 1 with an error before QMP is up
//      FAKE_QEMU_IGNORE_QUIT=1       answer `quit` but keep running (a wedged QEMU)
import fs from 'node:fs';
import net from 'node:net';

const argv = process.argv.slice(2);
if (argv.includes('--version')) {
  process.stdout.write('QEMU emulator version 7.2.0 (fake)\n');
  process.exit(0);
}
if (process.env.FAKE_QEMU_FAIL_START === '1') {
  process.stderr.write('qemu-system-x86_64: -object memory-backend-file: fake start failure\n');
  process.exit(1);
}

const chardevs = new Map();
for (let i = 0; i < argv.length; i++) {
  if (argv[i] !== '-chardev') continue;
  const opts = Object.fromEntries(
    argv[i + 1]
      .split(',')
      .slice(1)
      .map((kv) => kv.split('=')),
  );
  chardevs.set(opts.id, opts);
}
const paused = argv.includes('-S');
const qmpDev = chardevs.get('qmp');
const conDev = chardevs.get('console');

let consoleSock = null;
const consoleOut = (s) => consoleSock?.write(s);
if (conDev) {
  const tryConnect = () => {
    const s = net.createConnection({ path: conDev.path });
    s.on('connect', () => (consoleSock = s));
    s.on('error', () => setTimeout(tryConnect, 100));
    s.on('close', () => {
      if (consoleSock === s) consoleSock = null;
    });
  };
  tryConnect();
}

let boot = 0;
function runGuest() {
  boot++;
  const n = boot;
  setTimeout(() => consoleOut(`fake-guest: boot ${n}\r\nfake-guest: ready\r\n`), 20);
}

let client = null;
const send = (obj) => client?.write(`${JSON.stringify(obj)}\r\n`);
const event = (name, data = {}) => {
  const now = Date.now();
  send({ event: name, data, timestamp: { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 } });
};

function exitSoon(code) {
  setTimeout(() => {
    try {
      fs.unlinkSync(qmpDev.path);
    } catch {}
    process.exit(code);
  }, 10);
}

try {
  fs.unlinkSync(qmpDev.path);
} catch {}
const server = net.createServer((sock) => {
  if (client) {
    sock.destroy();
    return;
  }
  client = sock;
  send({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 }, package: 'fake' }, capabilities: ['oob'] } });
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) handle(JSON.parse(line));
    }
  });
  sock.on('close', () => (client = null));
});
server.listen(qmpDev.path);

let negotiated = false;
function handle(msg) {
  const reply = (ret) => send({ return: ret, id: msg.id });
  if (msg.execute === 'qmp_capabilities') {
    negotiated = true;
    return reply({});
  }
  if (!negotiated) return send({ error: { class: 'CommandNotFound', desc: 'Expecting capabilities negotiation' }, id: msg.id });
  switch (msg.execute) {
    case 'cont':
      reply({});
      event('RESUME');
      runGuest();
      return;
    case 'stop':
      reply({});
      event('STOP');
      return;
    case 'system_reset':
      reply({});
      event('RESET', { guest: false, reason: 'host-qmp-system-reset' });
      runGuest();
      return;
    case 'system_powerdown':
      reply({});
      event('POWERDOWN');
      if (process.env.FAKE_QEMU_IGNORE_POWERDOWN !== '1') {
        setTimeout(() => {
          consoleOut('fake-guest: powering off\r\n');
          event('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
          exitSoon(0);
        }, 30);
      }
      return;
    case 'quit':
      reply({});
      if (process.env.FAKE_QEMU_IGNORE_QUIT === '1') return;
      event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
      exitSoon(0);
      return;
    default:
      send({ error: { class: 'CommandNotFound', desc: `The command ${msg.execute} has not been found` }, id: msg.id });
  }
}

if (!paused) runGuest();
// Stay alive until told otherwise.
setInterval(() => {}, 1 << 30);

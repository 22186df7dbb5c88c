/** Test helper: a UNIX socket server standing in for the BMC's end of a QEMU chardev. */
import net from 'node:net';

/** Listens on sockPath; records what every connection sends, and keeps the latest connection. */
export async function peerServer(t: { teardown(fn: () => void | Promise<void>): void }, sockPath: string) {
  const got: Buffer[] = [];
  let peer: net.Socket | null = null;
  const server = net.createServer((s) => {
    peer = s;
    s.on('data', (d) => got.push(d));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(sockPath, r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return {
    server,
    received: () => Buffer.concat(got),
    peer: () => peer,
  };
}

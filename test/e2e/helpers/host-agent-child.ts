/**
 * A host agent in its own process, driven over IPC by the end-to-end tests:
 * the host side of the LPC binding really crosses a process boundary (KCS
 * wire socket + window file), as it will from inside a QEMU guest.
 */
import { createHash } from 'node:crypto';
import { HostAgent } from '../../../host/host-agent.js';
import { MCTP_TAG_OWNER } from '../../../firmware/mctp/constants.js';

let agent: HostAgent | null = null;

const send = (m: unknown): void => {
  process.send?.(m);
};

/** Deterministic test payload, the same in every process. */
export function payload(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function handle(cmd: string, m: Record<string, unknown>): Promise<unknown> {
  switch (cmd) {
    case 'start': {
      agent = new HostAgent({ kcs: { kind: 'unix', path: m.socket as string }, window: m.window as string, ...(m.mtu ? { mtu: m.mtu as number } : {}) });
      agent.astlpc.on('state', (ev) => send({ event: 'state', ...ev }));
      await agent.start();
      await agent.whenLinkUp();
      // The BMC's bus owner assigns our EID over the link.
      const eid = await agent.whenAssigned();
      // Echo everything of type 0x7E back, as mctp-echo does.
      const echo = agent.stack.socket();
      echo.bind({ net: 0, eid: 0xff, type: 0x7e, tag: 0 });
      void (async () => {
        for await (const r of echo) echo.sendto(r.data, { ...r.addr, tag: r.addr.tag & ~MCTP_TAG_OWNER });
      })();
      return { eid };
    }
    case 'request': {
      if (!agent) throw new Error('not started');
      const data = payload(m.size as number, m.seed as number);
      const s = agent.stack.socket();
      try {
        s.sendto(data, { net: 1, eid: agent.bmcEid, type: 0x7e, tag: MCTP_TAG_OWNER });
        const r = await s.recvfrom();
        return { length: r.data.length, sha: digest(r.data), same: r.data.equals(data) };
      } finally {
        s.close();
      }
    }
    case 'link-up':
      await agent?.whenLinkUp();
      return { eid: await agent?.whenAssigned() };
    case 'stats':
      return agent?.astlpc.stats();
    case 'stop':
      await agent?.stop();
      agent = null;
      return null;
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

process.on('message', (m: { id: number; cmd: string } & Record<string, unknown>) => {
  handle(m.cmd, m).then(
    (result) => send({ id: m.id, ok: true, result }),
    (e: Error & { code?: string }) => send({ id: m.id, ok: false, error: { code: e.code, message: e.message } }),
  );
});
send({ event: 'started' });

/**
 * The IPMI benchmark's load generator: a VM-protocol client that talks to a
 * BMC the way QEMU's ipmi-bmc-extern does (docs/ipmi.md, "VM protocol"). On
 * connect it says VERSION 1 and CAPABILITIES 3F (`FF 01 A1 08 3F A1`), then
 * sends requests `msgid, netfn<<2|lun, cmd, data…, checksum`, escaped and
 * ended by 0xA0, and matches each response to its request by msgid.
 *
 * QEMU keeps one request outstanding (the KCS/BT interface has one); this
 * client allows more only so the benchmark can try a pipelined mode. Control
 * frames the BMC sends (ATTN, ENABLE_IRQ, ...) are counted and ignored; a
 * frame that fails QEMU's checks (under 5 bytes, bad checksum) is counted,
 * and so is a response whose msgid nobody waits for. Every request has a
 * deadline: a BMC that stops answering fails the benchmark, never hangs it.
 */
import net from 'node:net';
import { VM_CMD, VM_CMD_TERMINATOR, VM_ESCAPE, VM_MSG_TERMINATOR, encodeControl, encodeRequest, parseResponse, type VmResponseFrame } from '../firmware/ipmi/vm/codec.js';

export type VmEndpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function describeEndpoint(e: VmEndpoint): string {
  return e.kind === 'unix' ? e.path : `${e.host}:${e.port}`;
}

/** What QEMU 7.2/10.2 send first on every connect. */
export const QEMU_HELLO = Buffer.concat([encodeControl(VM_CMD.VERSION, [0x01]), encodeControl(VM_CMD.CAPABILITIES, [0x3f])]);

/** QEMU's receive buffer is 302 bytes; anything longer cannot be a response it would take. */
const MAX_FRAME = 512;

export interface VmClientStats {
  requests: number;
  responses: number;
  /** Control frames (0xA1) the BMC sent. */
  controls: number;
  /** Frames QEMU would drop: under 5 bytes, bad checksum, oversize, bad escape. */
  badFrames: number;
  /** Well-formed responses whose msgid no request was waiting for. */
  strays: number;
}

interface Pending {
  resolve: (r: VmResponseFrame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class VmClient {
  readonly #sock: net.Socket;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #frame = Buffer.alloc(MAX_FRAME);
  #len = 0;
  #escape = false;
  #broken = false;
  #msgid = 0;
  #closedError: Error | null = null;
  readonly #stats: VmClientStats = { requests: 0, responses: 0, controls: 0, badFrames: 0, strays: 0 };

  private constructor(sock: net.Socket, timeoutMs: number) {
    this.#sock = sock;
    this.#timeoutMs = timeoutMs;
    sock.on('data', (chunk: Buffer) => this.#onData(chunk));
    const fail = (why: string): void => {
      this.#closedError ??= new Error(why);
      for (const [id, p] of this.#pending) {
        clearTimeout(p.timer);
        this.#pending.delete(id);
        p.reject(this.#closedError);
      }
    };
    sock.on('error', (e) => fail(`VM connection error: ${e.message}`));
    sock.on('close', () => fail('the BMC closed the VM connection'));
  }

  /**
   * Connect, say hello as QEMU does, and return the client. Throws when the
   * endpoint refuses (the caller retries while the BMC is starting).
   */
  static async connect(endpoint: VmEndpoint, opts: { timeoutMs?: number } = {}): Promise<VmClient> {
    const sock = endpoint.kind === 'unix' ? net.connect(endpoint.path) : net.connect(endpoint.port, endpoint.host);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve).once('error', reject);
    });
    // Only matters for the pipelined mode: measure the BMC, not Nagle's algorithm.
    if (endpoint.kind === 'tcp') sock.setNoDelay(true);
    const client = new VmClient(sock, opts.timeoutMs ?? 5000);
    sock.write(QEMU_HELLO);
    return client;
  }

  /** Connect, retrying every 50 ms until `deadlineMs` passes or `gaveUp()` says the BMC is gone. */
  static async connectWhenReady(endpoint: VmEndpoint, deadlineMs: number, gaveUp: () => string | null): Promise<VmClient> {
    const end = performance.now() + deadlineMs;
    for (;;) {
      const why = gaveUp();
      if (why) throw new Error(why);
      try {
        return await VmClient.connect(endpoint);
      } catch (e) {
        if (performance.now() > end) throw new Error(`no VM endpoint at ${describeEndpoint(endpoint)} after ${deadlineMs} ms: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  stats(): VmClientStats {
    return { ...this.#stats };
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /** Send one request; resolves with the response carrying its msgid. */
  request(netfn: number, cmd: number, data: Uint8Array = new Uint8Array(0)): Promise<VmResponseFrame> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    if (this.#pending.size >= 128) return Promise.reject(new Error('VM client: more than 128 requests in flight'));
    let id = this.#msgid;
    while (this.#pending.has(id)) id = (id + 1) & 0xff;
    this.#msgid = (id + 1) & 0xff;
    return new Promise<VmResponseFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer to netfn ${hex(netfn)} cmd ${hex(cmd)} (msgid ${id}) within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#stats.requests++;
      this.#sock.write(encodeRequest({ msgid: id, netfn, cmd, data }));
    });
  }

  /** Several requests in one write (they reach the BMC in one chunk): the pipelining probe. */
  burst(requests: Array<{ netfn: number; cmd: number; data?: Uint8Array }>): Array<Promise<VmResponseFrame>> {
    this.#sock.cork();
    try {
      return requests.map((r) => this.request(r.netfn, r.cmd, r.data));
    } finally {
      this.#sock.uncork();
    }
  }

  close(): void {
    this.#closedError ??= new Error('VM client closed');
    this.#sock.destroy();
  }

  /** Unescape byte by byte (responses are short); one frame per terminator. */
  #onData(chunk: Buffer): void {
    for (const b of chunk) {
      if (b === VM_MSG_TERMINATOR || b === VM_CMD_TERMINATOR) {
        this.#finish(b);
      } else if (this.#broken) {
        // Skip to the next terminator.
      } else if (b === VM_ESCAPE && !this.#escape) {
        this.#escape = true;
      } else if (this.#len === MAX_FRAME || (this.#escape && b !== 0xb0 && b !== 0xb1 && b !== 0xba)) {
        this.#broken = true;
      } else {
        this.#frame[this.#len++] = this.#escape ? b & ~0x10 : b;
        this.#escape = false;
      }
    }
  }

  #finish(terminator: number): void {
    const len = this.#len;
    const broken = this.#broken || this.#escape;
    this.#len = 0;
    this.#escape = false;
    this.#broken = false;
    if (terminator === VM_CMD_TERMINATOR) {
      if (broken) this.#stats.badFrames++;
      else this.#stats.controls++;
      return;
    }
    const r = broken ? null : parseResponse(Buffer.from(this.#frame.subarray(0, len)));
    if (!r) {
      this.#stats.badFrames++;
      return;
    }
    const p = this.#pending.get(r.msgid);
    if (!p) {
      this.#stats.strays++;
      return;
    }
    this.#pending.delete(r.msgid);
    clearTimeout(p.timer);
    this.#stats.responses++;
    p.resolve(r);
  }
}

export function hex(v: number): string {
  return `0x${v.toString(16).padStart(2, '0')}`;
}

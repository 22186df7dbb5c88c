/**
 * One VM-protocol connection (QEMU's `ipmi-bmc-extern`) over a ByteLink:
 * decodes what QEMU sends, hands each request to the host side (the system
 * interface) and writes its response back, and turns the system interface's
 * signals into control commands (ATTN, ENABLE_IRQ, ...).
 *
 * Rules it keeps, each for a reason (docs/ipmi.md):
 * - It never stops reading: QEMU retries a partial write every 10 ms
 *   without a timeout and abort()s on the guest's next command, so a BMC
 *   that stops draining its socket kills the VM.
 * - The state lives in the system interface, not here. QEMU forgets ATN and
 *   the IRQ enable when the chardev closes and says VERSION (then
 *   CAPABILITIES) on every open, so on VERSION the connection re-sends what
 *   the system interface's signals() say: ENABLE_IRQ when global enables
 *   bit 0 is set, then the attention if set.
 * - A response belongs to the connection its request came on: one finishing
 *   after a disconnect is dropped (QEMU already answered the guest D2, and a
 *   stale response would cancel the timer of a newer request).
 * - Output is bounded: when the transport holds more than
 *   `maxOutputBacklog` bytes the peer is not reading, and it is disconnected
 *   (counted) rather than letting memory grow.
 */
import type { ByteLink } from '../../../transport/byte-link.js';
import { CC } from '../completion-codes.js';
import type { IpmiResponse } from '../message.js';
import type { SystemInterfaceMessage, SystemInterfaceSignal } from '../system-interface.js';
import {
  VM_CMD,
  VM_MAX_RESPONSE_DATA,
  VM_PROTOCOL_VERSION,
  VmDecoder,
  encodeControl,
  encodeResponse,
  type VmDecoderStats,
  type VmRequestFrame,
} from './codec.js';

/** What the connection needs from the host side; SystemInterface provides it. */
export interface VmHostSide {
  handleRequest(msg: SystemInterfaceMessage, requester?: string): Promise<IpmiResponse>;
  /** Signals that bring a fresh peer up to date. */
  signals(): SystemInterfaceSignal[];
  onSignal(listener: (s: SystemInterfaceSignal) => void): () => void;
}

export const DEFAULT_MAX_OUTPUT_BACKLOG = 64 * 1024;

export interface VmConnectionOptions {
  /** Names this connection in requester ids and log lines (default "vm"). */
  name?: string;
  /**
   * Bytes written to the transport that the peer has not taken yet. Default:
   * the link's `peerStream.writableLength` when it has one (ChardevSocket),
   * else 0 (a transport without a backlog cannot overflow).
   */
  outputBacklog?: () => number;
  /** Above this backlog the peer is disconnected (default 64 KiB). */
  maxOutputBacklog?: number;
  /** QEMU said the VM was reset (VM_CMD_RESET; QEMU 7.2/10.2 never send it). */
  onPeerReset?: () => void;
  log?: (line: string) => void;
}

/** Hardware operations the BMC can ask of QEMU. */
export type VmHostOp = 'power-off' | 'reset' | 'nmi' | 'graceful-shutdown';

const HOST_OPS: Record<VmHostOp, number> = {
  'power-off': VM_CMD.POWEROFF,
  reset: VM_CMD.RESET,
  nmi: VM_CMD.SEND_NMI,
  'graceful-shutdown': VM_CMD.GRACEFUL_SHUTDOWN,
};

export interface VmConnectionStats {
  connected: boolean;
  connections: number;
  disconnects: number;
  requests: number;
  responses: number;
  /** VERSION commands received and the last version seen. */
  versions: number;
  peerVersion: number | undefined;
  /** The last CAPABILITIES byte received. */
  peerCapabilities: number | undefined;
  peerResets: number;
  controlsOut: number;
  /** Control commands from the peer that this side does not know (ignored). */
  unknownControls: number;
  /** Responses dropped because their connection had ended. */
  staleResponses: number;
  /** Control commands not sent because no peer was attached (the next VERSION resyncs). */
  controlsWhileDisconnected: number;
  /** The host side rejected: answered FF. */
  hostErrors: number;
  /** Responses too long for QEMU: answered CA. */
  oversizeResponses: number;
  /** Peers disconnected for not reading their output. */
  outputOverflowDisconnects: number;
  decoder: VmDecoderStats;
}

function signalToControl(s: SystemInterfaceSignal): number {
  if (s.kind === 'interrupts') return s.enabled ? VM_CMD.ENABLE_IRQ : VM_CMD.DISABLE_IRQ;
  return s.attention === 'none' ? VM_CMD.NOATTN : s.attention === 'attn' ? VM_CMD.ATTN : VM_CMD.ATTN_IRQ;
}

export class VmConnection {
  readonly name: string;
  readonly #link: ByteLink;
  readonly #host: VmHostSide;
  readonly #decoder = new VmDecoder();
  readonly #backlog: () => number;
  readonly #maxBacklog: number;
  readonly #onPeerReset: () => void;
  readonly #log: (line: string) => void;
  /** Bumped on every connect and disconnect: responses carry the generation they were asked in. */
  #generation = 0;
  #detached = false;
  readonly #stats = {
    connections: 0,
    disconnects: 0,
    requests: 0,
    responses: 0,
    versions: 0,
    peerVersion: undefined as number | undefined,
    peerCapabilities: undefined as number | undefined,
    peerResets: 0,
    controlsOut: 0,
    unknownControls: 0,
    staleResponses: 0,
    controlsWhileDisconnected: 0,
    hostErrors: 0,
    oversizeResponses: 0,
    outputOverflowDisconnects: 0,
  };

  readonly #onConnect = (): void => this.#connected();
  readonly #onDisconnect = (): void => this.#disconnected();
  readonly #onData = (chunk: Buffer): void => this.#receive(chunk);
  readonly #unsubscribe: () => void;

  constructor(link: ByteLink, host: VmHostSide, opts: VmConnectionOptions = {}) {
    this.#link = link;
    this.#host = host;
    this.name = opts.name ?? 'vm';
    this.#backlog = opts.outputBacklog ?? defaultBacklog(link);
    this.#maxBacklog = opts.maxOutputBacklog ?? DEFAULT_MAX_OUTPUT_BACKLOG;
    this.#onPeerReset = opts.onPeerReset ?? (() => {});
    this.#log = opts.log ?? (() => {});
    link.on('connect', this.#onConnect);
    link.on('disconnect', this.#onDisconnect);
    link.on('data', this.#onData);
    this.#unsubscribe = host.onSignal((s) => this.#signal(s));
    if (link.connected) this.#connected();
  }

  get connected(): boolean {
    return this.#link.connected;
  }

  /** QEMU's capability bits (VM_CAPS), once it has said them on this connection. */
  get peerCapabilities(): number | undefined {
    return this.#stats.peerCapabilities;
  }

  stats(): VmConnectionStats {
    return { connected: this.#link.connected, ...this.#stats, decoder: this.#decoder.stats() };
  }

  /** Ask QEMU for a hardware operation; false when no peer is attached. */
  hostOp(op: VmHostOp): boolean {
    return this.#sendControl(HOST_OPS[op]);
  }

  /** Stop serving: remove every listener this connection added. The link stays as it is. */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#link.off('connect', this.#onConnect);
    this.#link.off('disconnect', this.#onDisconnect);
    this.#link.off('data', this.#onData);
    this.#unsubscribe();
    this.#generation++;
  }

  #connected(): void {
    this.#generation++;
    this.#stats.connections++;
    this.#stats.peerVersion = undefined;
    this.#stats.peerCapabilities = undefined;
    this.#decoder.reset();
  }

  #disconnected(): void {
    this.#generation++;
    this.#stats.disconnects++;
    this.#decoder.reset();
  }

  #receive(chunk: Buffer): void {
    for (const frame of this.#decoder.decode(chunk)) {
      if (frame.kind === 'request') this.#request(frame);
      else this.#control(frame.op, frame.args);
    }
  }

  #control(op: number, args: Buffer): void {
    switch (op) {
      case VM_CMD.VERSION:
        this.#stats.versions++;
        this.#stats.peerVersion = args[0];
        if (args[0] !== VM_PROTOCOL_VERSION) this.#log(`ipmi ${this.name}: peer speaks VM protocol version ${args[0]}, expected ${VM_PROTOCOL_VERSION}`);
        // QEMU says VERSION on every open, after clearing its ATN and IRQ
        // enable: bring it back in step with the system interface.
        for (const s of this.#host.signals()) this.#sendControl(signalToControl(s));
        break;
      case VM_CMD.CAPABILITIES:
        this.#stats.peerCapabilities = args[0];
        break;
      case VM_CMD.RESET:
        this.#stats.peerResets++;
        this.#onPeerReset();
        break;
      default:
        this.#stats.unknownControls++;
    }
  }

  #request(frame: VmRequestFrame): void {
    this.#stats.requests++;
    const generation = this.#generation;
    const msg = { netfn: frame.netfn, lun: frame.lun, cmd: frame.cmd, data: frame.data };
    let pending: Promise<IpmiResponse>;
    try {
      pending = Promise.resolve(this.#host.handleRequest(msg, `${this.name}#${this.#stats.connections}`));
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending
      .catch((e: unknown): IpmiResponse => {
        this.#stats.hostErrors++;
        this.#log(`ipmi ${this.name}: request ${frame.netfn.toString(16)}/${frame.cmd.toString(16)} failed: ${e instanceof Error ? e.message : String(e)}`);
        return { cc: CC.UNSPECIFIED, data: Buffer.alloc(0) };
      })
      .then((res) => this.#respond(frame, generation, res));
  }

  #respond(frame: VmRequestFrame, generation: number, res: IpmiResponse): void {
    if (generation !== this.#generation || !this.#link.connected) {
      this.#stats.staleResponses++;
      return;
    }
    let { cc, data } = res;
    if (data.length > VM_MAX_RESPONSE_DATA) {
      this.#stats.oversizeResponses++;
      cc = CC.CANNOT_RETURN_BYTES;
      data = Buffer.alloc(0);
    }
    if (this.#write(encodeResponse({ msgid: frame.msgid, netfn: frame.netfn, lun: frame.lun, cmd: frame.cmd, cc, data }))) {
      this.#stats.responses++;
    }
  }

  #signal(s: SystemInterfaceSignal): void {
    this.#sendControl(signalToControl(s));
  }

  #sendControl(op: number): boolean {
    if (!this.#link.connected || this.#detached) {
      this.#stats.controlsWhileDisconnected++;
      return false;
    }
    if (!this.#write(encodeControl(op))) return false;
    this.#stats.controlsOut++;
    return true;
  }

  #write(bytes: Buffer): boolean {
    if (!this.#link.write(bytes)) return false;
    const backlog = this.#backlog();
    if (backlog > this.#maxBacklog) {
      this.#stats.outputOverflowDisconnects++;
      this.#log(`ipmi ${this.name}: peer is not reading (${backlog} bytes unsent, limit ${this.#maxBacklog}): disconnecting`);
      this.#link.disconnect();
    }
    return true;
  }
}

function defaultBacklog(link: ByteLink): () => number {
  const withStream = link as ByteLink & { peerStream?: { writableLength: number } | null };
  return () => withStream.peerStream?.writableLength ?? 0;
}

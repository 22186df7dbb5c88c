/**
 * A host that behaves like openbmc/libmctp's astlpc binding in host mode
 * (MCTP_BINDING_ASTLPC_MODE_HOST, astlpc.c as of f1d3857), for tests that
 * must show an unmodified libmctp host recovers. Written from the protocol
 * facts (docs/astlpc.md, and libmctp's host state machine as the shared
 * reference describes it), not from libmctp's code.
 *
 * It keeps exactly libmctp's state — the last STR it looked at
 * (kcs_status), the protocol version (null before init_host assigned one, 0
 * while Init is pending), the buffer states, pkt_size — and reacts only as
 * libmctp does:
 *
 *  - it looks at the channel only in poll(), and poll() acts only when OBF is
 *    set (it reads ODR); polls run on each KCS interrupt (the wire's 0x90);
 *  - on a dummy it compares STR with kcs_status: BMC_READY rising re-runs
 *    init_host (a new Init), BMC_READY falling idles the buffers; a change of
 *    CHANNEL_ACTIVE (or a pending Init) re-reads negotiated_ver and the layout;
 *  - it never re-sends Init on its own, never drains ODR, never retries a
 *    failed registration, and validates the BMC's layout before proposing.
 *
 * None of the extra recovery of this project's host binding
 * (docs/astlpc.md "Deviations from libmctp") is here. Messages libmctp would
 * log go to `log`. Events: 'change' when tx-enabled changes, 'packet' (Buffer)
 * for each packet delivered to the core.
 */
import { EventEmitter } from 'node:events';
import { crc32 } from '../../../../lib/crc32.js';
import type { AstlpcHostKcsPort, AstlpcWindowPort } from '../../../../firmware/mctp/astlpc/ports.js';

const KCS_STATUS_BMC_READY = 0x80;
const KCS_STATUS_CHANNEL_ACTIVE = 0x40;
const KCS_STATUS_IBF = 0x02;
const KCS_STATUS_OBF = 0x01;

const CMD_INITIALISE = 0x00;
const CMD_TX_BEGIN = 0x01;
const CMD_RX_COMPLETE = 0x02;
const CMD_DUMMY = 0xff;

const MCTP_BTU = 64;
const MCTP_HDR = 4;
const CONTROL_SIZE = 0x100;

export const EIO = -5;
export const EAGAIN = -11;
export const EBUSY = -16;
export const EINVAL = -22;
export const EMSGSIZE = -90;
export const EHOSTDOWN = -112;

export type LibmctpBufferState = 'idle' | 'acquired' | 'prepared' | 'released';

interface Buffer_ {
  offset: number;
  size: number;
  state: LibmctpBufferState;
}

export interface LibmctpHostOptions {
  kcs: AstlpcHostKcsPort;
  window: AstlpcWindowPort;
  /** The MTU handed to mctp_astlpc_init (payload bytes). Default MCTP_BTU (64). */
  mtu?: number;
  /** ASTLPC_VER_CUR, a build-time setting of libmctp (default 3); host_ver_min is always 1. */
  versionCur?: number;
  /** libmctp's LPC_WIN_SIZE (1 MiB). */
  windowSize?: number;
}

/** libmctp's packet_size() per version (v1/v2: length prefix; v3: plus CRC). */
function packetSize(version: number, body: number): number {
  return version >= 3 ? body + 8 : body + 4;
}

function bodySize(version: number, packet: number): number {
  return version >= 3 ? packet - 8 : packet - 4;
}

export class LibmctpHost extends EventEmitter {
  readonly log: string[] = [];
  readonly received: Buffer[] = [];
  /** Every STR value mctp_astlpc_update_channel looked at, in order. */
  readonly statusSeen: number[] = [];
  /** astlpc->kcs_status: the STR value the last update looked at. */
  kcsStatus = 0;
  /** astlpc->proto->version; null while no proto is assigned (before the first init_host got that far). */
  proto: number | null = null;
  readonly layout: { rx: Buffer_; tx: Buffer_ } = {
    rx: { offset: 0, size: 0, state: 'idle' },
    tx: { offset: 0, size: 0, state: 'idle' },
  };
  /** binding.pkt_size: MCTP_PACKET_SIZE(mtu) until a v2+ finalise sets body_size(tx_size). */
  pktSize: number;
  /** mctp_binding_set_tx_enabled. */
  txEnabled = false;
  /** mctp_register_bus succeeded: the application polls the binding from then on. */
  registered = false;
  /** While set, interrupts are not serviced (the CPU is busy elsewhere); resume() polls once if any came. */
  paused = false;

  readonly #kcs: AstlpcHostKcsPort;
  readonly #window: AstlpcWindowPort;
  readonly #mtu: number;
  readonly #versionCur: number;
  readonly #windowSize: number;
  readonly #unsubscribe: () => void;
  #chain: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #pollQueued = false;
  #irqWhilePaused = false;

  constructor(opts: LibmctpHostOptions) {
    super();
    this.#kcs = opts.kcs;
    this.#window = opts.window;
    this.#mtu = opts.mtu ?? MCTP_BTU;
    this.#versionCur = opts.versionCur ?? 3;
    this.#windowSize = opts.windowSize ?? 1024 * 1024;
    this.pktSize = Math.max(this.#mtu, MCTP_BTU) + MCTP_HDR;
    // The KCS interrupt is what makes the application poll; nothing else does.
    this.#unsubscribe = opts.kcs.subscribe((event) => {
      if (event === 'irq') this.#interrupt();
    });
  }

  /** A register access or a poll is queued or running. */
  get busy(): boolean {
    return this.#pending > 0;
  }

  /**
   * mctp_register_bus → binding start → mctp_astlpc_init_host. 0, -EHOSTDOWN,
   * -EINVAL or -EIO. On success the application starts its poll loop: one
   * poll at once (a byte may already be waiting in ODR, whose interrupt came
   * before anyone listened), then one per interrupt.
   */
  async register(): Promise<number> {
    const rc = await this.#run(async () => {
      const rc = await this.#initHost();
      if (rc === 0) this.registered = true;
      return rc;
    });
    if (rc === 0) this.#queuePoll();
    return rc;
  }

  /** mctp_astlpc_poll, once. */
  poll(): Promise<number> {
    return this.#run(() => this.#poll());
  }

  /**
   * The core handing one packet to mctp_binding_astlpc_tx. -EAGAIN while Tx
   * is disabled (the core would keep it queued).
   */
  tx(packet: Buffer): Promise<number> {
    return this.#run(async () => (this.txEnabled ? this.#tx(packet) : EAGAIN));
  }

  resume(): void {
    this.paused = false;
    if (this.#irqWhilePaused) {
      this.#irqWhilePaused = false;
      this.#queuePoll();
    }
  }

  close(): void {
    this.#unsubscribe();
  }

  // ---------------------------------------------------------------- plumbing

  #interrupt(): void {
    if (this.paused) {
      this.#irqWhilePaused = true;
      return;
    }
    this.#queuePoll();
  }

  #queuePoll(): void {
    if (this.#pollQueued) return;
    this.#pollQueued = true;
    void this.#run(async () => {
      this.#pollQueued = false;
      return this.registered ? this.#poll() : 0;
    });
  }

  /** One call at a time, in order, like the single-threaded application libmctp runs in. */
  #run<T>(fn: () => Promise<T>): Promise<T> {
    this.#pending++;
    const p = this.#chain.then(fn).finally(() => {
      this.#pending--;
    });
    this.#chain = p.catch(() => undefined);
    return p;
  }

  #read(offset: number, length: number): Buffer {
    return this.#window.read(offset, length);
  }

  #write(offset: number, data: Buffer): void {
    this.#window.write(offset, data);
  }

  #setTxEnabled(enabled: boolean): void {
    // mctp_binding_set_tx_enabled refuses a binding whose pkt_size is below the BTU packet.
    const next = enabled && this.pktSize >= MCTP_BTU + MCTP_HDR;
    if (next === this.txEnabled) return;
    this.txEnabled = next;
    this.emit('change');
  }

  async #kcsSend(cmd: number): Promise<number> {
    let status: number;
    try {
      status = await this.#kcs.readStatus();
    } catch {
      this.log.push('KCS status read failed');
      return EIO;
    }
    if (status & KCS_STATUS_IBF) return EBUSY;
    try {
      await this.#kcs.writeData(cmd);
    } catch {
      this.log.push('KCS data write failed');
      return EIO;
    }
    return 0;
  }

  // ---------------------------------------------------------------- layout

  #layoutRead(): { rx: { offset: number; size: number }; tx: { offset: number; size: number } } {
    const hdr = this.#read(0, 32);
    return {
      rx: { offset: hdr.readUInt32BE(0x10), size: hdr.readUInt32BE(0x14) },
      tx: { offset: hdr.readUInt32BE(0x18), size: hdr.readUInt32BE(0x1c) },
    };
  }

  #bufferValid(buf: { offset: number; size: number }): boolean {
    const version = this.proto ?? 0;
    if (buf.offset + buf.size > 0xffffffff) return false;
    if (buf.offset + buf.size > this.#windowSize) return false;
    if (buf.size < packetSize(version, MCTP_BTU + MCTP_HDR)) return false;
    return buf.offset >= CONTROL_SIZE;
  }

  #layoutValid(layout: { rx: { offset: number; size: number }; tx: { offset: number; size: number } }): boolean {
    const { rx, tx } = layout;
    if (!this.#bufferValid(rx) || !this.#bufferValid(tx)) return false;
    const overlap = (rx.offset <= tx.offset && rx.offset + rx.size > tx.offset) || (tx.offset <= rx.offset && tx.offset + tx.size > rx.offset);
    return !overlap;
  }

  // ---------------------------------------------------------------- init

  async #initHost(): Promise<number> {
    let status: number;
    try {
      status = await this.#kcs.readStatus();
    } catch {
      this.log.push('KCS status read failed');
      return EIO;
    }
    this.kcsStatus = status;
    if (!(status & KCS_STATUS_BMC_READY)) return EHOSTDOWN;

    const hdr = this.#read(0, 32);
    const negotiated = negotiateVersion(hdr.readUInt16BE(0x04), hdr.readUInt16BE(0x06), 1, this.#versionCur);
    if (negotiated === 0) {
      this.log.push('Cannot negotiate with invalid versions');
      return EINVAL;
    }
    this.proto = negotiated;
    if (negotiated >= 2) {
      const rc = this.#negotiateLayoutHost();
      if (rc < 0) return rc;
    }
    const min = Buffer.alloc(2);
    min.writeUInt16BE(1);
    this.#write(0x08, min);
    const cur = Buffer.alloc(2);
    cur.writeUInt16BE(this.#versionCur);
    this.#write(0x0a, cur);
    let rc = 0;
    try {
      // Unconditionally: no IBF check for Init.
      await this.#kcs.writeData(CMD_INITIALISE);
    } catch {
      this.log.push('KCS write failed');
      rc = EIO;
    }
    // Version 0 until a status update with CHANNEL_ACTIVE finalises the channel.
    this.proto = 0;
    return rc;
  }

  #negotiateLayoutHost(): number {
    const layout = this.#layoutRead();
    if (!this.#layoutValid(layout)) {
      this.log.push(
        `BMC provided invalid buffer layout: Rx {0x${layout.rx.offset.toString(16)}, ${layout.rx.size}}, Tx {0x${layout.tx.offset.toString(16)}, ${layout.tx.size}}`,
      );
      return EINVAL;
    }
    layout.rx.size = packetSize(this.proto!, this.#mtu + MCTP_HDR);
    if (!this.#layoutValid(layout)) {
      this.log.push(`Generated invalid buffer layout with size ${layout.rx.size}`);
      return EINVAL;
    }
    // Only rx_size: the offsets and tx_size are the BMC's.
    const size = Buffer.alloc(4);
    size.writeUInt32BE(layout.rx.size);
    this.#write(0x14, size);
    return 0;
  }

  #finaliseChannel(): number {
    const negotiated = this.#read(0x0c, 2).readUInt16BE(0);
    this.log.push(`Version negotiation got: ${negotiated}`);
    if (negotiated === 0 || negotiated > this.#versionCur) {
      this.log.push(`Failed to negotiate version, got: ${negotiated}`);
      return EINVAL;
    }
    this.proto = negotiated;
    const layout = this.#layoutRead();
    if (!this.#layoutValid(layout)) {
      this.log.push('BMC proposed invalid buffer parameters');
      return EINVAL;
    }
    this.layout.rx.offset = layout.rx.offset;
    this.layout.rx.size = layout.rx.size;
    this.layout.tx.offset = layout.tx.offset;
    this.layout.tx.size = layout.tx.size;
    // v1 keeps the requested MTU: there is no negotiation to take one from.
    if (negotiated >= 2) this.pktSize = bodySize(negotiated, this.layout.tx.size);
    this.layout.tx.state = 'acquired';
    this.layout.rx.state = 'released';
    return 0;
  }

  /** mctp_astlpc_update_channel. */
  async #updateChannel(status: number): Promise<number> {
    this.statusSeen.push(status);
    const updated = this.kcsStatus ^ status;
    let rc = 0;
    if (updated & KCS_STATUS_BMC_READY) {
      if (status & KCS_STATUS_BMC_READY) {
        this.kcsStatus = status;
        return this.#initHost();
      }
      this.layout.rx.state = 'idle';
      this.layout.tx.state = 'idle';
      this.#setTxEnabled(false);
    }
    if (this.proto === 0 || updated & KCS_STATUS_CHANNEL_ACTIVE) {
      this.layout.rx.state = 'idle';
      this.layout.tx.state = 'idle';
      rc = this.#finaliseChannel();
      this.#setTxEnabled((status & KCS_STATUS_CHANNEL_ACTIVE) !== 0 && rc === 0);
    }
    this.kcsStatus = status;
    return rc;
  }

  // ---------------------------------------------------------------- poll

  async #poll(): Promise<number> {
    if (this.layout.rx.state === 'prepared' && (await this.#kcsSend(CMD_RX_COMPLETE)) === 0) this.layout.rx.state = 'released';
    if (this.layout.tx.state === 'prepared' && (await this.#kcsSend(CMD_TX_BEGIN)) === 0) this.layout.tx.state = 'released';

    let status: number;
    let data: number;
    try {
      status = await this.#kcs.readStatus();
    } catch {
      this.log.push('KCS read error');
      return -1;
    }
    if (!(status & KCS_STATUS_OBF)) return 0;
    try {
      data = await this.#kcs.readData();
    } catch {
      this.log.push('KCS data read error');
      return -1;
    }
    if (this.proto === 0 && data !== CMD_INITIALISE && data !== CMD_DUMMY) {
      this.log.push(`Invalid message for binding state: 0x${data.toString(16)}`);
      return 0;
    }
    let rc = 0;
    switch (data) {
      case CMD_INITIALISE:
        // libmctp would run its BMC-side channel init here; no BMC sends this.
        this.log.push('unexpected Initialise from the BMC');
        break;
      case CMD_TX_BEGIN:
        if (this.layout.rx.state !== 'released') {
          this.log.push(`Protocol error: Invalid Rx buffer state for event ${data}: ${this.layout.rx.state}`);
          return 0;
        }
        await this.#rxStart();
        break;
      case CMD_RX_COMPLETE:
        if (this.layout.tx.state !== 'released') {
          this.log.push(`Protocol error: Invalid Tx buffer state for event ${data}: ${this.layout.tx.state}`);
          return 0;
        }
        this.layout.tx.state = 'acquired';
        this.#setTxEnabled(true);
        break;
      case CMD_DUMMY:
        rc = await this.#updateChannel(status);
        if (rc < 0) return rc;
        break;
      default:
        this.log.push(`unknown message 0x${data.toString(16)}`);
    }
    // "Handle silent loss of bmc-ready".
    if (!(status & KCS_STATUS_BMC_READY && data === CMD_DUMMY)) return this.#updateChannel(status);
    return rc;
  }

  // ---------------------------------------------------------------- packets

  async #rxStart(): Promise<void> {
    const version = this.proto!;
    const body = this.#read(this.layout.rx.offset, 4).readUInt32BE(0);
    if (body > bodySize(version, this.layout.rx.size) || body > this.pktSize) {
      this.log.push(`invalid RX len 0x${body.toString(16)}`);
      return;
    }
    const packet = this.#read(this.layout.rx.offset + 4, packetSize(version, body) - 4);
    this.layout.rx.state = 'prepared';
    // Rx Complete before the packet is looked at.
    if ((await this.#kcsSend(CMD_RX_COMPLETE)) === 0) this.layout.rx.state = 'released';
    if (packet[0] !== 1) {
      this.log.push('Dropped packet with invalid version');
      return;
    }
    if (version >= 3 && crc32(packet.subarray(0, body)) !== packet.readUInt32BE(body)) {
      this.log.push('Dropped corrupt packet');
      return;
    }
    const pkt = Buffer.from(packet.subarray(0, body));
    this.received.push(pkt);
    this.emit('packet', pkt);
  }

  async #tx(packet: Buffer): Promise<number> {
    const version = this.proto!;
    const limit = bodySize(version, this.layout.tx.size);
    if (packet.length > limit) {
      this.log.push(`invalid TX len ${packet.length}: ${limit}`);
      return EMSGSIZE;
    }
    this.#setTxEnabled(false);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(packet.length);
    this.#write(this.layout.tx.offset, len);
    let body = packet;
    if (version >= 3) {
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(packet));
      body = Buffer.concat([packet, crc]);
    }
    this.#write(this.layout.tx.offset + 4, body);
    this.layout.tx.state = 'prepared';
    const rc = await this.#kcsSend(CMD_TX_BEGIN);
    if (rc === 0) this.layout.tx.state = 'released';
    return rc === EBUSY ? 0 : rc;
  }
}

/** mctp_astlpc_negotiate_version: 0 for zero, inverted or disjoint ranges; else the smaller cur. */
function negotiateVersion(bmcMin: number, bmcCur: number, hostMin: number, hostCur: number): number {
  if (!(bmcMin && bmcCur && hostMin && hostCur)) return 0;
  if (bmcMin > bmcCur || hostMin > hostCur) return 0;
  if (hostCur < bmcMin || hostMin > bmcCur) return 0;
  return Math.min(bmcCur, hostCur);
}

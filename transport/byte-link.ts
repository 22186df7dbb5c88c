/**
 * The minimum a wire protocol needs from a byte-stream transport: a peer that
 * comes and goes, bytes in, bytes out. ChardevSocket implements it; so can a
 * wrapper around a guest's virtio-serial port. Protocol code (KCS wire server
 * and client) depends on this, not on sockets, so it can be tested over an
 * in-memory pair and reused over other transports.
 */
import type { EventEmitter } from 'node:events';

export interface ByteLink extends EventEmitter {
  /** True while a peer is attached and writes reach it. */
  readonly connected: boolean;
  /**
   * Send bytes to the current peer. Returns false (and drops the bytes) when
   * there is no peer. Never throws for a missing peer. The caller must not
   * modify `data` afterwards.
   */
  write(data: Uint8Array): boolean;
  /**
   * Bytes accepted by write() that the peer has not taken yet, when the
   * transport can tell (ChardevSocket can). A transport that queues output
   * bounds this queue itself: past its bound it drops the peer rather than
   * grow, so a wire protocol that answers every request need not count.
   */
  readonly queuedBytes?: number;
  /** Drop the current peer (if any); the transport's own policy decides what happens next. */
  disconnect(): void;

  on(event: 'connect', listener: () => void): this;
  on(event: 'disconnect', listener: () => void): this;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * What the astlpc binding needs from the outside world, and nothing more.
 * Adapters satisfy these: on the BMC, the raw-KCS driver (/dev/raw-kcsN
 * semantics) and the aspeed-lpc-ctrl driver's window; in the host agent, the
 * KCS wire client and the mapped ivshmem BAR. The binding depends only on
 * this file, so it can be tested against in-memory fakes.
 *
 * KCS operations may complete synchronously or return a Promise (the host's
 * registers are across a socket). The binding awaits each operation before
 * issuing the next, so the order it issues them in is the order the device
 * sees — e.g. a status update is always "STR, then dummy ODR write".
 * Every operation must settle: an adapter whose transport has gone away
 * rejects (the binding counts it and retries on the next event or timer)
 * rather than leaving the Promise pending, which would stall the binding.
 */

export type MaybePromise<T> = T | Promise<T>;

/** Removes a listener added with subscribe(). */
export type Unsubscribe = () => void;

/**
 * Something happened on the BMC side of the KCS channel:
 * - 'input': the host wrote IDR (IBF rose) — there is a command to read;
 * - 'output-space': the host read ODR (OBF fell) — the BMC may write ODR again.
 * A spurious event is harmless (the binding re-reads STR); a missing one only
 * delays the binding until its next retry timer.
 */
export type AstlpcBmcKcsEvent = 'input' | 'output-space';

/** BMC side of a KCS channel: /dev/raw-kcsN (offset 0 = data, offset 1 = status). */
export interface AstlpcBmcKcsPort {
  /** Read STR (no side effects). */
  readStatus(): MaybePromise<number>;
  /**
   * Write STR. Hardware keeps IBF and C/D, may clear OBF (written bit 0 = 0)
   * and never sets it. The binding writes BMC_READY / CHANNEL_ACTIVE here.
   */
  writeStatus(value: number): MaybePromise<void>;
  /**
   * Read IDR, which clears IBF. The binding calls it only after seeing IBF in
   * STR; it must not block waiting for IBF.
   */
  readData(): MaybePromise<number>;
  /**
   * Write ODR, which sets OBF and raises the host's interrupt. Must not block
   * waiting for OBF to clear (the binding checks OBF first where the protocol
   * asks for it, and overwrites deliberately where it does not).
   */
  writeData(value: number): MaybePromise<void>;
  subscribe(listener: (event: AstlpcBmcKcsEvent) => void): Unsubscribe;
}

/**
 * Something happened on the host side of the KCS channel:
 * - 'irq': the BMC wrote ODR (OBF rose) — the KCS interrupt;
 * - 'status': STR may have changed in some other way (e.g. IBF cleared after
 *   the BMC read IDR, or a wire write-ack carried a new STR). Optional: the
 *   binding also polls on a timer while it waits for IBF to clear.
 */
export type AstlpcHostKcsEvent = 'irq' | 'status';

/** Host side of a KCS channel: LPC I/O at the data (0xCA2) and status (0xCA3) ports. */
export interface AstlpcHostKcsPort {
  /** Read STR (no side effects). */
  readStatus(): MaybePromise<number>;
  /** Read ODR, which clears OBF. */
  readData(): MaybePromise<number>;
  /** Write IDR as data: sets IBF, clears C/D. Must not block waiting for IBF. */
  writeData(value: number): MaybePromise<void>;
  subscribe(listener: (event: AstlpcHostKcsEvent) => void): Unsubscribe;
}

/**
 * The MCTP LPC window (1 MiB by default), addressed by window offset, as both
 * sides see it. Synchronous positional access: the BMC's lpc-ctrl mapping or
 * the host's mapped BAR.
 */
export interface AstlpcWindowPort {
  /**
   * Copy `length` bytes starting at `offset` out of the window. The returned
   * Buffer is the caller's to keep (the peer may rewrite the window at any
   * time). Throws RangeError when the range is outside the window; the binding
   * validates every offset before asking, so it never gets there.
   */
  read(offset: number, length: number): Buffer;
  /** Copy `data` into the window at `offset`. Throws RangeError when outside the window. */
  write(offset: number, data: Buffer): void;
}

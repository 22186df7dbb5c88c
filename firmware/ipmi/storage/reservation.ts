/**
 * The reservation rule the SEL (§31.4) and the SDR repository (§33.11)
 * share: one current reservation ID at a time. Reserving hands out a new ID
 * and so cancels the previous one; the repository cancels it too whenever
 * its contents change under a reader (what counts as a change is the
 * repository's call). Commands that need a reservation answer C5h when the
 * ID they carry is not the current one.
 *
 * IDs are never 0000h: that value means "no reservation" in requests (and
 * ipmitool treats a reserved ID of 0 as failure).
 */
export class Reservation {
  #current = 0;
  #last: number;

  /** `seed` picks the first ID handed out (tests pin it; a restart need not repeat IDs). */
  constructor(seed = 0) {
    this.#last = seed & 0xffff;
  }

  /** A new reservation ID; every earlier one stops being valid. */
  reserve(): number {
    this.#last = (this.#last % 0xffff) + 1; // 1..FFFFh, wrapping past 0
    this.#current = this.#last;
    return this.#current;
  }

  /** Invalidate the current reservation (the repository changed). */
  cancel(): void {
    this.#current = 0;
  }

  /** Whether `id` is the current reservation. */
  isValid(id: number): boolean {
    return id !== 0 && id === this.#current;
  }
}

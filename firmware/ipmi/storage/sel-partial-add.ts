/**
 * Partial Add SEL Entry (§31.7): a record sent in pieces. The first piece
 * names record ID 0000h and offset 0; the SEL answers with the ID the record
 * will get, and every later piece names that ID and continues exactly where
 * the previous one stopped. The piece flagged "last" completes the record,
 * which is then added like Add SEL Entry (the SEL device stamps ID and time).
 * One record is in progress at a time; starting a new one abandons the old,
 * and so does any piece that is refused (the sender starts over).
 */
import { SEL_RECORD_SIZE } from './sel-record.js';
import type { SelAddResult, SystemEventLog } from './sel.js';

export type PartialAddResult =
  | { status: 'in-progress'; recordId: number }
  | { status: 'done'; result: SelAddResult }
  /** The record ID names no record in progress. */
  | { status: 'unknown-record' }
  /** The offset is not where the record in progress continues. */
  | { status: 'bad-offset' }
  /** The pieces add up to more than 16 bytes. */
  | { status: 'too-long' }
  /** "Last" came before all 16 bytes did. */
  | { status: 'short' };

export class SelPartialAdd {
  readonly #sel: SystemEventLog;
  #pending: { recordId: number; bytes: Buffer } | undefined;

  constructor(sel: SystemEventLog) {
    this.#sel = sel;
  }

  piece(recordId: number, offset: number, data: Buffer, last: boolean): PartialAddResult {
    const starting = recordId === 0 && offset === 0;
    if (starting) this.#pending = { recordId: this.#sel.peekNextId(), bytes: Buffer.alloc(0) };
    const p = this.#pending;
    if (!p || (!starting && recordId !== p.recordId)) return this.#abandon('unknown-record');
    if (offset !== p.bytes.length) return this.#abandon('bad-offset');
    if (offset + data.length > SEL_RECORD_SIZE) return this.#abandon('too-long');
    p.bytes = Buffer.concat([p.bytes, data]);
    if (!last) return { status: 'in-progress', recordId: p.recordId };
    this.#pending = undefined;
    if (p.bytes.length !== SEL_RECORD_SIZE) return { status: 'short' };
    return { status: 'done', result: this.#sel.add(p.bytes) };
  }

  #abandon(status: 'unknown-record' | 'bad-offset' | 'too-long'): PartialAddResult {
    this.#pending = undefined;
    return { status };
  }
}

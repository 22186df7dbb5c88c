/**
 * A ready-made readiness source for the lead: call `milestone(name)` as the
 * host boots (or `record({kind, ...})` for anything else) and hand the object
 * to the API as `events`. It remembers the milestones reached since the last
 * power-off or reset, so a subscriber that arrives late still sees them.
 */
import { EventEmitter } from 'node:events';
import type { ReadinessPart, ReadinessRecord } from './context.js';

export class ReadinessEvents extends EventEmitter implements ReadinessPart {
  #milestones = new Map<string, ReadinessRecord>();
  #now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    super();
    this.#now = opts.now ?? Date.now;
  }

  /** A boot milestone was reached (e.g. "kernel", "agent-started"). */
  milestone(name: string, fields: Record<string, unknown> = {}): void {
    this.record({ ...fields, kind: 'boot-milestone', name });
  }

  /** The host went down or was reset: milestones of the previous boot no longer hold. */
  hostReset(reason = 'reset'): void {
    this.record({ kind: 'host-reset', reason });
  }

  record(rec: ReadinessRecord): void {
    const r: ReadinessRecord = { ...rec, time: rec.time ?? this.#now() };
    if (r.kind === 'boot-milestone' && typeof r.name === 'string') this.#milestones.set(r.name, r);
    if (r.kind === 'host-reset') this.#milestones.clear();
    this.emit('event', r);
  }

  current(): ReadinessRecord[] {
    return [...this.#milestones.values()];
  }
}

/** What every route plugin is given (one object, built by the server factory). */
import type { Clock } from '../../../lib/clock.js';
import type { CaptureManager } from './capture.js';
import type { ApiContext } from './context.js';
import type { EventHub } from './hub.js';
import type { StreamRegistry } from './streams.js';

export interface RouteDeps {
  ctx: ApiContext;
  hub: EventHub;
  captures: CaptureManager;
  /** Time for the API's own timeouts (waits, echo): injectable, monotonic ms. */
  clock: Clock;
  /** Wall clock, epoch ms (timestamps, uptimes). */
  now: () => number;
  /** Wall-clock ms the BMC started. */
  startedAt: number;
  /** Console bytes the API counted (used when the console has no stats()). */
  consoleBytes: { fromHostBytes: number; toHostBytes: number };
  sseKeepAliveMs: number;
  /** Caps on open streams and on what one slow client may queue; counts refusals and drops. */
  streams: StreamRegistry;
  /** Register work to do when the server closes (end SSE streams, answer pending waits). */
  onShutdown(fn: () => void): () => void;
}

/**
 * The guest agent's connectivity check: after every activation of the astlpc
 * channel, echo the BMC (mctp-req style) once and say how it went. Each
 * activation has ECHO_DEADLINE_MS: without a static EID it first waits for the
 * BMC's bus owner to assign one (the BMC may still be setting us up), then
 * tries an echo of ECHO_ATTEMPT_MS at a time, ECHO_RETRY_PAUSE_MS apart, while
 * the link stays up and the deadline allows another attempt. The channel going
 * down ends the activation's check quietly (the next activation checks again);
 * stop() ends it silently. Everything waits on the injectable clock.
 */
import { EventEmitter } from 'node:events';
import type { AstlpcStateEvent } from '../firmware/mctp/astlpc/binding.js';
import { echoRequest } from '../firmware/mctp/echo.js';
import type { Clock } from '../lib/clock.js';
import { delay } from '../lib/wait.js';
import { HOST_ASTLPC_IFNAME, type HostAgent } from './host-agent.js';

/** Echo budget after "astlpc up": the BMC may still be setting us up (bus owner queries) for a moment. */
export const ECHO_DEADLINE_MS = 15000;
export const ECHO_ATTEMPT_MS = 1000;
export const ECHO_RETRY_PAUSE_MS = 250;
/** Bytes after the echo header, as the agent has always sent. */
export const ECHO_LEN = 64;

/** What one activation's check came to, emitted as 'echo'. */
export type EchoEvent =
  /** The bus owner assigned us `eid` (only without a static EID); the echo follows. */
  | { kind: 'assigned'; eid: number }
  | { kind: 'ok'; rttMs: number; bytes: number }
  /** The deadline passed with the link up and still no EID. */
  | { kind: 'no-eid'; deadlineMs: number }
  /** The link went down while echoing; `error` is what the last attempt met. */
  | { kind: 'abandoned'; error: Error }
  /** Every attempt until the deadline failed, the link up throughout. */
  | { kind: 'failed'; error: Error; bmcEid: number; eid: number | null; deadlineMs: number };

export interface EchoPolicyOptions {
  clock: Clock;
  deadlineMs?: number;
  attemptMs?: number;
  pauseMs?: number;
}

const LINK_DOWN = 'link-down';
const STOPPED = 'stopped';

export class EchoPolicy extends EventEmitter {
  readonly #agent: HostAgent;
  readonly #clock: Clock;
  readonly #deadlineMs: number;
  readonly #attemptMs: number;
  readonly #pauseMs: number;
  #up = false;
  #started = false;
  /** The running activation's check, aborted with LINK_DOWN or STOPPED. */
  #current: AbortController | null = null;
  readonly #onState = (ev: AstlpcStateEvent): void => {
    if (ev.carrier === this.#up) return;
    this.#up = ev.carrier;
    this.#current?.abort(LINK_DOWN);
    this.#current = null;
    if (this.#up) this.#check();
  };

  constructor(agent: HostAgent, opts: EchoPolicyOptions) {
    super();
    this.#agent = agent;
    this.#clock = opts.clock;
    this.#deadlineMs = opts.deadlineMs ?? ECHO_DEADLINE_MS;
    this.#attemptMs = opts.attemptMs ?? ECHO_ATTEMPT_MS;
    this.#pauseMs = opts.pauseMs ?? ECHO_RETRY_PAUSE_MS;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#agent.astlpc.on('state', this.#onState);
  }

  stop(): void {
    this.#agent.astlpc.off('state', this.#onState);
    this.#current?.abort(STOPPED);
    this.#current = null;
  }

  #check(): void {
    const ctl = new AbortController();
    this.#current = ctl;
    this.#run(ctl.signal).catch((err: unknown) => {
      // Only a bug lands here: report it as a failed check rather than lose it.
      if (!ctl.signal.aborted) this.#emit({ kind: 'abandoned', error: err instanceof Error ? err : new Error(String(err)) });
    });
  }

  #emit(ev: EchoEvent): void {
    this.emit('echo', ev);
  }

  #linkUp(): boolean {
    return this.#agent.stack.findInterface(HOST_ASTLPC_IFNAME)?.carrier ?? false;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const agent = this.#agent;
    const deadline = this.#clock.now() + this.#deadlineMs;
    // Without a static EID there is nothing to send from until the bus owner assigns one.
    if (agent.staticEid === null) {
      let eid: number;
      try {
        eid = await agent.whenAssigned({ clock: this.#clock, timeoutMs: this.#deadlineMs, signal });
      } catch {
        // Aborted (link down, stopped): nothing to say. Timed out: only worth saying if the link is still up.
        if (!signal.aborted && this.#linkUp()) this.#emit({ kind: 'no-eid', deadlineMs: this.#deadlineMs });
        return;
      }
      this.#emit({ kind: 'assigned', eid });
    }
    for (;;) {
      let error: Error;
      try {
        const r = await echoRequest(agent.stack, { eid: agent.bmcEid, len: ECHO_LEN, clock: this.#clock, timeoutMs: this.#attemptMs });
        if (signal.reason !== STOPPED) this.#emit({ kind: 'ok', rttMs: r.rttMs, bytes: r.bytes });
        return;
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
      }
      if (signal.reason === STOPPED) return;
      // The link dropped meanwhile (even if it is back: that is another activation, with its own check).
      if (signal.aborted || !this.#linkUp()) return this.#emit({ kind: 'abandoned', error });
      if (this.#clock.now() + this.#attemptMs > deadline) {
        return this.#emit({ kind: 'failed', error, bmcEid: agent.bmcEid, eid: agent.eid, deadlineMs: this.#deadlineMs });
      }
      try {
        await delay(this.#pauseMs, { clock: this.#clock, signal });
      } catch {
        if (signal.reason !== STOPPED) this.#emit({ kind: 'abandoned', error });
        return;
      }
    }
  }
}

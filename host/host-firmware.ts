/**
 * The host's side of the machine, composed: what a host OS with mctpd in the
 * endpoint role and the MCTP bindings runs, as firmware/bmc/bmc-firmware.ts
 * is the BMC's. Given the devices (found by host/guest/ inside a QEMU guest,
 * or the instance's files from another process), it runs
 *
 *  - the MCTP stack with the astlpc binding in host mode on `mctplpc0` over
 *    the KCS wire and the LPC window, and the endpoint-role control responder
 *    (HostAgent, so the BMC's bus owner can assign our EID);
 *  - with a serial stream (the guest's ttyS1, cabled to the BMC's UART), the
 *    DSP0253 binding on `mctpserial0`, announced to the bus owner with
 *    Discovery Notify until it has assigned that link an EID;
 *  - the MCTP echo responder (mctp-echo's role), and with `echo` the
 *    connectivity check after every astlpc activation (EchoPolicy).
 *
 * It prints nothing: readiness is promises (whenLinkUp, whenAssigned,
 * whenSerialAssigned) and events ('echo' with an EchoEvent; 'kcs-wire-silent'
 * when the KCS wire has had no session at a KCS_SILENCE_CHECK_MS check, once
 * until the next session); the astlpc binding's 'state' and the KCS wire
 * client's events are there to watch too. Everything runs on one Clock.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { AstlpcBinding } from '../firmware/mctp/astlpc/binding.js';
import { DiscoveryNotifier } from '../firmware/mctp/control/discovery-notify.js';
import { startEchoResponder, type EchoResponder } from '../firmware/mctp/echo.js';
import { SerialBinding } from '../firmware/mctp/serial/binding.js';
import type { MctpStack } from '../firmware/mctp/stack.js';
import type { Clock, TimerHandle } from '../lib/clock.js';
import { waitUntil, type WaitOptions } from '../lib/wait.js';
import type { KcsWireClient } from '../transport/kcs-wire/client.js';
import { EchoPolicy, type EchoEvent } from './echo-policy.js';
import { HostAgent, type HostAgentOptions } from './host-agent.js';
import { STACK_EVENT, stackEvents } from './stack-events.js';

export { HOST_ASTLPC_IFNAME } from './host-agent.js';
export const HOST_SERIAL_IFNAME = 'mctpserial0';

/** How often to look whether the KCS wire has a session (the BMC may simply not be running yet). */
export const KCS_SILENCE_CHECK_MS = 5000;

export interface HostFirmwareOptions extends HostAgentOptions {
  /**
   * The serial line cabled to the BMC's UART: the MCTP serial binding runs
   * on it as mctpserial0. With a static `eid` the link gets that address
   * (and no route: one EID has one route, and the BMC's is on astlpc);
   * otherwise the bus owner assigns one, as on astlpc. The binding owns the
   * stream from then on (stop() destroys it).
   */
  serial?: Duplex | null;
  /** After every astlpc activation, echo the BMC and report it as an 'echo' event. */
  echo?: boolean;
}

export class HostFirmware extends EventEmitter {
  /** The stack, astlpc in host mode, the KCS wire client and the control responder. */
  readonly agent: HostAgent;
  readonly serial: SerialBinding | null;
  /** Announces us on the serial link while the bus owner has not assigned it an EID (dynamic EIDs only). */
  readonly discovery: DiscoveryNotifier | null;
  readonly echoPolicy: EchoPolicy | null;
  #echoResponder: EchoResponder | null = null;
  #silenceCheck: TimerHandle | null = null;
  #silenceReported = false;
  #started = false;
  #stopped = false;
  readonly #onEcho = (ev: EchoEvent): void => void this.emit('echo', ev);
  readonly #onKcsReady = (): void => {
    this.#silenceReported = false;
  };

  constructor(opts: HostFirmwareOptions) {
    super();
    this.agent = new HostAgent(opts);
    this.serial = opts.serial ? new SerialBinding({ stream: opts.serial }) : null;
    this.discovery = this.serial && this.agent.staticEid === null ? new DiscoveryNotifier(this.agent.stack, { ifname: HOST_SERIAL_IFNAME, clock: this.clock }) : null;
    this.echoPolicy = opts.echo ? new EchoPolicy(this.agent, { clock: this.clock }) : null;
  }

  get stack(): MctpStack {
    return this.agent.stack;
  }

  get astlpc(): AstlpcBinding {
    return this.agent.astlpc;
  }

  get kcsClient(): KcsWireClient {
    return this.agent.kcsClient;
  }

  get clock(): Clock {
    return this.agent.clock;
  }

  get staticEid(): number | null {
    return this.agent.staticEid;
  }

  get bmcEid(): number {
    return this.agent.bmcEid;
  }

  /** Our EID on the astlpc link, or null while unassigned. */
  get eid(): number | null {
    return this.agent.eid;
  }

  /**
   * Bring everything up. The serial link comes first: it does not depend on
   * the KCS wire. Resolves once the KCS wire has a session (it waits, with
   * backoff, while the BMC is not there) and the astlpc link is up
   * administratively; the channel itself comes up when the BMC is ready
   * (whenLinkUp()). Rejects if stopped first.
   */
  async start(): Promise<void> {
    if (this.#started || this.#stopped) throw new Error(`HostFirmware: start() after ${this.#stopped ? 'stop()' : 'start()'}`);
    this.#started = true;
    this.#echoResponder = startEchoResponder(this.stack);
    if (this.echoPolicy) {
      this.echoPolicy.on('echo', this.#onEcho);
      this.echoPolicy.start();
    }
    this.kcsClient.on('ready', this.#onKcsReady);
    this.#scheduleSilenceCheck();
    if (this.serial) this.#startSerial(this.serial);
    await this.agent.start();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.echoPolicy?.stop();
    this.echoPolicy?.off('echo', this.#onEcho);
    this.discovery?.stop();
    this.#silenceCheck?.cancel();
    this.#silenceCheck = null;
    this.kcsClient.off('ready', this.#onKcsReady);
    this.#echoResponder?.close();
    // Closing the stack removes its interfaces, which closes their bindings (the serial one too).
    await this.agent.stop();
  }

  /** Resolves when the astlpc channel is active; `opts` bounds the wait (see lib/wait.ts). */
  whenLinkUp(opts: WaitOptions = {}): Promise<void> {
    return this.agent.whenLinkUp(opts);
  }

  /** Resolves with our EID on the astlpc link once we have one. */
  whenAssigned(opts: WaitOptions = {}): Promise<number> {
    return this.agent.whenAssigned(opts);
  }

  /** Resolves with our EID on the serial link once we have one (at once for a static EID). */
  async whenSerialAssigned(opts: WaitOptions = {}): Promise<number> {
    if (!this.serial) throw new Error('HostFirmware: no serial link');
    const eid = (): number | undefined => this.stack.findInterface(HOST_SERIAL_IFNAME)?.addrs[0];
    await waitUntil(stackEvents(this.stack), STACK_EVENT, () => eid() !== undefined, { clock: this.clock, what: `an EID on ${HOST_SERIAL_IFNAME}`, ...opts });
    return eid()!;
  }

  #startSerial(binding: SerialBinding): void {
    const iface = this.stack.addInterface(HOST_SERIAL_IFNAME, binding);
    if (this.staticEid !== null) this.stack.addAddress(HOST_SERIAL_IFNAME, this.staticEid);
    iface.setUp(true);
    this.discovery?.start();
  }

  /** On a fixed period from start(): a BMC that never answers is reported once per stretch of silence. */
  #scheduleSilenceCheck(): void {
    this.#silenceCheck = this.clock.setTimeout(() => {
      this.#silenceCheck = null;
      if (this.#stopped) return;
      if (!this.kcsClient.ready && !this.#silenceReported) {
        this.#silenceReported = true;
        this.emit('kcs-wire-silent');
      }
      this.#scheduleSilenceCheck();
    }, KCS_SILENCE_CHECK_MS);
  }
}

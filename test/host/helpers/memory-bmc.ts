/**
 * The BMC side in memory, for host-side tests on a ManualClock: the real KCS
 * model behind the real KCS wire server on one end of a MemoryLink pair (the
 * host side gets the other end, as it gets a virtio port), a Buffer as the
 * LPC window both sides share, and the BMC's firmware parts as BmcFirmware
 * composes them — astlpc in BMC mode on mctplpc0 over raw-kcs, the serial
 * binding on mctpserial0 over one end of a duplex pair, EID 8 on both, the
 * bus owner and the echo responder (each optional).
 */
import type { Duplex } from 'node:stream';
import { rawKcsAstlpcPort } from '../../../firmware/bmc/astlpc-ports.js';
import { RawKcs } from '../../../firmware/drivers/raw-kcs.js';
import { AstlpcBinding } from '../../../firmware/mctp/astlpc/binding.js';
import { ControlResponder, ECHO_VDM } from '../../../firmware/mctp/control/responder.js';
import { startEchoResponder, type EchoResponder } from '../../../firmware/mctp/echo.js';
import { SerialBinding } from '../../../firmware/mctp/serial/binding.js';
import { MctpStack } from '../../../firmware/mctp/stack.js';
import { BusOwner } from '../../../firmware/services/bus-owner/bus-owner.js';
import { KcsChannel } from '../../../hw-models/kcs.js';
import { KcsWireServer } from '../../../hw-models/wire-servers/kcs-wire-server.js';
import type { ManualClock } from '../../../lib/clock.js';
import type { PositionalWindow } from '../../../host/astlpc-ports.js';
import { duplexPair } from '../../firmware/mctp/serial/helpers.js';
import { memoryLinkPair, type MemoryLink } from '../../transport/helpers/util.js';

/** Small enough to be cheap, large enough for the astlpc layout at the baseline MTU. */
export const MEMORY_WINDOW_SIZE = 64 * 1024;

export interface MemoryBmcOptions {
  busOwner?: boolean;
  echo?: boolean;
  /** A static route to this host EID over astlpc (for hosts with a static EID and no bus owner). */
  hostEid?: number;
}

export interface MemoryBmc {
  stack: MctpStack;
  astlpc: AstlpcBinding;
  serial: SerialBinding;
  responder: ControlResponder;
  busOwner: BusOwner | null;
  /** The host's end of the KCS wire: connected (the model greets it). */
  kcsLink: MemoryLink;
  /** The host's end of the serial line. */
  serialStream: Duplex;
  /** The LPC window as the host sees it. */
  window: PositionalWindow;
  stop(): Promise<void>;
}

export function startMemoryBmc(clock: ManualClock, opts: MemoryBmcOptions = {}): MemoryBmc {
  const mem = Buffer.alloc(MEMORY_WINDOW_SIZE);
  const window: PositionalWindow = {
    read: (o, l) => Buffer.from(mem.subarray(o, o + l)),
    write: (o, d) => {
      Buffer.from(d).copy(mem, o);
    },
  };
  const kcs = new KcsChannel({ channel: 3 });
  const rawKcs = new RawKcs(kcs);
  const wire = memoryLinkPair();
  const server = new KcsWireServer(kcs, wire.b, { channel: 3 });
  wire.connect();

  const stack = new MctpStack({ clock });
  const astlpc = new AstlpcBinding({ mode: 'bmc', kcs: rawKcsAstlpcPort(rawKcs), window, windowSize: mem.length, clock });
  const [bmcEnd, hostEnd] = duplexPair();
  const serial = new SerialBinding({ stream: bmcEnd });
  const responder = new ControlResponder(stack, { role: 'bus-owner', vdm: [ECHO_VDM] });
  const busOwner = opts.busOwner === false ? null : new BusOwner(stack, { clock, responder, routeMtu: 'none' });
  stack.addInterface('mctplpc0', astlpc);
  stack.addAddress('mctplpc0', 8);
  if (opts.hostEid !== undefined) stack.addRoute({ min: opts.hostEid, dev: 'mctplpc0' });
  stack.interface('mctplpc0').setUp(true);
  stack.addInterface('mctpserial0', serial);
  stack.addAddress('mctpserial0', 8);
  stack.interface('mctpserial0').setUp(true);
  busOwner?.start();
  const echo: EchoResponder | null = opts.echo === false ? null : startEchoResponder(stack);
  return {
    stack,
    astlpc,
    serial,
    responder,
    busOwner,
    kcsLink: wire.a,
    serialStream: hostEnd,
    window,
    async stop() {
      echo?.close();
      busOwner?.stop();
      responder.close();
      await stack.close();
      server.detach();
      rawKcs.close();
    },
  };
}

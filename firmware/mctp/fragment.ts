/**
 * Splitting a message into packets no larger than the path MTU, as Linux's
 * mctp_do_fragment_route: the MTU includes the 4-byte header; the message
 * (type byte + payload) is cut into chunks of mtu - 4; the first packet has
 * SOM, the last EOM; sequence numbers count from 0 modulo 4; version, EIDs,
 * TO and tag are the same in every packet.
 */
import { MCTP_HDR_LEN, MCTP_VER } from './constants.js';
import { MctpError } from './errors.js';
import { writeHeader } from './header.js';

export interface FragmentParams {
  dest: number;
  src: number;
  to: boolean;
  tag: number;
  /** Path MTU, header included. */
  mtu: number;
}

/** Number of packets a message of `msgLen` bytes (type byte included) needs. */
export function fragmentCount(msgLen: number, mtu: number): number {
  const chunk = mtu - MCTP_HDR_LEN;
  return Math.max(1, Math.ceil(msgLen / chunk));
}

/**
 * `message` is the type byte followed by the payload. Returns fresh packet
 * buffers (the caller may hand them to bindings that keep them).
 */
export function fragmentMessage(message: Uint8Array, p: FragmentParams): Buffer[] {
  if (p.mtu < MCTP_HDR_LEN + 1) {
    throw new MctpError('EMSGSIZE', `path MTU ${p.mtu} cannot carry a packet (at least ${MCTP_HDR_LEN + 1} bytes needed)`);
  }
  const chunk = p.mtu - MCTP_HDR_LEN;
  const n = fragmentCount(message.length, p.mtu);
  const packets: Buffer[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const start = i * chunk;
    const body = message.subarray(start, Math.min(start + chunk, message.length));
    const pkt = Buffer.allocUnsafe(MCTP_HDR_LEN + body.length);
    writeHeader(pkt, {
      ver: MCTP_VER,
      dest: p.dest,
      src: p.src,
      som: i === 0,
      eom: i === n - 1,
      seq: i & 3,
      to: p.to,
      tag: p.tag,
    });
    pkt.set(body, MCTP_HDR_LEN);
    packets[i] = pkt;
  }
  return packets;
}

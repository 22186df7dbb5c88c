/**
 * Per-interface counters, with every drop attributed to a reason. The names
 * are stable: the status API and /metrics expose them as labels.
 */

export const RX_DROP_REASONS = [
  'if-down', // interface administratively down
  'short', // shorter than the header (or header + type byte for local delivery)
  'bad-version', // header version byte is not 1
  'bad-src', // source EID reserved (1..7) or broadcast
  'bad-dest', // destination EID reserved (1..7)
  'no-route', // no local or forwarding route for the destination
  'no-key', // a response or continuation that matches no tag key (unsolicited)
  'no-listener', // a request whose type nobody bound
  'reasm-not-started', // a continuation for a key with no message in progress
  'reasm-seq', // fragment sequence number out of order
  'reasm-dup-start', // a new SOM while a message was in progress: both dropped
  'reasm-too-long', // message would exceed 64 KiB
  'reasm-limit', // too many messages in reassembly at once (memory bound)
  'reasm-timeout', // message not completed within the key lifetime
  'key-exists', // a reassembly key for the same tuple appeared concurrently
  'rcvbuf-full', // the receiving socket's queue is full
  'fwd-too-big', // forwarded packet larger than the egress MTU
  'fwd-failed', // forwarding could not queue the packet
] as const;
export type RxDropReason = (typeof RX_DROP_REASONS)[number];

export const TX_DROP_REASONS = [
  'carrier-lost', // queued packets discarded when the link went down
  'if-down', // queued packets discarded when the interface was set down
  'binding-error', // the binding threw while transmitting
] as const;
export type TxDropReason = (typeof TX_DROP_REASONS)[number];

export interface InterfaceCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  rxDropped: number;
  txDropped: number;
  rxDrops: Record<RxDropReason, number>;
  txDrops: Record<TxDropReason, number>;
}

function zeroed<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export function newInterfaceCounters(): InterfaceCounters {
  return {
    rxPackets: 0,
    rxBytes: 0,
    txPackets: 0,
    txBytes: 0,
    rxDropped: 0,
    txDropped: 0,
    rxDrops: zeroed(RX_DROP_REASONS),
    txDrops: zeroed(TX_DROP_REASONS),
  };
}

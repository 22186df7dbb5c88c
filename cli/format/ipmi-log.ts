/**
 * One line per IPMI message for `bmcemu ipmi log`: when it arrived, on which
 * bus from whom, what it was (netfn and command, by name where known), how
 * it was answered (completion code and its meaning) and how long that took.
 *
 *   2026-12-06T05:53:15.120Z system/qemu#1 App 0x06/0x01 Get Device ID -> 0x00 (command completed normally) 0.4 ms
 */
import type { LogEntryJson } from '../../firmware/services/api/ipmi-view.js';

const hex2 = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;

/** Durations under 10 ms keep a decimal; the router's clock may be finer than a millisecond. */
function ms(d: number): string {
  return d < 10 ? `${Number(d.toFixed(1))} ms` : `${Math.round(d)} ms`;
}

export function formatLogLine(e: LogEntryJson): string {
  const who = e.requester ? `${e.bus}/${e.requester}` : e.bus;
  return `${e.time} ${who} ${e.netfnName ?? 'netfn'} ${hex2(e.netfn)}/${hex2(e.cmd)} ${e.name ?? 'unregistered'} -> ${hex2(e.cc)} (${e.ccText}) ${ms(e.durationMs)}`;
}

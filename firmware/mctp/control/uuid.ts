/**
 * UUIDs as control messages carry them (Get Endpoint UUID, Get Network ID):
 * 16 bytes in the order of the text form, as mctpd sends its configured UUID.
 */
import { randomUUID } from 'node:crypto';
import { MctpError } from '../errors.js';

export const UUID_LEN = 16;

/** "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" from 16 bytes. */
export function formatUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** 16 bytes from the text form (dashes optional) or from 16 bytes; EINVAL otherwise. */
export function toUuidBytes(uuid: string | Uint8Array): Buffer {
  if (typeof uuid !== 'string') {
    if (uuid.length !== UUID_LEN) throw new MctpError('EINVAL', `a UUID is ${UUID_LEN} bytes, got ${uuid.length}`);
    return Buffer.from(uuid);
  }
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new MctpError('EINVAL', `"${uuid}" is not a UUID (32 hex digits, dashes optional)`);
  return Buffer.from(hex, 'hex');
}

/** A random (version 4) UUID's 16 bytes. */
export function randomUuidBytes(): Buffer {
  return toUuidBytes(randomUUID());
}

export function isNilUuid(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

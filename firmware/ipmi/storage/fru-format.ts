/**
 * The IPMI FRU inventory format (Platform Management FRU Information
 * Storage Definition v1.0): build an image from an identity, and parse one
 * back, reporting every rule it breaks instead of refusing it (the host may
 * write anything with Write FRU Data; ipmitool then says what is wrong).
 *
 * Common header (8 bytes): format version 01h, then the offsets of the
 * internal use, chassis info, board info, product info and multirecord
 * areas in multiples of 8 bytes (0 = absent), a pad byte, and a zero
 * checksum (all 8 bytes sum to 0 mod 256).
 *
 * Info areas: version 01h, length in multiples of 8, then (board/product)
 * a language code, (board) the manufacturing time in minutes since
 * 1996-01-01 00:00 UTC as 3 bytes LS first, then type/length-prefixed
 * fields, the end marker C1h, zero padding to the 8-byte multiple and a
 * zero checksum as the area's last byte. The chassis area has a chassis
 * type byte instead of the language code.
 *
 * Type/length byte: [7:6] 00b binary, 01b BCD plus, 10b 6-bit ASCII packed,
 * 11b 8-bit ASCII/Latin-1; [5:0] number of bytes that follow. C1h (8-bit,
 * one byte) is reserved as the end marker, so a one-character field is
 * written as 6-bit ASCII.
 */
import { ConfigError } from '../../../lib/errors.js';

export const FRU_FORMAT_VERSION = 0x01;
export const FRU_END_OF_FIELDS = 0xc1;
/** Minutes between the Unix epoch and the FRU epoch, 1996-01-01 00:00 UTC. */
const FRU_EPOCH_MS = Date.UTC(1996, 0, 1);
const MAX_FIELD_BYTES = 63;
const ENGLISH = 0x00;

export interface ChassisInfo {
  /** SMBIOS chassis type (e.g. 17h rack mount chassis, 01h other). */
  type: number;
  partNumber?: string;
  serialNumber?: string;
  custom?: string[];
}

export interface BoardInfo {
  /** Manufacturing time; undefined writes 0 ("unspecified"). */
  mfgDate?: Date;
  manufacturer?: string;
  productName?: string;
  serialNumber?: string;
  partNumber?: string;
  fruFileId?: string;
  custom?: string[];
}

export interface ProductInfo {
  manufacturer?: string;
  name?: string;
  partNumber?: string;
  version?: string;
  serialNumber?: string;
  assetTag?: string;
  fruFileId?: string;
  custom?: string[];
}

export interface FruIdentity {
  chassis?: ChassisInfo;
  board?: BoardInfo;
  product?: ProductInfo;
}

/** The checksum byte that makes `bytes` plus it sum to zero (mod 256). */
export function zeroChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return (0x100 - sum) & 0xff;
}

function isSixBit(s: string): boolean {
  return /^[\x20-\x5f]*$/.test(s);
}

/** Pack characters 20h-5Fh six bits each, LS bits first (4 characters in 3 bytes). */
export function packSixBitAscii(s: string): Buffer {
  const out = Buffer.alloc(Math.ceil((s.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const ch of s) {
    acc |= (ch.charCodeAt(0) - 0x20) << bits;
    bits += 6;
    while (bits >= 8) {
      out[o++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) out[o] = acc & 0xff;
  return out;
}

export function unpackSixBitAscii(data: Buffer): string {
  let s = '';
  let acc = 0;
  let bits = 0;
  for (const b of data) {
    acc |= b << bits;
    bits += 8;
    while (bits >= 6) {
      s += String.fromCharCode((acc & 0x3f) + 0x20);
      acc >>>= 6;
      bits -= 6;
    }
  }
  return s;
}

/** One type/length-prefixed field. */
export function encodeField(s: string, what = 'FRU field'): Buffer {
  if (s.length === 1) {
    if (!isSixBit(s)) throw new ConfigError(`${what} "${s}": a one-character field must be 6-bit ASCII (space, digits, upper case, punctuation)`);
    return Buffer.concat([Buffer.from([0x80 | 1]), packSixBitAscii(s)]);
  }
  if (!/^[\x20-\x7e\xa0-\xff]*$/.test(s)) throw new ConfigError(`${what} "${s}" has characters outside printable Latin-1`);
  const bytes = Buffer.from(s, 'latin1');
  if (bytes.length > MAX_FIELD_BYTES) throw new ConfigError(`${what} "${s}" is ${bytes.length} bytes, at most ${MAX_FIELD_BYTES} fit`);
  return Buffer.concat([Buffer.from([0xc0 | bytes.length]), bytes]);
}

/** Fields, end marker, zero padding to a multiple of 8 with the checksum last, length byte filled in. */
function finishArea(head: number[], fields: Buffer[], what: string): Buffer {
  const content = Buffer.concat([Buffer.from(head), ...fields, Buffer.from([FRU_END_OF_FIELDS])]);
  const total = Math.ceil((content.length + 1) / 8) * 8;
  if (total / 8 > 0xff) throw new ConfigError(`FRU ${what} area would be ${total} bytes, at most 2040 fit`);
  const area = Buffer.alloc(total);
  content.copy(area);
  area[1] = total / 8;
  area[total - 1] = zeroChecksum(area.subarray(0, total - 1));
  return area;
}

/** Minutes since 1996-01-01 00:00 UTC, as the board area stores them. */
export function fruMinutes(d: Date): number {
  const m = Math.floor((d.getTime() - FRU_EPOCH_MS) / 60_000);
  if (!(m >= 0 && m <= 0xffffff)) throw new ConfigError(`FRU manufacturing date ${d.toISOString()} is outside 1996-01-01 .. 2027-11-24`);
  return m;
}

export function dateFromFruMinutes(m: number): Date {
  return new Date(FRU_EPOCH_MS + m * 60_000);
}

function fields(list: Array<string | undefined>, custom: string[] | undefined, what: string): Buffer[] {
  return [...list, ...(custom ?? [])].map((s) => encodeField(s ?? '', what));
}

export function encodeChassisArea(c: ChassisInfo): Buffer {
  if (!Number.isInteger(c.type) || c.type < 0 || c.type > 0xff) throw new ConfigError(`FRU chassis type must be a byte, got ${c.type}`);
  return finishArea([FRU_FORMAT_VERSION, 0, c.type], fields([c.partNumber, c.serialNumber], c.custom, 'FRU chassis'), 'chassis');
}

export function encodeBoardArea(b: BoardInfo): Buffer {
  const m = b.mfgDate ? fruMinutes(b.mfgDate) : 0;
  return finishArea(
    [FRU_FORMAT_VERSION, 0, ENGLISH, m & 0xff, (m >> 8) & 0xff, (m >> 16) & 0xff],
    fields([b.manufacturer, b.productName, b.serialNumber, b.partNumber, b.fruFileId], b.custom, 'FRU board'),
    'board',
  );
}

export function encodeProductArea(p: ProductInfo): Buffer {
  return finishArea(
    [FRU_FORMAT_VERSION, 0, ENGLISH],
    fields([p.manufacturer, p.name, p.partNumber, p.version, p.serialNumber, p.assetTag, p.fruFileId], p.custom, 'FRU product'),
    'product',
  );
}

/**
 * A whole FRU image: common header, then the chassis, board and product
 * areas that are given, then 00h up to `size` (the inventory area size the
 * device reports; default: just what the areas need).
 */
export function buildFru(id: FruIdentity, size?: number): Buffer {
  const areas: Array<[slot: number, area: Buffer]> = [];
  if (id.chassis) areas.push([2, encodeChassisArea(id.chassis)]);
  if (id.board) areas.push([3, encodeBoardArea(id.board)]);
  if (id.product) areas.push([4, encodeProductArea(id.product)]);
  const header = Buffer.alloc(8);
  header[0] = FRU_FORMAT_VERSION;
  let at = 8;
  for (const [slot, area] of areas) {
    if (at / 8 > 0xff) throw new ConfigError('FRU areas do not fit below offset 2040');
    header[slot] = at / 8;
    at += area.length;
  }
  header[7] = zeroChecksum(header.subarray(0, 7));
  const used = Buffer.concat([header, ...areas.map(([, a]) => a)]);
  const total = size ?? used.length;
  if (used.length > total) throw new ConfigError(`FRU data needs ${used.length} bytes, the inventory area has ${total}`);
  if (total > 0xffff) throw new ConfigError(`FRU inventory areas are at most 65535 bytes, got ${total}`);
  const image = Buffer.alloc(total, 0x00);
  used.copy(image);
  return image;
}

// --- parsing ----------------------------------------------------------------

export interface ParsedField {
  /** 'binary' fields are shown as hex, like ipmitool does. */
  type: 'binary' | 'bcd-plus' | '6-bit' | '8-bit';
  text: string;
}

export interface ParsedArea {
  offset: number;
  length: number;
  checksumOk: boolean;
  fields: ParsedField[];
}

export interface ParsedFru {
  headerOk: boolean;
  chassis?: ParsedArea & { chassisType: number };
  board?: ParsedArea & { mfgDate?: Date };
  product?: ParsedArea;
  /** Every rule the image breaks, in words; empty for a valid image. */
  problems: string[];
}

const BCD_PLUS = '0123456789 -.:,_';

function decodeField(typeLength: number, data: Buffer): ParsedField {
  switch (typeLength >> 6) {
    case 0:
      return { type: 'binary', text: data.toString('hex') };
    case 1:
      return { type: 'bcd-plus', text: [...data].map((b) => BCD_PLUS[b >> 4]! + BCD_PLUS[b & 0xf]!).join('') };
    case 2:
      return { type: '6-bit', text: unpackSixBitAscii(data) };
    default:
      return { type: '8-bit', text: data.toString('latin1') };
  }
}

function parseArea(image: Buffer, name: string, offset: number, fixed: number, problems: string[]): ParsedArea | undefined {
  if (offset + 2 > image.length) {
    problems.push(`${name} area offset ${offset} is past the end (${image.length} bytes)`);
    return undefined;
  }
  if (image[offset] !== FRU_FORMAT_VERSION) problems.push(`${name} area version is 0x${image[offset]!.toString(16)}, expected 0x01`);
  const length = image[offset + 1]! * 8;
  if (length === 0 || offset + length > image.length) {
    problems.push(`${name} area length ${length} at offset ${offset} does not fit in ${image.length} bytes`);
    return undefined;
  }
  const area = image.subarray(offset, offset + length);
  const checksumOk = zeroChecksum(area) === 0;
  if (!checksumOk) problems.push(`${name} area checksum is wrong`);
  const out: ParsedArea = { offset, length, checksumOk, fields: [] };
  let p = fixed;
  for (;;) {
    if (p >= length - 1) {
      problems.push(`${name} area has no end marker (C1h)`);
      break;
    }
    const tl = area[p]!;
    if (tl === FRU_END_OF_FIELDS) break;
    const n = tl & 0x3f;
    if (p + 1 + n > length - 1) {
      problems.push(`${name} area field at offset ${offset + p} runs past the area`);
      break;
    }
    out.fields.push(decodeField(tl, area.subarray(p + 1, p + 1 + n)));
    p += 1 + n;
  }
  return out;
}

/** Parse and validate an image; never throws for bad content. */
export function parseFru(image: Buffer): ParsedFru {
  const problems: string[] = [];
  if (image.length < 8) return { headerOk: false, problems: [`FRU image is ${image.length} bytes, shorter than the 8-byte common header`] };
  const header = image.subarray(0, 8);
  let headerOk = true;
  if ((header[0]! & 0x0f) !== FRU_FORMAT_VERSION) {
    problems.push(`common header version is 0x${header[0]!.toString(16)}, expected 0x01`);
    headerOk = false;
  }
  if (zeroChecksum(header) !== 0) {
    problems.push('common header checksum is wrong');
    headerOk = false;
  }
  const result: ParsedFru = { headerOk, problems };
  if (!headerOk) return result;
  if (header[2]) {
    const a = parseArea(image, 'chassis', header[2] * 8, 3, problems);
    if (a) result.chassis = { ...a, chassisType: image[header[2] * 8 + 2]! };
  }
  if (header[3]) {
    const at = header[3] * 8;
    const a = parseArea(image, 'board', at, 6, problems);
    if (a) {
      const m = image[at + 3]! | (image[at + 4]! << 8) | (image[at + 5]! << 16);
      result.board = m === 0 ? a : { ...a, mfgDate: dateFromFruMinutes(m) };
    }
  }
  if (header[4]) {
    const a = parseArea(image, 'product', header[4] * 8, 3, problems);
    if (a) result.product = a;
  }
  return result;
}

/**
 * `ipmitool fru print 0` from the API's parsed FRU (GET /api/v1/ipmi/fru):
 * the chassis, board and product areas with ipmitool's labels, empty fields
 * left out and the FRU file IDs shown only verbosely, as ipmitool does.
 * Dates are printed in UTC and say so.
 */

export interface FruAreaJson {
  checksumOk: boolean;
  custom: string[];
  [field: string]: unknown;
}

export interface FruJson {
  deviceId: number;
  headerOk: boolean;
  problems: string[];
  chassis: (FruAreaJson & { type: number }) | null;
  board: (FruAreaJson & { mfgDate: string | null }) | null;
  product: FruAreaJson | null;
}

/** SMBIOS chassis types 00h-1Dh as ipmitool names them; anything past the table is "Unknown" (its index 2). */
const CHASSIS_TYPES: readonly string[] = [
  'Unspecified',
  'Other',
  'Unknown',
  'Desktop',
  'Low Profile Desktop',
  'Pizza Box',
  'Mini Tower',
  'Tower',
  'Portable',
  'LapTop',
  'Notebook',
  'Hand Held',
  'Docking Station',
  'All in One',
  'Sub Notebook',
  'Space-saving',
  'Lunch Box',
  'Main Server Chassis',
  'Expansion Chassis',
  'SubChassis',
  'Bus Expansion Chassis',
  'Peripheral Chassis',
  'RAID Chassis',
  'Rack Mount Chassis',
  'Sealed-case PC',
  'Multi-system Chassis',
  'CompactPCI',
  'AdvancedTCA',
  'Blade',
  'Blade Enclosure',
];

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** strftime "%c %Z" in the C locale, in UTC: "Mon Jan  1 00:00:00 2024 UTC". */
export function cDate(iso: string): string {
  const d = new Date(iso);
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${time} ${d.getUTCFullYear()} UTC`;
}

/** ipmitool's labels are padded to 22 columns before the colon. */
const line = (label: string, value: string): string => ` ${label.padEnd(21)} : ${value}\n`;

function fields(area: FruAreaJson, labels: Array<[key: string, label: string]>, extra: string): string {
  let out = '';
  for (const [key, label] of labels) {
    const v = area[key];
    if (typeof v === 'string' && v.length > 0) out += line(label, v);
  }
  for (const v of area.custom) if (v.length > 0) out += line(extra, v);
  return out;
}

const checksum = (label: string, area: FruAreaJson): string => line(label, area.checksumOk ? 'OK' : 'INVALID');

/** The areas, in ipmitool's order; `verbose` adds the FRU file IDs (ipmitool -v). */
export function formatFru(fru: FruJson, opts: { verbose?: boolean } = {}): string {
  let out = '';
  const { chassis, board, product } = fru;
  if (chassis) {
    out += line('Chassis Type', CHASSIS_TYPES[chassis.type] ?? CHASSIS_TYPES[2]!);
    out += fields(chassis, [['partNumber', 'Chassis Part Number'], ['serialNumber', 'Chassis Serial']], 'Chassis Extra');
    out += checksum('Chassis Area Checksum', chassis);
  }
  if (board) {
    out += line('Board Mfg Date', board.mfgDate === null ? 'Unspecified' : cDate(board.mfgDate));
    const labels: Array<[string, string]> = [
      ['manufacturer', 'Board Mfg'],
      ['productName', 'Board Product'],
      ['serialNumber', 'Board Serial'],
      ['partNumber', 'Board Part Number'],
    ];
    if (opts.verbose) labels.push(['fruFileId', 'Board FRU ID']);
    out += fields(board, labels, 'Board Extra');
    out += checksum('Board Area Checksum', board);
  }
  if (product) {
    const labels: Array<[string, string]> = [
      ['manufacturer', 'Product Manufacturer'],
      ['name', 'Product Name'],
      ['partNumber', 'Product Part Number'],
      ['version', 'Product Version'],
      ['serialNumber', 'Product Serial'],
      ['assetTag', 'Product Asset Tag'],
    ];
    if (opts.verbose) labels.push(['fruFileId', 'Product FRU ID']);
    out += fields(product, labels, 'Product Extra');
    out += checksum('Product Area Checksum', product);
  }
  return out;
}

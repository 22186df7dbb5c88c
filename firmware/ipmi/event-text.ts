/**
 * What sensor types and event offsets are called (IPMI v2.0 tables 42-2 and
 * 42-3), in the words ipmitool prints in `sel list`, so the API and the CLI
 * describe a SEL entry exactly as `ipmitool sel list` would. Only offsets
 * that mean one thing whatever event data 2 holds are listed; the rest (and
 * OEM types) have no description, as in ipmitool.
 */

/** Sensor type codes 00h-2Ch (table 42-3), as ipmitool names them. */
const SENSOR_TYPES: readonly string[] = [
  'reserved',
  'Temperature',
  'Voltage',
  'Current',
  'Fan',
  'Physical Security',
  'Platform Security',
  'Processor',
  'Power Supply',
  'Power Unit',
  'Cooling Device',
  'Other',
  'Memory',
  'Drive Slot / Bay',
  'POST Memory Resize',
  'System Firmwares',
  'Event Logging Disabled',
  'Watchdog1',
  'System Event',
  'Critical Interrupt',
  'Button',
  'Module / Board',
  'Microcontroller',
  'Add-in Card',
  'Chassis',
  'Chip Set',
  'Other FRU',
  'Cable / Interconnect',
  'Terminator',
  'System Boot Initiated',
  'Boot Error',
  'OS Boot',
  'OS Critical Stop',
  'Slot / Connector',
  'System ACPI Power State',
  'Watchdog2',
  'Platform Alert',
  'Entity Presence',
  'Monitor ASIC',
  'LAN',
  'Management Subsys Health',
  'Battery',
  'Session Audit',
  'Version Change',
  'FRU State',
];

/** A sensor type's name; "Unknown" for codes the spec reserves and OEM codes (C0h-FFh), as ipmitool prints them. */
export function sensorTypeName(code: number): string {
  return SENSOR_TYPES[code] ?? 'Unknown';
}

/**
 * Generic event/reading types 01h-0Ch, by offset. The "going low" threshold
 * texts end in a space in ipmitool's table, and so in its output; kept, so
 * lines compare equal.
 */
const GENERIC: Readonly<Record<number, readonly string[]>> = {
  0x01: [
    'Lower Non-critical going low ',
    'Lower Non-critical going high',
    'Lower Critical going low ',
    'Lower Critical going high',
    'Lower Non-recoverable going low ',
    'Lower Non-recoverable going high',
    'Upper Non-critical going low ',
    'Upper Non-critical going high',
    'Upper Critical going low ',
    'Upper Critical going high',
    'Upper Non-recoverable going low ',
    'Upper Non-recoverable going high',
  ],
  0x02: ['Transition to Idle', 'Transition to Active', 'Transition to Busy'],
  0x03: ['State Deasserted', 'State Asserted'],
  0x04: ['Predictive Failure Deasserted', 'Predictive Failure Asserted'],
  0x05: ['Limit Not Exceeded', 'Limit Exceeded'],
  0x06: ['Performance Met', 'Performance Lags'],
  0x07: [
    'Transition to OK',
    'Transition to Non-critical from OK',
    'Transition to Critical from less severe',
    'Transition to Non-recoverable from less severe',
    'Transition to Non-critical from more severe',
    'Transition to Critical from Non-recoverable',
    'Transition to Non-recoverable',
    'Monitor',
    'Informational',
  ],
  0x08: ['Device Absent', 'Device Present'],
  0x09: ['Device Disabled', 'Device Enabled'],
  0x0a: [
    'Transition to Running',
    'Transition to In Test',
    'Transition to Power Off',
    'Transition to On Line',
    'Transition to Off Line',
    'Transition to Off Duty',
    'Transition to Degraded',
    'Transition to Power Save',
    'Install Error',
  ],
  0x0b: [
    'Fully Redundant',
    'Redundancy Lost',
    'Redundancy Degraded',
    'Non-Redundant: Sufficient from Redundant',
    'Non-Redundant: Sufficient from Insufficient',
    'Non-Redundant: Insufficient Resources',
    'Redundancy Degraded from Fully Redundant',
    'Redundancy Degraded from Non-Redundant',
  ],
  0x0c: ['D0 Power State', 'D1 Power State', 'D2 Power State', 'D3 Power State'],
};

/** Sensor-specific offsets (event/reading type 6Fh) of the sensor types a BMC and its host commonly log. */
const SENSOR_SPECIFIC: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  0x05: {
    0: 'General Chassis intrusion',
    1: 'Drive Bay intrusion',
    2: 'I/O Card area intrusion',
    3: 'Processor area intrusion',
    4: 'System unplugged from LAN',
    5: 'Unauthorized dock',
    6: 'FAN area intrusion',
  },
  0x07: {
    0: 'IERR',
    1: 'Thermal Trip',
    2: 'FRB1/BIST failure',
    3: 'FRB2/Hang in POST failure',
    4: 'FRB3/Processor startup/init failure',
    5: 'Configuration Error',
    6: 'SM BIOS Uncorrectable CPU-complex Error',
    7: 'Presence detected',
    8: 'Disabled',
    9: 'Terminator presence detected',
    10: 'Throttled',
    11: 'Uncorrectable machine check exception',
    12: 'Correctable machine check error',
  },
  0x08: {
    0: 'Presence detected',
    1: 'Failure detected',
    2: 'Predictive failure',
    3: 'Power Supply AC lost',
    4: 'AC lost or out-of-range',
    5: 'AC out-of-range, but present',
    7: 'Power Supply Inactive',
  },
  0x09: {
    0: 'Power off/down',
    1: 'Power cycle',
    2: '240VA power down',
    3: 'Interlock power down',
    4: 'AC lost',
    5: 'Soft-power control failure',
    6: 'Failure detected',
    7: 'Predictive failure',
  },
  0x0c: {
    0: 'Correctable ECC',
    1: 'Uncorrectable ECC',
    2: 'Parity',
    3: 'Memory Scrub Failed',
    4: 'Memory Device Disabled',
    5: 'Correctable ECC logging limit reached',
    6: 'Presence Detected',
    7: 'Configuration Error',
    8: 'Spare',
    9: 'Throttled',
    10: 'Critical Overtemperature',
  },
  0x10: {
    0: 'Correctable memory error logging disabled',
    1: 'Event logging disabled',
    2: 'Log area reset/cleared',
    3: 'All event logging disabled',
    4: 'Log full',
    5: 'Log almost full',
  },
  0x12: {
    0: 'System Reconfigured',
    1: 'OEM System boot event',
    2: 'Undetermined system hardware failure',
    3: 'Entry added to auxiliary log',
    4: 'PEF Action',
    5: 'Timestamp Clock Sync',
  },
  0x14: { 0: 'Power Button pressed', 1: 'Sleep Button pressed', 2: 'Reset Button pressed', 3: 'FRU Latch', 4: 'FRU Service' },
  0x1d: {
    0: 'Initiated by power up',
    1: 'Initiated by hard reset',
    2: 'Initiated by warm reset',
    3: 'User requested PXE boot',
    4: 'Automatic boot to diagnostic',
    5: 'OS initiated hard reset',
    6: 'OS initiated warm reset',
    7: 'System Restart',
  },
  0x1f: {
    0: 'A: boot completed',
    1: 'C: boot completed',
    2: 'PXE boot completed',
    3: 'Diagnostic boot completed',
    4: 'CD-ROM boot completed',
    5: 'ROM boot completed',
    6: 'boot completed - device not specified',
    7: 'Installation started',
    8: 'Installation completed',
    9: 'Installation aborted',
    10: 'Installation failed',
  },
  0x20: {
    0: 'Error during system startup',
    1: 'Run-time critical stop',
    2: 'OS graceful stop',
    3: 'OS graceful shutdown',
    4: 'PEF initiated soft shutdown',
    5: 'Agent not responding',
  },
  0x23: {
    0: 'Timer expired',
    1: 'Hard reset',
    2: 'Power down',
    3: 'Power cycle',
    4: 'reserved',
    5: 'reserved',
    6: 'reserved',
    7: 'reserved',
    8: 'Timer interrupt',
  },
};

/** Event/reading type code for sensor-specific offsets. */
export const EVENT_TYPE_SENSOR_SPECIFIC = 0x6f;

/**
 * What an event means: the offset (event data 1 [3:0]) looked up under its
 * event/reading type (generic) or, for type 6Fh, its sensor type. Null when
 * there is no such text (OEM types 70h-7Eh, reserved codes, unlisted offsets).
 */
export function eventDescription(sensorType: number, eventType: number, eventData1: number): string | null {
  const offset = eventData1 & 0x0f;
  const table = eventType === EVENT_TYPE_SENSOR_SPECIFIC ? SENSOR_SPECIFIC[sensorType] : GENERIC[eventType];
  return table?.[offset] ?? null;
}

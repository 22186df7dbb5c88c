/**
 * Chassis commands (IPMI v2.0 §28) mapped onto the injected HostControl:
 *
 *   00/00 Get Chassis Capabilities [] → [flags 00, FRU 20, SDR 20, SEL 20, SM 20]
 *   00/01 Get Chassis Status       [] → [power state, last power event, misc]
 *   00/02 Chassis Control [action]   → []   0 power down, 1 power up, 2 power cycle,
 *                                           3 hard reset, 4 diagnostic interrupt (NMI),
 *                                           5 soft shutdown (ACPI)
 *   00/04 Chassis Identify [interval s = 15, force]  → []
 *
 * Chassis Control answers 0 at once and runs the action after the reply is
 * out: skiboot resends the command forever on any error, and QEMU may exit
 * on power-off before it could read a late reply. The one refusal is the
 * spec's: power cycle while the host is off is D5 (no action). The boot
 * options (./boot-options.ts) hear of every Chassis Control.
 */
import type { Clock, TimerHandle } from '../../../lib/clock.js';
import { CC } from '../completion-codes.js';
import { runHostAction, type HostAction, type HostControl } from '../host-control.js';
import { NETFN, PRIVILEGE, fail, ok, type IpmiCommand } from '../message.js';

export const CHASSIS_CMD = {
  GET_CHASSIS_CAPABILITIES: 0x00,
  GET_CHASSIS_STATUS: 0x01,
  CHASSIS_CONTROL: 0x02,
  CHASSIS_IDENTIFY: 0x04,
} as const;

export const CHASSIS_CONTROL = {
  POWER_DOWN: 0,
  POWER_UP: 1,
  POWER_CYCLE: 2,
  HARD_RESET: 3,
  DIAGNOSTIC_INTERRUPT: 4,
  SOFT_SHUTDOWN: 5,
} as const;

const CONTROL_ACTIONS: HostAction[] = ['powerOff', 'powerOn', 'powerCycle', 'hardReset', 'diagnosticInterrupt', 'softShutdown'];

/** Power restore policy (Get Chassis Status byte 1 bits 6:5). */
export type PowerRestorePolicy = 'always-off' | 'previous' | 'always-on' | 'unknown';
const POLICY_BITS: Record<PowerRestorePolicy, number> = { 'always-off': 0, previous: 1, 'always-on': 2, unknown: 3 };

export const DEFAULT_IDENTIFY_SECONDS = 15;

/** Slave address of the BMC, where the chassis FRU, SDR, SEL and SM device live. */
const BMC_ADDRESS = 0x20;

export type IdentifyState = 'off' | 'temporary' | 'indefinite';

export interface ChassisOptions {
  host: HostControl;
  clock: Clock;
  powerRestorePolicy?: PowerRestorePolicy;
  /** Told of every Chassis Control (the boot flag valid bit's 60 s window restarts). */
  onChassisControl?: (action: number) => void;
  /** Runs the action after the current turn (default setImmediate), so the reply leaves first. */
  defer?: (fn: () => void) => void;
  log?: (line: string) => void;
}

/** Chassis state the commands share: identify and the last power event. */
export class Chassis {
  readonly #clock: Clock;
  #identify: IdentifyState = 'off';
  #identifyTimer: TimerHandle | null = null;
  /** Get Chassis Status byte 2 bit 4: the last power-on came from Chassis Control. */
  lastPowerOnViaIpmi = false;
  actionErrors = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get identify(): IdentifyState {
    return this.#identify;
  }

  setIdentify(seconds: number, force: boolean): void {
    this.#identifyTimer?.cancel();
    this.#identifyTimer = null;
    if (force) {
      this.#identify = 'indefinite';
    } else if (seconds === 0) {
      this.#identify = 'off';
    } else {
      this.#identify = 'temporary';
      this.#identifyTimer = this.#clock.setTimeout(() => {
        this.#identifyTimer = null;
        this.#identify = 'off';
      }, seconds * 1000);
    }
  }

  close(): void {
    this.#identifyTimer?.cancel();
    this.#identifyTimer = null;
  }
}

const IDENTIFY_BITS: Record<IdentifyState, number> = { off: 0, temporary: 1, indefinite: 2 };

export function chassisCommands(opts: ChassisOptions, chassis: Chassis = new Chassis(opts.clock)): IpmiCommand[] {
  const { host } = opts;
  const policy = POLICY_BITS[opts.powerRestorePolicy ?? 'unknown'];
  const defer = opts.defer ?? ((fn: () => void) => void setImmediate(fn));
  const log = opts.log ?? (() => {});
  const onChassisControl = opts.onChassisControl ?? (() => {});
  const owner = 'ipmi/chassis';
  return [
    {
      netfn: NETFN.CHASSIS,
      cmd: CHASSIS_CMD.GET_CHASSIS_CAPABILITIES,
      name: 'Get Chassis Capabilities',
      owner,
      privilege: PRIVILEGE.USER,
      minLength: 0,
      maxLength: 0,
      // No intrusion sensor, front panel lockout, diagnostic button or interlock.
      handler: () => ok([0x00, BMC_ADDRESS, BMC_ADDRESS, BMC_ADDRESS, BMC_ADDRESS]),
    },
    {
      netfn: NETFN.CHASSIS,
      cmd: CHASSIS_CMD.GET_CHASSIS_STATUS,
      name: 'Get Chassis Status',
      owner,
      privilege: PRIVILEGE.USER,
      minLength: 0,
      maxLength: 0,
      handler: () => {
        const on = host.powerState() === 'on';
        return ok([
          (policy << 5) | (on ? 0x01 : 0),
          chassis.lastPowerOnViaIpmi ? 0x10 : 0,
          // Bit 6: identify state is reported.
          0x40 | (IDENTIFY_BITS[chassis.identify] << 4),
        ]);
      },
    },
    {
      netfn: NETFN.CHASSIS,
      cmd: CHASSIS_CMD.CHASSIS_CONTROL,
      name: 'Chassis Control',
      owner,
      privilege: PRIVILEGE.OPERATOR,
      minLength: 1,
      maxLength: 1,
      handler: (req) => {
        const action = req.data[0]! & 0x0f;
        const hostAction = CONTROL_ACTIONS[action];
        if (hostAction === undefined) return fail(CC.INVALID_DATA_FIELD);
        // The spec recommends no action and D5 for a power cycle of a host that is off.
        if (action === CHASSIS_CONTROL.POWER_CYCLE && host.powerState() === 'off') return fail(CC.NOT_SUPPORTED_IN_STATE);
        onChassisControl(action);
        if (action === CHASSIS_CONTROL.POWER_UP) chassis.lastPowerOnViaIpmi = true;
        defer(() =>
          runHostAction(host, hostAction, (a, e) => {
            chassis.actionErrors++;
            log(`ipmi chassis control: ${a} failed: ${e instanceof Error ? e.message : String(e)}`);
          }),
        );
        return ok();
      },
    },
    {
      netfn: NETFN.CHASSIS,
      cmd: CHASSIS_CMD.CHASSIS_IDENTIFY,
      name: 'Chassis Identify',
      owner,
      privilege: PRIVILEGE.OPERATOR,
      minLength: 0,
      maxLength: 2,
      handler: (req) => {
        const seconds = req.data.length >= 1 ? req.data[0]! : DEFAULT_IDENTIFY_SECONDS;
        const force = req.data.length >= 2 && (req.data[1]! & 0x01) !== 0;
        chassis.setIdentify(seconds, force);
        return ok();
      },
    },
  ];
}

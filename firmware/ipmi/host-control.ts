/**
 * What IPMI commands may do to the host, injected by the BMC composition:
 * Chassis Control and the watchdog's timeout actions call these; the
 * composition maps them onto QEMU (VM protocol POWEROFF/RESET/SEND_NMI,
 * QMP, or its power lifecycle). Calls are fire-and-forget from the
 * command's point of view: a command answers first (skiboot resends Chassis
 * Control forever on an error), so a failing action is reported through
 * the returned promise and logged by the caller, never as a completion code.
 */
export type HostPowerState = 'on' | 'off';

export interface HostControl {
  /** The host's power state now (Get Chassis Status bit 0). */
  powerState(): HostPowerState;
  powerOn(): void | Promise<void>;
  /** Immediate power off (no OS involvement). */
  powerOff(): void | Promise<void>;
  /** Off, at least a second, on. */
  powerCycle(): void | Promise<void>;
  /** Reset without powering off. */
  hardReset(): void | Promise<void>;
  /** Pulse the diagnostic interrupt (NMI). */
  diagnosticInterrupt(): void | Promise<void>;
  /**
   * Ask the OS to shut down (ACPI soft-off). On powernv QEMU's ACPI power
   * button path is undefined behaviour with an external BMC: the composition
   * should use the OEM SEL soft-off there (docs/ipmi.md).
   */
  softShutdown(): void | Promise<void>;
}

export type HostAction = Exclude<keyof HostControl, 'powerState'>;

/**
 * Run one action without letting it throw into the caller: a synchronous
 * throw or a rejected promise is reported through `onError`.
 */
export function runHostAction(host: HostControl, action: HostAction, onError: (action: HostAction, err: unknown) => void): void {
  try {
    const r = host[action]();
    if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(undefined, (e: unknown) => onError(action, e));
  } catch (e) {
    onError(action, e);
  }
}

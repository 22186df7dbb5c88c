/**
 * The one error class of qemu/: every error the QEMU floor throws on purpose
 * is a QemuError, and callers switch on its `code`. Impossible options
 * (a negative timeout, an unknown accelerator name) are ConfigError from
 * lib/errors.ts instead, as everywhere else.
 *
 * The ERR_HOST_* codes and ERR_QEMU_MISSING are what HostPower's operations
 * reject with; the API passes them through as `code`, so their spelling is
 * part of the API and must not change.
 */
import { CodedError, ConfigError } from '../lib/errors.js';

export type QemuErrorCode =
  // --- QMP (qmp.ts) ---
  /** QEMU answered a command with an error; details: {command, errorClass, desc}. */
  | 'ERR_QMP_COMMAND'
  /** The QMP connection is gone (QEMU exited, the socket broke, or it was closed). */
  | 'ERR_QMP_CLOSED'
  /** No reply, no greeting, or no QMP socket in time. */
  | 'ERR_QMP_TIMEOUT'
  /** The peer sent something that is not QMP. */
  | 'ERR_QMP_PROTOCOL'
  // --- command line and binary (cmdline.ts, qemu-binary.ts) ---
  /** A MachineSpec QEMU's option grammar cannot express (bad id, dangling chardev, long socket path). */
  | 'ERR_QEMU_CMDLINE'
  /** `qemu --version` printed something that has no version in it. */
  | 'ERR_QEMU_VERSION'
  /** The QEMU binary is not installed. */
  | 'ERR_QEMU_MISSING'
  // --- the process (qemu-process.ts) ---
  /** QEMU exited before it became controllable. */
  | 'ERR_QEMU_EXITED'
  // --- the guest console (console-log.ts) ---
  /** No matching console line in time; details: {pattern, timeoutMs, tail}. */
  | 'ERR_CONSOLE_TIMEOUT'
  /** A console wait was released because the guest went away; details: {pattern}. */
  | 'ERR_CONSOLE_ABORTED'
  // --- host power (host-power.ts) ---
  /** QEMU exited or never became controllable while powering on. */
  | 'ERR_HOST_START_FAILED'
  /** The operation needs the host on (reset) or is not possible now. */
  | 'ERR_HOST_NOT_RUNNING'
  /** The power manager was closed. */
  | 'ERR_HOST_CLOSED'
  /** waitForState() ran out of time; details: {want, state, timeoutMs}. */
  | 'ERR_HOST_STATE_TIMEOUT';

export class QemuError extends CodedError<QemuErrorCode> {}

export function isQemuError(e: unknown, code?: QemuErrorCode): e is QemuError {
  return e instanceof QemuError && (code === undefined || e.code === code);
}

/** The one check for millisecond options in qemu/: a finite number >= 0, else ConfigError naming the option. */
export function checkMsOption(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new ConfigError(`${name} must be a number of milliseconds >= 0, not ${value}`);
  }
}

/**
 * Typed errors for every failure a user can cause or fix. Each carries the process exit code
 * that src/cli/main.ts sets (the only place that sets one) and a one-line message that names
 * the problem and the fix. The table is documented in README.md ("Exit codes"); keep both in step.
 */

export const ExitCode = {
  OK: 0,
  /** A bug in tinyml itself: anything that is not a TinymlError. */
  INTERNAL: 1,
  /** Bad command line: unknown option, missing argument, conflicting flags. */
  USAGE: 2,
  /** A file or folder that is missing, unreadable or not writable. */
  FILE: 3,
  /** A model file that is corrupt, truncated, empty or not a model at all. */
  INVALID_MODEL: 4,
  /** A valid model that uses something a stage does not support (op, dtype, attribute). */
  UNSUPPORTED: 5,
  /** The model does not fit the board's flash or RAM. */
  DOES_NOT_FIT: 6,
  /** An unknown board id or a board that cannot do what was asked. */
  BOARD: 7,
  /** Input or calibration data with the wrong shape, dtype, or values (NaN, Inf). */
  BAD_DATA: 8,
  /** A required external tool (compiler, emulator, arduino-cli) is not installed. */
  MISSING_TOOL: 9,
  /** An external tool ran and failed (compiler error, upload failure). */
  TOOL_FAILED: 10,
  /** Serial port problems: busy, vanished, permission denied, garbage on the wire. */
  DEVICE: 11,
  /** The device reported an error or a hard fault. */
  DEVICE_FAULT: 12,
  /** A CI budget (--max-*) was exceeded. */
  BUDGET: 13,
  /** Outputs differ from the reference, or the device runs a different model than was built. */
  MISMATCH: 14,
  /** A device or emulator did not answer in time. */
  TIMEOUT: 15,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class TinymlError extends Error {
  readonly exitCode: ExitCodeValue;
  /** Short machine-readable kind, used in --json error output. */
  readonly kind: string;

  constructor(kind: string, exitCode: ExitCodeValue, message: string) {
    super(message);
    this.name = 'TinymlError';
    this.kind = kind;
    this.exitCode = exitCode;
  }
}

export class UsageError extends TinymlError {
  constructor(message: string) {
    super('usage', ExitCode.USAGE, message);
  }
}

export class FileError extends TinymlError {
  constructor(message: string) {
    super('file', ExitCode.FILE, message);
  }
}

/** A model file that cannot be parsed. `detail` says what is wrong with it. */
export class InvalidModelError extends TinymlError {
  constructor(message: string) {
    super('invalid-model', ExitCode.INVALID_MODEL, message);
  }
}

export class UnsupportedError extends TinymlError {
  constructor(message: string) {
    super('unsupported', ExitCode.UNSUPPORTED, message);
  }
}

export class DoesNotFitError extends TinymlError {
  constructor(message: string) {
    super('does-not-fit', ExitCode.DOES_NOT_FIT, message);
  }
}

export class BoardError extends TinymlError {
  constructor(message: string) {
    super('board', ExitCode.BOARD, message);
  }
}

export class DataError extends TinymlError {
  constructor(message: string) {
    super('bad-data', ExitCode.BAD_DATA, message);
  }
}

export class MissingToolError extends TinymlError {
  constructor(message: string) {
    super('missing-tool', ExitCode.MISSING_TOOL, message);
  }
}

export class ToolFailedError extends TinymlError {
  constructor(message: string) {
    super('tool-failed', ExitCode.TOOL_FAILED, message);
  }
}

export class DeviceError extends TinymlError {
  constructor(message: string) {
    super('device', ExitCode.DEVICE, message);
  }
}

export class DeviceFaultError extends TinymlError {
  constructor(message: string) {
    super('device-fault', ExitCode.DEVICE_FAULT, message);
  }
}

export class BudgetError extends TinymlError {
  constructor(message: string) {
    super('budget', ExitCode.BUDGET, message);
  }
}

export class MismatchError extends TinymlError {
  constructor(message: string) {
    super('mismatch', ExitCode.MISMATCH, message);
  }
}

export class TimeoutError extends TinymlError {
  constructor(message: string) {
    super('timeout', ExitCode.TIMEOUT, message);
  }
}

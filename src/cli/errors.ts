/** A mistake in how the command was called (bad option value, same file in and out, ...). Exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Commands report their exit code through this (0 ok, 1 check failed, 2 bad input). */
export type SetExitCode = (code: number) => void;

/** An output file could not be written (missing directory, a directory in the way, no space). Exit 2. */
export class OutputError extends UsageError {
  override name = 'OutputError';
}

// Errors every stage may raise and the CLI maps to exit codes (src/cli/main.ts): kept apart from
// the stages so that the CLI, `check` and the fuzzer do not reach into the ingest for them.

/** A problem that stops the input from being read at all (not a trace, unreadable file). Exit code 2. */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    /** what was wrong, without the file:line prefix */
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'InputError';
  }
}

// Command-line wiring only: each command lives in src/cli/commands/<name>.ts and exports
// `register(program)`. Exit codes: 0 ok, 1 a check failed / regression found, 2 bad input or usage,
// 70 an internal error (a bug: EX_SOFTWARE, so a script never mistakes it for 1 or 2).

import './v8flags.js'; // first: V8 settings before any other module runs
import { Command, CommanderError } from 'commander';
import { InputError } from '../errors.js';
import { VERSION } from './version.js';
import { COMMANDS } from './commands/index.js';
import { UsageError } from './errors.js';

export const INTERNAL_ERROR = 70;

/**
 * `tlbtrace analyze x | head`: the reader went away. That is how a pipe ends, not an error: stop
 * quietly (141, as a shell reports death by SIGPIPE) instead of dying on an unhandled 'error' event.
 */
function quietOnClosedPipe(): void {
  if (process.stdout.listenerCount('error') > 0) return;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(141);
    throw err;
  });
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  const program = new Command();
  program
    .name('tlbtrace')
    .description('Analyze Linux TLB shootdowns in ftrace / trace-cmd / perf traces and estimate what other flush policies would avoid')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  let exitCode = 0;
  for (const register of COMMANDS) register(program, (code) => (exitCode = Math.max(exitCode, code)));
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exitCode 0
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof InputError) {
      process.stderr.write(`tlbtrace: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`tlbtrace: ${err.message}\n`);
      return 2;
    }
    if ((err as NodeJS.ErrnoException)?.code === 'EPIPE') return exitCode;
    // a bug, not a verdict on the input: never 1 ("regression found") or 2 ("bad input")
    process.stderr.write(`tlbtrace: internal error (a bug; please report it with the command line):\n${(err as Error)?.stack ?? String(err)}\n`);
    return INTERNAL_ERROR;
  }
}

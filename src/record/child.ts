// The command being recorded: found before tracing is touched (a typo should cost nothing), run
// with our stdio and environment, its exit code passed on the way a shell reports it (128 + N when
// a signal N ended it).

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { RecordError } from './errors.js';

/** The executable `name` runs, as execvp(3) would find it; RecordError when there is none. */
export function resolveCommand(name: string, path = process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin'): string {
  const candidates = name.includes('/') ? [name] : path.split(delimiter).map((dir) => join(dir || '.', name));
  let notExecutable: string | null = null;
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
    } catch {
      continue;
    }
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      notExecutable ??= c;
    }
  }
  if (notExecutable !== null) throw new RecordError(`${name}: not executable (${notExecutable})`);
  throw new RecordError(`command not found: ${name}`);
}

/** One line a shell would read back as the same argv. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export interface ChildExit {
  /** the code a shell would report */
  exitCode: number;
  /** the signal that ended it, if one did */
  signal: NodeJS.Signals | null;
}

export class Command {
  private readonly child: ChildProcess;
  readonly exited: Promise<ChildExit>;
  private done = false;

  constructor(executable: string, argv: readonly string[]) {
    this.child = spawn(executable, argv.slice(1), { stdio: 'inherit', argv0: argv[0] });
    this.exited = new Promise((resolve) => {
      // 'error' without 'exit': the exec itself failed after the PATH lookup (a race, ENOEXEC)
      this.child.once('error', (err) => {
        this.done = true;
        process.stderr.write(`tlbtrace: cannot run ${argv[0]}: ${err.message}\n`);
        resolve({ exitCode: 127, signal: null });
      });
      this.child.once('exit', (code, signal) => {
        this.done = true;
        resolve({ exitCode: code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0), signal });
      });
    });
  }

  get running(): boolean {
    return !this.done;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.done) return;
    try {
      this.child.kill(sig);
    } catch {
      // it exited meanwhile
    }
  }
}

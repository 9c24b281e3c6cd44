// A fuzz worker process under a watchdog: a case that never returns (an endless loop in a reader)
// cannot be stopped from inside the process, so the parent kills a worker that has sent nothing
// for `timeoutMs` and reports the last case it said it was running.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const WORKER_JS = fileURLToPath(new URL('./worker.js', import.meta.url));

export interface Hang {
  /** the case the worker announced last (binary cases announce each one) */
  case: unknown;
  file?: string;
  /** silence before the kill */
  ms: number;
}

export type WorkerOutcome<S> = { stats: S } | { hang: Hang } | { died: string };

/**
 * Fork worker.js with `args`; `onProgress` gets its progress messages. Resolves with its final
 * stats, or the hang the watchdog stopped, or how it died.
 */
export function forkWorker<S>(
  args: string[],
  opts: { timeoutMs: number; execArgv?: string[]; onProgress?: (s: S) => void; worker?: string },
): Promise<WorkerOutcome<S>> {
  return new Promise((resolve) => {
    const child = fork(opts.worker ?? WORKER_JS, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: opts.execArgv ?? [] });
    let last = Date.now();
    let current: { case: unknown; file?: string } = { case: null };
    let final: S | undefined;
    let hang: Hang | undefined;
    const timer = setInterval(() => {
      const ms = Date.now() - last;
      if (ms > opts.timeoutMs && hang === undefined && final === undefined) {
        hang = { ...current, ms };
        child.kill('SIGKILL');
      }
    }, Math.min(1000, opts.timeoutMs));
    child.on('message', (m: { type: string; stats?: S; case?: unknown; file?: string }) => {
      last = Date.now();
      if (m.type === 'case') current = { case: m.case, file: m.file };
      else if (m.type === 'progress') opts.onProgress?.(m.stats!);
      else if (m.type === 'done') final = m.stats;
    });
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      if (final !== undefined) resolve({ stats: final });
      else if (hang !== undefined) resolve({ hang });
      else resolve({ died: `exit ${code ?? ''} ${signal ?? ''}`.trim() });
    });
  });
}

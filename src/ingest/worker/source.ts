// Ingest on the second core: a worker thread (thread.ts) runs openTrace() — decompression, line
// splitting, parsing, trace.dat decoding — while the main thread runs the kernel model and the
// policies on the events it has already handed over. The two stages cost about the same on a
// big trace (sng-madvise: ingest 0.6-1.1 s, model + policies 0.8-1.0 s), so the wall time drops
// toward the larger of them instead of their sum.
//
// The events cross as binary batches (codec.ts); the main thread rebuilds the same TraceEvent
// objects, so everything downstream is unchanged and the summary is identical to an in-process
// ingest (tests: worker.test.ts). meta, warnings and progress come with each batch. The worker may
// run at most CREDIT batches ahead of the model: memory stays bounded whatever the input.
//
// When: `mode` 'worker' always, 'main' never, 'auto' (the default) on machines of WORKER_MIN_CPUS
// or more for stdin and for inputs of WORKER_MIN_BYTES or more, where the thread's start (~30-60
// ms: a second module graph) pays. Inputs given as bytes or a stream in opts.stdin (tests,
// embedders) are read in-process.

import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { TraceEvent } from '../../events/types.js';
import { Diagnostics } from '../diagnostics.js';
import { InputError } from '../../errors.js';
import { openTrace } from '../index.js';
import type { IngestOptions, TraceMeta, TraceSource } from '../source.js';
import { BatchDecoder } from './codec.js';
import type { FromWorker, ToWorker, WorkerJob } from './protocol.js';

export type IngestThread = 'auto' | 'worker' | 'main';
export const INGEST_THREADS: readonly IngestThread[] = ['auto', 'worker', 'main'];

/** inputs at least this big (bytes on disk, all files together) are parsed in a worker under 'auto' */
export const WORKER_MIN_BYTES = 4 << 20;
/**
 * 'auto' uses a worker only with at least this many CPUs. On 2 CPUs it is slower: V8's own
 * background threads (JIT compilation, concurrent GC) already keep the second core ~40% busy,
 * the worker's isolate compiles and collects on its own, and the codec costs ~0.5 us per event;
 * measured on sng-madvise trace.dat: 1.99 s in-process vs 2.93 s with the worker, +0.9-1.9 s CPU.
 * (`npm run bench` times the other choice too, on whatever machine runs it.)
 */
export const WORKER_MIN_CPUS = 4;

/** whether 'auto' puts a big input's ingest in a worker on this machine */
export function autoPrefersWorker(): boolean {
  return availableParallelism() >= WORKER_MIN_CPUS;
}
/** batches the worker may have decoded ahead of the consumer */
const CREDIT = 3;

/** Whether `mode` puts the ingest of `paths` in a worker thread. */
export function useWorker(paths: string[], opts: IngestOptions, mode: IngestThread): boolean {
  if (mode === 'main' || opts.stdin !== undefined) return false;
  if (mode === 'worker') return true;
  if (!autoPrefersWorker()) return false;
  let bytes = 0;
  for (const p of paths) {
    if (p === '-') return true; // a pipe: unknown size, and the producer should never wait on us
    try {
      bytes += statSync(p).size;
    } catch {
      return false; // openTrace reports it
    }
  }
  return bytes >= WORKER_MIN_BYTES;
}

/** openTrace(), in a worker thread when `mode` says so (see useWorker). */
export async function openTraceThreaded(paths: string[], opts: IngestOptions, diag: Diagnostics, mode: IngestThread = 'auto'): Promise<TraceSource> {
  if (!useWorker(paths, opts, mode)) return openTrace(paths, opts, diag);
  const source = new WorkerTraceSource(paths, opts, diag);
  await source.opened;
  return source;
}

/** dist/ingest/worker/thread.js, also when this module runs from src/ under the test runner */
function threadUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return new URL(here.replace(/\/src\/ingest\/worker\/source\.ts$/, '/dist/ingest/worker/thread.js'));
  return new URL('./thread.js', here);
}

class WorkerTraceSource implements TraceSource {
  readonly meta: TraceMeta = { files: [], format: 'ftrace', tgidKnown: false, truncated: false, lines: 0 };
  readonly opened: Promise<void>;
  private readonly worker: Worker;
  /** messages not yet taken, and the taker waiting for one */
  private queue: FromWorker[] = [];
  private waiting: ((m: FromWorker) => void) | null = null;
  private started = false;

  constructor(
    paths: string[],
    private readonly opts: IngestOptions,
    private readonly diag: Diagnostics,
  ) {
    const job: WorkerJob = {
      paths,
      ingest: { format: opts.format, maxLineLength: opts.maxLineLength, tgids: opts.tgids },
      progress: opts.onProgress !== undefined,
      strict: diag.strict,
      examplesPerCode: diag.examplesPerCode,
    };
    this.worker = new Worker(threadUrl(), { workerData: job });
    // a worker that is still running must never keep the process alive
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => this.deliver(m));
    this.worker.on('error', (err: Error) => this.deliver({ type: 'error', inputError: null, message: err.message, stack: err.stack }));
    this.worker.on('exit', (code) => this.deliver({ type: 'error', inputError: null, message: `the ingest worker exited (code ${code}) before the end of the input` }));
    this.opened = this.next().then((m) => {
      if (m.type === 'open') {
        Object.assign(this.meta, m.meta);
        return;
      }
      this.stop();
      throw this.failure(m);
    });
    for (let i = 0; i < CREDIT; i++) this.send({ type: 'credit' });
  }

  events(): AsyncIterable<TraceEvent[]> {
    if (this.started) throw new Error('TraceSource.events() can be iterated only once');
    this.started = true;
    return this.run();
  }

  private async *run(): AsyncGenerator<TraceEvent[]> {
    const decoder = new BatchDecoder();
    try {
      for (;;) {
        const m = await this.next();
        if (m.type === 'batch') {
          const events = decoder.decode(m.batch);
          this.send({ type: 'credit', buf: m.batch.buf }, [m.batch.buf]);
          this.update(m);
          yield events;
        } else if (m.type === 'end') {
          this.update(m);
          return;
        } else {
          throw this.failure(m);
        }
      }
    } finally {
      this.stop();
    }
  }

  private update(m: Extract<FromWorker, { type: 'batch' | 'end' }>): void {
    Object.assign(this.meta, m.meta);
    if (m.warnings !== null) this.diag.absorb(m.warnings.counts, m.warnings.examples);
    if (m.progress !== null) this.opts.onProgress?.(m.progress[0], m.progress[1]);
  }

  private failure(m: FromWorker): Error {
    if (m.type !== 'error') return new Error(`ingest worker: unexpected ${m.type} message`);
    if (m.inputError !== null) return new InputError(m.inputError.file, m.inputError.line, m.inputError.reason);
    const err = new Error(`ingest worker: ${m.message}`);
    if (m.stack !== undefined) err.stack = `${err.message}\n(worker stack) ${m.stack}`;
    return err;
  }

  private deliver(m: FromWorker): void {
    if (this.done) return;
    const w = this.waiting;
    if (w !== null) {
      this.waiting = null;
      w(m);
    } else this.queue.push(m);
  }

  private next(): Promise<FromWorker> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private send(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.done) this.worker.postMessage(m, transfer);
  }

  private done = false;

  /** the end, an error or the consumer stopped early: the thread is not needed any more */
  private stop(): void {
    if (this.done) return;
    this.done = true;
    void this.worker.terminate();
  }
}

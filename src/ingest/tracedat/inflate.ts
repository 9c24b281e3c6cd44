// Compressed trace data decompressed on a second thread. Decompressing the chunks costs more
// than decoding the records in them (zstd: ~0.4 us of the ~0.6 us per event of a madvise trace),
// and needs nothing from the decoder, so a worker (inflate-worker.ts) runs the per-CPU CpuStreams
// ahead of the main thread and moves each decompressed chunk over (transferred, not copied).
//
// Protocol:
//   worker -> main  {type:'ready'} once the file is open, then per chunk of stream s
//                   {type:'chunks', stream, items, consumed, done}: the problems CpuStream reported
//                   while reading it (in order), then the chunk's bytes; done at the stream's end
//   main -> worker  {stream, bytes}: bytes of stream s the decoder has taken, so the worker may
//                   run that much further ahead (it keeps each stream at most aheadBytes ahead)
// Problems are replayed when the decoder reaches them, so warnings, meta.truncated and events are
// exactly those of the in-thread path. An exception in the worker after 'ready' (a read error) is
// thrown from next(), as the in-thread read would have thrown it.
//
// start() returns null when no worker can run (the compiled inflate-worker.js is not there, as
// under vitest running the .ts sources, or it fails before 'ready'); the caller then decompresses
// in-thread. The worker holds the process open only while the decoder waits for it, and close()
// ends it: early stops and abandoned iterators leave nothing running.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CompressionName } from './compress.js';
import type { CpuDataRef } from './header.js';
import type { PageSource, StreamProblem } from './ringbuf.js';

export interface InflateJob {
  path: string;
  refs: CpuDataRef[];
  pageSize: number;
  compression: CompressionName;
  le: boolean;
  /** CPU streams in the file (sizes CpuStream's read-ahead) */
  cpus: number;
  /** decompressed bytes a stream may run ahead of the decoder */
  aheadBytes: number;
}

export type WorkerItem = { problem: StreamProblem; data?: undefined } | { data: Uint8Array; problem?: undefined };

export type ToMain = { type: 'ready' } | { type: 'chunks'; stream: number; items: WorkerItem[]; consumed: number; done: boolean };

export interface ToWorker {
  stream: number;
  bytes: number;
}

/** All streams together stay within this many decompressed bytes ahead of the decoder. */
const AHEAD_BUDGET = 16 << 20;
/** ... and each at least this far (a few chunks: trace-cmd writes 10 pages per chunk) */
const MIN_AHEAD = 1 << 20;

const WORKER_URL = new URL('./inflate-worker.js', import.meta.url);

type Chunk = Extract<ToMain, { type: 'chunks' }>;

/** One CPU's decompressed pages, as handed over by the worker. */
class RemoteStream implements PageSource {
  consumed = 0;
  private readonly queue: Chunk[] = [];
  private waiting: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  private failure: unknown = null;
  private ended = false;
  private unacked = 0;

  constructor(
    private readonly index: number,
    private readonly owner: InflateWorker,
    private readonly onProblem: (p: StreamProblem) => void,
    private readonly ackBytes: number,
  ) {}

  push(c: Chunk): void {
    this.queue.push(c);
    this.wake();
  }

  fail(e: unknown): void {
    this.failure ??= e;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(e);
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.resolve();
  }

  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.ended) return null;
      const c = this.queue.shift();
      if (c) {
        this.consumed = c.consumed;
        let data: Uint8Array | undefined;
        for (const it of c.items) {
          if (it.problem) this.onProblem(it.problem);
          else data = it.data;
        }
        if (c.done) this.ended = true;
        if (!data) continue;
        this.unacked += data.byteLength;
        if (this.unacked >= this.ackBytes) {
          this.owner.ack(this.index, this.unacked);
          this.unacked = 0;
        }
        return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      }
      if (this.failure) throw this.failure;
      await this.owner.waitFor(() => new Promise<void>((resolve, reject) => (this.waiting = { resolve, reject })));
    }
  }
}

export class InflateWorker {
  readonly streams: RemoteStream[];
  private waiters = 0;

  private constructor(
    private readonly worker: Worker,
    job: InflateJob,
    onProblem: (p: StreamProblem) => void,
  ) {
    this.streams = job.refs.map((_, i) => new RemoteStream(i, this, onProblem, Math.max(1, job.aheadBytes >>> 2)));
    worker.on('message', (m: ToMain) => {
      if (m.type === 'chunks') this.streams[m.stream]!.push(m);
    });
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', () => this.failAll(new Error('the decompression worker stopped before the end of the data')));
  }

  /**
   * A worker decompressing `refs` (chunked per-CPU data of the file at `path`), or null when none
   * can be started; `onProblem` gets each stream's problems when its reader reaches them.
   */
  static async start(job: Omit<InflateJob, 'aheadBytes'>, onProblem: (p: StreamProblem) => void): Promise<InflateWorker | null> {
    if (!existsSync(fileURLToPath(WORKER_URL))) return null;
    const full: InflateJob = { ...job, aheadBytes: Math.max(MIN_AHEAD, Math.floor(AHEAD_BUDGET / Math.max(1, job.refs.length))) };
    let worker: Worker;
    try {
      worker = new Worker(WORKER_URL, { workerData: full });
    } catch {
      return null;
    }
    const ready = await new Promise<boolean>((resolve) => {
      const onMessage = (m: ToMain): void => {
        if (m.type !== 'ready') return;
        cleanup();
        resolve(true);
      };
      const onFail = (): void => {
        cleanup();
        resolve(false);
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onFail);
        worker.off('exit', onFail);
      };
      worker.on('message', onMessage);
      worker.on('error', onFail);
      worker.on('exit', onFail);
    });
    if (!ready) {
      void worker.terminate();
      return null;
    }
    const w = new InflateWorker(worker, full, onProblem);
    worker.unref();
    return w;
  }

  ack(stream: number, bytes: number): void {
    this.worker.postMessage({ stream, bytes } satisfies ToWorker);
  }

  /** the worker keeps the process alive only while someone waits for it */
  async waitFor(wait: () => Promise<void>): Promise<void> {
    if (this.waiters++ === 0) this.worker.ref();
    try {
      await wait();
    } finally {
      if (--this.waiters === 0) this.worker.unref();
    }
  }

  private failAll(e: unknown): void {
    for (const s of this.streams) s.fail(e);
  }

  close(): void {
    this.worker.removeAllListeners('exit');
    void this.worker.terminate();
  }
}

// The ingest worker thread: openTrace() and the whole bytes -> lines -> typed events stage run
// here, and the events go to the main thread as binary batches (codec.ts). See source.ts.

import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Diagnostics } from '../diagnostics.js';
import { InputError } from '../../errors.js';
import { openTrace } from '../index.js';
import type { IngestOptions } from '../source.js';
import { BatchEncoder } from './codec.js';
import type { FromWorker, ToWorker, WarningDelta, WorkerJob } from './protocol.js';

const port = parentPort!;
const job = workerData as WorkerJob;

/** batches the main thread is ready to take (it grants more as it decodes them) */
let credit = 0;
let wake: (() => void) | null = null;
const encoder = new BatchEncoder();
port.on('message', (m: ToWorker) => {
  if (m.type !== 'credit') return;
  credit++;
  if (m.buf !== undefined) encoder.recycle(m.buf);
  const w = wake;
  wake = null;
  w?.();
});

const diag = new Diagnostics({ strict: job.strict, examplesPerCode: job.examplesPerCode });
const sentCounts = new Map<string, number>();
let sentExamples = 0;
/** warnings recorded since the last message, or null */
function warningsSinceLast(): WarningDelta | null {
  if (diag.examples.length === sentExamples && diag.total === sum(sentCounts)) return null;
  const counts: Array<[string, number]> = [];
  for (const [code, n] of diag.counts) {
    const before = sentCounts.get(code) ?? 0;
    if (n > before) counts.push([code, n - before]);
    sentCounts.set(code, n);
  }
  const examples = diag.examples.slice(sentExamples);
  sentExamples = diag.examples.length;
  return { counts, examples };
}

function sum(m: Map<string, number>): number {
  let t = 0;
  for (const n of m.values()) t += n;
  return t;
}

let progress: [number, number | undefined] | null = null;

function post(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

async function run(): Promise<void> {
  const opts: IngestOptions = { ...job.ingest };
  if (job.progress) opts.onProgress = (done, total) => (progress = [done, total]);
  // stdin is the process's fd 0, read from this thread (process.stdin here is not the terminal's)
  if (job.paths.includes('-')) opts.stdin = createReadStream('', { fd: 0, autoClose: false, highWaterMark: 1 << 20 });
  const source = await openTrace(job.paths, opts, diag);
  post({ type: 'open', meta: source.meta });
  for await (const events of source.events()) {
    while (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
    credit--;
    const batch = encoder.encode(events);
    post({ type: 'batch', batch, meta: source.meta, warnings: warningsSinceLast(), progress }, [batch.buf]);
    progress = null;
  }
  post({ type: 'end', meta: source.meta, warnings: warningsSinceLast(), progress });
}

run().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  post({
    type: 'error',
    inputError: e instanceof InputError ? { file: e.file, line: e.line, reason: e.reason } : null,
    message: e.message,
    stack: e.stack,
  });
});

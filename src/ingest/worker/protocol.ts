// Messages between the main thread (source.ts) and the ingest worker (thread.ts).

import type { WarningExample } from '../diagnostics.js';
import type { IngestOptions, TraceMeta } from '../source.js';
import type { EncodedBatch } from './codec.js';

/** workerData: what to open, how */
export interface WorkerJob {
  paths: string[];
  /** the serialisable part of IngestOptions (no stdin, no callbacks) */
  ingest: Pick<IngestOptions, 'format' | 'maxLineLength' | 'tgids'>;
  /** report progress (opts.onProgress was given) */
  progress: boolean;
  strict: boolean;
  examplesPerCode: number;
}

/** warnings recorded since the last message */
export interface WarningDelta {
  counts: Array<[string, number]>;
  examples: WarningExample[];
}

export type FromWorker =
  /** openTrace() returned: the meta as it was then */
  | { type: 'open'; meta: TraceMeta }
  | { type: 'batch'; batch: EncodedBatch; meta: TraceMeta; warnings: WarningDelta | null; progress: [number, number | undefined] | null }
  | { type: 'end'; meta: TraceMeta; warnings: WarningDelta | null; progress: [number, number | undefined] | null }
  /** InputError (file, line, reason) or any other failure (message, stack) */
  | { type: 'error'; inputError: { file: string; line: number; reason: string } | null; message: string; stack?: string };

/** one more batch may be sent; `buf` is a decoded batch's buffer, for reuse */
export interface ToWorker {
  type: 'credit';
  buf?: ArrayBuffer;
}

// The public shape of an opened trace: what `openTrace()` (src/ingest/index.ts) returns for every
// input format, text or binary. The model reads `events()` once, in order; `meta` is filled in
// while reading and is final once the iteration ends.

import type { TraceEvent } from '../events/types.js';
import type { EventBatch } from '../events/batch.js';

export type TraceFormat = 'ftrace' | 'trace-cmd' | 'perf-script' | 'trace-dat';

export const TRACE_FORMATS: readonly TraceFormat[] = ['ftrace', 'trace-cmd', 'perf-script', 'trace-dat'];

export interface IngestOptions {
  /** skip sniffing and parse as this format */
  format?: TraceFormat;
  /** lines longer than this (bytes) are skipped with a warning; protects memory */
  maxLineLength?: number;
  /** called now and then with bytes consumed so far (compressed bytes for .gz), for progress bars */
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
  /**
   * What the path `-` reads instead of process.stdin: bytes already in memory (tests, the fuzzer,
   * embedding) or another stream. Compression and format are sniffed as for a file.
   */
  stdin?: Uint8Array | NodeJS.ReadableStream;
  /**
   * pid -> tgid for a trace.dat, whose records carry no tgid: the `saved_tgids` a `tlbtrace record`
   * capture directory keeps beside it. Events of pids not in the map keep tgid -1.
   */
  tgids?: ReadonlyMap<number, number>;
}

export interface TraceMeta {
  /** display names of the inputs ('-' is shown as '<stdin>') */
  files: string[];
  format: TraceFormat;
  /** CPU count the header declares (`#P:2` in raw ftrace, `cpus=8` in trace-cmd report), if any */
  declaredCpus?: number;
  /** raw ftrace header `entries-in-buffer/entries-written: A/B`; A < B means the ring buffer overwrote events */
  entriesInBuffer?: number;
  entriesWritten?: number;
  /** whether events carry a real tgid (raw ftrace with record-tgid, perf script -F +pid, trace.dat with saved tgids) */
  tgidKnown: boolean;
  /** the input ended early (truncated gzip/zstd stream, cut trace.dat); events read so far were delivered */
  truncated: boolean;
  /** text lines read (0 for binary) */
  lines: number;
  /** kernel release if the input names it (trace.dat uname), else undefined */
  kernel?: string;
}

export interface TraceSource {
  readonly meta: TraceMeta;
  /** Events in input order, in batches (a few thousand each) to keep per-event overhead low. */
  events(): AsyncIterable<TraceEvent[]>;
  /**
   * The same events as rows of typed columns, without an object per event (the text ingest; see
   * src/events/batch.ts). A batch is valid until the next is asked for: its storage is reused.
   * Either this or events() can be iterated, once.
   */
  batches?(): AsyncIterable<EventBatch>;
}

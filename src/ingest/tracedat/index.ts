// trace-cmd's binary trace.dat (file versions 6 and 7; v7 sections uncompressed, zlib or zstd)
// -> the same TraceEvent stream the text parsers produce for `trace-cmd report` of the recording.
//
// Layout of this folder:
//   header.ts   initial format, then v6.ts (sequential metadata) or v7.ts (options/sections);
//               sections.ts the types and option/format blocks both share
//   salvage.ts  a file cut short or with damaged options: finding the data, saying what was lost
//   format.ts   event format / header_page text -> field offsets
//   ringbuf.ts  per-CPU page streams (chunked decompression) and the kbuffer-style page walker
//   decode.ts   record payload -> TraceEvent (syscall names/numbers from src/events/payloads.ts)
//   merge.ts    the per-record loop: all CPUs' records in timestamp order, decoded into batches
//   kallsyms.ts, comms.ts: addresses and pids to names as trace-cmd report prints them
//   compress.ts zlib and zstd blocks (zstd: ../zstd.ts, node:zlib where the runtime has it, else WebAssembly)
// A file cut inside its data gives the records of its complete pages (one truncated-input
// warning says per CPU what was read and lost); one cut before any complete page is an InputError.
// Records of all CPUs are merged by timestamp (ties: lowest CPU first, like
// tracecmd_peek_next_data()); memory stays bounded by one window (256 pages or one compressed
// chunk) per CPU plus one batch of events.

import type { TraceEvent } from '../../events/types.js';
import { type Diagnostics } from '../diagnostics.js';
import { InputError } from '../../errors.js';
import type { IngestOptions, TraceMeta, TraceSource } from '../source.js';
import { CommTable } from './comms.js';
import { EventDecoder } from './decode.js';
import { RandomAccessFile } from './file.js';
import { HeaderError, readTraceDatInfo, TRACE_DAT_MAGIC, type TraceDatInfo } from './header.js';
import { Kallsyms } from './kallsyms.js';
import { RecordMerge } from './merge.js';
import { CpuCursor, CpuStream, type StreamProblem } from './ringbuf.js';
import { cutReport, holdsCompletePage } from './salvage.js';

export { readTraceDatInfo, type TraceDatInfo } from './header.js';

/** events per batch handed to the consumer */
const BATCH = 4096;

/** trace.dat starts with 0x17 0x08 0x44 "tracing" (trace-cmd.dat.v7(5), INITIAL FORMAT) */
export function isTraceDat(head: Buffer): boolean {
  return head.length >= TRACE_DAT_MAGIC.length && head.subarray(0, TRACE_DAT_MAGIC.length).equals(TRACE_DAT_MAGIC);
}

async function openFile(path: string, display: string): Promise<RandomAccessFile> {
  try {
    return await RandomAccessFile.open(path);
  } catch (e) {
    throw new InputError(display, 0, `cannot open: ${(e as Error).message}`);
  }
}

async function readInfo(file: RandomAccessFile, display: string): Promise<TraceDatInfo> {
  try {
    return await readTraceDatInfo(file);
  } catch (e) {
    if (e instanceof HeaderError) throw new InputError(display, 0, e.message);
    throw e;
  }
}

export async function openTraceDat(path: string, opts: IngestOptions, diag: Diagnostics): Promise<TraceSource> {
  const display = path === '-' ? '<stdin>' : path;
  if (path === '-') throw new InputError(display, 0, 'trace.dat needs a seekable file, not standard input');
  const file = await openFile(path, display);
  let info: TraceDatInfo;
  try {
    info = await readInfo(file, display);
    if (info.truncated && !(await holdsCompletePage(file, info.cpuData, info.pageSize, info.cpuDataCompressed, info.littleEndian))) {
      const start = Math.min(...info.cpuData.map((c) => c.offset), Number.MAX_SAFE_INTEGER);
      const where = start < Number.MAX_SAFE_INTEGER ? ` (it starts at offset ${start})` : '';
      throw new InputError(display, 0, `truncated file: it ends at byte ${file.size}, before the first complete page of trace data${where}: no events to read`);
    }
  } finally {
    await file.close();
  }

  const meta: TraceMeta = {
    files: [display],
    format: 'trace-dat',
    // what `trace-cmd report` prints as `cpus=N`: the flyrecord's CPU slots (v7: highest CPU id + 1)
    declaredCpus: info.cpuData.length && !info.recovered ? Math.max(...info.cpuData.map((c) => c.cpu)) + 1 : (info.cpuCount ?? info.cpuData.length),
    tgidKnown: opts.tgids !== undefined && opts.tgids.size > 0,
    truncated: info.truncated,
    lines: 0,
    kernel: info.uname?.split(/\s+/)[2],
  };
  for (const p of info.problems) diag.warn('corrupt-data', display, 0, p);
  for (const note of info.notes) {
    if (note.startsWith('instance')) diag.warn('ignored-instance', display, 0, note);
  }

  return {
    meta,
    events: () => readEvents(path, display, info, meta, opts, diag),
  };
}

/** A page stream and a record cursor for each CPU with trace data (the benchmark's floor walks them too). */
export function cpuCursors(file: RandomAccessFile, info: TraceDatInfo, onProblem: (p: StreamProblem) => void): { streams: CpuStream[]; cursors: CpuCursor[] } {
  const le = info.littleEndian;
  const streams: CpuStream[] = [];
  const cursors: CpuCursor[] = [];
  info.cpuData.forEach((ref, i) => {
    if (ref.size <= 0) return;
    const s = new CpuStream(file, ref, info.pageSize, info.compression, info.cpuDataCompressed, le, onProblem, info.cpuData.length);
    streams.push(s);
    cursors.push(new CpuCursor(i, ref.cpu, s, le, info.pageSize, info.headerPage, info.tsOffset, info.tsc2nsec, onProblem));
  });
  return { streams, cursors };
}

/** Records carry a pid only; a capture's saved pid -> tgid map names their processes. */
function withTgids(batch: TraceEvent[], tgids: ReadonlyMap<number, number> | undefined): TraceEvent[] {
  if (tgids === undefined) return batch;
  for (let i = 0; i < batch.length; i++) {
    const e = batch[i]!;
    if (e.pid > 0) e.tgid = tgids.get(e.pid) ?? -1;
  }
  return batch;
}

async function* readEvents(
  path: string,
  display: string,
  info: TraceDatInfo,
  meta: TraceMeta,
  opts: IngestOptions,
  diag: Diagnostics,
): AsyncGenerator<TraceEvent[]> {
  const file = await openFile(path, display);
  try {
    const le = info.littleEndian;
    const comms = new CommTable(info.cmdlines);
    const mismatched = new Set<string>();
    const decoder = new EventDecoder(info.formats, {
      le,
      kernelLongSize: info.headerPage.commitSize,
      kallsyms: new Kallsyms(() => {
        try {
          return info.kallsyms();
        } catch (e) {
          diag.warn('corrupt-data', display, 0, `${(e as Error).message}; addresses are printed as hex`);
          return null;
        }
      }),
      comms,
      onFormatMismatch: (name, missing) => {
        if (mismatched.has(name)) return;
        mismatched.add(name);
        diag.warn('unknown-payload', display, 0, `event ${name}: its format has no field "${missing}"; counted as an other event`);
      },
    });
    const onProblem = (p: StreamProblem): void => {
      if (p.code === 'truncated-input') meta.truncated = true;
      diag.warn(p.code, display, 0, p.message);
    };
    const { streams, cursors } = cpuCursors(file, info, onProblem);
    const total = info.cpuData.reduce((s, r) => s + r.size, 0);
    let reported = 0;
    const progress = (): void => {
      if (!opts.onProgress) return;
      const done = streams.reduce((s, x) => s + x.consumed, 0);
      if (done - reported >= 1 << 20 || done === total) {
        reported = done;
        opts.onProgress(done, total);
      }
    };

    let shortWarned = false;
    const unknownIds = new Set<number>();
    /** a record with no format in the file, or too short for it: skipped, with one warning per kind */
    const skipRecord = (c: CpuCursor, type: number, known: boolean): void => {
      if (type >= 0 && !known) {
        if (unknownIds.has(type)) return;
        unknownIds.add(type);
        diag.warn('unknown-payload', display, 0, `CPU ${c.cpu}: record of event id ${type}, which has no format in the file; skipped`);
      } else if (!shortWarned) {
        shortWarned = true;
        diag.warn('corrupt-data', display, 0, `CPU ${c.cpu}: a record of ${c.recLen} bytes is too short for its event's format; such records are skipped`);
      }
    };
    const merge = new RecordMerge(decoder, comms, le, BATCH, skipRecord);
    for (const c of cursors) {
      if (await c.refill()) merge.add(c);
    }
    progress();

    const tgids = meta.tgidKnown ? opts.tgids : undefined;
    for (;;) {
      const c = merge.run();
      if (c !== null) {
        if (await c.refill()) merge.add(c);
        else merge.finish(c);
        progress();
      }
      if (merge.batch.length >= BATCH) yield withTgids(merge.take(), tgids);
      if (!merge.heap.length) break;
    }
    if (merge.batch.length) yield withTgids(merge.take(), tgids);
    progress();
    if (meta.truncated || streams.some((s) => s.truncated)) {
      meta.truncated = true;
      diag.warn('truncated-input', display, 0, cutReport(file.size, streams, info.recovered ? { blocks: info.cpuData.length, cpuCount: info.cpuCount } : null));
    }
  } finally {
    await file.close();
  }
}

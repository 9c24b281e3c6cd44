// The floors under an analysis: what an input costs before the model sees a single event.
//
//   read     trace.dat: every CPU's stream decompressed (the ingest's own zstd/zlib code, so the
//            runtime's zstd path: node:zlib or WebAssembly, see ingest/zstd.ts) and
//            every record walked (its ring-buffer page walker), nothing decoded, nothing merged;
//            text: the bytes read (gzip/zstd decompressed) and the newlines counted
//   ingest   openTrace() and every event batch iterated: bytes -> lines -> typed events (rows
//            of typed columns for text, as the analysis reads them; objects for trace.dat)
//
// A speed target whose time budget a floor already fills cannot be met by a faster model: the
// benchmark (`npm run bench`, the floor rows of the N-copy inputs) sets them against the budgets
// of issue #7's targets, and `node dist/bench/stages.js FILE` has them as stages.

import { ROW_OBJECT } from '../events/batch.js';
import { Diagnostics } from '../ingest/diagnostics.js';
import { openTrace } from '../ingest/index.js';
import { InputStream } from '../ingest/input.js';
import { RandomAccessFile } from '../ingest/tracedat/file.js';
import { readTraceDatInfo } from '../ingest/tracedat/header.js';
import { cpuCursors, isTraceDat } from '../ingest/tracedat/index.js';
import type { StreamProblem } from '../ingest/tracedat/ringbuf.js';

export type FloorStage = 'read' | 'ingest';

export const FLOOR_STAGES: readonly FloorStage[] = ['read', 'ingest'];

/** What a floor stage went through: records (read: trace.dat records or text lines) or events (ingest). */
export interface FloorCount {
  stage: FloorStage;
  /** read: trace.dat records or text newlines; ingest: events (not lost-event markers) */
  count: number;
  /** how `count` counts */
  unit: 'records' | 'lines' | 'events';
}

export async function runFloor(stage: FloorStage, file: string): Promise<FloorCount> {
  if (stage === 'ingest') {
    const src = await openTrace([file], {}, new Diagnostics({}));
    let events = 0;
    // counted as the summary's input.events counts: a lost-events marker is no event; the text
    // ingest's batches of rows (what the analysis reads) when the source has them
    if (src.batches !== undefined) {
      for await (const b of src.batches()) {
        for (let i = 0; i < b.length; i++) if (b.row[i] !== ROW_OBJECT || b.objects[i]!.kind !== 'lost_events') events++;
      }
    } else for await (const b of src.events()) for (const e of b) if (e.kind !== 'lost_events') events++;
    return { stage, count: events, unit: 'events' };
  }
  const input = await InputStream.open(file);
  if (isTraceDat(input.rawHead)) {
    input.close();
    return { stage, count: await walkTraceDat(file), unit: 'records' };
  }
  let lines = 0;
  for (let b = await input.next(); b !== undefined; b = await input.next()) {
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
  }
  if (input.failure) throw new Error(`${file}: ${input.failure.message}`);
  return { stage, count: lines, unit: 'lines' };
}

/** Decompress and walk every record of every CPU, one CPU after another; the record count. */
async function walkTraceDat(path: string): Promise<number> {
  const file = await RandomAccessFile.open(path);
  try {
    const info = await readTraceDatInfo(file);
    const onProblem = (p: StreamProblem): void => {
      throw new Error(`${path}: ${p.message}`);
    };
    let records = 0;
    // one CPU after another; refill() positions on a window's first record, advance() moves on
    const { streams, cursors } = cpuCursors(file, info, onProblem);
    for (const c of cursors) {
      while (await c.refill()) {
        records++;
        while (c.advance()) records++;
      }
    }
    const cut = streams.find((s) => s.truncated);
    if (cut) throw new Error(`${path}: the file is cut short: ${cut.account()}`);
    return records;
  } finally {
    await file.close();
  }
}

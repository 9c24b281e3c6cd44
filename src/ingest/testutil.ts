// Test helpers (not part of the build's public API): read a whole trace and count its events.

import { eventName, type TraceEvent } from '../events/types.js';
import { Diagnostics } from './diagnostics.js';
import { openTrace } from './index.js';
import type { IngestOptions, TraceMeta } from './source.js';

export interface TraceCounts {
  total: number;
  byType: Record<string, number>;
  byCpu: Record<string, number>;
  tlbReasons: Record<string, number>;
}

export function countEvents(events: Iterable<TraceEvent>): TraceCounts {
  const byType: Record<string, number> = {};
  const byCpu: Record<string, number> = {};
  const tlbReasons: Record<string, number> = {};
  let total = 0;
  for (const e of events) {
    total++;
    const n = eventName(e);
    byType[n] = (byType[n] ?? 0) + 1;
    byCpu[e.cpu] = (byCpu[e.cpu] ?? 0) + 1;
    if (e.kind === 'tlb_flush') tlbReasons[e.reason] = (tlbReasons[e.reason] ?? 0) + 1;
  }
  return { total, byType, byCpu, tlbReasons };
}

export interface ReadResult {
  events: TraceEvent[];
  meta: TraceMeta;
  diag: Diagnostics;
  batches: number[];
}

export async function readAll(paths: string[], opts: IngestOptions = {}, diag = new Diagnostics({ examplesPerCode: 20 })): Promise<ReadResult> {
  const src = await openTrace(paths, opts, diag);
  const events: TraceEvent[] = [];
  const batches: number[] = [];
  for await (const b of src.events()) {
    batches.push(b.length);
    for (const e of b) events.push(e);
  }
  return { events, meta: src.meta, diag, batches };
}

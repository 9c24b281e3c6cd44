// Shared by the export tests: run the analysis with exporters attached, and the numbers of the
// summary the exports must agree with.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeTrace } from '../../src/pipeline/analyze.js';
import type { EventSink } from '../../src/pipeline/sink.js';
import type { Summary } from '../../src/summary/schema.js';

export const FIXTURES = join(import.meta.dirname, '../../fixtures');
export const SHARED = join(import.meta.dirname, '../../../shared/traces');

/** Capture directories under `root` (those with a truth.json), relative paths, sorted. */
export function captures(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const dir = join(root, rel);
    const names = readdirSync(dir, { withFileTypes: true });
    if (names.some((d) => d.name === 'truth.json')) out.push(rel);
    for (const d of names) if (d.isDirectory()) walk(rel === '' ? d.name : `${rel}/${d.name}`);
  };
  if (existsSync(root)) walk('');
  return out.sort();
}

/** The trace of a capture directory: its trace.dat, else its raw ftrace. */
export function traceOf(dir: string): string {
  for (const f of ['trace.dat', 'ftrace.txt.gz', 'trace-cmd-report.txt.gz']) if (existsSync(join(dir, f))) return join(dir, f);
  throw new Error(`no trace in ${dir}`);
}

export async function analyzeWith(path: string, sinks: EventSink[]): Promise<Summary> {
  return analyzeTrace([path], { sinks, ingestThread: 'main' });
}

/**
 * Flush callbacks that belong to no request (queued before the trace started, or lost). The
 * summary states them in each policy's notes ("N remote callbacks and M TLB IPIs belong to no
 * request visible in the trace"): KernelModel.unattachedCallbacks, which has no field of its own.
 */
export function unattachedCallbacks(s: Summary): number {
  for (const p of Object.values(s.policies)) {
    for (const n of p.notes) {
      const m = /^(\d+) remote callbacks and \d+ TLB IPIs belong to no request/.exec(n);
      if (m) return Number(m[1]);
    }
  }
  return 0;
}

/**
 * Targets of requests whose callback ran, from the summary alone: the remote flush callbacks
 * (remoteShootdowns.total, every csd_function_entry of flush_tlb_func with a csd, or on 6.1 every
 * remote tlb_flush) less those that belong to no request, plus the page-table-free syncs
 * (tlb_remove_table_smp_sync callbacks, 6.5+; each answers a sync request).
 */
export function pairedTargets(s: Summary): number {
  return s.observed.remoteShootdowns.total - unattachedCallbacks(s) + s.observed.wasted.byKind.tableSync;
}

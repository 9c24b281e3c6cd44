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

/** Raw ftrace header and lines of native-6.18-2cpu/mt-mixed (ftrace.txt.gz, lines 1-6 and 13-21). */
export const HEADER = [
  '# tracer: nop',
  '#',
  '# entries-in-buffer/entries-written: 33429/33429   #P:2',
  '#',
  '#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |           |       |   |||||     |         |',
];
export const L = {
  flush4: '            bash-5045    (   5045) [000] ...1.  1354.137805: tlb_flush: pages:-1 reason:remote IPI send (4)',
  queue: '            bash-5045    (   5045) [000] ...2.  1354.137806: csd_queue_cpu: cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=0000000069199808',
  ipi: '            bash-5045    (   5045) [000] ...2.  1354.137807: ipi_send_cpu: cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 callback=generic_smp_call_function_single_interrupt+0x0/0x10',
  entry0: '            bash-5045    (   5045) [000] d..2.  1354.137843: csd_function_entry: func=flush_tlb_func, csd=0000000000000000',
  cfse: '          <idle>-0       (-------) [001] d.h1.  1354.137847: call_function_single_entry: vector=251',
  entry1: '          <idle>-0       (-------) [001] d.h1.  1354.137848: csd_function_entry: func=flush_tlb_func, csd=0000000069199808',
  flush5: '          <idle>-0       (-------) [001] d.h1.  1354.137849: tlb_flush: pages:0 reason:remote wrong CPU (5)',
  exit1: '          <idle>-0       (-------) [001] d.h1.  1354.137849: csd_function_exit: func=flush_tlb_func, csd=0000000069199808',
  fork: '            bash-5045    (   5045) [000] .....  1354.137856: sched_process_fork: comm=bash pid=5045 child_comm=bash child_pid=5050',
};
export const BODY = [L.flush4, L.queue, L.ipi, L.entry0, L.cfse, L.entry1, L.flush5, L.exit1, L.fork];

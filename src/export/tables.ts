// The tables of a capture, as `export --parquet` writes them (one file each per capture, see
// dataset.ts for the paths). Every table has `schema_version` (PARQUET_SCHEMA_VERSION); times are
// int64 nanoseconds of the trace clock, CPUs int32. The README's "Export and fleet" section lists
// them; `doc` here is the column's one-line meaning.

import type { ColumnSpec, TableSpec } from './parquet.js';

const version: ColumnSpec = { name: 'schema_version', type: 'int32', doc: 'layout version of these tables (tlbtrace.parquet/N)' };

/** Policy names as column prefixes: `deferred-a` -> `deferred_a`. */
export function policyColumn(policy: string): string {
  return policy.replace(/[^A-Za-z0-9]+/g, '_');
}

export function requestsTable(policies: readonly string[]): TableSpec {
  return {
    name: 'requests',
    doc: 'one row per flush request (tlb_flush 4, a direct tlb_flush 3, or a page-table-free sync)',
    columns: [
      version,
      { name: 'request_id', type: 'int64', doc: 'number of the request in this capture, in request order' },
      { name: 'ts_ns', type: 'int64', doc: "the initiator's tlb_flush 4 / direct tlb_flush 3 / csd_queue_cpu of a table sync" },
      { name: 'closed_ns', type: 'int64', doc: 'when the initiator moved on and every target had answered' },
      { name: 'cpu', type: 'int32', doc: 'initiating CPU' },
      { name: 'pid', type: 'int32', doc: 'initiating task' },
      { name: 'comm', type: 'string', doc: 'its command name' },
      { name: 'mm_id', type: 'int64', nullable: true, doc: "the model's number of the flushed address space (null: none or unknown)" },
      { name: 'mm', type: 'string', nullable: true, doc: 'that address space as comm[tgid]' },
      { name: 'kind', type: 'string', doc: 'remote | localOnly | batched | tableSync' },
      { name: 'cause', type: 'string', doc: 'syscall or kernel thread behind it: munmap, madvise, kswapd, reclaim, ...' },
      { name: 'pages', type: 'int32', doc: 'requested range: -1 full, N pages' },
      { name: 'gen', type: 'int64', doc: "the mm's generation after this request (an estimate; 0 without mm)" },
      { name: 'local', type: 'string', doc: "the initiator's own flush: ranged | full | zero | wrongCpu | switchToInitMm | none" },
      { name: 'local_pages', type: 'int32', doc: 'pages of that local flush' },
      { name: 'targets', type: 'int32', doc: 'remote CPUs queued (csd_queue_cpu), or flushed by a hypervisor (callbacks.outcome hypercall)' },
      { name: 'handled', type: 'int32', doc: 'targets whose callback was seen running' },
      { name: 'shootdowns', type: 'int32', doc: 'remote flush callbacks that ran (what /proc/interrupts counts)' },
      { name: 'wasted', type: 'int32', doc: 'callbacks that flushed nothing: wrong CPU, already current, empty, lazy to init_mm, table sync' },
      { name: 'unanswered', type: 'int32', doc: 'targets whose callback was never seen' },
      { name: 'ipis', type: 'int32', doc: 'hardware IPIs sent for it' },
      { name: 'latency_ns', type: 'int64', nullable: true, doc: 'request -> last target callback entry (null: no callback seen)' },
      { name: 'freed_tables', type: 'bool', nullable: true, doc: 'targets unfiltered (page tables freed); null: cannot tell' },
      { name: 'trim', type: 'bool', doc: 'the request carried trim_cpumask (6.14+)' },
      { name: 'delivery', type: 'string', nullable: true, doc: 'how a remote mm request reached the CPUs should_flush_tlb() picks: ipi | partial | noIpi (a hypervisor flushed them, or a misprediction) | filtered (none needed) | unknown; null for other requests' },
      ...policies.flatMap((p): ColumnSpec[] => [
        { name: `${policyColumn(p)}_callbacks`, type: 'int32', doc: `remote flush callbacks policy ${p} sent while handling this request` },
        { name: `${policyColumn(p)}_verdict`, type: 'string', doc: `${p} against what happened: same | fewer | none | more` },
      ]),
    ],
  };
}

export const CALLBACKS_TABLE: TableSpec = {
  name: 'callbacks',
  doc: 'one row per target CPU of a request (csd_queue_cpu), with its callback if it ran',
  columns: [
    version,
    { name: 'request_id', type: 'int64', doc: 'the request (requests.request_id)' },
    { name: 'cpu', type: 'int32', doc: 'target CPU' },
    { name: 'initiator_cpu', type: 'int32', doc: 'CPU that sent the request' },
    { name: 'mm_id', type: 'int64', nullable: true, doc: "the request's address space (model number)" },
    { name: 'mm', type: 'string', nullable: true, doc: 'the same as comm[tgid]' },
    { name: 'kind', type: 'string', doc: "the request's kind" },
    { name: 'cause', type: 'string', doc: "the request's cause" },
    { name: 'request_ns', type: 'int64', doc: 'request time' },
    { name: 'queued_ns', type: 'int64', doc: 'csd_queue_cpu for this CPU' },
    { name: 'handler_ns', type: 'int64', nullable: true, doc: 'callback entry on the target (null: never seen)' },
    { name: 'latency_ns', type: 'int64', nullable: true, doc: 'request -> callback entry' },
    { name: 'outcome', type: 'string', doc: 'ranged | full | zero | wrongCpu | switchToInitMm | empty | tableSync | unanswered | hypercall (flushed by the hypervisor: no IPI, no callback)' },
    { name: 'pages', type: 'int32', doc: 'pages flushed by the callback (tlb_flush 1): -1 full' },
    { name: 'ipi', type: 'bool', doc: 'a hardware IPI named this CPU for this request' },
    { name: 'shootdown', type: 'bool', doc: 'a remote flush callback that ran (counts in /proc/interrupts)' },
    { name: 'wasted', type: 'bool', doc: 'the callback flushed nothing (or was a table sync)' },
  ],
};

export const SWITCHES_TABLE: TableSpec = {
  name: 'switches',
  doc: 'one row per context switch (sched_switch), with the switch_mm flush the kernel logged',
  columns: [
    version,
    { name: 'ts_ns', type: 'int64', doc: 'sched_switch time' },
    { name: 'cpu', type: 'int32', doc: 'CPU' },
    { name: 'pid', type: 'int32', doc: 'task switched in' },
    { name: 'comm', type: 'string', nullable: true, doc: 'its command name' },
    { name: 'from_mm_id', type: 'int64', doc: 'address space loaded before (0 = init_mm)' },
    { name: 'from_mm', type: 'string', doc: 'the same as comm[tgid]' },
    { name: 'to_mm_id', type: 'int64', doc: 'address space loaded after (a kernel thread keeps the old one, lazily)' },
    { name: 'to_mm', type: 'string', doc: 'the same as comm[tgid]' },
    { name: 'to_kernel_thread', type: 'bool', doc: 'switched to a kernel thread or idle (lazy TLB)' },
    { name: 'was_lazy', type: 'bool', doc: 'the CPU was in lazy TLB mode before' },
    { name: 'observed_flush', type: 'int32', nullable: true, doc: 'tlb_flush 0 logged: -1 full, 0 none needed; null no event' },
  ],
};

/** Measures of the per-second series, in column order after (second, start_ns, cpu). */
export const SERIES_MEASURES = ['requests', 'ipis_sent', 'shootdowns', 'ipis', 'wasted', 'switches'] as const;
export type SeriesMeasure = (typeof SERIES_MEASURES)[number];

export const SERIES_TABLE: TableSpec = {
  name: 'series',
  doc: 'one row per second of the trace and CPU with any activity',
  columns: [
    version,
    { name: 'second', type: 'int64', doc: 'seconds since the first event of the trace' },
    { name: 'start_ns', type: 'int64', doc: 'start of that second on the trace clock' },
    { name: 'cpu', type: 'int32', doc: 'CPU' },
    { name: 'requests', type: 'int32', doc: 'flush requests this CPU initiated (table syncs excluded)' },
    { name: 'ipis_sent', type: 'int32', doc: 'hardware IPIs sent by its requests' },
    { name: 'shootdowns', type: 'int32', doc: 'remote flush callbacks this CPU ran (by callback entry time)' },
    { name: 'ipis', type: 'int32', doc: 'of those callbacks, the ones a hardware IPI named this CPU for' },
    { name: 'wasted', type: 'int32', doc: 'callbacks this CPU ran that flushed nothing (table syncs included)' },
    { name: 'switches', type: 'int32', doc: 'context switches on this CPU' },
  ],
};

export const POLICIES_TABLE: TableSpec = {
  name: 'policies',
  doc: "one row per policy replayed: the summary's policies section",
  columns: [
    version,
    { name: 'policy', type: 'string', doc: 'policy name' },
    { name: 'title', type: 'string', doc: 'its title' },
    { name: 'risk', type: 'string', doc: 'safe | arch-dependent | unsafe' },
    { name: 'requests', type: 'int64', doc: 'flush requests under the policy' },
    { name: 'shootdowns', type: 'int64', doc: 'remote flush callbacks under the policy' },
    { name: 'ipis', type: 'int64', doc: 'IPIs under the policy' },
    { name: 'avoided_shootdowns', type: 'int64', doc: 'observed minus policy' },
    { name: 'avoided_ipis', type: 'int64', doc: 'observed minus policy' },
    { name: 'avoided_shootdowns_pct', type: 'double', nullable: true, doc: '% of observed (negative: costs more)' },
    { name: 'avoided_ipis_pct', type: 'double', nullable: true, doc: '% of observed' },
    { name: 'ranged_to_full', type: 'int64', doc: 'ranged flushes the policy turned into full ones' },
    { name: 'full_flushes_added', type: 'int64', doc: 'full flushes the policy added at switch-in' },
    { name: 'cpu_time_saved_us', type: 'double', doc: 'from the cost model (negative: a cost)' },
    { name: 'deferral_p50_us', type: 'double', nullable: true, doc: 'median deferral delay' },
    { name: 'deferral_p99_us', type: 'double', nullable: true, doc: '99th percentile deferral delay' },
    { name: 'params', type: 'string', doc: 'its parameters as JSON' },
  ],
};

export const SUMMARY_TABLE: TableSpec = {
  name: 'summary',
  doc: 'one row per capture: the key totals of the tlbtrace.summary/1, and the whole summary as JSON',
  columns: [
    version,
    { name: 'workload', type: 'string', doc: 'what ran (truth.json, --workload, or the capture name)' },
    { name: 'tool_version', type: 'string', doc: 'tlbtrace version' },
    { name: 'format', type: 'string', doc: 'input format' },
    { name: 'files', type: 'string', doc: 'input files, comma-separated' },
    { name: 'events', type: 'int64', doc: 'events read' },
    { name: 'cpus', type: 'int32', doc: 'CPUs' },
    { name: 'duration_s', type: 'double', doc: 'first to last event' },
    { name: 'first_ts_ns', type: 'int64', nullable: true, doc: 'first event' },
    { name: 'requests', type: 'int64', doc: 'flush requests (observed.requests)' },
    { name: 'requests_remote', type: 'int64', doc: 'of which remote' },
    { name: 'requests_local_only', type: 'int64', doc: 'of which direct local flushes' },
    { name: 'requests_batched', type: 'int64', doc: 'of which batched (arch_tlbbatch_flush)' },
    { name: 'phantom_requests', type: 'int64', doc: 'tlb_flush 4 with every target filtered' },
    { name: 'remote_shootdowns', type: 'int64', doc: 'remote flush callbacks (observed.remoteShootdowns.total)' },
    { name: 'remote_exact', type: 'bool', doc: 'false: a lower bound (no csd events)' },
    { name: 'pairing', type: 'string', doc: 'csd | vector | window' },
    { name: 'ipis_total', type: 'int64', doc: 'hardware IPIs of any kind' },
    { name: 'ipis_tlb', type: 'int64', doc: 'IPIs carrying TLB work' },
    { name: 'table_sync_callbacks', type: 'int64', doc: 'tlb_remove_table_smp_sync callbacks' },
    { name: 'wasted', type: 'int64', doc: 'callbacks that flushed nothing' },
    { name: 'unanswered_targets', type: 'int64', doc: 'queued targets never seen running' },
    { name: 'unpaired_handlers', type: 'int64', doc: 'callbacks matched to no request' },
    { name: 'latency_p50_us', type: 'double', nullable: true, doc: 'request -> callback, median' },
    { name: 'latency_p99_us', type: 'double', nullable: true, doc: 'request -> callback, 99th percentile' },
    { name: 'fidelity_targets', type: 'double', nullable: true, doc: 'share of target sets the model predicted' },
    { name: 'fidelity_switch', type: 'double', nullable: true, doc: 'share of switch-in flushes predicted' },
    { name: 'mms', type: 'int64', doc: 'address spaces seen' },
    { name: 'attribution', type: 'string', doc: 'tgid | inferred-from-pid' },
    { name: 'lost', type: 'bool', doc: 'the ring buffer lost events' },
    { name: 'truncated', type: 'bool', doc: 'the input ended early' },
    { name: 'warnings', type: 'int64', doc: 'input warnings' },
    { name: 'summary_json', type: 'string', doc: 'the whole tlbtrace.summary/1 as JSON' },
  ],
};

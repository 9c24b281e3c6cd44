// The tracefs events tlbtrace reads, by family: what each family tells the model and what a trace
// without it loses. `tlbtrace record` enables every event here that the running kernel has (its
// `available_events`); `tlbtrace analyze` names the families a trace lacks. One list, so the two
// never disagree on what "the TLB events" are.

export interface EventFamily {
  /** short name used in messages */
  name: string;
  /** `system:event` as tracefs names them */
  events: readonly string[];
  /** what the model takes from these events */
  purpose: string;
  /** what a trace without them cannot say */
  missingCost: string;
}

/** The TLB flush, IPI and callback events: without them a trace says nothing about shootdowns. */
export const TLB_FAMILIES: readonly EventFamily[] = [
  {
    name: 'tlb_flush',
    events: ['tlb:tlb_flush'],
    purpose: 'every flush: requests (reason 4), remote and local flushes, switch-in flushes',
    missingCost: 'no flush is seen at all: every flush, request and shootdown count is zero because nothing was recorded',
  },
  {
    name: 'ipi_send',
    events: ['ipi:ipi_send_cpu', 'ipi:ipi_send_cpumask'],
    purpose: 'hardware IPIs and their targets (kernel 6.4+)',
    missingCost: 'IPIs are counted from the call_function vectors on the receivers instead (kernels before 6.4 have no ipi_send_*)',
  },
  {
    name: 'csd',
    events: ['csd:csd_queue_cpu', 'csd:csd_function_entry', 'csd:csd_function_exit'],
    purpose: 'each remote flush callback queued and run, paired exactly (kernel 6.5+)',
    missingCost: 'callbacks that did nothing leave no event, so remote shootdowns are a lower bound and IPI targets cannot be checked (kernels before 6.5 have no csd_*)',
  },
];

/** Everything else the model reads: who runs where, why a flush happened, reclaim. */
export const CONTEXT_FAMILIES: readonly EventFamily[] = [
  {
    name: 'call_function vectors',
    events: ['irq_vectors:call_function_entry', 'irq_vectors:call_function_exit', 'irq_vectors:call_function_single_entry', 'irq_vectors:call_function_single_exit'],
    purpose: 'the receiving side of IPIs: pairing before 6.5, IPI counts before 6.4',
    missingCost: 'before 6.5, remote callbacks are paired by time windows only',
  },
  {
    name: 'sched',
    events: ['sched:sched_switch', 'sched:sched_process_fork', 'sched:sched_process_exec', 'sched:sched_process_exit', 'sched:sched_migrate_task', 'sched:sched_wake_idle_without_ipi'],
    purpose: 'which task and address space each CPU runs: lazy TLB, switch-in flushes, attribution',
    missingCost: 'the model cannot tell which CPUs run an mm: target predictions and most policies are guesses',
  },
  {
    name: 'mm syscalls',
    events: [
      'syscalls:sys_enter_munmap',
      'syscalls:sys_enter_mprotect',
      'syscalls:sys_enter_pkey_mprotect',
      'syscalls:sys_enter_madvise',
      'syscalls:sys_enter_process_madvise',
      'syscalls:sys_enter_mremap',
      'syscalls:sys_enter_mbind',
      'syscalls:sys_enter_move_pages',
      'syscalls:sys_enter_migrate_pages',
      'syscalls:sys_enter_clone',
      'syscalls:sys_enter_clone3',
      'syscalls:sys_enter_fork',
      'syscalls:sys_enter_vfork',
    ],
    purpose: 'why a flush happened (causes), mprotect protections (the promotion policy), and thread or process at each fork when the trace has no tgids',
    missingCost: 'flush causes are unknown and the promotion policy has nothing to judge',
  },
  {
    name: 'vmscan',
    events: ['vmscan:mm_vmscan_kswapd_wake', 'vmscan:mm_vmscan_kswapd_sleep', 'vmscan:mm_vmscan_direct_reclaim_begin', 'vmscan:mm_vmscan_direct_reclaim_end', 'vmscan:mm_vmscan_lru_shrink_inactive'],
    purpose: 'flushes caused by kswapd and direct reclaim; where each reclaim pass ends and what it freed (batch sizes of the batched and ladder-per-page policies)',
    missingCost: 'direct-reclaim flushes are attributed to the task, not to reclaim, and reclaim batches are sized by the SWAP_CLUSTER_MAX bound instead of by their pass',
  },
];

export const EVENT_FAMILIES: readonly EventFamily[] = [...TLB_FAMILIES, ...CONTEXT_FAMILIES];

/** `tlb:tlb_flush` -> `tlb_flush`: the name a trace prints and `input.eventsByType` counts. */
export function shortName(event: string): string {
  const i = event.indexOf(':');
  return i < 0 ? event : event.slice(i + 1);
}

/** The command that records all of the above on one's own machine (README "Recording"). */
export const RECORD_HINT = 'sudo tlbtrace record -o DIR -- COMMAND';

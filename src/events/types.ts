// The typed event union: what every ingest grammar (raw ftrace, trace-cmd report, perf script,
// trace.dat) produces and what the kernel model consumes. One object per trace record.
//
// Normalisations every producer must apply, so that the same recording in different formats
// yields identical events (tests compare them):
//   - `ts` is an integer number of nanoseconds (text prints microseconds: 223.569749 -> 223569749000).
//   - kernel pointers (`csd`) are lower-case hex strings without `0x` and without leading zeros
//     (`0000000069199808` -> "69199808", `0xffff888627d2e420` -> "ffff888627d2e420");
//     NULL (`0000000000000000`, `(nil)`, `0x0`) becomes `null`.
//     Raw ftrace hashes pointers and trace-cmd prints them raw, so values differ across formats
//     but are consistent within one; the model only compares them for equality.
//   - symbols (`callsite`, `func`, `callback`) keep only the name and offset: `on_each_cpu_cond_mask+0x20`
//     (ftrace's `/0x60` size suffix is dropped). Unresolved symbols stay as hex (`0x0`).
//   - cpumasks become a sorted array of CPU numbers, whatever the printing (hex words or CPU list).
//   - `tgid` is -1 when the format does not carry it (trace-cmd report, perf script without +pid)
//     or prints `-------` (idle).

/** Fields every record carries (from the line header). */
export interface EventHeader {
  /** nanoseconds since boot (trace clock) */
  ts: number;
  /** CPU whose ring buffer held the record */
  cpu: number;
  /** task (thread) id of the task that was current when the event fired */
  pid: number;
  /** thread group id (process), -1 when unknown */
  tgid: number;
  /** task name; may contain any bytes the process chose (spaces, brackets, markup) */
  comm: string;
  /**
   * hardirq context from the flags column (`h` or `H` in the third flag), undefined when the
   * format has no flags column (trace-cmd report, perf script).
   */
  hardirq?: boolean;
  /** 1-based line number in the input (0 for binary inputs), for diagnostics */
  line: number;
}

/** tlb:tlb_flush. Reason numbers per arch/x86 `enum tlb_flush_reason` (see DOMAIN.md §1). */
export const enum TlbFlushReason {
  TaskSwitch = 0,
  RemoteShootdown = 1,
  LocalShootdown = 2,
  LocalMmShootdown = 3,
  RemoteSendIpi = 4,
  RemoteWrongCpu = 5,
}

export interface TlbFlushEvent extends EventHeader {
  kind: 'tlb_flush';
  /** taken from the trailing `(N)`, never from the words */
  reason: number;
  /** -1 full flush, N entries, 0 no hardware flush */
  pages: number;
}

export interface IpiSendCpuEvent extends EventHeader {
  kind: 'ipi_send_cpu';
  target: number;
  callsite: string;
  callback: string;
}

export interface IpiSendCpumaskEvent extends EventHeader {
  kind: 'ipi_send_cpumask';
  targets: number[];
  callsite: string;
  callback: string;
}

export interface CsdQueueCpuEvent extends EventHeader {
  kind: 'csd_queue_cpu';
  target: number;
  callsite: string;
  func: string;
  csd: string | null;
}

export interface CsdFunctionEvent extends EventHeader {
  kind: 'csd_function_entry' | 'csd_function_exit';
  func: string;
  /** null: the initiator ran the callback on itself */
  csd: string | null;
}

/** irq_vectors:call_function[_single]_{entry,exit}: the receiving side of an SMP-call IPI */
export interface CallFunctionVectorEvent extends EventHeader {
  kind: 'call_function_entry' | 'call_function_exit' | 'call_function_single_entry' | 'call_function_single_exit';
  vector: number;
}

export interface SchedSwitchEvent extends EventHeader {
  kind: 'sched_switch';
  prevComm: string;
  prevPid: number;
  prevPrio: number;
  /** `R`, `S`, `D`, `R+`, ... as printed */
  prevState: string;
  nextComm: string;
  nextPid: number;
  nextPrio: number;
}

export interface SchedProcessForkEvent extends EventHeader {
  kind: 'sched_process_fork';
  parentComm: string;
  parentPid: number;
  childComm: string;
  childPid: number;
}

export interface SchedProcessExecEvent extends EventHeader {
  kind: 'sched_process_exec';
  filename: string;
  execPid: number;
  oldPid: number;
}

export interface SchedProcessExitEvent extends EventHeader {
  kind: 'sched_process_exit';
  exitComm: string;
  exitPid: number;
}

export interface SchedMigrateTaskEvent extends EventHeader {
  kind: 'sched_migrate_task';
  taskComm: string;
  taskPid: number;
  origCpu: number;
  destCpu: number;
}

export interface SchedWakeIdleWithoutIpiEvent extends EventHeader {
  kind: 'sched_wake_idle_without_ipi';
  target: number;
}

/**
 * A syscall entry we care about (munmap, mprotect, madvise, mremap, move_pages, mbind, ...), from
 * `sys_mprotect(start: ..)` (raw ftrace), `sys_enter_mprotect: start: ..` (trace-cmd, perf) or
 * `raw_syscalls:sys_enter NR 10 (...)` (mapped through the x86_64 syscall table).
 */
export interface SyscallEnterEvent extends EventHeader {
  kind: 'syscall_enter';
  /** name without `sys_` prefix: 'munmap', 'mprotect', 'madvise', 'mremap', ... or `nr_<N>` when unknown */
  name: string;
  /** x86_64 syscall number when known, else -1 */
  nr: number;
  /** true when it came from raw_syscalls:sys_enter (`NR 10 (...)`), so it counts as event `sys_enter` */
  raw: boolean;
  /**
   * arguments by name as unsigned 64-bit values held in a number: exact below 2^53 and for
   * page-aligned values (addresses, lengths) below 2^65 (user addresses are below 2^57 even with
   * 5-level paging); other values with more than 53 significant bits (a `-1` fd) are rounded.
   * Numbers, not bigints: a madvise storm makes millions of these, and nothing downstream needs
   * the low bits of a huge value.
   * raw_syscalls gives positional args: named `arg0`..`arg5`, and also by their real names
   * for the syscalls we know (start, len, prot, behavior, ...).
   */
  args: Record<string, number>;
}

/**
 * vmscan reclaim markers: cause attribution for batched reclaim flushes, what a direct-reclaim
 * episode freed, and where each reclaim pass ends (mm_vmscan_lru_shrink_inactive: the end of one
 * shrink_inactive_list(), after its shrink_folio_list() flushed the pass's batch)
 */
export interface VmscanEvent extends EventHeader {
  kind: 'mm_vmscan_kswapd_wake' | 'mm_vmscan_kswapd_sleep' | 'mm_vmscan_direct_reclaim_begin' | 'mm_vmscan_direct_reclaim_end' | 'mm_vmscan_lru_shrink_inactive';
  /**
   * `nr_reclaimed`: pages the episode (mm_vmscan_direct_reclaim_end) or the pass
   * (mm_vmscan_lru_shrink_inactive) freed; -1 for the other markers or when not printed
   */
  nrReclaimed: number;
}

/**
 * A gap in the record: `CPU:N [LOST M EVENTS]` (text) or a lost-events flag on a ring-buffer
 * page (trace.dat). `count` is -1 when the number is not known.
 */
export interface LostEventsEvent extends EventHeader {
  kind: 'lost_events';
  count: number;
}

/** Any other event: counted by name, otherwise ignored. */
export interface OtherEvent extends EventHeader {
  kind: 'other';
  name: string;
}

export type TraceEvent =
  | TlbFlushEvent
  | IpiSendCpuEvent
  | IpiSendCpumaskEvent
  | CsdQueueCpuEvent
  | CsdFunctionEvent
  | CallFunctionVectorEvent
  | SchedSwitchEvent
  | SchedProcessForkEvent
  | SchedProcessExecEvent
  | SchedProcessExitEvent
  | SchedMigrateTaskEvent
  | SchedWakeIdleWithoutIpiEvent
  | SyscallEnterEvent
  | VmscanEvent
  | LostEventsEvent
  | OtherEvent;

export type TraceEventKind = TraceEvent['kind'];

/** The event name used in per-type counts: the kernel's event name (`tlb_flush`, `sys_enter_mprotect`, ...). */
export function eventName(e: TraceEvent): string {
  switch (e.kind) {
    case 'other':
      return e.name;
    case 'syscall_enter':
      return e.raw ? 'sys_enter' : `sys_enter_${e.name}`;
    default:
      return e.kind;
  }
}

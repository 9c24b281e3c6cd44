// What the kernel model hands downstream: to the observed accounting, and to every policy replay.
// Policies see one time-ordered stream of `ModelEvent`s: a flush request arrives complete (all its
// targets answered) at its request time, interleaved with context switches and syscalls.

import type { SyscallEnterEvent, TlbFlushEvent } from '../events/types.js';
import type { Delivery } from './delivery.js';

/** What a flush callback did on a target CPU (DOMAIN.md §1, flush_tlb_func()). */
export type TargetOutcome =
  | 'ranged' // tlb_flush 1 pages=N: partial flush
  | 'full' // tlb_flush 1 pages=-1
  | 'zero' // tlb_flush 1 pages=0: already caught up with mm_tlb_gen
  | 'wrongCpu' // tlb_flush 5: mm not loaded there; CPU drops itself from mm_cpumask
  | 'switchToInitMm' // tlb_flush 0 inside the handler: a lazy CPU switched to init_mm
  | 'empty' // csd entry/exit with nothing between: local generation already covered the request
  | 'tableSync' // tlb_remove_table_smp_sync: no flush, just a sync IPI
  | 'hypercall' // flushed by the hypervisor (pv flush_tlb_multi): no IPI, no callback ran (delivery.ts)
  | 'unanswered'; // queued, but no handler seen (trace ended, or lost events)

export interface TargetRecord {
  cpu: number;
  queuedTs: number;
  /** a hardware IPI named this CPU (ipi_send_cpu/cpumask) for this request; without csd events, the
   * callback was the first flush callback of its call_function vector entry (callbacks.ts) */
  ipi: boolean;
  handlerTs: number | null;
  outcome: TargetOutcome;
  /** pages from tlb_flush 1, -1 full */
  pages: number;
}

export type RequestKind = 'remote' | 'localOnly' | 'batched' | 'tableSync';

/**
 * State of every CPU when the request was made (index = CPU number). Direct local flushes
 * (kind 'localOnly') carry empty arrays: they target no other CPU.
 */
export interface CpuSnapshot {
  /** loaded mm id (0 = init_mm) */
  loadedMm: Int32Array;
  /** 1 when the model knows what the CPU has loaded (learned from a switch or a task running there) */
  known: Uint8Array;
  /** 1 when the CPU runs a kernel thread or idle with a user mm still loaded (enter_lazy_tlb) */
  lazy: Uint8Array;
  /** the kernel's mm_cpumask as 6.14+ keeps it: set on switch-in, cleared only by tlb_flush 5 */
  lazyMask: Uint8Array;
  /** mm_cpumask as pre-6.14 kernels keep it: cleared when the CPU switches to another mm */
  preciseMask: Uint8Array;
  /** generation of the request's mm each CPU has caught up to (its ASID slot), -1 if not cached */
  localGen: Float64Array;
  /**
   * CPUs mid-switch (their sched_switch seen, not yet what switch_mm_irqs_off() did), with the
   * state before it: `loadedMm`/`lazy` above give the state after. Absent when no CPU is.
   */
  midSwitch?: Array<{ cpu: number; loadedMm: number; lazy: boolean }>;
}

export interface FlushRequest {
  id: number;
  /** ns: the initiator's tlb_flush 4 / direct tlb_flush 3 / csd_queue of a table sync */
  ts: number;
  /** ns: when the initiator moved on and every target answered */
  closedTs: number;
  cpu: number;
  pid: number;
  comm: string;
  kind: RequestKind;
  /** mm id (> 0) of the address space flushed; 0 when none (batched reclaim) or unknown (kernel thread) */
  mm: number;
  /** requested range: -1 full, N pages (already capped to full above 33 by the kernel) */
  pages: number;
  /** the mm's generation after this request's increment (0 when no mm) */
  gen: number;
  /** completedGen of the mm when the request was made */
  completedGen: number;
  /** syscall/kthread class that caused it: munmap, mprotect, madvise, mremap, fork, exec, exit, kswapd, ... */
  cause: string;
  /** the initiator's own part: 'ranged' | 'full' | 'zero' | 'wrongCpu' | 'switchToInitMm' | 'none' */
  local: 'ranged' | 'full' | 'zero' | 'wrongCpu' | 'switchToInitMm' | 'none';
  localPages: number;
  targets: TargetRecord[];
  /** hardware IPIs sent for this request: ipi_send_* (6.4+), else the receivers' call_function
   * vectors whose first flush callback was this request's */
  ipis: number;
  /** true: targets were not filtered by should_flush_tlb (freed page tables): a lazy CPU or a CPU not
   * running the mm was targeted without trim; null: cannot tell */
  freedTables: boolean | null;
  /** the request carried trim_cpumask (6.14+: at most once a second per mm, should_trim_cpumask()) */
  trim: boolean;
  /** how a remote mm request reached the other CPUs (delivery.ts); null for other requests or without csd events */
  delivery: Delivery | null;
  /**
   * the flush_tlb_mm() of flush_tlb_batched_pending(): the first, full flush of an munmap,
   * mprotect, madvise, mremap or exit of an mm with batched unmaps since its last one (batched-pending.ts)
   */
  batchedPending: boolean;
  snapshot: CpuSnapshot;
}

export interface SwitchEvent {
  type: 'switch';
  ts: number;
  cpu: number;
  pid: number;
  /** mm loaded before (0 = init_mm) */
  fromMm: number;
  /** mm loaded after: for a kernel thread the CPU keeps fromMm loaded and goes lazy */
  toMm: number;
  toKernelThread: boolean;
  wasLazy: boolean;
  /** the observed reason-0 flush: -1 full, 0 none needed, null no event */
  observedFlush: number | null;
}

export interface RequestEvent {
  type: 'request';
  req: FlushRequest;
}

/**
 * A syscall entry. The model may reuse one object for successive entries: a policy keeps the
 * fields it needs (pid, time, arguments), never the event object itself.
 */
export interface SyscallModelEvent {
  type: 'syscall';
  ts: number;
  cpu: number;
  mm: number;
  e: SyscallEnterEvent;
  /**
   * true: one entry of a syscall some policies want every entry of (PolicyRun.everySyscall), for
   * those policies only; false: the coalesced stream (of a run of one task's entries with no other
   * model event between, the last), for the syscall readers that do not want every entry of it.
   */
  every: boolean;
}

export interface MmExitEvent {
  type: 'mmExit';
  ts: number;
  mm: number;
}

/**
 * Reclaim structure of a task (mm/vmscan.c):
 *   - begin / end: a direct-reclaim episode (try_to_free_pages(): mm_vmscan_direct_reclaim_begin /
 *     _end). Every batched unmap flush of the episode comes between the two, and the end says how
 *     many pages it freed.
 *   - pass: the end of one shrink_inactive_list() (mm_vmscan_lru_shrink_inactive), kswapd's or a
 *     direct reclaimer's: its shrink_folio_list() flushed the pass's batch (try_to_unmap_flush())
 *     just before, and nrReclaimed is what the pass freed.
 */
export interface ReclaimEvent {
  type: 'reclaim';
  phase: 'begin' | 'end' | 'pass';
  ts: number;
  cpu: number;
  pid: number;
  /** the end's or the pass's nr_reclaimed; -1 at the begin, or when the trace does not print it */
  nrReclaimed: number;
}

export type ModelEvent = RequestEvent | SwitchEvent | SyscallModelEvent | MmExitEvent | ReclaimEvent;

/** Read-only facts about the run that policies may need at the end. */
export interface ModelContext {
  cpus: number;
  /** the kernel's event vocabulary seen so far: csd_* (6.5+), ipi_send_* (6.4+), call_function vectors */
  sawCsd: boolean;
  sawIpi: boolean;
  sawVectors: boolean;
  /** 6.14+ lazy mm_cpumask semantics (reason 5 seen) */
  lazyCpumask: boolean;
  firstTs: number;
  lastTs: number;
  /** how this kernel flushed other CPUs (delivery.ts): known for sure at the end of the trace */
  flushMechanism: 'ipi' | 'hypercall' | 'none' | 'unknown';
  mmName(mm: number): string;
}

/** csd callback classes by `func` (never by callsite: DOMAIN.md §1); callbacks.ts classifies them. */
export type CallbackClass = 'flush_tlb_func' | 'tlb_remove_table_smp_sync' | 'do_flush_tlb_all' | 'do_kernel_range_flush' | 'other';

/** What the model tells the observed accounting (src/model/observed.ts implements it). */
export interface ObservedSink {
  onRequest(req: FlushRequest): void;
  onRequestClosed(req: FlushRequest): void;
  onRemoteCallback(cpu: number, cls: CallbackClass, ts: number): void;
  onTargetDone(req: FlushRequest | null, t: TargetRecord, ts: number): void;
  onIpi(ts: number, fromCpu: number, targets: readonly number[], tlb: boolean): void;
  onTlbFlush(e: TlbFlushEvent, remote: boolean): void;
  onUnpairedHandler(cpu: number, cls: CallbackClass): void;
  /** `noIpi`: no target was queued although should_flush_tlb() picks some (a hypercall flush, or a misprediction) */
  onFidelityTargets(match: boolean, variant: 'lazy' | 'precise', kind: string, noIpi: boolean): void;
  onFidelitySwitch(match: boolean, kind: string): void;
  onFidelitySkipped(why: string): void;
  /** remote shootdown counted without csd events (lower bound); `ipi`: the first flush callback of
   * its call_function vector entry on a kernel without ipi_send_* (that vector was its TLB IPI) */
  onRemoteWithoutCsd(cpu: number, outcome: TargetOutcome, ts: number, ipi: boolean): void;
  onVectorEntry(cpu: number, ts: number): void;
  /** how a remote mm request reached the other CPUs; `needed`: CPUs should_flush_tlb() picks */
  onDelivery(req: FlushRequest, delivery: Delivery, needed: number): void;
}

/** The event vocabulary the trace has shown so far (it tells the kernel's age: DOMAIN.md §7). */
export interface Vocabulary {
  /** csd_* events (6.5+): remote callbacks are paired exactly */
  csd: boolean;
  /** ipi_send_* events (6.4+): hardware IPIs are countable */
  ipi: boolean;
  /** a tlb_flush reason 5 (6.14+: the lazy mm_cpumask) */
  reason5: boolean;
  /** irq_vectors call_function*_entry events */
  vectors: boolean;
}

// flush_tlb_batched_pending() (mm/rmap.c): the flush an munmap, mprotect, madvise, mremap or exit
// pays after batched unmaps of its mm. Each page try_to_unmap_one() defers bumps the mm's
// tlb_flush_batched "pending" count (set_tlb_ubc_flush_pending()); arch_tlbbatch_flush() flushes
// the TLBs but leaves the count alone; the next zap_pte_range() / change_pte_range() /
// move_ptes() / madvise walk of that mm, finding pending != flushed, calls flush_tlb_mm() —
// flush_tlb_mm_range(mm, 0, TLB_FLUSH_ALL, 0, true): a full flush, unfiltered (freed_tables), to
// every CPU of mm_cpumask, lazy ones too — and only then records pending as flushed. A kernel that
// does not batch never pays it; one that does pays it once per mm after every batched episode (more
// when several threads enter such calls before the first of those flushes completes: each read
// pending != flushed; qemu stock/migrate: 7 exiting threads' madvise(MADV_DONTNEED) each paid one).
//
// Here: a request is marked `batchedPending` when it is the first flush of such a call made by a
// task whose mm had batched unmaps since its last such flush, and that flush is a full one.

import type { Causes } from './causes.js';
import { INIT_MM, type TaskRegistry } from './tasks.js';
import type { FlushRequest } from './types.js';

/** calls whose page-table walk starts with flush_tlb_batched_pending() */
const PAYING_CALLS = new Set(['munmap', 'mprotect', 'pkey_mprotect', 'madvise', 'process_madvise', 'mremap', 'brk', 'exit', 'exit_group']);

export class BatchedPending {
  /** mms with batched unmaps not yet followed by flush_tlb_batched_pending() */
  private readonly pending = new Set<number>();
  /** tasks inside a paying call that entered while their mm was pending: pid -> mm */
  private readonly paying = new Map<number, number>();

  /** A batch flush (arch_tlbbatch_flush()) closed: these mms had pages in it. */
  batched(mms: Iterable<number>): void {
    for (const mm of mms) if (mm !== 0) this.pending.add(mm);
  }

  /** A syscall entry: a paying call of a pending mm will flush it first. */
  call(pid: number, mm: number, name: string): void {
    if (this.paying.size > 0) this.paying.delete(pid);
    if (mm !== 0 && this.pending.has(mm) && PAYING_CALLS.has(name)) this.paying.set(pid, mm);
  }

  /** A request starts: is it the flush_tlb_mm() of flush_tlb_batched_pending()? */
  classify(req: FlushRequest): void {
    if (this.paying.size === 0) return;
    const mm = this.paying.get(req.pid);
    if (mm === undefined) return;
    // the call's first flush decides: full of its mm -> this one; anything else -> it did not pay
    this.paying.delete(req.pid);
    if (req.mm === mm && req.pages < 0 && req.kind !== 'batched' && req.kind !== 'tableSync') req.batchedPending = true;
  }

  /** A request closed: after a flush_tlb_batched_pending() flush completes, the mm is settled. */
  closed(req: FlushRequest): void {
    if (req.batchedPending) this.pending.delete(req.mm);
  }

  /** mm `drop` was merged into `keep` */
  remap(drop: number, keep: number): void {
    if (this.pending.delete(drop)) this.pending.add(keep);
    for (const [pid, mm] of this.paying) if (mm === drop) this.paying.set(pid, keep);
  }
}

/**
 * The mms a closed batch flush had pages of, as far as the trace shows: the initiator's own (a
 * user task's MADV_PAGEOUT or migration; not a direct reclaimer's, whose batch spans any mm), and,
 * with the precise mm_cpumask (before 6.14: no tlb_flush reason 5, `reason5` false), the mm each
 * CPU that ran it had loaded (a CPU not lazy in the batch's cpumask, the OR of the batched mms'
 * masks, runs one of them).
 */
export function batchedMms(req: FlushRequest, tasks: TaskRegistry, causes: Causes, reason5: boolean): number[] {
  const out: number[] = [];
  if (!tasks.isKernelThread(req.pid) && !causes.inReclaim(req.pid) && req.cause !== 'reclaim') {
    const own = tasks.mmOf(req.pid);
    if (own !== INIT_MM) out.push(own);
  }
  if (!reason5 && req.snapshot.loadedMm.length > 0) {
    for (const t of req.targets) {
      if (t.outcome !== 'full' && t.outcome !== 'ranged' && t.outcome !== 'zero') continue;
      const mm = req.snapshot.loadedMm[t.cpu] ?? INIT_MM;
      if (mm !== INIT_MM && !req.snapshot.lazy[t.cpu]) out.push(mm);
    }
  }
  return out;
}

// P3 batched unmap flush (DOMAIN.md §5), after Mel Gorman, "mm: send one IPI per CPU to TLB flush all
// entries after unmapping pages" (commit 72b252aed506, 4.3, reclaim) and Huang Ying's "migrate_pages:
// batch flushing TLB" (6.4, migration). What the 6.12 kernel does (mm/rmap.c, mm/vmscan.c,
// mm/migrate.c, arch/x86/mm/tlb.c):
//   - try_to_unmap_one() / try_to_migrate_one() with TTU_BATCH_FLUSH clear the PTE without a flush
//     when should_defer_flush() -> arch_tlbbatch_should_defer(): another CPU is in mm_cpumask. The
//     page joins the task's batch (current->tlb_ubc): its mm's tlb_gen is bumped and mm_cpumask is
//     ORed into the batch's cpumask (arch_tlbbatch_add_pending()). With no other CPU in the mask the
//     page is flushed at once, locally.
//   - The batch is flushed by try_to_unmap_flush() -> arch_tlbbatch_flush(): one flush with no mm,
//     filtered by should_flush_tlb() (lazy CPUs skipped; every other CPU of the cpumask flushes),
//     at structural points, never on a timer, and not at a context switch (the batch is the task's):
//       reclaim: shrink_folio_list(), one pass over at most SWAP_CLUSTER_MAX = 32 isolated folios
//         (try_to_unmap_flush_dirty() before pageout() of a dirty folio, every 31 freed folios, and
//         at the end of the pass); kswapd, direct reclaim, compaction, MADV_PAGEOUT alike;
//       migration: migrate_pages_batch(), at the end of the unmap phase of each chunk of at most
//         NR_MAX_BATCHED_MIGRATION = 512 pages of one migrate_pages() call (move_pages(2), mbind(2)
//         MPOL_MF_MOVE, migrate_pages(2)); folios that failed the batched (async) try are retried
//         one by one in sync mode, unbatched.
//   - An mm with batched pages pays once more at its next munmap / mprotect / madvise / mremap /
//     exit: flush_tlb_batched_pending() -> flush_tlb_mm(), full and unfiltered (freed_tables).
//
// Replay: a single-page flush (ptep_clear_flush() -> flush_tlb_page()) of a reclaim-like cause
// (the `causes` parameter: kswapd, kcompactd, khugepaged, direct reclaim, move_pages, migrate_pages,
// mbind, madvise(MADV_PAGEOUT)) is deferred into its task's batch if it went to other CPUs; one that
// stayed local (mm_cpumask held only its CPU) is kept, and counts as a page of the chunk. A batch is
// flushed when it holds `batchPages` pages (reclaim) or `migrationBatchPages` (a migration call), when
// the task enters another syscall or makes a flush of another kind, when its reclaim pass ends
// (mm_vmscan_lru_shrink_inactive, emitted just after the pass's try_to_unmap_flush(): the kernel's
// own boundary, kswapd's and direct reclaim's, when the trace has the event; a task whose passes
// the trace shows has no batchPages bound, and a pass of its that freed more than 31 folios is
// sent as two flushes, as shrink_folio_list() frees 31 at a time: flushPass()), when its
// direct-reclaim episode begins or ends (try_to_free_pages(): every pass inside it ends with
// try_to_unmap_flush(), so no batch spans mm_vmscan_direct_reclaim_begin or _end), and at the end
// of the trace: one
// full flush at its last page's time, to every CPU of the OR of its pages' mm_cpumasks that is not
// lazy then (the last page's CPU snapshot), with one local full flush. The mms it held then pay
// flush_tlb_batched_pending() at their next such call (charged at that call's first flush).
// A task the trace shows already batching (its kernel made an arch_tlbbatch_flush(): reclaim since
// 4.3, migration since 6.4) is left as traced: its single-page flushes are the ones that kernel
// chose not to batch (sync-mode retries, a lone CPU in mm_cpumask).
//
// What a trace without mm_vmscan_lru_shrink_inactive cannot show: where a reclaim pass ended.
// shrink_lruvec() takes min(lru_size >> priority, SWAP_CLUSTER_MAX) folios per pass
// (get_scan_count()), and neither the LRU sizes nor the priority are traced otherwise; an episode's
// nr_reclaimed bounds the sum of its passes, not their number. So there `batchPages` is the most one
// pass can batch and the estimate an upper bound of the saving. Nor can any trace show
// which pages a migration call moves without a flush (not present, or already on the node), which
// would end a chunk sooner.

import type { CpuSnapshot, FlushRequest, ModelEvent } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { kernelMask, Tally, type Callback } from './replay.js';

/** include/uapi/asm-generic/mman-common.h */
const MADV_PAGEOUT = 21;

const DEFAULT_CAUSES = 'kswapd,kcompactd,khugepaged,reclaim,move_pages,migrate_pages,mbind,MADV_PAGEOUT';
const MIGRATION_CALLS = new Set(['move_pages', 'migrate_pages', 'mbind']);
/** PAGEVEC_SIZE: shrink_folio_list() frees its folios (and flushes its batch first) 31 at a time */
const FREE_BATCH = 31;
/** calls whose page-table walk starts with flush_tlb_batched_pending() (model/batched-pending.ts) */
const PAYING_CALLS = new Set(['munmap', 'mprotect', 'pkey_mprotect', 'madvise', 'process_madvise', 'mremap', 'brk', 'exit', 'exit_group']);

interface Batch {
  pid: number;
  /** the task's call the batch belongs to (a migration chunk never spans calls) */
  call: number;
  migration: boolean;
  reqs: FlushRequest[];
  /** pages of the current chunk/pass, deferred or not */
  pages: number;
  mask: Uint8Array | null;
  mms: Set<number>;
  last: FlushRequest | null;
  /**
   * CPUs a deferred flush's IPI found lazy and sent to init_mm (leave_mm()): the IPI is not sent under
   * this policy, so they are still lazy with the mm loaded when the batch is flushed
   */
  leftByDeferred: Set<number>;
  /**
   * CPUs a deferred flush found running the mm (tlb_flush 1 in its callback). Under batching the
   * flush has not happened yet when they next touch those pages: their stale TLB entries still work,
   * so their tasks do not fault on the pages' migration entries (or re-read reclaimed pages) and
   * sleep, as the trace shows them doing after the per-page flush. They still run the mm at the
   * batch flush, unless the call's earlier batch emptied their TLB (flush()).
   */
  ranOnDeferred: Set<number>;
}

interface TaskState {
  /** incremented at each syscall entry */
  call: number;
  name: string;
  advice: number | undefined;
  /** the traced kernel already batches this task's unmaps */
  kernelBatches: boolean;
  /** pages of the current migration chunk or reclaim pass (deferred and kept) */
  chunkPages: number;
  chunkCall: number;
  /**
   * CPUs this call's earlier batches flushed in full (a full flush empties the TLB): in the next
   * chunk no stale entry keeps their tasks running (Batch.ranOnDeferred does not apply)
   */
  flushedInCall: Set<number>;
  /**
   * the trace shows this task's reclaim passes end (mm_vmscan_lru_shrink_inactive): its passes end
   * there, not at batchPages (a full pass's flush would otherwise come before its event, and the
   * event's nr_reclaimed could not split it: flushPass())
   */
  passesTraced: boolean;
}

export const batched: PolicyDefinition = {
  name: 'batched',
  title: 'P3 batched unmap flush (Gorman 2015, migration 6.4)',
  rule: 'Single-page unmap flushes of reclaim and page migration are deferred into the task\'s batch and sent as one full flush to every non-lazy CPU of the batch\'s cpumask: per reclaim pass (up to SWAP_CLUSTER_MAX pages) or per migrate_pages() chunk (up to 512 pages of one call); munmap and MADV_DONTNEED are never batched; the batched mms pay flush_tlb_batched_pending() at their next munmap/mprotect/madvise.',
  source: 'Mel Gorman, commit 72b252aed506 "mm: send one IPI per CPU to TLB flush all entries after unmapping pages" (4.3); Huang Ying, "migrate_pages: batch flushing TLB" (6.4); mm/rmap.c, mm/vmscan.c shrink_folio_list(), mm/migrate.c migrate_pages_batch()',
  risk: 'safe',
  riskReason: 'merged: reclaim since 4.3, migration since 6.4; PTEs are flushed before I/O and before pages are freed; only reclaim-like causes are batched',
  params: [
    { key: 'batchPages', default: 32, description: 'pages one reclaim pass can batch (SWAP_CLUSTER_MAX: shrink_folio_list() isolates at most 32 folios)' },
    { key: 'migrationBatchPages', default: 512, description: 'pages per migrate_pages_batch() chunk of one migration call (NR_MAX_BATCHED_MIGRATION)' },
    { key: 'causes', default: DEFAULT_CAUSES, description: 'comma-separated request causes to batch (kthread names, syscalls, MADV_PAGEOUT); munmap and MADV_DONTNEED are never batched' },
  ],
  create(ctx) {
    const tally = new Tally(ctx);
    const passPages = Math.max(1, Number(ctx.params.batchPages));
    const chunkPages = Math.max(1, Number(ctx.params.migrationBatchPages));
    const causes = new Set(String(ctx.params.causes).split(',').map((s) => s.trim()).filter(Boolean));
    const tasks = new Map<number, TaskState>();
    const open = new Map<number, Batch>();
    /** mms with batched pages not yet followed by flush_tlb_batched_pending() */
    const pendingMms = new Set<number>();
    /** tasks in a paying call of a pending mm: pid -> mm (charged at the call's first flush) */
    const paying = new Map<number, number>();
    const n = { batches: 0, requestsBatched: 0, largestBatch: 0, keptKernelBatches: 0, batchedPendingCharged: 0, batchesEndedByEpisode: 0, batchesEndedByPass: 0, reclaimPassEvents: 0, passesFlushedTwice: 0 };

    function task(pid: number): TaskState {
      let t = tasks.get(pid);
      if (t === undefined) {
        t = { call: 0, name: '', advice: undefined, kernelBatches: false, chunkPages: 0, chunkCall: -1, flushedInCall: new Set(), passesTraced: false };
        tasks.set(pid, t);
      }
      return t;
    }

    /** the batching class of a request: 'migration', 'reclaim', or null (never batched) */
    function classOf(req: FlushRequest, t: TaskState): 'migration' | 'reclaim' | null {
      if (MIGRATION_CALLS.has(req.cause)) return causes.has(req.cause) ? 'migration' : null;
      if (req.cause === 'madvise') return t.advice === MADV_PAGEOUT && causes.has('MADV_PAGEOUT') ? 'reclaim' : null;
      if (req.cause === 'munmap') return null;
      return causes.has(req.cause) ? 'reclaim' : null;
    }

    function newBatch(pid: number, call: number, migration: boolean): Batch {
      return { pid, call, migration, reqs: [], pages: 0, mask: null, mms: new Set(), last: null, leftByDeferred: new Set(), ranOnDeferred: new Set() };
    }

    /** A deferred page joins the batch: arch_tlbbatch_add_pending() ORs its mm_cpumask in. */
    function join(b: Batch, req: FlushRequest): void {
      b.reqs.push(req);
      b.last = req;
      for (const tg of req.targets) {
        if (tg.outcome === 'switchToInitMm') b.leftByDeferred.add(tg.cpu);
        else if (tg.outcome === 'ranged' || tg.outcome === 'full' || tg.outcome === 'zero') b.ranOnDeferred.add(tg.cpu);
      }
      if (req.mm !== 0) b.mms.add(req.mm);
      const m = kernelMask(req, ctx.model.lazyCpumask);
      if (b.mask === null || b.mask.length < m.length) {
        const grown = new Uint8Array(m.length);
        if (b.mask !== null) grown.set(b.mask);
        b.mask = grown;
      }
      for (let c = 0; c < m.length; c++) if (m[c]) b.mask[c] = 1;
      // the CPUs the kernel queued were in mm_cpumask (a kernel thread's flush names no mm: no mask)
      for (const tg of req.targets) if (tg.cpu < b.mask.length) b.mask[tg.cpu] = 1;
    }

    /**
     * A pass that freed more than FREE_BATCH folios flushed twice: shrink_folio_list() frees in
     * batches of PAGEVEC_SIZE = 31 (folio_batch_add() == 0 -> try_to_unmap_flush(), then
     * free_unref_folios()), and a folio is unmapped and freed before the next is looked at, so the
     * folios freed after the 31st were unmapped after that flush and go out with the pass's last.
     * Their pages are the batch's last `nrReclaimed - 31` (when mapped: 813 of the 829 32-page passes
     * of counterfactual-6.12-8cpu-passes/stock flushed twice).
     */
    function flushPass(b: Batch, nrReclaimed: number): void {
      const after = Math.min(nrReclaimed - FREE_BATCH, b.reqs.length - 1);
      if (after <= 0) {
        flush(b);
        return;
      }
      const first = newBatch(b.pid, b.call, false);
      const second = newBatch(b.pid, b.call, false);
      b.reqs.forEach((r, i) => join(i < b.reqs.length - after ? first : second, r));
      n.passesFlushedTwice++;
      flush(first);
      flush(second);
    }

    /** try_to_unmap_flush(): one full flush to every non-lazy CPU of the batch's cpumask. */
    function flush(b: Batch): void {
      const t = task(b.pid);
      open.delete(b.pid);
      const last = b.last;
      if (last === null) return;
      const ts = last.ts;
      n.batches++;
      n.largestBatch = Math.max(n.largestBatch, b.reqs.length);
      tally.requests++;
      tally.localFlush(-1);
      for (const req of b.reqs) {
        tally.delays.add((ts - req.ts) / 1000);
        if (req.local === 'ranged') tally.rangedToFull++;
        for (const t of req.targets) {
          tally.drop(req, t);
          if (t.outcome === 'ranged') tally.rangedToFull++;
        }
      }
      const s: CpuSnapshot = last.snapshot;
      const send: Callback[] = [];
      const mask = b.mask;
      if (mask !== null) {
        for (let c = 0; c < mask.length; c++) {
          if (!mask[c] || c === last.cpu) continue;
          const flushedBefore = t.call === b.call && t.flushedInCall.has(c);
          const stillRunning = b.ranOnDeferred.has(c) && !flushedBefore;
          // A thread running the mm during this chunk (a per-page flush found it) whose TLB this
          // call's earlier batch emptied has no stale entry to run on: its first touch of one of
          // the chunk's unmapped pages faults on the migration entry, and it sleeps
          // (migration_entry_wait()) until the chunk is moved, after this flush: its CPU is idle
          // and lazy then, and should_flush_tlb() skips it. (6.12 shows it: a call's first chunk
          // reaches the spinners, its later chunks about one CPU.)
          if (b.migration && flushedBefore && b.ranOnDeferred.has(c)) continue;
          if (s.lazy[c] === 1 && !stillRunning) continue;
          if (b.leftByDeferred.has(c) && s.loadedMm[c] === 0 && !stillRunning) continue;
          send.push({ cpu: c, pages: -1, observed: null, shootdown: true });
        }
      }
      tally.send(ts, send, undefined, b.reqs[0]!.cause);
      for (const mm of b.mms) pendingMms.add(mm);
      if (t.call === b.call) for (const cb of send) t.flushedInCall.add(cb.cpu);
    }

    /** flush_tlb_batched_pending() of `mm` before `req` (the call's first flush): flush_tlb_mm(), unfiltered */
    function chargePending(req: FlushRequest, mm: number): void {
      pendingMms.delete(mm);
      n.batchedPendingCharged++;
      tally.requests++;
      tally.localFlush(-1);
      const s = req.snapshot;
      const send: Callback[] = [];
      if (s.preciseMask.length > 0) {
        const mask = kernelMask(req, ctx.model.lazyCpumask);
        for (let c = 0; c < mask.length; c++) if (mask[c] && c !== req.cpu) send.push({ cpu: c, pages: -1, observed: null, shootdown: true });
      }
      tally.send(req.ts, send, undefined, req.cause);
    }

    function onRequest(req: FlushRequest): void {
      tally.observe(req);
      if (req.kind === 'tableSync') {
        tally.keepAsObserved(req);
        return;
      }
      const t = task(req.pid);
      const payFor = paying.get(req.pid);
      if (payFor !== undefined) {
        paying.delete(req.pid);
        if (payFor === req.mm) chargePending(req, payFor);
      }
      if (req.kind === 'batched') {
        // the traced kernel batches this task's unmaps already (arch_tlbbatch_flush())
        t.kernelBatches = true;
        n.keptKernelBatches++;
        const b = open.get(req.pid);
        if (b !== undefined) flush(b);
        tally.keepAsObserved(req);
        return;
      }
      const cls = t.kernelBatches ? null : classOf(req, t);
      const b = open.get(req.pid);
      if (cls === null || req.pages !== 1 || req.batchedPending) {
        // something else: the pass or the chunk is over
        if (b !== undefined) flush(b);
        tally.keepAsObserved(req);
        return;
      }
      const migration = cls === 'migration';
      const limit = migration ? chunkPages : t.passesTraced ? Infinity : passPages;
      if (b !== undefined && (b.call !== t.call || b.migration !== migration)) flush(b);
      if (t.chunkCall !== t.call) {
        t.chunkCall = t.call;
        t.chunkPages = 0;
      }
      t.chunkPages++;
      if (req.kind === 'localOnly') {
        // no other CPU in mm_cpumask: arch_tlbbatch_should_defer() is false, flushed at once
        tally.keepAsObserved(req);
      } else {
        let cur = open.get(req.pid);
        if (cur === undefined) {
          cur = newBatch(req.pid, t.call, migration);
          open.set(req.pid, cur);
        }
        join(cur, req);
        n.requestsBatched++;
      }
      if (t.chunkPages >= limit) {
        t.chunkPages = 0;
        const full = open.get(req.pid);
        if (full !== undefined) flush(full);
      }
    }

    function onSyscall(pid: number, name: string, mm: number, advice: number | undefined): void {
      const t = task(pid);
      t.call++;
      // (size checks first: in a munmap or madvise storm this runs a million times, mostly on empty sets)
      if (t.flushedInCall.size > 0) t.flushedInCall.clear();
      t.name = name;
      t.advice = name === 'madvise' ? advice : undefined;
      if (open.size > 0) {
        const b = open.get(pid);
        if (b !== undefined) flush(b);
      }
      if (paying.size > 0) paying.delete(pid);
      if (pendingMms.size > 0 && pendingMms.has(mm) && PAYING_CALLS.has(name)) paying.set(pid, mm);
    }

    /**
     * A reclaim pass ends (mm_vmscan_lru_shrink_inactive: shrink_folio_list() has just made its
     * try_to_unmap_flush()), or a direct-reclaim episode begins or ends (try_to_free_pages(): its
     * passes are its own): no batch spans either.
     */
    function onReclaimEdge(pid: number, pass: boolean, nrReclaimed: number): void {
      if (pass) task(pid).passesTraced = true;
      const b = open.get(pid);
      if (b !== undefined && !b.migration) {
        if (pass) {
          n.batchesEndedByPass++;
          flushPass(b, nrReclaimed);
        } else {
          n.batchesEndedByEpisode++;
          flush(b);
        }
      }
      const t = tasks.get(pid);
      if (t !== undefined && t.chunkCall === t.call) t.chunkPages = 0;
    }

    return {
      reads: ['request', 'syscall', 'reclaim'],
      onEvent(e: ModelEvent) {
        if (e.type === 'request') onRequest(e.req);
        else if (e.type === 'reclaim') {
          if (e.phase === 'pass') n.reclaimPassEvents++;
          onReclaimEdge(e.pid, e.phase === 'pass', e.nrReclaimed);
        }
        else if (e.type === 'syscall') {
          const a = e.e.args;
          const advice = a.behavior ?? a.advice ?? a.arg2;
          onSyscall(e.e.pid, e.e.name, e.mm, advice === undefined ? undefined : Number(advice));
        }
      },
      finish() {
        for (const b of [...open.values()]) flush(b);
        Object.assign(tally.extra, n);
        tally.notes.push(
          'Batch boundaries are the kernel\'s: a reclaim pass (up to batchPages pages) or a migrate_pages() chunk (up to migrationBatchPages pages of one call), the task\'s next syscall, a flush of another kind, the begin or end of a direct-reclaim episode; never a timer or a context switch. ' +
            (n.reclaimPassEvents > 0
              ? `Reclaim passes end where the trace\'s mm_vmscan_lru_shrink_inactive says (${n.reclaimPassEvents} passes, ${n.batchesEndedByPass} batches ended there, ${n.passesFlushedTwice} of them flushed twice: a pass that freed more than 31 folios flushes at the 31st too).`
              : 'The trace has no mm_vmscan_lru_shrink_inactive, so it does not show where a reclaim pass ended (lru_size >> priority folios, at most SWAP_CLUSTER_MAX): the reclaim estimate is the most batching a pass allows.'),
          'A batch flushes every non-lazy CPU of the OR of its pages\' mm_cpumasks (no mm: should_flush_tlb() keeps them all); the lazy state is the trace\'s at the batch\'s last page.',
          'The batched mms pay flush_tlb_batched_pending() (a full, unfiltered flush_tlb_mm()) at their next munmap, mprotect, madvise, mremap or exit: charged at that call\'s first flush.',
          'A task the trace shows batching already (its kernel made arch_tlbbatch_flush()) is left as traced.',
        );
        return tally.outcome(true);
      },
    };
  },
};

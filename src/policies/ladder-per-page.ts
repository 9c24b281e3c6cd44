// Older-kernel baseline: one flush per page (DOMAIN.md §5, "pre-4.3 reclaim", "pre-6.4 migration").
// Before Mel Gorman's commit 72b252aed506 (4.3) try_to_unmap_one() cleared each PTE with
// ptep_clear_flush() -> flush_tlb_page(): a synchronous single-page flush_tlb_mm_range() of the page's
// mm, filtered by should_flush_tlb() (CPUs running that mm, not lazy). Page migration did the same
// until migrate_pages_batch() (6.4). A kernel with should_defer_flush() returning false (the
// counterfactual `nobatch` kernel) does it today.
//
// Replay: every batched flush (arch_tlbbatch_flush(): reclaim or migration, no mm) is unrolled into
// one single-page flush per page it covered, each sent to the batch's targets that ran the mm (a
// CPU that took it lazily is one a per-page flush would have skipped), each with its own IPI
// (flush_tlb_page() waits for completion: nothing is pending when the next page goes out), and the
// initiator's own one-entry flush. flush_tlb_batched_pending()'s flush (model/batched-pending.ts) is
// dropped: a kernel that does not batch never pays it.
//
// Migration before 6.4 (unmap_and_move()) unmapped, flushed and moved one page at a time, so a
// thread touching the region sleeps on one page's migration entry at a time and is awake for the
// next page's flush; a batching kernel unmaps a whole chunk first and its threads fault on the
// chunk's entries and sleep until it is moved, so its batch flush finds fewer of them running.
// Each page of a migration call therefore also goes to the CPUs that ran the call's mm (not
// lazily) when the call was entered: on qemu-6.12-8cpu/migrate against the 6.1 kernel this moved
// the estimate from 0.34x to 0.57x of what 6.1 did per page moved (docs/validation.md).
//
// Pages per batch: a migrate_pages() call flushes once per chunk of NR_MAX_BATCHED_MIGRATION = 512
// pages of its list, so the call's own size (move_pages(2) nr_pages, mbind(2) len) says how many
// each of its batches held: 512, and the rest in its last. A reclaim batch is one shrink_folio_list()
// pass's mapped folios (at most SWAP_CLUSTER_MAX = 32): it stands for its pass's nr_reclaimed when
// the trace has mm_vmscan_lru_shrink_inactive (the event that ends each pass, kswapd's too); else
// one made in a direct-reclaim episode for the episode's nr_reclaimed divided by its batch flushes,
// between 1 and `pagesPerBatch` (32); kswapd's (the same shrink_lruvec() passes) for the average so
// far; others (MADV_PAGEOUT, compaction) and every batch of a trace without vmscan events for
// `pagesPerBatch` (reclaim-batches.ts). On counterfactual-6.12-8cpu/reclaim-mmap the episodes took
// the estimate per page direct reclaim freed from 3.10x to 1.20x of what the nobatch kernel did
// (docs/validation.md).
// `shootdownsLowerBound` (one page per batch: a batch flush means at least one) is the other end.

import type { FlushRequest, ModelEvent } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { ReclaimBatches } from './reclaim-batches.js';
import { Tally, type Callback } from './replay.js';

const PAGE = 4096;
const MIGRATION_CALLS = new Set(['move_pages', 'migrate_pages', 'mbind']);

interface Call {
  /** move_pages, migrate_pages or mbind (the only calls kept) */
  name: string;
  /** pages the call migrates, when its arguments say (move_pages nr_pages, mbind len); else null */
  pages: number | null;
  /** batched flushes seen in this call so far */
  batches: number;
  /** the other CPUs running its mm (not lazily) when it was entered */
  awake: number[];
}

/** a reclaim batch flush, waiting to know how many pages it stood for */
interface ReclaimBatch {
  ts: number;
  cause: string;
  local: boolean;
  /** the CPUs each of its pages goes to */
  running: number[];
}

export const ladderPerPage: PolicyDefinition = {
  name: 'ladder-per-page',
  title: 'Ladder: one flush per page (pre-4.3 reclaim, pre-6.4 migration)',
  rule: 'Batched reclaim and migration flushes are sent as one synchronous single-page shootdown per page, to each CPU running the mm, as flush_tlb_page() from try_to_unmap_one() did before 4.3 (reclaim) and 6.4 (migration); flush_tlb_batched_pending() is never paid.',
  source: 'pre-4.3 mm/rmap.c try_to_unmap_one() -> ptep_clear_flush(); replaced by Mel Gorman, commit 72b252aed506 (4.3), and for migration by migrate_pages_batch() (6.4)',
  risk: 'safe',
  riskReason: 'an older kernel\'s behaviour: more IPIs, never fewer flushes',
  params: [
    { key: 'pagesPerBatch', default: 32, description: 'the most pages a reclaim batch stands for (SWAP_CLUSTER_MAX = 32: one shrink_folio_list() pass), and what a batch outside a direct-reclaim episode stands for when none sized it (kswapd before any episode ended, MADV_PAGEOUT, compaction, traces without vmscan events)' },
    { key: 'migrationBatchPages', default: 512, description: 'pages per migrate_pages_batch() chunk of a migration call (NR_MAX_BATCHED_MIGRATION)' },
  ],
  create(ctx) {
    const tally = new Tally(ctx);
    const reclaimPages = Math.max(1, Math.round(Number(ctx.params.pagesPerBatch)));
    const chunk = Math.max(1, Math.round(Number(ctx.params.migrationBatchPages)));
    /** each task's call in progress */
    const calls = new Map<number, Call>();
    /** what each CPU runs: the mm of its last switch, and whether a kernel thread borrows it (lazy) */
    const runMm: number[] = [];
    const runLazy: boolean[] = [];
    const n = { batchedRequests: 0, migrationBatches: 0, reclaimBatches: 0, unrolledPages: 0, unrolledShootdowns: 0, batchedPendingDropped: 0 };
    let lowerBoundOffset = 0;

    /** each page of a batch flush: its own request, its own local INVLPG, its own IPIs */
    function unroll(ts: number, cause: string, local: boolean, running: readonly number[], pages: number, reclaim: boolean): void {
      n.unrolledPages += pages;
      tally.requests += pages;
      if (local) for (let i = 0; i < pages; i++) tally.localFlush(1);
      for (let i = 0; i < pages; i++) {
        const cbs: Callback[] = running.map((cpu) => ({ cpu, deliveredTs: ts, pages: 1, observed: null, shootdown: true }));
        tally.send(ts, cbs, undefined, cause);
      }
      n.unrolledShootdowns += pages * running.length;
      // the other end for reclaim: a batch flush stood for at least one page
      if (reclaim) lowerBoundOffset += (pages - 1) * running.length;
    }
    /** reclaim batches wait for their pass's or direct-reclaim episode's nr_reclaimed */
    const sizer = new ReclaimBatches<ReclaimBatch>(reclaimPages, reclaimPages, (b, pages) => unroll(b.ts, b.cause, b.local, b.running, pages, true));

    /** pages the migration batch flush `req` covered; null for a reclaim batch */
    function migrationPagesOf(req: FlushRequest): number | null {
      const call = calls.get(req.pid);
      if (call === undefined || call.name !== req.cause) return null;
      n.migrationBatches++;
      const i = call.batches++;
      if (call.pages === null) return chunk;
      // migrate_pages() cuts its list into chunks of `chunk` pages; a batch beyond them (a retry) holds one
      const left = call.pages - i * chunk;
      return left > 0 ? Math.min(chunk, left) : 1;
    }

    function onRequest(req: FlushRequest): void {
      tally.observe(req);
      if (req.batchedPending) {
        // flush_tlb_batched_pending(): only a batching kernel pays it
        n.batchedPendingDropped++;
        for (const t of req.targets) tally.drop(req, t);
        return;
      }
      if (req.kind !== 'batched') {
        tally.keepAsObserved(req);
        return;
      }
      n.batchedRequests++;
      const pages = migrationPagesOf(req);
      // a CPU that ran the batch's flush with a user mm loaded: one a per-page flush reaches
      const running = new Set(req.targets.filter((t) => t.outcome === 'full' || t.outcome === 'ranged' || t.outcome === 'zero' || t.outcome === 'empty').map((t) => t.cpu));
      for (const t of req.targets) tally.drop(req, t);
      if (pages === null) {
        n.reclaimBatches++;
        sizer.add(req.pid, { ts: req.ts, cause: req.cause, local: req.local !== 'none', running: [...running] }, req.cause === 'kswapd');
        return;
      }
      // migration page by page (unmap_and_move() before 6.4) puts a thread touching the region to
      // sleep on one page's migration entry at a time, not on a whole chunk's: the threads awake
      // when the call began stay awake for each page's flush
      const call = calls.get(req.pid);
      if (call !== undefined) for (const c of call.awake) if (c !== req.cpu) running.add(c);
      unroll(req.ts, req.cause, req.local !== 'none', [...running], pages, false);
    }

    return {
      reads: ['request', 'syscall', 'switch', 'reclaim'],
      onEvent(e: ModelEvent) {
        if (e.type === 'request') onRequest(e.req);
        else if (e.type === 'switch') {
          runMm[e.cpu] = e.toMm;
          runLazy[e.cpu] = e.toKernelThread;
        }
        else if (e.type === 'reclaim') {
          if (e.phase === 'pass') sizer.pass(e.pid, e.nrReclaimed);
          else if (e.phase === 'begin') sizer.begin(e.pid);
          else sizer.end(e.pid, e.nrReclaimed);
        }
        else if (e.type === 'syscall') {
          // only a migration call's size and the CPUs awake at its entry matter (migrationPagesOf()); any
          // other call just ends the task's migration call (a munmap storm is a million of these)
          if (!MIGRATION_CALLS.has(e.e.name)) {
            if (calls.size > 0) calls.delete(e.e.pid);
            return;
          }
          const a = e.e.args;
          let pages: number | null = null;
          if (e.e.name === 'move_pages') pages = a.nr_pages ?? a.arg1 ?? null;
          else if (e.e.name === 'mbind') {
            const len = a.len ?? a.arg1;
            pages = len === undefined ? null : Math.ceil(len / PAGE);
          }
          const awake: number[] = [];
          if (e.mm !== 0) {
            for (let c = 0; c < runMm.length; c++) if (c !== e.cpu && runMm[c] === e.mm && !runLazy[c]) awake.push(c);
          }
          calls.set(e.e.pid, { name: e.e.name, pages: pages !== null && pages > 0 ? pages : null, batches: 0, awake });
        }
      },
      finish() {
        sizer.finish();
        const out = tally.outcome(false);
        const sized = sizer.sizing;
        const avg = sizer.average;
        Object.assign(out.extra, n, {
          pagesPerBatchAssumed: reclaimPages,
          reclaimPasses: sized.passes,
          reclaimBatchesSizedFromPasses: sized.fromPasses,
          reclaimEpisodes: sized.episodes,
          reclaimBatchesSizedFromEpisodes: sized.fromEpisodes,
          reclaimBatchesSizedByEpisodeAverage: sized.byAverage,
          reclaimBatchesSizedByFallback: sized.byFallback,
          // (the name predates pass sizing: the average over every batch a pass or an episode sized)
          reclaimPagesPerBatchFromEpisodes: avg === null ? null : Math.round(avg * 100) / 100,
          // the whole estimate with one page per reclaim batch: shootdowns minus the pages beyond the first
          shootdownsLowerBound: out.shootdowns - lowerBoundOffset,
        });
        const reclaimNote =
          n.reclaimBatches === 0
            ? `Reclaim batches: none in this trace (one would stand for its direct-reclaim episode's nr_reclaimed over the episode's batch flushes, 1 to ${reclaimPages} pages).`
            : sized.passes > 0
            ? `Reclaim batches: a batch flush stands for its reclaim pass's nr_reclaimed (mm_vmscan_lru_shrink_inactive, shared by the pass's batch flushes, 1 to ${reclaimPages} pages): ${sized.fromPasses} batches in ${sized.passes} passes, ${sized.fromEpisodes} more by their direct-reclaim episode's nr_reclaimed less what its passes freed, ${avg!.toFixed(1)} pages per batch on average; ${sized.byAverage} (before the first pass event, or waiting at the end of the trace) stand for that average, ${sized.byFallback} others (compaction, MADV_PAGEOUT: no pass event) for ${reclaimPages}. Freed pages nobody mapped need no flush, so nr_reclaimed leans high.`
            : avg === null
            ? `Reclaim batches: no reclaim pass (mm_vmscan_lru_shrink_inactive) or direct-reclaim episode (mm_vmscan_direct_reclaim_begin/_end with nr_reclaimed) sized any; each of the ${sized.byFallback} stands for ${reclaimPages} pages (SWAP_CLUSTER_MAX, the most one shrink_folio_list() pass holds), an upper bound.`
            : `Reclaim batches: a batch flush made in a direct-reclaim episode stands for the episode's nr_reclaimed divided by its batch flushes (1 to ${reclaimPages} pages: one shrink_folio_list() pass holds at most SWAP_CLUSTER_MAX): ${sized.fromEpisodes} batches in ${sized.episodes} episodes, ${avg.toFixed(1)} pages per batch on average; ${sized.byAverage} of kswapd (the same shrink_lruvec() passes) or of episodes whose end was not traced stand for that average, ${sized.byFallback} others (before any episode ended, compaction, MADV_PAGEOUT) for ${reclaimPages}. Freed pages nobody mapped need no flush, so a share of nr_reclaimed leans high.`;
        out.notes.push(
          `${reclaimNote} shootdownsLowerBound counts one page per batch. Migration batches take their size from the call (move_pages nr_pages, mbind len) in chunks of ${chunk} pages.`,
          'Each page goes to the CPUs that ran the batch\'s flush with a user mm loaded, and each page of a migration call also to the CPUs that ran its mm when the call was entered (a per-page migration puts a thread to sleep on one page at a time, not on a whole chunk).',
          'flush_tlb_batched_pending() flushes (the first full flush of an munmap/mprotect/madvise/exit after batched unmaps of its mm) are dropped: a kernel that does not batch never pays them.',
        );
        return out;
      },
    };
  },
};

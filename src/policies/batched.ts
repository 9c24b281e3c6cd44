// P3 batched unmap flush (DOMAIN.md §5), after Mel Gorman, "mm: send one IPI per CPU to TLB flush all
// entries after unmapping pages" (commit 72b252aed506, 4.3) and the RFC "TLB flush multiple pages
// with a single IPI": try_to_unmap_one() with TTU_BATCH_FLUSH only ORs mm_cpumask into
// current->tlb_ubc; try_to_unmap_flush() at the end of a shrink_page_list() pass sends one full
// flush (arch_tlbbatch_flush(), no mm) to every CPU of the batch.
//
// Replay: requests from one initiator task whose cause is reclaim-like are grouped into a batch
// (the `causes` parameter; default: kswapd, kcompactd, khugepaged, direct reclaim, page migration
// (migration/N, move_pages, migrate_pages, mbind) and madvise(MADV_COLD / MADV_PAGEOUT), told from
// the madvise arguments). Flushes that are already batched (arch_tlbbatch_flush: no mm) join too.
// A batch ends when it holds `batchPages` pages (SWAP_CLUSTER_MAX = 32; a full or batched flush
// counts as a whole batch), when the initiator is switched out, after a gap > `gapUs` since its
// last request, or at the end of the trace. The batch then costs one request: a full local flush and
// one full-flush callback per non-lazy CPU in the union of its requests' mm_cpumasks (no mm, so
// should_flush_tlb() keeps every non-lazy CPU, even one not running the mm).
//
// Cost: every flush becomes full (rangedToFull counts the ranged flushes merged into one), and each
// request waits for the batch (deferral delay: request -> batch flush).
// Correctness (Gorman): dirty PTEs are flushed before I/O and everything before the pages are
// freed; munmap() and MADV_DONTNEED must flush before the syscall returns, so they are never batched.

import type { FlushRequest, ModelEvent } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { kernelMask, Tally, targetState, type Callback } from './replay.js';

/** include/uapi/asm-generic/mman-common.h */
const MADV_COLD = 20;
const MADV_PAGEOUT = 21;
const MADV_DONTNEED = 4;

const DEFAULT_CAUSES = 'kswapd,kcompactd,khugepaged,reclaim,migration,move_pages,migrate_pages,mbind,MADV_COLD,MADV_PAGEOUT';

interface Batch {
  pid: number;
  cpu: number;
  reqs: FlushRequest[];
  pages: number;
  lastTs: number;
}

export const batched: PolicyDefinition = {
  name: 'batched',
  title: 'P3 batched unmap flush (Gorman 2015)',
  rule: 'Reclaim-like unmaps of one task are batched: one full flush per batch (up to SWAP_CLUSTER_MAX pages, until the task is switched out or pauses), sent once to every non-lazy CPU of the batch; munmap and MADV_DONTNEED are never batched past syscall return.',
  source: 'Mel Gorman, commit 72b252aed506 "mm: send one IPI per CPU to TLB flush all entries after unmapping pages" (4.3) and RFC "TLB flush multiple pages with a single IPI"',
  risk: 'safe',
  riskReason: 'merged since 4.3 for reclaim: PTEs are flushed before I/O and before pages are freed; only reclaim-like causes are batched',
  params: [
    { key: 'batchPages', default: 32, description: 'pages per batch before it is flushed (SWAP_CLUSTER_MAX); a full or already-batched flush counts as a whole batch' },
    { key: 'gapUs', default: 1000, description: 'a pause longer than this (microseconds) between two requests of the initiator ends the batch (end of a reclaim pass)' },
    { key: 'causes', default: DEFAULT_CAUSES, description: 'comma-separated request causes to batch (kthread names, syscalls, MADV_COLD, MADV_PAGEOUT); munmap and MADV_DONTNEED are never batched' },
  ],
  create(ctx) {
    const tally = new Tally(ctx);
    const batchPages = Math.max(1, Number(ctx.params.batchPages));
    const gapNs = Number(ctx.params.gapUs) * 1000;
    const causes = new Set(String(ctx.params.causes).split(',').map((s) => s.trim()).filter(Boolean));
    const open = new Map<number, Batch>();
    /** the advice of each task's last madvise() */
    const madvice = new Map<number, number>();
    const n = { batches: 0, requestsBatched: 0, largestBatch: 0, passedThrough: 0 };

    function reclaimLike(req: FlushRequest): boolean {
      if (req.cause === 'munmap') return false;
      if (req.cause === 'madvise') {
        const advice = madvice.get(req.pid);
        if (advice === MADV_DONTNEED || advice === undefined) return false;
        return (advice === MADV_COLD && causes.has('MADV_COLD')) || (advice === MADV_PAGEOUT && causes.has('MADV_PAGEOUT'));
      }
      return req.kind === 'batched' || causes.has(req.cause);
    }

    /** try_to_unmap_flush(): one full flush to every non-lazy CPU of the batch, at `ts`. */
    function flush(b: Batch, ts: number): void {
      open.delete(b.pid);
      n.batches++;
      n.largestBatch = Math.max(n.largestBatch, b.reqs.length);
      tally.requests++;
      // union of targets: observed non-lazy targets, plus non-lazy CPUs in each request's mm_cpumask.
      // flush_tlb_func() still compares generations, so a CPU whose observed callbacks all found it
      // caught up (pages=0, empty) does nothing; any real flush there becomes one full flush.
      const targets = new Map<number, { latency: number; flushes: boolean }>();
      let localRanged = 0;
      let anyLocal = false;
      for (const req of b.reqs) {
        tally.delays.add((ts - req.ts) / 1000);
        if (req.local !== 'none') anyLocal = true;
        if (req.local === 'ranged') localRanged++;
        const s = req.snapshot;
        for (const t of req.targets) {
          tally.drop(req, t);
          if (t.outcome === 'ranged') tally.rangedToFull++;
          if (t.cpu === b.cpu || targetState(req, t) === 'lazy') continue;
          const latency = t.handlerTs !== null ? t.handlerTs - t.queuedTs : req.closedTs - req.ts;
          const flushes = t.outcome === 'ranged' || t.outcome === 'full' || t.outcome === 'unanswered';
          const prev = targets.get(t.cpu);
          targets.set(t.cpu, { latency, flushes: flushes || (prev?.flushes ?? false) });
        }
        if (req.mm !== 0) {
          const mask = kernelMask(req, ctx.model.lazyCpumask);
          for (let c = 0; c < mask.length; c++) {
            // a CPU the kernel did not queue: its generation is unknown, so it flushes fully
            if (mask[c] && c !== b.cpu && s.lazy[c] === 0 && !targets.has(c)) targets.set(c, { latency: req.closedTs - req.ts, flushes: true });
          }
        }
      }
      tally.rangedToFull += localRanged;
      if (anyLocal) tally.localFlush(-1);
      const send: Callback[] = [];
      for (const [cpu, t] of targets) send.push({ cpu, deliveredTs: ts + t.latency, pages: t.flushes ? -1 : 0, observed: null, shootdown: true });
      tally.send(ts, send);
    }

    function onRequest(req: FlushRequest): void {
      tally.observe(req);
      const b = open.get(req.pid);
      if (req.kind === 'tableSync' || !reclaimLike(req)) {
        // the task does something else: its pass is over
        if (b !== undefined) flush(b, b.lastTs);
        n.passedThrough += req.kind === 'tableSync' ? 0 : 1;
        tally.keepAsObserved(req);
        return;
      }
      if (b !== undefined && req.ts - b.lastTs > gapNs) flush(b, b.lastTs);
      let cur = open.get(req.pid);
      if (cur === undefined) {
        cur = { pid: req.pid, cpu: req.cpu, reqs: [], pages: 0, lastTs: req.ts };
        open.set(req.pid, cur);
      }
      cur.reqs.push(req);
      cur.cpu = req.cpu;
      cur.lastTs = req.ts;
      cur.pages += req.pages > 0 && req.kind !== 'batched' ? req.pages : batchPages;
      n.requestsBatched++;
      if (cur.pages >= batchPages) flush(cur, req.ts);
    }

    function onEvent(e: ModelEvent): void {
      switch (e.type) {
        case 'request':
          onRequest(e.req);
          break;
        case 'switch':
          // the initiator leaves its CPU: flush its batch before it sleeps
          for (const b of open.values()) if (b.cpu === e.cpu && e.pid !== b.pid) flush(b, e.ts);
          break;
        case 'syscall':
          if (e.e.name === 'madvise') {
            const advice = e.e.args.behavior ?? e.e.args.advice ?? e.e.args.arg2;
            if (advice !== undefined) madvice.set(e.e.pid, Number(advice));
          } else madvice.delete(e.e.pid);
          break;
        default:
          break;
      }
    }

    return {
      reads: ['request', 'switch', 'syscall'],
      onEvent,
      finish() {
        for (const b of [...open.values()]) flush(b, b.lastTs);
        Object.assign(tally.extra, n);
        tally.notes.push(
          'Already-batched reclaim flushes (arch_tlbbatch_flush, since 4.3) count as full batches: on current kernels the gain comes from reclaim-like flushes that are still sent one by one (page migration before 6.4, khugepaged, MADV_COLD/PAGEOUT).',
          'A batch flushes every non-lazy CPU of the union of its mm_cpumasks (no mm: should_flush_tlb() keeps them all), so batching can add callbacks on CPUs that do not run the mm.',
          'Correctness: dirty PTEs must be flushed before I/O starts and every entry before the pages are freed; munmap and MADV_DONTNEED are never batched past syscall return.',
        );
        return tally.outcome(true);
      },
    };
  },
};

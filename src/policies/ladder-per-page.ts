// Older-kernel baseline: one IPI per page (DOMAIN.md §5, "pre-4.3 reclaim"). Before Mel Gorman's
// commit 72b252aed506 (4.3), try_to_unmap_one() cleared each PTE with ptep_clear_flush() ->
// flush_tlb_page(), a synchronous single-page shootdown to every other CPU in mm_cpumask: one IPI and
// one INVLPG per page per CPU. Page migration flushed the same way (until 6.4 batched it).
//
// Replay: every batched flush (arch_tlbbatch_flush(): reclaim or migration, no mm) is unrolled into
// `pagesPerBatch` single-page shootdowns to each of its observed targets, each with its own IPI
// (flush_tlb_page() waits for completion, so nothing is ever pending when the next page goes out).
// Other requests are kept as observed.
//
// Assumption: the trace does not say how many pages a batched flush covered (tlb_flush 4 logs
// pages=-1 and reclaim events were not paired with it), so each stands for `pagesPerBatch` pages;
// the default, SWAP_CLUSTER_MAX = 32, is the most one shrink_page_list() pass isolates, so the
// figure is an upper bound for reclaim. The targets are the ones the traced kernel chose (its lazy
// filter included): the ladder isolates the batching step; ladder-no-lazy-filter isolates the next.

import type { FlushRequest } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { isShootdown, Tally, type Callback } from './replay.js';

export const ladderPerPage: PolicyDefinition = {
  name: 'ladder-per-page',
  title: 'Ladder: one IPI per page (pre-4.3 reclaim)',
  rule: 'Batched reclaim/migration flushes are sent as one synchronous single-page shootdown per page per target CPU, as flush_tlb_page() from try_to_unmap_one() did before 4.3.',
  source: 'pre-4.3 mm/rmap.c try_to_unmap_one() -> ptep_clear_flush(); replaced by Mel Gorman, commit 72b252aed506 (4.3)',
  risk: 'safe',
  riskReason: 'an older kernel\'s behaviour: more IPIs, never fewer flushes',
  params: [
    { key: 'pagesPerBatch', default: 32, description: 'pages each batched flush stands for (the trace does not say; SWAP_CLUSTER_MAX = 32 is the most one reclaim pass batches)' },
  ],
  create(ctx) {
    const tally = new Tally(ctx);
    const pages = Math.max(1, Math.round(Number(ctx.params.pagesPerBatch)));
    const n = { batchedRequests: 0, unrolledShootdowns: 0 };

    function onRequest(req: FlushRequest): void {
      tally.observe(req);
      if (req.kind !== 'batched') {
        tally.keepAsObserved(req);
        return;
      }
      n.batchedRequests++;
      // each page is its own flush request, with its own local INVLPG
      tally.requests += pages;
      if (req.local !== 'none') for (let i = 0; i < pages; i++) tally.localFlush(1);
      const answered = req.targets.filter(isShootdown);
      for (const t of req.targets) tally.drop(req, t);
      for (let i = 0; i < pages; i++) {
        const cbs: Callback[] = answered.map((t) => ({ cpu: t.cpu, deliveredTs: req.ts, pages: 1, observed: null, shootdown: true }));
        tally.send(req.ts, cbs);
      }
      n.unrolledShootdowns += pages * answered.length;
    }

    return {
      reads: ['request'],
      onEvent(e) {
        if (e.type === 'request') onRequest(e.req);
      },
      finish() {
        Object.assign(tally.extra, n, { pagesPerBatchAssumed: pages });
        tally.notes.push(
          `Assumption: each batched flush (tlb_flush 4 pages=-1 from arch_tlbbatch_flush) stood for ${pages} pages; the trace does not record how many pages a batch held, so this is an upper bound for reclaim (pass pagesPerBatch to change it).`,
          'Targets are those the traced kernel chose (its lazy filter included), so the ladder isolates the batching step only.',
        );
        return tally.outcome(false);
      },
    };
  },
};

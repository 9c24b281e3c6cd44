// The older-kernel ladder, on hand-built traces.
//
// ladder-per-page (pre-4.3 reclaim), 3 CPUs: kswapd0 on CPU0 does two batched reclaim flushes
// (arch_tlbbatch_flush: tlb_flush 4 pages -1, callbacks to CPUs 1 and 2 where app runs, local
// tlb_flush 2), then app-101 munmaps with one callback to CPU2.
//   observed: 3 requests, 2x2 + 1 = 5 shootdowns, 5 IPIs (two ipi_send_cpumask of 2, one ipi_send_cpu)
//   per page, pagesPerBatch 32: each batch becomes 32 single-page flushes to both CPUs, each with its
//   own IPI: 2x32 + 1 = 65 requests, 2x32x2 + 1 = 129 shootdowns and IPIs (avoided -124).
//   CPU time: -124 IPIs x 2 us = -248 us; flush work observed 4 remote + 2 local full flushes = 30 us
//   against 128 + 64 single entries x 100 ns = 19.2 us -> -248 + 10.8 = -237.2 us.
//   pagesPerBatch 4: 2x4x2 + 1 = 17 shootdowns.
//
// ladder-no-lazy-filter (pre-4.19), 4 CPUs, a 6.12-style trace (csd events, no reason 5: precise
// mm_cpumask): app-101 runs on CPU1, app-102 left CPU2 idle (lazy: still in mm_cpumask), app-103
// left CPU3 for another process (out of the precise mask).
//   L1 mprotect, filtered to CPU1: the ladder also IPIs the lazy CPU2, which leaves the mm (leave_mm)
//   L2 mprotect, CPU1: CPU2 is out of the mask now -> CPU1 only
//   CPU2 runs app-102 again, then idles (lazy again)
//   L3 mprotect, CPU1: the ladder adds CPU2 again
//   observed 3 shootdowns / 3 IPIs; ladder 5 / 5 (avoided -2 / -2), CPU3 never targeted.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeTrace } from '../pipeline/analyze.js';
import { FtraceText, analyzeText, idle, thread, type Task } from '../../test/policies/ftrace-builder.js';

const app = [thread('app', 100, 100), thread('app', 101, 100), thread('app', 102, 100), thread('app', 103, 100)] as const;
const kswapd: Task = { comm: 'kswapd0', pid: 80, tgid: 80 };
const other = thread('dpkg', 200, 200);

function perPageTrace(): FtraceText {
  const t = new FtraceText(3);
  t.switchTo(1, app[0], -1).switchTo(1, app[1], null).switchTo(1, app[2], null).switchTo(1, app[1], null);
  t.switchTo(2, app[2], -1);
  t.switchTo(0, kswapd, null);
  t.wait(100);
  t.batchedFlush(0, [1, 2]).wait(50);
  t.batchedFlush(0, [1, 2]).wait(50);
  t.syscall(1, 'munmap', 'addr: 0x7f4627c00000, len: 0x4000');
  t.shootdown(1, 4, [{ cpu: 2, task: app[2], outcome: { kind: 'ranged', pages: 4 } }], { pages: 4 });
  t.wait(100);
  return t;
}

/**
 * A 6.4+ kernel's page migration, 3 CPUs (app-100 on CPU0 moves pages, app-101/102 run on CPUs 1/2):
 * move_pages(nr_pages 600) makes two batched flushes (migrate_pages_batch() chunks of 512 and 88
 * pages: tlb_flush 4 pages -1, local tlb_flush 2, targets 1 and 2), then munmap pays
 * flush_tlb_batched_pending() (a full flush to CPUs 1 and 2) before its own 4-page flush.
 *   observed: 4 requests, 8 shootdowns, 8 IPIs
 *   ladder-per-page: 512 + 88 single-page flushes to CPUs 1 and 2 (the call's size, not
 *   pagesPerBatch), the pending flush dropped, munmap's kept: 601 requests, 1202 shootdowns and IPIs
 */
function migrationTrace(): FtraceText {
  const t = new FtraceText(3);
  t.switchTo(0, app[0], -1).switchTo(0, app[1], null).switchTo(0, app[2], null).switchTo(0, app[0], null);
  t.switchTo(1, app[1], -1);
  t.switchTo(2, app[2], -1);
  t.wait(100);
  t.syscall(0, 'move_pages', 'pid: 0x0, nr_pages: 0x258, pages: 0x55d000, nodes: 0x55e000, status: 0x55f000, flags: 0x2');
  t.batchedFlush(0, [1, 2]).wait(100);
  t.batchedFlush(0, [1, 2]).wait(100);
  t.syscall(0, 'munmap', 'addr: 0x7f4627c00000, len: 0x4000');
  t.shootdown(0, -1, [1, 2].map((c) => ({ cpu: c, task: app[c]!, outcome: { kind: 'full' as const } })), { pages: -1 }).wait(20);
  t.shootdown(0, 4, [1, 2].map((c) => ({ cpu: c, task: app[c]!, outcome: { kind: 'ranged' as const, pages: 4 } })), { pages: 4 }).wait(100);
  return t;
}

function noLazyFilterTrace(): FtraceText {
  const t = new FtraceText(4);
  t.switchTo(0, app[0], -1).switchTo(0, app[1], null).switchTo(0, app[2], null).switchTo(0, app[3], null).switchTo(0, app[0], null);
  t.switchTo(1, app[1], -1);
  t.switchTo(2, app[2], -1).switchTo(2, idle(2), null);
  t.switchTo(3, app[3], -1).switchTo(3, other, -1);
  t.wait(100);
  const mprotect = () => {
    t.syscall(0, 'mprotect', 'start: 0x7f4627b32000, len: 0x4000, prot: 1');
    t.shootdown(0, 4, [{ cpu: 1, task: app[1], outcome: { kind: 'ranged', pages: 4 } }], { pages: 4 });
    t.wait(100);
  };
  mprotect();
  mprotect();
  t.switchTo(2, app[2], -1).wait(50).switchTo(2, idle(2), null).wait(50);
  mprotect();
  return t;
}

describe('ladder-per-page (pre-4.3)', () => {
  it('unrolls each batched flush into single-page shootdowns', async () => {
    const s = await analyzeText(perPageTrace(), { policies: ['observed', 'ladder-per-page'] });
    expect([s.policies.observed!.shootdowns, s.policies.observed!.ipis]).toEqual([s.observed.remoteShootdowns.total, s.observed.ipis.tlb]);
    expect(s.observed.requestsByKind).toEqual({ remote: 1, localOnly: 0, batched: 2 });
    expect(s.observed.remoteShootdowns.total).toBe(5);
    expect(s.observed.ipis.tlb).toBe(5);
    const p = s.policies['ladder-per-page']!;
    expect([p.requests, p.shootdowns, p.ipis, p.avoidedShootdowns, p.avoidedIpis]).toEqual([65, 129, 129, -124, -124]);
    // kswapd's batches are reclaim batches; with no direct-reclaim episode to size them, pagesPerBatch
    // each; the lower bound is one page per batch (observed: 5 shootdowns)
    expect(p.extra).toMatchObject({ batchedRequests: 2, reclaimBatches: 2, migrationBatches: 0, unrolledShootdowns: 128, pagesPerBatchAssumed: 32, shootdownsLowerBound: 5 });
    expect(p.extra).toMatchObject({ reclaimEpisodes: 0, reclaimBatchesSizedFromEpisodes: 0, reclaimBatchesSizedByEpisodeAverage: 0, reclaimBatchesSizedByFallback: 2, reclaimPagesPerBatchFromEpisodes: null });
    expect(p.cpuTimeSavedUs).toBe(-237.2);
    expect(p.notes.join(' ')).toMatch(/Reclaim batches: no reclaim pass .* or direct-reclaim episode .* sized any; each of the 2 stands for 32 pages/);
  });

  it('takes migration batch sizes from the call and drops flush_tlb_batched_pending()', async () => {
    const s = await analyzeText(migrationTrace(), { policies: ['observed', 'ladder-per-page'] });
    expect([s.observed.requests, s.observed.remoteShootdowns.total, s.observed.ipis.tlb]).toEqual([4, 8, 8]);
    expect(s.observed.requestsByKind).toEqual({ remote: 2, localOnly: 0, batched: 2 });
    const p = s.policies['ladder-per-page']!;
    expect([p.requests, p.shootdowns, p.ipis]).toEqual([601, 1202, 1202]);
    expect(p.extra).toMatchObject({ batchedRequests: 2, migrationBatches: 2, reclaimBatches: 0, unrolledPages: 600, batchedPendingDropped: 1 });
  });

  it('sizes a reclaim batch from its direct-reclaim episode on a real 6.12 trace', async () => {
    // test/validate/excerpts/cf-stock-reclaim-mmap: counterfactual stock/reclaim-mmap up to 9.700190 s.
    // Checked with awk over the excerpt (the batch flushes are its `tlb_flush: pages:-1 reason:remote
    // ipi send (4)` lines; a task is in an episode between its mm_vmscan_direct_reclaim_begin and _end):
    //   zcat ftrace.txt.gz | awk '
    //     function averaged(  want, n) { want = R / B + carry; n = int(want + 0.5); n = n < 1 ? 1 : n > 32 ? 32 : n; carry = want - n; return n }
    //     { match($0, /-[0-9]+ +\(/); pid = substr($0, RSTART+1, RLENGTH-2) + 0 }
    //     /mm_vmscan_direct_reclaim_begin/ { open[pid] = 1; b[pid] = 0; next }
    //     /mm_vmscan_direct_reclaim_end/ { split($NF, kv, "="); if (b[pid] > 0) { eps++; B += b[pid]; R += kv[2] } delete open[pid]; next }
    //     /tlb_flush: pages:-1 reason:.*\(4\)$/ && $0 !~ /^ *(init|reclaim-mmap-200 .*6\.260763)/ {
    //       if (pid in open) b[pid]++; else if ($1 ~ /^kswapd/ && eps > 0) { pav += averaged(); nav++ } else fb++ }
    //     END { for (t in open) for (i = 0; i < b[t]; i++) { pav += averaged(); nav++ }
    //           print eps, B, R, R / B, nav, pav, fb, R + pav + 32 * fb }'
    //   -> 16 episodes with 52 batch flushes freed 791 pages (15.21 per batch; every episode's share
    //   is within 1..32, so its batches stand for exactly its nr_reclaimed); 8 batches take the
    //   running average (5 of kswapd0 after the first episode ended, 3 of the one episode still open
    //   at the cut) for 112 pages; 18 stand for 32 (kswapd0's 2 before any episode ended, kcompactd's
    //   16); 791 + 112 + 576 = 1479 pages. (The two full flushes excluded are init's and a fork's.)
    const s = await analyzeTrace([join(__dirname, '../../test/validate/excerpts/cf-stock-reclaim-mmap/ftrace.txt.gz')], { policies: ['ladder-per-page'] });
    const p = s.policies['ladder-per-page']!;
    expect(p.extra).toMatchObject({
      reclaimBatches: 78,
      reclaimEpisodes: 16,
      reclaimBatchesSizedFromEpisodes: 52,
      reclaimPagesPerBatchFromEpisodes: 15.21,
      reclaimBatchesSizedByEpisodeAverage: 8,
      reclaimBatchesSizedByFallback: 18,
      unrolledPages: 1479,
    });
    // against 78 x 32 = 2496 pages when every batch stood for SWAP_CLUSTER_MAX
    expect(p.notes.join(' ')).toMatch(/52 batches in 16 episodes, 15\.2 pages per batch on average/);
  });

  it('sizes a reclaim batch from its pass on a real 6.12 trace with mm_vmscan_lru_shrink_inactive', async () => {
    // fixtures/counterfactual-6.12-8cpu-passes/stock/reclaim-mmap (30 s, the pass events traced).
    // Checked with awk: a batch flush (`tlb_flush: pages:-1 reason:... (4)`) of kswapd (after the
    // first pass event) or of a task in a direct-reclaim episode waits for the task's next pass
    // event, whose nr_reclaimed its pass's batches share (1..32 each); the others stand for 32:
    //   zcat ftrace.txt.gz | awk '
    //     function clamp(n) { return n < 1 ? 1 : n > 32 ? 32 : n }
    //     { match($0, /-[0-9]+ +\(/); pid = substr($0, RSTART+1, RLENGTH-2) + 0 }
    //     /mm_vmscan_lru_shrink_inactive/ { seen = 1; for (i = 1; i <= NF; i++) if ($i ~ /^nr_reclaimed=/) { split($i, kv, "="); nr = kv[2] }
    //       if (held[pid] > 0) { passes++; q = int(nr / held[pid]); r = nr - q * held[pid]
    //         for (i = 0; i < held[pid]; i++) { P += clamp(q + (i < r ? 1 : 0)); sized++ } }
    //       held[pid] = 0; next }
    //     /tlb_flush: pages:-1 reason:.*\(4\)$/ { if ($1 ~ /^kswapd/ && seen || (pid in inep)) held[pid]++; else others++ }
    //     /mm_vmscan_direct_reclaim_begin/ { inep[pid] = 1; next }
    //     /mm_vmscan_direct_reclaim_end/ { delete inep[pid]; next }
    //     END { print passes, sized, P, others }'
    //   -> 8138 passes sized 8951 batch flushes for 116,475 pages; 29 others, of which 5 are batch
    //   flushes (kcompactd1's: 5 x 32 pages) and 24 full flushes of an mm (init's one, the readers'
    //   23 outside reclaim: their munmap and madvise); 116,475 + 160 = 116,635 pages. The model has
    //   one batch flush more, in the same pages: reclaim-mmap-202's at 26.628306, whose csd_queue_cpu
    //   lines come after a softirq's sched_migrate_task (26.631182) on its CPU and start a request
    //   of their own (the queueing loop runs with interrupts on; trace-cmd report has no irq flags
    //   to tell), so its pass's 9 pages are shared by two batches.
    const s = await analyzeTrace([join(__dirname, '../../fixtures/counterfactual-6.12-8cpu-passes/stock/reclaim-mmap/ftrace.txt.gz')], { policies: ['ladder-per-page'] });
    const p = s.policies['ladder-per-page']!;
    expect(p.extra).toMatchObject({
      reclaimBatches: 8957,
      reclaimPasses: 8138,
      reclaimBatchesSizedFromPasses: 8952,
      reclaimEpisodes: 0,
      reclaimBatchesSizedByEpisodeAverage: 0,
      reclaimBatchesSizedByFallback: 5,
      unrolledPages: 116635,
    });
    expect(p.notes.join(' ')).toMatch(/8952 batches in 8138 passes/);
  });

  it('takes the pages per batch as a parameter', async () => {
    const s = await analyzeText(perPageTrace(), { policies: ['ladder-per-page'], params: { 'ladder-per-page.pagesPerBatch': 4 } });
    expect(s.policies['ladder-per-page']!.shootdowns).toBe(17);
  });
});

describe('ladder-no-lazy-filter (pre-4.19)', () => {
  it('IPIs lazy CPUs in mm_cpumask until they leave the mm', async () => {
    const s = await analyzeText(noLazyFilterTrace(), { policies: ['observed', 'ladder-no-lazy-filter'] });
    expect([s.policies.observed!.shootdowns, s.policies.observed!.ipis]).toEqual([s.observed.remoteShootdowns.total, s.observed.ipis.tlb]);
    expect(s.input.vocabulary.reason5).toBe(false);
    expect(s.observed.remoteShootdowns.total).toBe(3);
    const p = s.policies['ladder-no-lazy-filter']!;
    expect([p.shootdowns, p.ipis, p.avoidedShootdowns, p.avoidedIpis]).toEqual([5, 5, -2, -2]);
    expect(p.extra).toMatchObject({ addedLazyTargets: 2, droppedStaleTargets: 0 });
    expect(p.cpuTimeSavedUs).toBe(-4);
  });
});

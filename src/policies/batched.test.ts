// P3 batched: hand-built traces, 3 CPUs, of a kernel that flushes page by page (as 6.1 migration, or
// the counterfactual `nobatch` kernel). app (tgid 100): app-100 on CPU0, app-101 on CPU1, app-102 on
// CPU2, all running (mm_cpumask {0,1,2}).
//
//   A  kcompactd0 (kernel thread, CPU0, app's mm kept lazily) migrates 8 pages one at a time:
//      K1..K5 10 us apart, a 2 ms pause, kcompactd0 switched out and back, K6..K8. Each is a
//      single-page flush (tlb_flush 4 pages:1) to CPUs 1 and 2 (tlb_flush 1 pages:1), no local part.
//   B  app-100: move_pages(nr_pages 3): M1..M3; move_pages(nr_pages 2): M4, M5; each a single-page
//      flush to CPUs 1 and 2 with a local one; then munmap: U, 4 pages to CPUs 1 and 2.
//   C  app-101 (CPU1): madvise(MADV_PAGEOUT = 0x15): P1, P2, single-page flushes to CPUs 0 and 2;
//      madvise(MADV_DONTNEED = 4): D, 4 pages to CPUs 0 and 2.
// Observed: 17 requests, 34 shootdowns, 34 IPIs (one ipi_send_cpumask of 2 each).
//
// P3 (batchPages 32, migrationBatchPages 512): batches end at the kernel's points, never on a timer
// or a context switch: A = K1..K8 (one reclaim pass: the pause and the switch do not end it; the
// task's next flush of another kind, B's M1, does not concern kcompactd: A ends at the trace's end),
// B1 = M1..M3 (ends at the next move_pages entry: a new migrate_pages() call), B2 = M4, M5 (ends at
// the munmap entry), C = P1, P2 (ends at the madvise(DONTNEED) entry). Each is one full flush to
// the non-lazy CPUs of its cpumask except its own: A -> {1,2}, B1, B2 -> {1,2}, C -> {0,2}.
// app's mm had batched pages, so U's munmap and D's madvise each pay flush_tlb_batched_pending()
// first: a full flush_tlb_mm() to mm_cpumask but self: {1,2} and {0,2}. U and D are kept.
// -> requests A, B1, B2, pending, U, C, pending, D = 8; shootdowns 8 x 2 = 16, IPIs 16; avoided 18.
// Deferred: 15 requests (deferral delays 15). Merged ranged flushes become full: K 8 x 2 targets,
// M 5 x (local + 2 targets), P 2 x 3 -> 16 + 15 + 6 = 37 rangedToFull.
// batchPages 4: A = K1..K4, K5..K8 -> 9 requests, 18 shootdowns.
// migrationBatchPages 2: B1 = M1, M2 | M3 -> 9 requests, 18 shootdowns.
// causes=kcompactd: only A is batched; A's pages are of no known mm (a kernel thread), so nothing
// pays flush_tlb_batched_pending -> A + M1..M5 + U + P1, P2 + D = 10 requests, 2 + 10 + 2 + 4 + 2 = 20.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeTrace } from '../pipeline/analyze.js';
import { FtraceText, analyzeText, idle, thread, type Target, type Task } from '../../test/policies/ftrace-builder.js';

const app = [thread('app', 100, 100), thread('app', 101, 100), thread('app', 102, 100)] as const;
const kcompactd: Task = { comm: 'kcompactd0', pid: 60, tgid: 60 };

const page = (cpu: number): Target => ({ cpu, task: app[cpu]!, outcome: { kind: 'ranged', pages: 1 } });
const pages4 = (cpu: number): Target => ({ cpu, task: app[cpu]!, outcome: { kind: 'ranged', pages: 4 } });

function perPageTrace(): FtraceText {
  const t = new FtraceText(3);
  t.switchTo(0, app[0], -1).switchTo(0, app[1], null).switchTo(0, app[2], null).switchTo(0, app[0], null);
  t.switchTo(1, app[1], -1);
  t.switchTo(2, app[2], -1);
  t.wait(100);
  // A
  t.switchTo(0, kcompactd, null).wait(50);
  const migrate = () => t.shootdown(0, 1, [page(1), page(2)], null).wait(10);
  for (let i = 0; i < 5; i++) migrate();
  t.wait(2000);
  t.switchTo(0, idle(0), null).wait(20).switchTo(0, kcompactd, null).wait(20);
  for (let i = 0; i < 3; i++) migrate();
  t.switchTo(0, app[0], null).wait(100);
  // B
  const move = () => t.shootdown(0, 1, [page(1), page(2)], { pages: 1 }).wait(20);
  t.syscall(0, 'move_pages', 'pid: 0x0, nr_pages: 0x3, pages: 0x55d000, nodes: 0x55e000, status: 0x55f000, flags: 0x2');
  for (let i = 0; i < 3; i++) move();
  t.wait(100);
  t.syscall(0, 'move_pages', 'pid: 0x0, nr_pages: 0x2, pages: 0x55d000, nodes: 0x55e000, status: 0x55f000, flags: 0x2');
  for (let i = 0; i < 2; i++) move();
  t.wait(100);
  t.syscall(0, 'munmap', 'addr: 0x7f4627c00000, len: 0x4000');
  t.shootdown(0, 4, [pages4(1), pages4(2)], { pages: 4 }).wait(100);
  // C
  t.syscall(1, 'madvise', 'start: 0x7f4627b40000, len_in: 0x2000, behavior: 0x15');
  t.shootdown(1, 1, [page(0), page(2)], { pages: 1 }).wait(20);
  t.shootdown(1, 1, [page(0), page(2)], { pages: 1 }).wait(100);
  t.syscall(1, 'madvise', 'start: 0x7f4627c00000, len_in: 0x4000, behavior: 4');
  t.shootdown(1, 4, [pages4(0), pages4(2)], { pages: 4 }).wait(100);
  return t;
}

/** A kernel that batches already: kswapd0's arch_tlbbatch_flush(), then one of its single-page flushes. */
function batchingKernelTrace(): FtraceText {
  const t = new FtraceText(3);
  t.switchTo(1, app[1], -1);
  t.switchTo(2, app[2], -1);
  t.switchTo(0, { comm: 'kswapd0', pid: 80, tgid: 80 }, null).wait(100);
  t.batchedFlush(0, [1, 2]).wait(100);
  t.shootdown(0, 1, [page(1), page(2)], null).wait(100);
  t.shootdown(0, 1, [page(1), page(2)], null).wait(100);
  return t;
}

describe('batched (P3)', () => {
  it('batches single-page unmap flushes per reclaim pass and per migrate_pages() call, and charges flush_tlb_batched_pending()', async () => {
    const s = await analyzeText(perPageTrace(), { policies: ['observed', 'batched'] });
    expect([s.policies.observed!.shootdowns, s.policies.observed!.ipis]).toEqual([s.observed.remoteShootdowns.total, s.observed.ipis.tlb]);
    expect([s.observed.requests, s.observed.remoteShootdowns.total, s.observed.ipis.tlb]).toEqual([17, 34, 34]);
    const p = s.policies.batched!;
    expect([p.requests, p.shootdowns, p.ipis, p.avoidedShootdowns, p.avoidedIpis]).toEqual([8, 16, 16, 18, 18]);
    expect(p.extra).toMatchObject({ batches: 4, requestsBatched: 15, largestBatch: 8, keptKernelBatches: 0, batchedPendingCharged: 2 });
    expect(p.rangedToFull).toBe(37);
    expect(p.deferralDelayUs?.count).toBe(15);
    // by cause: A under kcompactd, B under move_pages, its pending flush and U under munmap, C and D's under madvise
    expect(Object.fromEntries(p.byCause!.map((c) => [c.cause, c.shootdowns]))).toEqual({ kcompactd: 2, move_pages: 4, munmap: 4, madvise: 6 });
  });

  it('ends a reclaim pass at batchPages and a migration chunk at migrationBatchPages', async () => {
    const a = await analyzeText(perPageTrace(), { policies: ['batched'], params: { 'batched.batchPages': 4 } });
    expect([a.policies.batched!.requests, a.policies.batched!.shootdowns]).toEqual([9, 18]);
    const b = await analyzeText(perPageTrace(), { policies: ['batched'], params: { 'batched.migrationBatchPages': 2 } });
    expect([b.policies.batched!.requests, b.policies.batched!.shootdowns]).toEqual([9, 18]);
  });

  it('batches only the chosen causes', async () => {
    const s = await analyzeText(perPageTrace(), { policies: ['batched'], params: { 'batched.causes': 'kcompactd' } });
    expect([s.policies.batched!.requests, s.policies.batched!.shootdowns]).toEqual([10, 20]);
    expect(s.policies.batched!.extra).toMatchObject({ batches: 1, requestsBatched: 8, batchedPendingCharged: 0 });
  });

  it('ends a reclaim pass at a direct-reclaim episode\'s begin and end, on a real 6.12 trace', async () => {
    // test/validate/excerpts/cf-nobatch-reclaim-mmap: counterfactual nobatch/reclaim-mmap (reclaim
    // flushes page by page) up to 11.991933 s. The passes replayed by hand with awk: per task, its
    // single-page flushes (`tlb_flush: pages:1 reason:... (4)`: deferred; a direct `pages:1 ... (3)`
    // outside a `csd_function_entry: func=flush_tlb_func, csd=0000000000000000` bracket: local)
    // while in an episode or of kswapd/kcompactd; a pass ends at 32 pages, at any other flush or
    // `sys_enter` of the task, at the episode's begin and end, and at the end; a batch is a pass
    // with a deferred page. The script (EDGES=0 leaves out the episode edges):
    //   function flushpass(p) { if (def[p] > 0) batches++; def[p] = 0; pages[p] = 0 }
    //   { match($0, /-[0-9]+ +\(/); pid = substr($0, RSTART+1, RLENGTH-2) + 0; c = substr($0, index($0, "[") + 1, 3) + 0 }
    //   /csd_function_entry: func=flush_tlb_func, csd=0000000000000000/ { localpart[c] = 1; next }
    //   /csd_function_exit/ { localpart[c] = 0; next }
    //   /mm_vmscan_direct_reclaim_(begin|end)/ { if (/begin/) inep[pid] = 1; else delete inep[pid]
    //     if (EDGES) { if (def[pid] > 0) edge++; flushpass(pid) } next }
    //   / sys_enter: / { flushpass(pid); next }
    //   /tlb_flush: / { if (/reason:.*\((1|0|5)\)$/ || localpart[c]) next
    //     if (!((pid in inep) || $1 ~ /^(kswapd|kcompactd)/) || !/tlb_flush: pages:1 reason/) { flushpass(pid); next }
    //     pages[pid]++; if (/\(4\)$/) def[pid]++; if (pages[pid] >= 32) flushpass(pid) }
    //   END { for (p in pages) flushpass(p); print batches, edge + 0 }
    //   -> 19 batches, 1 ended by an episode edge (18 without the edges); 445 deferred pages (the
    //   excerpt's `pages:1 reason:remote ipi send (4)` lines). On the whole capture: 54 (49 without).
    const s = await analyzeTrace([join(__dirname, '../../test/validate/excerpts/cf-nobatch-reclaim-mmap/ftrace.txt.gz')], { policies: ['batched'] });
    expect(s.policies.batched!.extra).toMatchObject({ batches: 19, batchesEndedByEpisode: 1, requestsBatched: 445 });
  });

  it('ends a reclaim pass where the trace\'s mm_vmscan_lru_shrink_inactive says, on a real 6.12 trace', async () => {
    // fixtures/counterfactual-6.12-8cpu-passes/nobatch/reclaim-mmap: the nobatch kernel (reclaim
    // flushes page by page), 30 s, with the pass events. The awk above (EDGES=1) with two more rules:
    // a task's pass ends at its own mm_vmscan_lru_shrink_inactive (and no longer at 32 pages once
    // the task has shown one), and a pass that freed more than 31 folios flushed twice, the last
    // nr_reclaimed - 31 deferred pages on their own:
    //   /mm_vmscan_lru_shrink_inactive/ { traced[pid] = 1; for (i = 1; i <= NF; i++) if ($i ~ /^nr_reclaimed=/) { split($i, kv, "="); nr = kv[2] }
    //     if (def[pid] > 0) { passend++; a = nr - 31; if (a > def[pid] - 1) a = def[pid] - 1; if (a > 0) { batches++; twice++ } }
    //     flushpass(pid); next }
    //   (and `if (!traced[pid] && pages[pid] >= 32) flushpass(pid)` for the 32-page rule)
    // -> 346 batches, 299 ended by a pass, 38 of them flushed twice, 0 by an episode edge; 4516
    // deferred pages; 3052 mm_vmscan_lru_shrink_inactive lines.
    const s = await analyzeTrace([join(__dirname, '../../fixtures/counterfactual-6.12-8cpu-passes/nobatch/reclaim-mmap/ftrace.txt.gz')], { policies: ['batched'] });
    const p = s.policies.batched!;
    expect(p.extra).toMatchObject({ batches: 346, batchesEndedByPass: 299, passesFlushedTwice: 38, batchesEndedByEpisode: 0, requestsBatched: 4516, reclaimPassEvents: 3052 });
    expect(p.notes.join(' ')).toMatch(/Reclaim passes end where the trace's mm_vmscan_lru_shrink_inactive says \(3052 passes, 299 batches ended there, 38 of them flushed twice:/);
  });

  it('leaves a task whose kernel batches already as traced', async () => {
    const s = await analyzeText(batchingKernelTrace(), { policies: ['batched'] });
    const p = s.policies.batched!;
    expect([p.requests, p.shootdowns]).toEqual([s.observed.requests, s.observed.remoteShootdowns.total]);
    expect(p.extra).toMatchObject({ batches: 0, keptKernelBatches: 1 });
  });
});

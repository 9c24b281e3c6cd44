// The reclaim-mmap unit of work from the reclaim passes, against /proc/vmstat (independent ground
// truth) on the captures that recorded both (fixtures/counterfactual-6.12-8cpu-passes).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reclaimTimeline } from './units.js';

const SET = join(__dirname, '../../fixtures/counterfactual-6.12-8cpu-passes');

describe('reclaimTimeline', () => {
  it('sums the passes\' nr_reclaimed to /proc/vmstat pgsteal, and finds the readers\' first exit', async () => {
    // Independently: zcat ftrace.txt.gz | awk '/mm_vmscan_lru_shrink_inactive:/ { for (i = 1; i <= NF; i++)
    //   if ($i ~ /^nr_reclaimed=/) { split($i, a, "="); s += a[2] } } END { print s }' -> 116779 and
    // 5642; the first `sched_process_exit: comm=reclaim-mmap` lines are at 37.466677 and 38.633069
    // (grep -m1), and the passes before them freed 116779 and 4191 pages (the same awk, stopping there).
    const want = { stock: { pages: 116779, pagesWhileRunning: 116779, firstExit: 37.466677 }, nobatch: { pages: 5642, pagesWhileRunning: 4191, firstExit: 38.633069 } };
    for (const [variant, w] of Object.entries(want)) {
      const dir = join(SET, variant, 'reclaim-mmap');
      const t = await reclaimTimeline(dir);
      expect(t).toEqual(w);
      const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as { vmstatDelta: Record<string, number> };
      expect(t.pages).toBe(truth.vmstatDelta.pgsteal_kswapd! + truth.vmstatDelta.pgsteal_direct!);
    }
  });
});

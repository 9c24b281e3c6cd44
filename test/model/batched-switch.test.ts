// kswapd's batched unmap flush leaves a lazy CPU's ASID behind. Each page reclaim unmaps with
// TTU_BATCH_FLUSH bumps its mm's tlb_gen (arch_tlbbatch_add_pending() -> inc_mm_tlb_gen()) and no
// event says which mms; arch_tlbbatch_flush() then flushes the CPUs of the batch that are not
// lazy. A lazy CPU that switches back to its mm finds the tlb_gen moved on and flushes in full
// (switch_mm_irqs_off(): prev == next, was_lazy, ctxs[asid].tlb_gen != next_tlb_gen).
//
// The lines are from qemu-6.1-8cpu/reclaim-mmap/trace-cmd-report.txt.gz (in fixtures/), lines 1,
// 1979-1980, 1984-1986, 1999 and 2002-2004, unchanged: CPU 6 switches to reclaim-mmap 239 (a full
// switch flush: its ASID is current), takes a remote flush of that mm, goes idle (lazy, the mm
// stays loaded); kswapd0 on CPU 1 does a batched flush (tlb_flush 4, pages=-1: on 6.1 the targets'
// flushes follow without csd events); CPU 6 switches back to 239 and logs a full flush. The model
// used to predict no flush there (its `gen` counts no batched bumps): on the whole capture 681 of
// 1560 switch predictions were wrong that way, 34 now.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { analyzeTrace } from '../../src/pipeline/analyze.js';

const RECLAIM_61 = fileURLToPath(new URL('../../fixtures/qemu-6.1-8cpu/reclaim-mmap/trace-cmd-report.txt.gz', import.meta.url));

const LINES = [
  'cpus=8',
  '          <idle>-0     [006]     7.817447: sched_switch:         swapper/6:0 [120] R ==> reclaim-mmap:239 [120]',
  '          <idle>-0     [006]     7.817477: tlb_flush:            pages=-1 reason=flush on task switch (0)',
  '    reclaim-mmap-239   [006]     7.817705: call_function_entry:  vector=252',
  '    reclaim-mmap-239   [006]     7.817717: tlb_flush:            pages=1 reason=remote shootdown (1)',
  '    reclaim-mmap-239   [006]     7.817725: call_function_exit:   vector=252',
  '    reclaim-mmap-239   [006]     7.821291: sched_switch:         reclaim-mmap:239 [120] D ==> swapper/6:0 [120]',
  '         kswapd0-79    [001]     7.823250: tlb_flush:            pages=-1 reason= (4)',
  '          <idle>-0     [006]     7.837575: sched_switch:         swapper/6:0 [120] R ==> reclaim-mmap:239 [120]',
  '          <idle>-0     [006]     7.837607: tlb_flush:            pages=-1 reason=flush on task switch (0)',
];

async function fidelity(lines: string[]) {
  const s = await analyzeTrace(['-'], { ingest: { stdin: Buffer.from(lines.join('\n') + '\n') } });
  return s.model.fidelity;
}

describe('switch back to the mm after a batched reclaim flush', () => {
  it('is predicted to flush in full', async () => {
    const f = await fidelity(LINES);
    // the first switch is not compared: CPU 6's state was unknown before it
    expect(f.switchCompared).toBe(1);
    expect(f.switchMismatches).toEqual({});
    expect(f.switchFlush).toBe(1);
  });

  it('without the batched flush, a full flush there is a misprediction', async () => {
    const f = await fidelity(LINES.filter((l) => !l.includes('kswapd0-79')));
    expect(f.switchCompared).toBe(1);
    expect(f.switchMismatches).toEqual({ 'predicted none, observed full': 1 });
  });
});

// A kernel thread's flush of one page leaves lazy CPUs behind as well. The first 1357 lines of the
// same capture: kcompactd0 (CPU 2) moves a page of reclaim-mmap and flushes it (line 1352,
// `tlb_flush 4 pages=1`, which names no mm); CPU 5, running the process, takes the flush (1354);
// CPU 7, idle with the process's mm loaded lazily since 7.351192, switches back to reclaim-mmap
// 240 at 7.353167 (1356) and flushes in full (1357). With line 1352 every switch prediction of the
// prefix holds; without it the model has no reason to expect that flush.
describe('switch back to the mm after a kernel thread flushed a page of it', () => {
  const prefix = gunzipSync(readFileSync(RECLAIM_61)).toString('utf8').split('\n').slice(0, 1357);
  it('is predicted to flush in full', async () => {
    expect(prefix[1351]).toContain('kcompactd0-66    [002]     7.352414: tlb_flush:            pages=1 reason= (4)');
    expect(prefix[1356]).toContain('[007]     7.353290: tlb_flush:            pages=-1 reason=flush on task switch (0)');
    const f = await fidelity(prefix);
    expect(f.switchCompared).toBe(479);
    expect(f.switchMismatches).toEqual({});
  });

  it('is a misprediction without the flush of the page', async () => {
    const f = await fidelity(prefix.filter((_, i) => i !== 1351));
    expect(f.switchCompared).toBe(479);
    expect(f.switchMismatches).toEqual({ 'predicted none, observed full': 1 });
  });
});

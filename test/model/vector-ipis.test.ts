// Before 6.4 there are no ipi_send_* events: the IPIs a CPU took are the call_function vectors it
// entered, and one vector runs every callback queued on the CPU by then
// (flush_smp_call_function_queue()), the IPI having been raised only by the first of them (into an
// empty call_single_queue). So a TLB IPI is a vector that ran a flush callback, however many it ran.
//
// Checked independently on fixtures/qemu-6.1-8cpu/reclaim-mmap with awk over ftrace.txt.gz (per CPU,
// from `[NNN]`: open a window at call_function[_single]_entry, close it at _exit, and count the
// windows holding a `tlb_flush` of reason 0, 1 or 5): 7,250 such vectors, 7,521 vectors in all
// (/proc/interrupts CAL: 7,532), 15,620 remote flush callbacks in them. One IPI per callback, as this
// tool counted before, was 15,620 TLB IPIs: more than the 7,521 IPIs of every kind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crossCheck } from '../../src/pipeline/crosscheck.js';
import { analyzeTrace } from '../../src/pipeline/analyze.js';
import { readCounters, type KernelCounters } from '../../src/record/capture.js';

const DIR = join(__dirname, '../../fixtures/qemu-6.1-8cpu/reclaim-mmap');

describe('TLB IPIs from call_function vectors (6.1, no ipi_send_*)', () => {
  it('counts a vector that ran flush callbacks as one IPI, in every format', async () => {
    for (const file of ['ftrace.txt.gz', 'trace-cmd-report.txt.gz', 'trace.dat']) {
      const s = await analyzeTrace([join(DIR, file)], { policies: ['observed', 'batched'] });
      expect(s.observed.ipis.total, file).toBe(7521);
      expect(s.observed.ipis.tlb, file).toBe(7250);
      expect(s.observed.remoteShootdowns.total, file).toBe(15620);
      expect(Object.values(s.observed.ipis.vectorsByCpu!).reduce((a, b) => a + b, 0)).toBe(7521);
      // the observed replay reproduces it, and the policies count in the same unit
      expect(s.policies.observed!.ipis, file).toBe(7250);
      expect(s.policies.observed!.ipiUnit).toBe('vectors');
      expect(s.policies.batched!.ipiUnit).toBe('vectors');
      // batching into fewer flushes cannot need more IPIs than it has callbacks
      expect(s.policies.batched!.ipis).toBeLessThanOrEqual(s.policies.batched!.shootdowns);
    }
  });

  it('the cross-check says whether the trace has every IPI the CPUs received', async () => {
    const s = await analyzeTrace([DIR], { policies: ['observed'] });
    const x = s.crossCheck!.ipis!;
    expect(x.verdict).toBe('agree');
    expect([x.model, x.counter]).toEqual([7521, 7532]);
    // the same trace against counters that saw far more (events lost on CPU 2) or fewer
    const truth = readCounters(readFileSync(join(DIR, 'truth.json'), 'utf8'), 'truth.json', 'truth.json');
    const counters = (cal: number[] | null): KernelCounters => ({ ...truth, calIrqDeltaPerCpu: cal });
    const base = x.perCpu.map((p) => p.counter);
    const lost = crossCheck(s, counters(base.map((c, cpu) => (cpu === 2 ? c + 500 : c)))).ipis!;
    expect(lost.verdict).toBe('disagree');
    expect(lost.perCpu.filter((p) => !p.ok).map((p) => p.cpu)).toEqual([2]);
    expect(lost.reason).toMatch(/misses vectors/);
    const fewer = crossCheck(s, counters(base.map((c) => c - 20))).ipis!;
    expect(fewer.verdict).toBe('disagree');
    expect(fewer.reason).toMatch(/more vectors than the counter/);
    expect(crossCheck(s, counters(base)).ipis!.verdict).toBe('agree');
    const none = crossCheck(s, counters(null)).ipis!;
    expect(none.verdict).toBe('no-counter');
  });
});

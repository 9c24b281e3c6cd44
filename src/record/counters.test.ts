// The /proc and tracefs text parsers of record/counters.ts, on text copied from this project's
// 2-vCPU PVM VM (kernel 6.18.44) on 2026-12-06, and that text with a column taken out the way the
// kernel prints an offline CPU (show_interrupts() prints online CPUs only).
import { describe, expect, it } from 'vitest';
import { deltaPerCpu, deltaRecord, lostOf, parseInterrupts, parseRingStats, parseVmstatTlb } from './counters.js';

const INTERRUPTS = `           CPU0       CPU1       
LOC:     311841     313573   Local timer interrupts
CAL:     323842     196609   Function call interrupts
TLB:          0          0   TLB shootdowns
`;

const STATS = `entries: 12
overrun: 3
commit overrun: 1
bytes: 2720
oldest event ts:  1333.800430
now ts:  1368.947368
dropped events: 2
read events: 40
`;

describe('parseInterrupts', () => {
  it('reads the named lines per CPU', () => {
    const m = parseInterrupts(INTERRUPTS, ['TLB', 'CAL']);
    expect(m.get('CAL')).toEqual([323842, 196609]);
    expect(m.get('TLB')).toEqual([0, 0]);
    expect(m.has('LOC')).toBe(false);
  });

  it('puts each value under its CPU number when a CPU is offline', () => {
    const offline = `           CPU0       CPU2       \nCAL:        5        7   Function call interrupts\n`;
    expect(parseInterrupts(offline, ['CAL']).get('CAL')).toEqual([5, 0, 7]);
  });

  it('leaves out a line the kernel does not have (no TLB line off x86)', () => {
    expect(parseInterrupts(INTERRUPTS.replace(/^TLB.*\n/m, ''), ['TLB']).has('TLB')).toBe(false);
  });
});

describe('parseVmstatTlb', () => {
  it('keeps only nr_tlb_* (CONFIG_DEBUG_TLBFLUSH)', () => {
    expect(parseVmstatTlb('nr_free_pages 5\nnr_tlb_remote_flush 12\nnr_tlb_remote_flush_received 30\n')).toEqual({ nr_tlb_remote_flush: 12, nr_tlb_remote_flush_received: 30 });
    expect(parseVmstatTlb('nr_free_pages 5\nnr_hugetlb 0\n')).toEqual({});
  });
});

describe('parseRingStats', () => {
  it('reads per_cpu/cpuN/stats', () => {
    const s = parseRingStats(STATS);
    expect(s).toEqual({ entries: 12, overrun: 3, commitOverrun: 1, dropped: 2, read: 40, bytes: 2720 });
    expect(lostOf(s)).toBe(6);
  });
});

describe('deltas', () => {
  it('subtract per CPU and per key', () => {
    expect(deltaPerCpu([1, 2], [4, 6, 1])).toEqual([3, 4, 1]);
    expect(deltaRecord({ a: 1 }, { a: 5, b: 2 })).toEqual({ a: 4, b: 2 });
  });
});

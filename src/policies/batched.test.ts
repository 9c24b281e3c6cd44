// P3 batched (Gorman): a hand-built trace, 3 CPUs. kcompactd0 (kernel thread, CPU0) migrates pages of
// app (tgid 100) one at a time, as 6.1 does: each page is its own flush request (tlb_flush 4 pages:1)
// with one callback to CPU1, where app-101 runs (tlb_flush 1 pages:1). app-102 runs on CPU2.
//
//   K1..K5  five single-page flushes 10 us apart, then a 2 ms pause (> gapUs = 1000)
//   K6..K8  three more, then kcompactd0 is switched out on CPU0 (initiator switch)
//   P1,P2   app-101 madvise(MADV_PAGEOUT = 0x15): two single-page flushes to CPU2 (+ local)
//   D1      app-101 madvise(MADV_DONTNEED = 4): flush to CPU2 — never batched (ends P1,P2's batch)
//   M1      app-101 munmap: flush to CPU2 — never batched
// Observed: 12 requests, 12 shootdowns, 12 IPIs (one ipi_send_cpu each).
// P3 (batchPages 32): batch A = K1..K5 (ends at the pause), B = K6..K8 (ends at the switch),
// C = P1,P2 (ends at D1); each batch is one full flush with one callback: A, B -> CPU1, C -> CPU2.
// -> 5 requests (A, B, C, D1, M1), 5 shootdowns, 5 IPIs: 7 and 7 avoided. Every merged ranged flush
// became full: 8 (K) + 2 (P targets) + 2 (P local) = 12 rangedToFull. 10 requests waited for their
// batch (deferral delay count 10).
// CPU time: +7 IPIs x 2 us = 14 us; flush work observed 8x100 + 2x100 + 2x100 ns = 1.2 us against
// 4 full flushes x 5 us = 20 us (A, B, C's target, C's local) -> 14 + 1.2 - 20 = -4.8 us.
// batchPages 4: A splits into K1..K4 and K5 -> 6 requests, 6 shootdowns.
// causes=kcompactd: P1, P2 are not batched -> 6 requests (A, B, P1, P2, D1, M1).

import { describe, expect, it } from 'vitest';
import { FtraceText, analyzeText, idle, thread, type Task } from '../../test/policies/ftrace-builder.js';

const app = [thread('app', 100, 100), thread('app', 101, 100), thread('app', 102, 100)] as const;
const kcompactd: Task = { comm: 'kcompactd0', pid: 60, tgid: 60 };

function batchedTrace(): FtraceText {
  const t = new FtraceText(3);
  t.switchTo(1, app[0], -1).switchTo(1, app[1], null).switchTo(1, app[2], null).switchTo(1, app[1], null);
  t.switchTo(2, app[2], -1);
  t.switchTo(0, kcompactd, null);
  t.wait(100);
  const migrate = () => t.shootdown(0, 1, [{ cpu: 1, task: app[1], outcome: { kind: 'ranged', pages: 1 } }], null).wait(10);
  for (let i = 0; i < 5; i++) migrate();
  t.wait(2000);
  for (let i = 0; i < 3; i++) migrate();
  t.switchTo(0, idle(0), null);
  t.wait(100);
  const toCpu2 = (pages: number) => t.shootdown(1, pages, [{ cpu: 2, task: app[2], outcome: { kind: 'ranged', pages } }], { pages });
  t.syscall(1, 'madvise', 'start: 0x7f4627b40000, len_in: 0x2000, behavior: 0x15');
  toCpu2(1).wait(5);
  toCpu2(1).wait(20);
  t.syscall(1, 'madvise', 'start: 0x7f4627c00000, len_in: 0x4000, behavior: 4');
  toCpu2(4).wait(20);
  t.syscall(1, 'munmap', 'addr: 0x7f4627c00000, len: 0x4000');
  toCpu2(4).wait(100);
  return t;
}

describe('batched (P3)', () => {
  it('turns reclaim-like flush runs into one full flush per batch', async () => {
    const s = await analyzeText(batchedTrace(), { policies: ['observed', 'batched'] });
    expect([s.policies.observed!.shootdowns, s.policies.observed!.ipis]).toEqual([s.observed.remoteShootdowns.total, s.observed.ipis.tlb]);
    expect(s.observed.requests).toBe(12);
    expect(s.observed.remoteShootdowns.total).toBe(12);
    expect(s.observed.ipis.tlb).toBe(12);
    const p = s.policies.batched!;
    expect(p.requests).toBe(5);
    expect(p.shootdowns).toBe(5);
    expect(p.ipis).toBe(5);
    expect(p.avoidedShootdowns).toBe(7);
    expect(p.avoidedIpis).toBe(7);
    expect(p.rangedToFull).toBe(12);
    expect(p.extra).toMatchObject({ batches: 3, requestsBatched: 10, largestBatch: 5, passedThrough: 2 });
    expect(p.deferralDelayUs?.count).toBe(10);
    expect(p.cpuTimeSavedUs).toBe(-4.8);
  });

  it('ends a batch at batchPages', async () => {
    const s = await analyzeText(batchedTrace(), { policies: ['batched'], params: { 'batched.batchPages': 4 } });
    expect(s.policies.batched!.requests).toBe(6);
    expect(s.policies.batched!.shootdowns).toBe(6);
  });

  it('batches only the chosen causes', async () => {
    const s = await analyzeText(batchedTrace(), { policies: ['batched'], params: { 'batched.causes': 'kcompactd' } });
    expect(s.policies.batched!.requests).toBe(6);
    expect(s.policies.batched!.extra).toMatchObject({ batches: 2, requestsBatched: 8 });
  });
});

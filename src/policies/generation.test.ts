// P1 generation-tracked: a hand-built 6.18-style trace, 4 CPUs. Process app (tgid 100) runs app-100
// on CPU0, app-101 on CPU1, app-102 on CPU2; app-103 ran on CPU3 and was switched out for another
// process (mm not loaded there, bit left in the 6.14+ mm_cpumask).
//
//   G1  app-100 munmap: CPUs 1,2 tlb_flush 1 pages 16, CPU3 tlb_flush 5 (ipi_send_cpumask 1-3)
//       observed 3 shootdowns / 3 IPIs. P1: CPU3 does not run the mm -> deferred to its switch-in
//       (rule a); CPUs 1,2 kept -> 2 / 2.
//   G2a app-100 mprotect queues CPU1 (ipi_send_cpu); before CPU1 answers, G2b app-102 madvise queues
//       CPU1 too (queue not empty: no IPI). CPU1 runs G2a as a full flush (catching up to the
//       newest generation) and G2b finds nothing to do (empty csd pair).
//       observed 2 shootdowns / 1 IPI. P1: G2b's CPU is already covered (rule c) -> 1 / 1. With
//       useCallbackOutcomes=false rule c does not see it, and G2b coalesces into G2a's still
//       undelivered callback (rule d) -> also 1 / 1.
//   G3a app-101 enters madvise (its generation can be no older than this), then app-100's full flush
//       (munmap of a large range) reaches CPUs 1,2 and completes: observed 2 / 2, P1 2 / 2.
//   G3b app-101's own flush (ranged 2 pages to CPUs 0,2): its generation was completed by G3a
//       (issued after app-101's syscall entry, finished before G3b) -> avoided entirely (rule 1):
//       observed 2 / 2, P1 0 / 0, and one request fewer.
//   G4  CPU3 switches back to app-103 with a full switch_mm flush: the deferral from G1 is paid
//       there, nothing added.
// Totals: observed 9 shootdowns / 8 IPIs / 5 requests; P1 5 / 5 / 4: avoided 4 shootdowns, 3 IPIs.
// CPU time: 3 IPIs x 2 us + G3b's flushes (2 targets x 2 pages + 2 local pages) x 100 ns = 6.6 us.

import { describe, expect, it } from 'vitest';
import { FtraceText, analyzeText, thread } from '../../test/policies/ftrace-builder.js';

const app = [thread('app', 100, 100), thread('app', 101, 100), thread('app', 102, 100), thread('app', 103, 100)] as const;
const other = thread('dpkg', 200, 200);

function generationTrace(): FtraceText {
  const t = new FtraceText(4);
  t.switchTo(0, app[0], -1).switchTo(0, app[1], null).switchTo(0, app[2], null).switchTo(0, app[3], null).switchTo(0, app[0], null);
  t.switchTo(1, app[1], -1);
  t.switchTo(2, app[2], -1);
  t.switchTo(3, app[3], -1).switchTo(3, other, -1);
  t.wait(100);
  // G1
  t.syscall(0, 'munmap', 'addr: 0x7f4628628000, len: 0x10000');
  t.shootdown(0, 16, [
    { cpu: 1, task: app[1], outcome: { kind: 'ranged', pages: 16 } },
    { cpu: 2, task: app[2], outcome: { kind: 'ranged', pages: 16 } },
    { cpu: 3, task: other, outcome: { kind: 'wrongCpu' } },
  ], { pages: 16 });
  t.wait(100);
  // G2a and G2b, concurrent on CPU1
  t.syscall(0, 'mprotect', 'start: 0x7f4627b32000, len: 0x4000, prot: 1');
  t.queueOnly(0, 4, [{ cpu: 1, task: app[1], outcome: { kind: 'full' } }], { pages: 4 });
  t.syscall(2, 'madvise', 'start: 0x7f4627b40000, len_in: 0x2000, behavior: 4');
  t.queueOnly(2, 2, [{ cpu: 1, task: app[1], outcome: { kind: 'empty' }, ipi: false }], { pages: 2 });
  t.handler({ cpu: 1, task: app[1], outcome: { kind: 'full' } }, 251, 0);
  t.handler({ cpu: 1, task: app[1], outcome: { kind: 'empty' }, ipi: false }, 251, 2);
  t.wait(100);
  // G3a, G3b
  t.syscall(1, 'madvise', 'start: 0x7f4627c00000, len_in: 0x2000, behavior: 4');
  t.syscall(0, 'munmap', 'addr: 0x7f4627800000, len: 0x200000');
  t.shootdown(0, -1, [
    { cpu: 1, task: app[1], outcome: { kind: 'full' } },
    { cpu: 2, task: app[2], outcome: { kind: 'full' } },
  ], { pages: -1 });
  t.wait(20);
  t.shootdown(1, 2, [
    { cpu: 0, task: app[0], outcome: { kind: 'ranged', pages: 2 } },
    { cpu: 2, task: app[2], outcome: { kind: 'ranged', pages: 2 } },
  ], { pages: 2 });
  t.wait(100);
  // G4
  t.switchTo(3, app[3], -1);
  t.wait(100);
  return t;
}

describe('generation (P1)', () => {
  it('defers CPUs not running the mm, skips covered CPUs and completed generations', async () => {
    const s = await analyzeText(generationTrace(), { policies: ['observed', 'generation'] });
    expect([s.policies.observed!.shootdowns, s.policies.observed!.ipis]).toEqual([s.observed.remoteShootdowns.total, s.observed.ipis.tlb]);
    expect(s.observed.requests).toBe(5);
    expect(s.observed.remoteShootdowns.total).toBe(9);
    expect(s.observed.ipis.tlb).toBe(8);
    const p = s.policies.generation!;
    expect(p.requests).toBe(4);
    expect(p.shootdowns).toBe(5);
    expect(p.ipis).toBe(5);
    expect(p.avoidedShootdowns).toBe(4);
    expect(p.avoidedIpis).toBe(3);
    expect(p.extra).toMatchObject({ requestsAvoided: 1, deferredNotLoaded: 1, coveredByGeneration: 1, coalesced: 0, deferred: 1, deferredStillOwedAtEnd: 0 });
    expect(p.fullFlushesAdded).toBe(0);
    expect(p.deferralDelayUs?.count).toBe(1);
    expect(p.cpuTimeSavedUs).toBe(6.6);
    expect(p.notes.join(' ')).toMatch(/upper bound/i);
  });

  it('coalesces concurrent requests to one CPU when callback outcomes are not used', async () => {
    const s = await analyzeText(generationTrace(), { policies: ['generation'], params: { 'generation.useCallbackOutcomes': false } });
    const p = s.policies.generation!;
    expect(p.shootdowns).toBe(5);
    expect(p.ipis).toBe(5);
    expect(p.extra).toMatchObject({ coveredByGeneration: 0, coalesced: 1 });
  });
});

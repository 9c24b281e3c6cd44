// P2 targeted: a hand-built 6.18-style trace (csd/ipi events, remote reason 5), 4 CPUs.
//
// Process app (tgid 100): app-100 on CPU0 (the initiator), app-101 running on CPU1, app-102 ran on
// CPU2 and left it idle (lazy, mm still loaded), app-103 ran on CPU3 and was switched out for
// another process (mm not loaded; its bit stays in the 6.14+ mm_cpumask). The threads first take
// turns on CPU0 with no switch_mm flush (same mm).
//
//   R1 munmap, page tables freed: unfiltered IPI to CPUs 1,2,3 (ipi_send_cpumask)
//        CPU1 tlb_flush 1 pages 16 | CPU2 tlb_flush 0 (lazy -> init_mm) | CPU3 tlb_flush 5
//        observed 3 shootdowns, 3 IPIs      P2: CPU1 only -> 1 shootdown, 1 IPI
//   R2 mprotect, filtered by should_flush_tlb(): CPU1 only (ipi_send_cpu), tlb_flush 1 pages 4
//        observed 1/1                       P2: 1/1
//   R3 munmap again, unfiltered: CPU1 (tlb_flush 1 pages 8), CPU2 (now in init_mm but still in the
//        lazy mask: tlb_flush 5)            observed 2/2      P2: 1/1
//   S3 right after R3, tlb_remove_table_sync_one() to CPUs 1,2,3: 3 IPIs, no shootdown. R3 already
//        IPI'd every CPU of mm_cpumask (CPUs 1,2; CPU3 left it at R1's reason 5): dropped under P2.
//   S4 5 ms later (app-100 was switched out for idle in between: not right after a flush), another
//        table sync: 3 IPIs observed; P2 upper bound =
//        non-lazy CPUs running app = {CPU1} -> 1 IPI; lower bound 0.
// Totals: observed 6 shootdowns, 3+1+2+3+3 = 12 IPIs. P2: 3 shootdowns, 1+1+1+0+1 = 4 IPIs.
// Avoided: 3 shootdowns (reason 5: 2 = R1 CPU3, R3 CPU2; lazy: 1 = R1 CPU2, page tables freed),
// 8 IPIs; with no lockless walker (lower bound) 3 IPIs.

import { describe, expect, it } from 'vitest';
import { FtraceText, analyzeText, idle, thread } from '../../test/policies/ftrace-builder.js';

const app = [thread('app', 100, 100), thread('app', 101, 100), thread('app', 102, 100), thread('app', 103, 100)] as const;
const other = thread('dpkg', 200, 200);

function targetedTrace(): FtraceText {
  const t = new FtraceText(4);
  // the threads take turns on CPU0: no switch_mm flush between them (one mm)
  t.switchTo(0, app[0], -1).switchTo(0, app[1], null).switchTo(0, app[2], null).switchTo(0, app[3], null).switchTo(0, app[0], null);
  t.switchTo(1, app[1], -1);
  t.switchTo(2, app[2], -1).switchTo(2, idle(2), null); // CPU2 goes lazy with app's mm loaded
  t.switchTo(3, app[3], -1).switchTo(3, other, -1); // CPU3 switches to another mm
  t.wait(100);
  // R1: munmap with freed page tables: unfiltered
  t.syscall(0, 'munmap', 'addr: 0x7f4628628000, len: 0x10000');
  t.shootdown(0, 16, [
    { cpu: 1, task: app[1], outcome: { kind: 'ranged', pages: 16 } },
    { cpu: 2, task: idle(2), outcome: { kind: 'lazy' } },
    { cpu: 3, task: other, outcome: { kind: 'wrongCpu' } },
  ], { pages: 16 });
  t.wait(100);
  // R2: mprotect, filtered
  t.syscall(0, 'mprotect', 'start: 0x7f4627b32000, len: 0x4000, prot: 1');
  t.shootdown(0, 4, [{ cpu: 1, task: app[1], outcome: { kind: 'ranged', pages: 4 } }], { pages: 4 });
  t.wait(100);
  // R3 + S3: munmap freeing tables, then the table sync right after it
  t.syscall(0, 'munmap', 'addr: 0x7f4627b40000, len: 0x8000');
  t.shootdown(0, 8, [
    { cpu: 1, task: app[1], outcome: { kind: 'ranged', pages: 8 } },
    { cpu: 2, task: idle(2), outcome: { kind: 'wrongCpu' } },
  ], { pages: 8 });
  t.tableSync(0);
  t.switchTo(0, idle(0), null).wait(5000).switchTo(0, app[0], null);
  // S4: a table sync with no flush just before it
  t.tableSync(0);
  t.wait(100);
  return t;
}

describe('targeted (P2)', () => {
  it('skips reason-5 and lazy CPUs, bounds the table syncs', async () => {
    const s = await analyzeText(targetedTrace(), { policies: ['observed', 'targeted'] });
    expect([s.policies.observed!.shootdowns, s.policies.observed!.ipis]).toEqual([s.observed.remoteShootdowns.total, s.observed.ipis.tlb]);
    // the scenario as the model saw it
    expect(s.observed.remoteShootdowns.total).toBe(6);
    expect(s.observed.ipis.tlb).toBe(12);
    expect(s.observed.remoteShootdowns.byOutcome).toEqual({ ranged: 3, switchToInitMm: 1, wrongCpu: 2 });
    const p = s.policies.targeted!;
    expect(p.shootdowns).toBe(3);
    expect(p.ipis).toBe(4);
    expect(p.avoidedShootdowns).toBe(3);
    expect(p.avoidedIpis).toBe(8);
    expect(p.extra).toMatchObject({
      avoidedWrongCpu: 2,
      avoidedLazy: 1,
      avoidedLazyFreedTables: 1,
      avoidedNotRunning: 0,
      tableSyncRequests: 2,
      tableSyncDropped: 1,
      tableSyncCallbacksObserved: 6,
      tableSyncCallbacksUpper: 1,
      tableSyncCallbacksLower: 0,
      tableSyncIpisUpper: 1,
      ipisLowerBound: 3,
    });
    expect(p.rangedToFull).toBe(0);
    expect(p.fullFlushesAdded).toBe(0);
    // cost: 8 IPIs x 2 us; the avoided callbacks flushed nothing
    expect(p.cpuTimeSavedUs).toBe(16);
  });

  it('leaves table syncs as traced with tableSync=kernel (the flush clause alone, as the counterfactual kernel)', async () => {
    const s = await analyzeText(targetedTrace(), { policies: ['targeted'], params: { 'targeted.tableSync': 'kernel' } });
    const p = s.policies.targeted!;
    // flushes as above (3 shootdowns, 1 + 1 + 1 IPIs); S3 and S4 keep their 3 IPIs each
    expect([p.shootdowns, p.ipis]).toEqual([3, 9]);
    expect(p.extra).toMatchObject({ tableSyncRequests: 2, tableSyncDropped: 0, tableSyncCallbacksUpper: 0 });
  });
});

// P4 deferred to next switch, variants A and B: a hand-built 6.18-style trace, 4 CPUs. Process app
// (tgid 100): app-100 on CPU0 (initiator), app-101 running on CPU1, app-102 left CPU2 idle (lazy,
// mm loaded), app-103 was switched out on CPU3 for another process (mm not loaded, bit stale).
//
//   F1 munmap, page tables freed (unfiltered): CPU1 tlb_flush 1 pages 16, CPU2 tlb_flush 0 (lazy),
//      CPU3 tlb_flush 5                                                  observed 3 shootdowns, 3 IPIs
//   F2 mprotect (write-protect): CPU1 tlb_flush 1 pages 4                observed 1 / 1
//   F3 madvise(MADV_DONTNEED) (unmap): CPU1 tlb_flush 1 pages 2          observed 1 / 1
//   then app-101 leaves CPU1 for idle, and CPU3 switches back to app-103 (switch_mm full flush).
// A: CPU3 (mm not loaded) deferred to its switch-in; CPU2 is lazy but tables were freed: kept.
//    -> 4 shootdowns / 4 IPIs, avoided 1 / 1; one deferral paid at CPU3's switch-in, where the
//    kernel flushed fully anyway: nothing added. CPU time: 1 IPI = 2 us.
// B: also the running CPU1 for F2 (write-protect) and F3 (unmap), not for F1 (tables freed); CPU1
//    flushes fully when app-101 switches out: 1 full flush added, 3 delays recorded.
//    -> 2 / 2, avoided 3 / 3. CPU time: 3 IPIs x 2 us + (4 + 2 entries) x 100 ns - 5 us = 1.6 us.
// B with classes=writeProtect: F3 is kept -> 3 / 3.

import { describe, expect, it } from 'vitest';
import { FtraceText, analyzeText, idle, thread } from '../../test/policies/ftrace-builder.js';

const app = [thread('app', 100, 100), thread('app', 101, 100), thread('app', 102, 100), thread('app', 103, 100)] as const;
const other = thread('dpkg', 200, 200);

function deferredTrace(): FtraceText {
  const t = new FtraceText(4);
  t.switchTo(0, app[0], -1).switchTo(0, app[1], null).switchTo(0, app[2], null).switchTo(0, app[3], null).switchTo(0, app[0], null);
  t.switchTo(1, app[1], -1);
  t.switchTo(2, app[2], -1).switchTo(2, idle(2), null);
  t.switchTo(3, app[3], -1).switchTo(3, other, -1);
  t.wait(100);
  t.syscall(0, 'munmap', 'addr: 0x7f4628628000, len: 0x10000');
  t.shootdown(0, 16, [
    { cpu: 1, task: app[1], outcome: { kind: 'ranged', pages: 16 } },
    { cpu: 2, task: idle(2), outcome: { kind: 'lazy' } },
    { cpu: 3, task: other, outcome: { kind: 'wrongCpu' } },
  ], { pages: 16 });
  t.wait(100);
  t.syscall(0, 'mprotect', 'start: 0x7f4627b32000, len: 0x4000, prot: 1');
  t.shootdown(0, 4, [{ cpu: 1, task: app[1], outcome: { kind: 'ranged', pages: 4 } }], { pages: 4 });
  t.wait(100);
  t.syscall(0, 'madvise', 'start: 0x7f4627b40000, len_in: 0x2000, behavior: 4');
  t.shootdown(0, 2, [{ cpu: 1, task: app[1], outcome: { kind: 'ranged', pages: 2 } }], { pages: 2 });
  t.wait(500);
  t.switchTo(1, idle(1), null);
  t.wait(500);
  t.switchTo(3, app[3], -1);
  t.wait(100);
  return t;
}

describe('deferred-a / deferred-b (P4)', () => {
  it('A defers only CPUs that do not run the mm', async () => {
    const s = await analyzeText(deferredTrace(), { policies: ['observed', 'deferred-a'] });
    expect([s.policies.observed!.shootdowns, s.policies.observed!.ipis]).toEqual([s.observed.remoteShootdowns.total, s.observed.ipis.tlb]);
    expect(s.observed.remoteShootdowns.total).toBe(5);
    expect(s.observed.ipis.tlb).toBe(5);
    const a = s.policies['deferred-a']!;
    expect(a.risk).toBe('safe');
    expect([a.shootdowns, a.ipis, a.avoidedShootdowns, a.avoidedIpis]).toEqual([4, 4, 1, 1]);
    expect(a.extra).toMatchObject({ deferredNotLoaded: 1, deferredLazy: 0, lazyKeptFreedTables: 1, deferredRunning: 0, deferredStillOwedAtEnd: 0 });
    expect(a.fullFlushesAdded).toBe(0);
    expect(a.deferralDelayUs?.count).toBe(1);
    expect(a.cpuTimeSavedUs).toBe(2);
  });

  it('B defers running CPUs for write-protect and unmap flushes, paid at their next switch', async () => {
    const s = await analyzeText(deferredTrace(), { policies: ['deferred-b'] });
    const b = s.policies['deferred-b']!;
    expect(b.risk).toBe('unsafe');
    expect([b.shootdowns, b.ipis, b.avoidedShootdowns, b.avoidedIpis]).toEqual([2, 2, 3, 3]);
    expect(b.extra).toMatchObject({ deferredRunning: 2, deferredRunningWriteProtect: 1, deferredRunningUnmap: 1, deferredStillOwedAtEnd: 0 });
    expect(b.fullFlushesAdded).toBe(1);
    expect(b.deferralDelayUs?.count).toBe(3);
    expect(b.cpuTimeSavedUs).toBe(1.6);
  });

  it('B honours the classes parameter', async () => {
    const s = await analyzeText(deferredTrace(), { policies: ['deferred-b'], params: { 'deferred-b.classes': 'writeProtect' } });
    const b = s.policies['deferred-b']!;
    expect([b.shootdowns, b.ipis]).toEqual([3, 3]);
    expect(b.extra).toMatchObject({ deferredRunningWriteProtect: 1, deferredRunningUnmap: 0 });
  });
});

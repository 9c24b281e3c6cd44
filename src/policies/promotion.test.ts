// P5 promotion: a hand-built 6.18-style trace, 2 CPUs: app-100 (CPU0) changes protections of a
// region A = 0x7f0000000000 while app-101 (CPU1, same process) keeps running, so each flush has one
// remote target (tlb_flush 1 on CPU1). Pages: A+0x0000 .. A+0x5fff.
//
//   1 mprotect(A, 0x4000, PROT_READ)          flush 4 pages: first time A is seen -> undecidable
//   2 mprotect(A, 0x4000, PROT_READ|WRITE)    flush 4 pages: 1 -> 3 is a superset -> avoidable
//   3 mprotect(A, 0x4000, PROT_READ)          flush 4 pages: 3 -> 1 removes WRITE -> needed
//   4 mprotect(A+0x2000, 0x4000, READ|WRITE)  flush 4 pages: half the range never seen -> undecidable
//   5 munmap(A, 0x2000)                       flush 2 pages (not an mprotect: kept); A+0..0x1fff forgotten
//   6 mprotect(A+0x2000, 0x2000, RWX)         flush 2 pages: 3 -> 7 adds PROT_EXEC, clearing _PAGE_NX
//                                             (flush_on_change): needed, though a superset of 3
// Like the qemu captures, every mprotect is traced twice (raw_syscalls:sys_enter, then
// syscalls:sys_enter_mprotect); the second must not count as a call of its own.
// Observed: 6 requests, 6 shootdowns, 6 IPIs. P5: request 2 disappears -> 5 / 5 / 5, avoided 1 / 1.
// mprotect calls 5 (promotions 1, demotions 2, undecidable 2); flushes inside an mprotect 5:
// avoidable 1, undecidable 2, demotion 2. CPU time: 1 IPI x 2 us + (4 remote + 4 local entries) x
// 100 ns = 2.8 us.

import { describe, expect, it } from 'vitest';
import { FtraceText, analyzeText, thread } from '../../test/policies/ftrace-builder.js';
import { ProtectionMap, pageRange, pteChange } from './promotion.js';

const app = [thread('app', 100, 100), thread('app', 101, 100)] as const;

function promotionTrace(): FtraceText {
  const t = new FtraceText(2);
  t.switchTo(0, app[0], -1).switchTo(0, app[1], null).switchTo(0, app[0], null);
  t.switchTo(1, app[1], -1);
  t.wait(100);
  const mprotect = (start: string, len: string, prot: number) => {
    t.rawSyscall(0, 10, [start, len, String(prot)]);
    t.syscall(0, 'mprotect', `start: 0x${start}, len: 0x${len}, prot: ${prot}`);
  };
  const flush = (pages: number) => t.shootdown(0, pages, [{ cpu: 1, task: app[1], outcome: { kind: 'ranged', pages } }], { pages }).wait(20);
  mprotect('7f0000000000', '4000', 1);
  flush(4);
  mprotect('7f0000000000', '4000', 3);
  flush(4);
  mprotect('7f0000000000', '4000', 1);
  flush(4);
  mprotect('7f0000002000', '4000', 3);
  flush(4);
  t.syscall(0, 'munmap', 'addr: 0x7f0000000000, len: 0x2000');
  flush(2);
  mprotect('7f0000002000', '2000', 7);
  flush(2);
  t.wait(100);
  return t;
}

describe('promotion (P5)', () => {
  it('skips flushes of mprotect calls that only add permissions', async () => {
    const s = await analyzeText(promotionTrace(), { policies: ['observed', 'promotion'] });
    expect([s.policies.observed!.shootdowns, s.policies.observed!.ipis]).toEqual([s.observed.remoteShootdowns.total, s.observed.ipis.tlb]);
    expect(s.observed.requests).toBe(6);
    expect(s.observed.remoteShootdowns.total).toBe(6);
    const p = s.policies.promotion!;
    expect([p.requests, p.shootdowns, p.ipis, p.avoidedShootdowns, p.avoidedIpis]).toEqual([5, 5, 5, 1, 1]);
    expect(p.extra).toEqual({
      mprotectCalls: 5,
      mprotectPromotions: 1,
      mprotectDemotions: 2,
      mprotectUndecidable: 2,
      mprotectFlushes: 5,
      avoidable: 1,
      undecidable: 2,
      demotionFlushes: 2,
    });
    expect(p.cpuTimeSavedUs).toBe(2.8);
  });
});

describe('pteChange', () => {
  // PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4; what pte_flags_need_flush() sees on x86
  it('lets only a _PAGE_RW set through; NX changes and removals flush', () => {
    expect(pteChange(1, 3)).toBe('rwSet'); // R -> RW
    expect(pteChange(5, 7)).toBe('rwSet'); // RX -> RWX
    expect(pteChange(1, 5)).toBe('flush'); // R -> RX clears _PAGE_NX
    expect(pteChange(3, 7)).toBe('flush'); // RW -> RWX clears _PAGE_NX
    expect(pteChange(5, 1)).toBe('flush'); // RX -> R sets _PAGE_NX
    expect(pteChange(3, 1)).toBe('flush'); // RW -> R clears _PAGE_RW
    expect(pteChange(3, 0)).toBe('flush'); // -> PROT_NONE: not present
    expect(pteChange(0, 3)).toBe('none'); // from PROT_NONE: not present, pte_needs_flush() is false
    expect(pteChange(3, 3)).toBe('none');
  });
});

describe('ProtectionMap', () => {
  it('answers only for fully known ranges, splits and forgets', () => {
    const m = new ProtectionMap();
    const [a, b] = pageRange(0x1000, 0x3000); // [0x1000, 0x4000)
    m.assign(a, b, 1);
    expect(m.lookup(0x1000, 0x4000)).toEqual([1]);
    expect(m.lookup(0x0, 0x2000)).toBeNull();
    m.assign(0x2000, 0x3000, 3);
    expect(m.lookup(0x1000, 0x4000)).toEqual([1, 3, 1]);
    m.remove(0x1000, 0x2000);
    expect(m.lookup(0x1000, 0x4000)).toBeNull();
    expect(m.lookup(0x2000, 0x4000)).toEqual([3, 1]);
    expect(pageRange(0x1001, 0x10)).toEqual([0x1000, 0x2000]);
  });
});

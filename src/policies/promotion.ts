// P5 no flush on permission promotion (DOMAIN.md §5), after Nadav Amit's RFC patch 03
// "mm/mprotect: do not flush on permission promotion": when mprotect() only ADDS permissions, a stale
// TLB entry is merely more restrictive than the PTE; an access through it faults, the fault handler
// finds the PTE already permissive (a spurious fault), and x86 drops the faulting entry on #PF, so
// the retry walks the new PTE. The flush can be skipped.
//
// What mainline x86 does (5.19+, pte_needs_flush() -> pte_flags_need_flush() in
// arch/x86/include/asm/tlbflush.h): no flush when the old PTE was not present (PROT_NONE -> any) or
// only the accessed bit changed; but _PAGE_RW and _PAGE_NX are in `flush_on_change`, so a
// PROT_READ -> PROT_READ|PROT_WRITE promotion STILL flushes on 6.18. DOMAIN.md's "expect ~0 on new
// kernels" holds only for promotions from PROT_NONE; the 6.18 mt-mixed capture shows one flush per
// RO -> RW mprotect (the "relaxed" RW handling of Amit's 2022 RFC was not merged).
//
// The rule replayed is the one the counterfactual `promotion` kernel implements
// (../shared/capture/counterfactual/promotion.patch: change_pte_range() calls pte_needs_flush() with
// _PAGE_RW of the new PTE ORed into the old one): a PTE change that only sets _PAGE_RW needs no
// flush. _PAGE_NX stays in flush_on_change, so adding or removing PROT_EXEC still flushes: R -> RX
// and RW -> RWX clear _PAGE_NX and flush there too (a superset test on PROT_* bits called those
// promotions).
//
// Replay: a per-mm protection map (page-aligned intervals -> PROT_* bits) is built from the mprotect()
// calls seen in the trace; munmap() and mremap() forget the ranges they remove (the trace has no mmap
// addresses). At each mprotect() entry the new protection is compared with the map over the whole
// range (pteChange()), then the map is updated. A flush request caused by that mprotect (same task,
// before its next syscall) is
//   - avoidable when every byte of the range had a known old protection, some part only gains
//     PROT_WRITE and no part loses access, loses PROT_WRITE or changes PROT_EXEC;
//   - `undecidable` when part of the range has no known protection (no earlier mprotect of it);
//   - kept otherwise (the flush is needed), and always when it is flush_tlb_batched_pending()'s.
// Avoidable requests disappear entirely: local flush, callbacks and IPIs.

import type { FlushRequest, ModelEvent, SyscallModelEvent } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { Tally } from './replay.js';

const PAGE = 4096;
/** the same syscall entry recorded by two tracepoints lands within microseconds */
const DUPLICATE_WINDOW_NS = 1_000_000;
/** PROT_READ | PROT_WRITE | PROT_EXEC (include/uapi/asm-generic/mman-common.h) */
const PROT_MASK = 7;

interface Interval {
  start: number;
  end: number;
  prot: number;
}

/** Protections of one address space: sorted, non-overlapping, half-open page-aligned intervals. */
export class ProtectionMap {
  private list: Interval[] = [];

  /** old protections over [start, end): null when some part is unknown */
  lookup(start: number, end: number): number[] | null {
    const out: number[] = [];
    let at = start;
    for (const iv of this.list) {
      if (iv.end <= at) continue;
      if (iv.start >= end) break;
      if (iv.start > at) return null; // a hole
      out.push(iv.prot);
      at = iv.end;
      if (at >= end) return out;
    }
    return at >= end ? out : null;
  }

  remove(start: number, end: number): void {
    // (munmap storms: most calls touch no interval this map knows)
    const i = this.firstEndingAfter(start);
    if (i === this.list.length || this.list[i]!.start >= end) return;
    const next: Interval[] = [];
    for (const iv of this.list) {
      if (iv.end <= start || iv.start >= end) {
        next.push(iv);
        continue;
      }
      if (iv.start < start) next.push({ start: iv.start, end: start, prot: iv.prot });
      if (iv.end > end) next.push({ start: end, end: iv.end, prot: iv.prot });
    }
    this.list = next;
  }

  /**
   * Index of the first interval that ends after `at`, or the list's length. A binary search: the
   * intervals are sorted and disjoint, so their ends are sorted too, and a munmap storm asks this
   * once per call of maps that hold thousands of intervals.
   */
  private firstEndingAfter(at: number): number {
    const list = this.list;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.end <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  assign(start: number, end: number, prot: number): void {
    this.remove(start, end);
    let i = 0;
    while (i < this.list.length && this.list[i]!.start < start) i++;
    this.list.splice(i, 0, { start, end, prot });
  }

  get size(): number {
    return this.list.length;
  }
}

type Verdict = 'promotion' | 'demotion' | 'undecidable';

const PROT_WRITE = 2;
const PROT_EXEC = 4;

/**
 * What an mprotect() from `oldProt` to `newProt` does to a present x86 PTE, by the bits
 * pte_flags_need_flush() looks at (arch/x86/include/asm/tlbflush.h): 'none' (not present before:
 * pte_needs_flush() is false; or no bit changes), 'rwSet' (only _PAGE_RW set: PROT_WRITE added,
 * PROT_EXEC unchanged), 'flush' (present cleared, _PAGE_RW cleared, or _PAGE_NX changed: PROT_EXEC
 * added or removed, R -> RX and RW -> RWX included). PROT_READ alone is present and NX; x86 has no
 * present page that is not readable.
 */
export function pteChange(oldProt: number, newProt: number): 'none' | 'rwSet' | 'flush' {
  if ((oldProt & PROT_MASK) === 0) return 'none';
  if ((newProt & PROT_MASK) === 0) return 'flush';
  if ((oldProt & PROT_EXEC) !== (newProt & PROT_EXEC)) return 'flush';
  const w0 = (oldProt & PROT_WRITE) !== 0;
  const w1 = (newProt & PROT_WRITE) !== 0;
  if (w0 && !w1) return 'flush';
  return !w0 && w1 ? 'rwSet' : 'none';
}

// not `& ~(PAGE - 1)`: bitwise operators truncate to 32 bits
const pageStart = (start: number) => Math.floor(start / PAGE) * PAGE;
const pageEnd = (start: number, len: number) => Math.ceil((start + len) / PAGE) * PAGE;

export function pageRange(start: number, len: number): [number, number] {
  return [pageStart(start), pageEnd(start, len)];
}

/**
 * Per task: its last syscall entry (name and first three arguments, to recognise one call traced
 * twice; name '' = none) and the verdict of its mprotect() in progress (null = none). One record
 * per task, updated in place: a munmap storm is a million entries.
 */
interface TaskState {
  name: string;
  a0: number | undefined;
  a1: number | undefined;
  a2: number | undefined;
  ts: number;
  verdict: Verdict | null;
  verdictTs: number;
}

/** records holding neither an entry nor a verdict are dropped when the table reaches this size */
const TASK_TABLE_PRUNE = 4096;

export const promotion: PolicyDefinition = {
  name: 'promotion',
  title: 'P5 no flush on permission promotion (Amit RFC 03)',
  rule: 'A flush inside an mprotect() whose only PTE change is setting _PAGE_RW (PROT_WRITE added, PROT_EXEC unchanged) is skipped (the stale read-only entry only causes a spurious fault); a change of _PAGE_NX (PROT_EXEC) or a removed permission still flushes; unknown old protection is undecidable.',
  source: 'Nadav Amit, RFC "TLB batching consolidation and enhancements" (2021), patch 03 "mm/mprotect: do not flush on permission promotion"; x86 pte_needs_flush() (5.19) merged only the not-present part',
  risk: 'arch-dependent',
  riskReason: 'relies on the architecture dropping the stale entry on the permission fault and re-walking the page table (spurious-fault handling); x86 does, but mainline skips only PROT_NONE promotions',
  params: [],
  create(ctx) {
    const tally = new Tally(ctx);
    const maps = new Map<number, ProtectionMap>();
    const tasks = new Map<number, TaskState>();
    let pruneAt = TASK_TABLE_PRUNE;
    const n = { mprotectCalls: 0, mprotectPromotions: 0, mprotectDemotions: 0, mprotectUndecidable: 0, mprotectFlushes: 0, avoidable: 0, undecidable: 0, demotionFlushes: 0 };

    function mapOf(mm: number): ProtectionMap {
      let m = maps.get(mm);
      if (m === undefined) {
        m = new ProtectionMap();
        maps.set(mm, m);
      }
      return m;
    }

    /** the task's record, made on first use (a record with name '' and no verdict = nothing known) */
    function taskState(pid: number): TaskState {
      let t = tasks.get(pid);
      if (t === undefined) {
        if (tasks.size >= pruneAt) {
          for (const [k, x] of tasks) if (x.name === '' && x.verdict === null) tasks.delete(k);
          pruneAt = Math.max(TASK_TABLE_PRUNE, tasks.size * 2);
        }
        t = { name: '', a0: undefined, a1: undefined, a2: undefined, ts: 0, verdict: null, verdictTs: 0 };
        tasks.set(pid, t);
      }
      return t;
    }

    function onSyscall(e: SyscallModelEvent): void {
      const name = e.e.name;
      // only calls that change protections or remove ranges matter here (madvise storms are common)
      if (name !== 'mprotect' && name !== 'pkey_mprotect' && name !== 'munmap' && name !== 'mremap') {
        // another call: ends the task's mprotect() and its last entry
        // (size check first: in a madvise storm the table is empty and this runs a million times)
        if (tasks.size > 0) {
          const t = tasks.get(e.e.pid);
          if (t !== undefined) {
            t.name = '';
            t.verdict = null;
          }
        }
        return;
      }
      const a = e.e.args;
      // With both raw_syscalls:sys_enter and syscalls:sys_enter_mprotect enabled (the qemu captures)
      // every call is traced twice, `sys_enter: NR 10 (...)` then `sys_mprotect(...)`: the second
      // must not be read as a new mprotect whose old protection is the first one's new one.
      // (compared as numbers: a munmap storm is a million calls, too many to build keys for)
      const a0 = a.start ?? a.addr ?? a.arg0;
      const a1 = a.len ?? a.old_len ?? a.len_in ?? a.arg1;
      const a2 = a.prot ?? a.behavior ?? a.arg2;
      const t = taskState(e.e.pid);
      const same = t.name === name && t.a0 === a0 && t.a1 === a1 && t.a2 === a2 && e.ts - t.ts <= DUPLICATE_WINDOW_NS;
      t.name = name;
      t.a0 = a0;
      t.a1 = a1;
      t.a2 = a2;
      t.ts = e.ts;
      if (same) return;
      t.verdict = null;
      switch (e.e.name) {
        case 'mprotect':
        case 'pkey_mprotect': {
          const start = a.start ?? a.arg0;
          const len = a.len ?? a.arg1;
          const prot = a.prot ?? a.arg2;
          if (start === undefined || len === undefined || prot === undefined) return;
          const s = pageStart(start);
          const end = pageEnd(start, len);
          const p = Number(prot) & PROT_MASK;
          const map = mapOf(e.mm);
          const old = map.lookup(s, end);
          let verdict: Verdict;
          if (old === null) verdict = 'undecidable';
          else {
            const changes = old.map((o) => pteChange(o, p));
            verdict = changes.some((c) => c === 'flush') ? 'demotion' : changes.some((c) => c === 'rwSet') ? 'promotion' : 'demotion';
          }
          n.mprotectCalls++;
          if (verdict === 'promotion') n.mprotectPromotions++;
          else if (verdict === 'demotion') n.mprotectDemotions++;
          else n.mprotectUndecidable++;
          t.verdict = verdict;
          t.verdictTs = e.ts;
          map.assign(s, end, p);
          return;
        }
        case 'munmap': {
          const start = a.addr ?? a.start ?? a.arg0;
          const len = a.len ?? a.arg1;
          if (start !== undefined && len !== undefined) mapOf(e.mm).remove(pageStart(start), pageEnd(start, len));
          return;
        }
        case 'mremap': {
          const start = a.addr ?? a.arg0;
          const len = a.old_len ?? a.arg1;
          if (start !== undefined && len !== undefined) mapOf(e.mm).remove(pageStart(start), pageEnd(start, len));
          return;
        }
        default:
          return;
      }
    }

    function onRequest(req: FlushRequest): void {
      tally.observe(req);
      const t = tasks.size > 0 ? tasks.get(req.pid) : undefined;
      if (t !== undefined) t.name = ''; // a repeated call after a flush is a new call
      const verdict = t !== undefined ? t.verdict : null;
      if (req.kind === 'tableSync' || req.batchedPending || verdict === null || req.ts < t!.verdictTs || (req.cause !== 'mprotect' && req.cause !== 'pkey_mprotect')) {
        tally.keepAsObserved(req);
        return;
      }
      n.mprotectFlushes++;
      if (verdict === 'promotion') {
        n.avoidable++;
        for (const tg of req.targets) tally.drop(req, tg);
        return;
      }
      if (verdict === 'undecidable') n.undecidable++;
      else n.demotionFlushes++;
      tally.keepAsObserved(req);
    }

    return {
      reads: ['request', 'syscall', 'mmExit'],
      // every protection change and unmap updates the range map; others only end a call (coalesced)
      everySyscall: ['mprotect', 'pkey_mprotect', 'munmap', 'mremap'],
      onEvent(e: ModelEvent) {
        switch (e.type) {
          case 'request':
            onRequest(e.req);
            break;
          case 'syscall':
            onSyscall(e);
            break;
          case 'mmExit':
            maps.delete(e.mm);
            break;
          default:
            break;
        }
      },
      finish() {
        Object.assign(tally.extra, n);
        tally.notes.push(
          'x86 pte_needs_flush() (5.19+) skips only promotions from a not-present PTE (PROT_NONE); a PROT_READ -> PROT_READ|PROT_WRITE change is in flush_on_change and still flushes, so RO -> RW promotions are what this policy finds on new kernels.',
          'Old protections come only from earlier mprotect() calls in the trace (no mmap history): a range first seen in this mprotect is undecidable.',
        );
        if (n.mprotectCalls === 0) tally.notes.push('No mprotect() entries in the trace (enable syscalls:sys_enter_mprotect): nothing to decide.');
        return tally.outcome(false);
      },
    };
  },
};

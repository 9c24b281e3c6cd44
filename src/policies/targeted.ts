// P2 targeted IPIs (DOMAIN.md §5), after Lance Yang's "targeted IPIs for TLB sync with lockless page
// table walkers" and the kernel's own should_flush_tlb() (arch/x86/mm/tlb.c, 6.14+):
//
//   static bool should_flush_tlb(int cpu, void *data)
//   {
//           if (per_cpu(cpu_tlbstate_shared.is_lazy, cpu)) return false;   // lazy: catches up at switch-in
//           if (!info->mm) return true;                                     // batched: no mm
//           if (per_cpu(cpu_tlbstate.loaded_mm, cpu) == info->mm) return true;
//           if (loaded_mm == LOADED_MM_SWITCHING) return true;
//           ...
//   }
//
// P2 applies that filter to EVERY flush, including those the kernel sends unfiltered because page
// tables were freed (flush_tlb_range() passes freed_tables = true in 6.12 and 6.15+, so mremap,
// fork's dup_mmap, khugepaged's pmdp_collapse_flush(), ...). Per target, as should_flush_tlb()
// sees the CPU when the flush is sent (stateAtSend(): the model's snapshot at request time, not
// the callback's later view: an IPI can arrive after the CPU went idle):
//   - kept when the CPU ran the mm, not lazily, or was switching to it, or when the model does not
//     know what that CPU had loaded (then the callback's own evidence decides);
//   - avoided otherwise: every remote reason 5 (mm not loaded), every lazy CPU, and callbacks on
//     CPUs not running the mm.
// A skipped CPU needs no extra flush: it catches up in switch_mm_irqs_off() when it next loads the mm,
// exactly as the kernel's filtered path relies on.
//
// Table-free sync (tlb_remove_table_sync_one() -> smp_call_function(tlb_remove_table_smp_sync) to
// every other online CPU): only CPUs inside a lockless page-table walk (GUP-fast, with IRQs off) of
// that mm need it, and those are not traced; such a walker runs the mm, not lazily. Dropped when the
// task's previous request, with no context switch of it between, was a flush of that mm
// (collapse_huge_page(): pmdp_collapse_flush() then the sync; no timer): its IPIs already reached
// every CPU that can walk the mm (Yang's "flush implies IPI"). Otherwise bounded: upper = non-lazy
// CPUs running that mm, lower = 0;
// the headline `ipis` uses the upper bound. `tableSync=kernel` leaves syncs as traced (the
// counterfactual `targeted` kernel changes only the freed-tables clause).
//
// Caveat: without trimming, the 6.14+ lazy mm_cpumask only grows; the kernel grants trim_cpumask at
// most once a second per mm because an untrimmed mask cost 13.2% in will-it-scale tlb_flush2.

import type { FlushRequest, TargetRecord } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { countsIpis, localPages, Tally, targetPages, targetState, type Callback, type TargetState } from './replay.js';

/**
 * What should_flush_tlb() sees, at send time: the CPU as the request found it (the model's
 * snapshot), not as the callback found it later. An IPI can take milliseconds (under emulation,
 * tens): a CPU running the mm when the flush was sent may be idle, lazy, when it arrives, and
 * switch to init_mm (tlb_flush 0), and one idle then may be running by the time. Only a CPU whose
 * state the model does not know falls back to the callback's own evidence (targetState()).
 */
export function stateAtSend(req: FlushRequest, t: TargetRecord): TargetState {
  const s = req.snapshot;
  if (s.known === undefined || s.known[t.cpu] !== 1) return targetState(req, t);
  if (s.lazy[t.cpu] === 1) return 'lazy';
  if (req.mm === 0 || s.loadedMm[t.cpu] === req.mm) return 'running';
  // another mm loaded, yet the callback found this one loaded and flushed it: switching at send
  // (LOADED_MM_SWITCHING: should_flush_tlb() keeps it)
  return t.outcome === 'ranged' || t.outcome === 'full' || t.outcome === 'zero' ? 'running' : 'notLoaded';
}

export const targeted: PolicyDefinition = {
  name: 'targeted',
  title: 'P2 targeted IPIs (Yang; should_flush_tlb)',
  rule: 'Flush IPIs go only to CPUs running the mm (not lazy) or switching to it when the flush is sent, even when page tables were freed, so no remote reason 5 and no lazy CPU is interrupted; a table-free sync goes only to CPUs that may be in a lockless walk of the mm (bounds), and not at all right after the task\'s flush of that mm (flush implies IPI).',
  source: 'Lance Yang, "targeted IPIs for TLB sync with lockless page table walkers"; should_flush_tlb() in arch/x86/mm/tlb.c (6.14)',
  risk: 'arch-dependent',
  riskReason: 'skipping CPUs that do not have the mm loaded is always safe; skipping lazy CPUs when page tables were freed relies on the architecture not walking freed tables speculatively (x86 sends that IPI for this reason); the table-sync bound relies on lockless walkers running the mm with IRQs off',
  params: [
    { key: 'tableSync', default: 'yang', description: "'yang': table-free syncs go only to CPUs that may be in a lockless walk, none right after a flush of the same mm (Lance Yang's series); 'kernel': left as traced (only the freed-tables clause, what the counterfactual `targeted` kernel changes)" },
  ],
  create(ctx) {
    const tally = new Tally(ctx);
    const yang = String(ctx.params.tableSync) !== 'kernel';
    /** each task's last request since it was last switched in (a table sync right after a flush is that flush's) */
    const lastRequestOfTask = new Map<number, FlushRequest>();
    /** the task each CPU runs (the next of its last switch) */
    const runningOn: number[] = [];
    const n = {
      avoidedWrongCpu: 0,
      avoidedLazy: 0,
      avoidedLazyFreedTables: 0,
      avoidedNotRunning: 0,
      kept: 0,
      tableSyncRequests: 0,
      tableSyncDropped: 0,
      tableSyncCallbacksObserved: 0,
      tableSyncCallbacksUpper: 0,
      tableSyncCallbacksLower: 0,
      tableSyncMmUnknown: 0,
    };
    let tableSyncIpisUpper = 0;

    function onFlush(req: FlushRequest): void {
      tally.requests++;
      tally.localFlush(localPages(req));
      const send: Callback[] = [];
      for (const t of req.targets) {
        const c = t.cpu;
        const state = stateAtSend(req, t);
        if (state === 'running' || state === 'unknown') {
          n.kept++;
          send.push({ cpu: c, pages: targetPages(t), observed: t, shootdown: true });
          continue;
        }
        tally.drop(req, t);
        if (t.outcome === 'wrongCpu') n.avoidedWrongCpu++;
        else if (state === 'lazy') {
          n.avoidedLazy++;
          if (req.freedTables === true) n.avoidedLazyFreedTables++;
        } else n.avoidedNotRunning++;
      }
      tally.send(req.ts, send, undefined, req.cause);
    }

    /**
     * tlb_remove_table_sync_one(): smp_call_function() to every other online CPU, so that no CPU is
     * still inside a lockless page-table walk (GUP-fast, IRQs off) of the table being freed. Only a
     * CPU running the mm, not lazily, can be in such a walk of it (GUP-fast walks current->mm).
     * When the task's previous request, with no context switch between, was a flush of that mm
     * (collapse_huge_page(): pmdp_collapse_flush() then tlb_remove_table_sync_one()), that flush's IPIs
     * already waited for every such CPU (this policy keeps exactly those): the sync is dropped
     * ("flush implies IPI"). Otherwise the bound: upper = the non-lazy CPUs running the mm.
     */
    function onTableSync(req: FlushRequest): void {
      n.tableSyncRequests++;
      n.tableSyncCallbacksObserved += req.targets.filter((t) => t.outcome === 'tableSync').length;
      if (!yang) {
        tally.keepAsObserved(req);
        return;
      }
      const before = lastRequestOfTask.get(req.pid);
      const mm = req.mm !== 0 ? req.mm : (before?.mm ?? 0);
      if (before !== undefined && mm !== 0 && before.mm === mm && before.kind !== 'tableSync') {
        n.tableSyncDropped++;
        for (const t of req.targets) tally.drop(req, t);
        return;
      }
      // upper bound: non-lazy CPUs running that mm; unknown mm: cannot narrow the observed set
      const s = req.snapshot;
      const observedOn = new Map(req.targets.map((t) => [t.cpu, t]));
      const upper: number[] = [];
      if (mm === 0) {
        n.tableSyncMmUnknown++;
        upper.push(...observedOn.keys());
      } else {
        for (let c = 0; c < s.loadedMm.length; c++) if (c !== req.cpu && s.loadedMm[c] === mm && s.lazy[c] === 0) upper.push(c);
      }
      const send: Callback[] = upper.map((c) => {
        const t = observedOn.get(c) ?? null;
        return { cpu: c, deliveredTs: req.closedTs, pages: 0, observed: t, shootdown: false };
      });
      for (const t of req.targets) if (!upper.includes(t.cpu)) tally.drop(req, t);
      n.tableSyncCallbacksUpper += upper.length;
      tableSyncIpisUpper += tally.send(req.ts, send, undefined, req.cause);
    }

    return {
      reads: ['request', 'switch'],
      onEvent(e) {
        if (e.type === 'switch') {
          // the task switched out did something else before its next request: nothing is "right after" across it
          const prev = runningOn[e.cpu];
          if (prev !== undefined) lastRequestOfTask.delete(prev);
          runningOn[e.cpu] = e.pid;
          return;
        }
        if (e.type !== 'request') return;
        const req = e.req;
        tally.observe(req);
        if (req.kind === 'tableSync') onTableSync(req);
        else onFlush(req);
        lastRequestOfTask.set(req.pid, req);
      },
      finish() {
        const out = tally.outcome(false);
        const syncIpis = countsIpis(out.unit) ? tableSyncIpisUpper : 0;
        Object.assign(out.extra, n, {
          tableSyncIpisUpper: syncIpis,
          tableSyncIpisLower: 0,
          ipisLowerBound: out.ipis - syncIpis,
        });
        out.notes.push(
          'Without cpumask trimming the 6.14+ lazy mm_cpumask only grows: the kernel grants trim_cpumask at most once a second per mm after a 13.2% will-it-scale tlb_flush2 regression; this replay does not model that cost.',
          'Table-free sync: the CPUs inside a lockless page-table walk are not traced; `ipis` uses the upper bound (non-lazy CPUs running the mm), `ipisLowerBound` assumes no walker.',
          `${n.avoidedLazyFreedTables} of the ${n.avoidedLazy} lazy CPUs skipped were targeted because page tables were freed (or flush_tlb_range() said so since 6.15): skipping those is the arch-dependent part.`,
        );
        return out;
      },
    };
  },
};

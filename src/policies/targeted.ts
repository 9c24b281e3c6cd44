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
// tables were freed (6.15+: every flush_tlb_range(), so mremap, fork's dup_mmap, ...). Per target:
//   - kept when the callback proves the mm was loaded and not lazy when it ran (tlb_flush 1: ranged,
//     full, or pages=0): a running or switching CPU;
//   - kept when the CPU ran the mm, not lazily, at request time (an empty callback included), or
//     when the model does not know what that CPU had loaded;
//   - avoided otherwise: every remote reason 5 (mm not loaded), every lazy CPU (tlb_flush 0 inside the
//     handler: switch to init_mm), and callbacks on CPUs not running the mm that did nothing.
// A skipped CPU needs no extra flush: it catches up in switch_mm_irqs_off() when it next loads the mm,
// exactly as the kernel's filtered path relies on.
//
// Table-free sync (tlb_remove_table_sync_one() -> smp_call_function(tlb_remove_table_smp_sync) to
// every other online CPU): only CPUs inside a lockless page-table walk (GUP-fast, with IRQs off) of
// that mm need it, and those are not traced. Reported as bounds: upper = non-lazy CPUs running that
// mm (a lockless walker of current->mm runs it), lower = 0. Dropped altogether when the flush just
// before it (same initiator CPU, within syncWindowUs) already IPI'd every CPU in mm_cpumask: Yang's
// "flush implies IPI". The headline `ipis` uses the upper bound.
//
// Caveat: without trimming, the 6.14+ lazy mm_cpumask only grows; the kernel grants trim_cpumask at
// most once a second per mm because an untrimmed mask cost 13.2% in will-it-scale tlb_flush2.

import type { FlushRequest } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { kernelMask, localPages, Tally, targetPages, targetState, type Callback } from './replay.js';

export const targeted: PolicyDefinition = {
  name: 'targeted',
  title: 'P2 targeted IPIs (Yang; should_flush_tlb)',
  rule: 'Flush IPIs go only to CPUs running the mm (not lazy) or switching to it, even when page tables were freed, so no remote reason 5 and no lazy CPU is interrupted; a table-free sync goes only to CPUs that may be in a lockless walk (bounds), and not at all right after a flush that IPI\'d the whole mm_cpumask.',
  source: 'Lance Yang, "targeted IPIs for TLB sync with lockless page table walkers"; should_flush_tlb() in arch/x86/mm/tlb.c (6.14)',
  risk: 'arch-dependent',
  riskReason: 'skipping CPUs that do not have the mm loaded is always safe; skipping lazy CPUs when page tables were freed relies on the architecture not walking freed tables speculatively (x86 sends that IPI for this reason); the table-sync bound relies on lockless walkers running the mm with IRQs off',
  params: [
    { key: 'syncWindowUs', default: 1000, description: 'a table sync within this many microseconds after a flush of the same mm from the same CPU counts as "right after" it (flush implies IPI)' },
  ],
  create(ctx) {
    const tally = new Tally(ctx);
    const windowNs = Number(ctx.params.syncWindowUs) * 1000;
    /** the last flush request started on each CPU */
    const lastFlushOnCpu: Array<FlushRequest | undefined> = [];
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
        const state = targetState(req, t);
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
      tally.send(req.ts, send);
    }

    function onTableSync(req: FlushRequest): void {
      n.tableSyncRequests++;
      n.tableSyncCallbacksObserved += req.targets.filter((t) => t.outcome === 'tableSync').length;
      const prev = lastFlushOnCpu[req.cpu];
      const before = prev !== undefined && req.ts - prev.ts <= windowNs ? prev : undefined;
      const mm = req.mm !== 0 ? req.mm : (before?.mm ?? 0);
      // flush implies IPI: the previous flush of this mm already interrupted every CPU in mm_cpumask
      if (before !== undefined && mm !== 0 && before.mm === mm && before.kind === 'remote') {
        const mask = kernelMask(before, ctx.model.lazyCpumask);
        const hit = new Set(before.targets.map((t) => t.cpu));
        let all = true;
        for (let c = 0; c < mask.length; c++) if (mask[c] && c !== before.cpu && !hit.has(c)) all = false;
        if (all) {
          n.tableSyncDropped++;
          for (const t of req.targets) tally.drop(req, t);
          return;
        }
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
      tableSyncIpisUpper += tally.send(req.ts, send);
    }

    return {
      reads: ['request'],
      onEvent(e) {
        if (e.type !== 'request') return;
        const req = e.req;
        tally.observe(req);
        if (req.kind === 'tableSync') onTableSync(req);
        else {
          onFlush(req);
          lastFlushOnCpu[req.cpu] = req;
        }
      },
      finish() {
        const out = tally.outcome(false);
        Object.assign(out.extra, n, {
          tableSyncIpisUpper: tally.unit() === 'ipi' ? tableSyncIpisUpper : 0,
          tableSyncIpisLower: 0,
          ipisLowerBound: out.ipis - (tally.unit() === 'ipi' ? tableSyncIpisUpper : 0),
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

// P1 generation-tracked flushing (DOMAIN.md §5), after Nadav Amit's RFC "TLB batching consolidation
// and enhancements" (2021): patches 07/08 (x86's tlb_gen made generic, plus the mm's completed
// generation, tlb_gen_completed) and 15-17 (deferred-flush detection, and updating the completed
// generation only when every CPU that needed it has flushed).
//
// With a completed generation per mm, the initiator knows which flushes are already done, and with
// each CPU's generation (cpu_tlbstate.ctxs[asid].tlb_gen) which CPUs still need one. Per request:
//
//  1. Whole request avoided: its generation is already completed (gen <= tlb_gen_completed) and it
//     freed no page tables. The trace does not show when PTEs changed, so the generation is taken
//     as early as it could have been allocated (upper bound): at the initiator's syscall entry, or
//     when its previous flush finished. If a FULL flush of the same mm by another request was issued
//     after that point and finished before this request went out, that flush (flush_tlb_func() full
//     flushes catch up to mm_tlb_gen) completed this generation too.
//  2. Per target CPU, in this order:
//     a. the mm is not loaded there (snapshot, or the callback logged reason 5): avoided, and the CPU
//        pays a full flush at its next switch-in to the mm (switch_mm_irqs_off() flushes when the
//        ASID's tlb_gen is behind). Safe even when page tables were freed: a CPU whose CR3 points at
//        another mm cannot walk this mm's tables; this is why flush_tlb_func() returns at reason 5.
//     b. the CPU is lazy (enter_lazy_tlb(): kernel thread with the mm still loaded, or the callback
//        switched it to init_mm): avoided and charged at switch-in, unless page tables were freed
//        (a lazy CPU can still walk them: native_flush_tlb_multi() sends the unfiltered IPI then).
//     c. the CPU's generation already covers the request (localGen >= gen at request time, or the
//        callback found nothing to do: tlb_flush 1 pages=0, or an empty csd pair): avoided, no flush.
//     d. a callback of this policy for the same mm is still undelivered on that CPU: the two coalesce
//        into one full flush (flush_tlb_func() catches up to mm_tlb_gen in one go).
//     e. otherwise the callback is sent as observed.
//  Requests without an mm (arch_tlbbatch_flush(), kernel-thread initiators) and table-sync IPIs are
//  kept as observed: "arch_tlbbatch_flush has no mm so cannot complete generations".

import type { FlushRequest, ModelEvent } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { SwitchInDeferrals } from './deferrals.js';
import { localPages, Tally, targetPages, targetState, type Callback } from './replay.js';

/** A finished full flush of an mm: a candidate to complete later requests' generations. */
interface CompletedFull {
  ts: number;
  closedTs: number;
  pid: number;
}

/** how many recent full flushes per mm are kept to look for coverage */
const RECENT_FULL = 32;

export const generation: PolicyDefinition = {
  name: 'generation',
  title: 'P1 generation-tracked (Amit RFC 07/08/15/17)',
  rule: 'Skip a request whose TLB generation is already completed (tlb_gen_completed) and that freed no page tables; skip each CPU whose generation covers it; defer CPUs not running the mm (and lazy CPUs when no tables were freed) to a full flush at switch-in; coalesce concurrent requests to one (cpu, mm) into one full flush.',
  source: 'Nadav Amit, RFC "TLB batching consolidation and enhancements" (2021), patches 07, 08, 15, 17; replies by Andy Lutomirski, Peter Zijlstra, Nick Piggin',
  risk: 'safe',
  riskReason: 'skips only flushes a generation proves done and CPUs that catch up at switch-in; freed page tables always flush lazy and running CPUs (savings are an upper bound, see notes)',
  params: [
    {
      key: 'useCallbackOutcomes',
      default: true,
      description: 'count a target whose callback found its generation already covered (tlb_flush 1 pages=0, empty csd pair) as known-covered at request time (upper bound)',
    },
  ],
  create(ctx) {
    const tally = new Tally(ctx);
    const deferrals = new SwitchInDeferrals(tally);
    const useOutcomes = ctx.params.useCallbackOutcomes !== false;
    /** earliest time the PTE change behind a pid's next request can have happened */
    const changeTs = new Map<number, number>();
    const recentFull = new Map<number, CompletedFull[]>();
    /** per CPU: the callback this policy last queued there (for coalescing) */
    const inflight: Array<{ mm: number; queuedTs: number; deliveredTs: number; pages: number } | undefined> = [];
    const n = {
      requestsAvoided: 0,
      deferredNotLoaded: 0,
      deferredLazy: 0,
      lazyKeptFreedTables: 0,
      coveredByGeneration: 0,
      coalesced: 0,
      keptNoMm: 0,
      freedTablesUnknown: 0,
    };

    function coveredByCompletedFlush(req: FlushRequest): boolean {
      const from = changeTs.get(req.pid);
      if (from === undefined) return false;
      const list = recentFull.get(req.mm);
      if (list === undefined) return false;
      for (let i = list.length - 1; i >= 0; i--) {
        const f = list[i]!;
        if (f.ts < from) break;
        if (f.pid !== req.pid && f.closedTs <= req.ts) return true;
      }
      return false;
    }

    function remember(req: FlushRequest): void {
      changeTs.set(req.pid, req.closedTs);
      if (req.pages >= 0 || req.mm === 0) return;
      let list = recentFull.get(req.mm);
      if (list === undefined) {
        list = [];
        recentFull.set(req.mm, list);
      }
      list.push({ ts: req.ts, closedTs: req.closedTs, pid: req.pid });
      if (list.length > RECENT_FULL) list.shift();
    }

    function onRequest(req: FlushRequest): void {
      tally.observe(req);
      if (req.kind === 'tableSync' || req.mm === 0 || req.kind === 'batched') {
        if (req.kind !== 'tableSync') n.keptNoMm++;
        tally.keepAsObserved(req);
        return;
      }
      const freedTables = req.freedTables === true;
      if (req.freedTables === null && req.kind === 'remote') n.freedTablesUnknown++;

      // 1. generation already completed by another full flush
      if (!freedTables && coveredByCompletedFlush(req)) {
        n.requestsAvoided++;
        for (const t of req.targets) tally.drop(req, t);
        changeTs.set(req.pid, req.closedTs); // it flushed nothing itself: not a covering flush
        return;
      }

      tally.requests++;
      tally.localFlush(localPages(req));
      const s = req.snapshot;
      const send: Callback[] = [];
      for (const t of req.targets) {
        const c = t.cpu;
        if (t.outcome === 'tableSync') {
          send.push({ cpu: c, pages: 0, observed: t, shootdown: false });
          continue;
        }
        const state = targetState(req, t);
        const lazy = state === 'lazy';
        // a. not loaded: the switch-in flush catches it up
        if (state === 'notLoaded') {
          n.deferredNotLoaded++;
          deferrals.defer(c, req.mm, req.ts);
          tally.drop(req, t);
          continue;
        }
        // b. lazy: same, unless page tables were freed
        if (lazy) {
          if (!freedTables) {
            n.deferredLazy++;
            deferrals.defer(c, req.mm, req.ts);
            tally.drop(req, t);
            continue;
          }
          n.lazyKeptFreedTables++;
        }
        // c. the CPU's generation already covers this request
        const covered = s.localGen[c]! >= req.gen || (useOutcomes && (t.outcome === 'zero' || t.outcome === 'empty'));
        if (covered && !lazy) {
          n.coveredByGeneration++;
          tally.drop(req, t);
          continue;
        }
        // d. coalesce with this policy's undelivered callback for the same mm
        const f = inflight[c];
        if (f !== undefined && f.mm === req.mm && f.queuedTs <= t.queuedTs && f.deliveredTs > t.queuedTs) {
          n.coalesced++;
          tally.upgradeToFull(f.pages);
          f.pages = -1;
          tally.drop(req, t);
          continue;
        }
        // e. send
        const cb: Callback = { cpu: c, pages: targetPages(t), observed: t, shootdown: true };
        inflight[c] = { mm: req.mm, queuedTs: t.queuedTs, deliveredTs: t.handlerTs ?? req.closedTs, pages: cb.pages };
        send.push(cb);
      }
      tally.send(req.ts, send, undefined, req.cause);
      remember(req);
    }

    return {
      reads: ['request', 'switch', 'syscall', 'mmExit'],
      onEvent(e: ModelEvent) {
        switch (e.type) {
          case 'request':
            onRequest(e.req);
            break;
          case 'switch':
            deferrals.onSwitch(e);
            break;
          case 'syscall':
            // the PTE change of the requests that follow can be no earlier than the syscall entry
            changeTs.set(e.e.pid, e.ts);
            break;
          case 'mmExit':
            deferrals.onMmExit(e.mm);
            recentFull.delete(e.mm);
            break;
        }
      },
      finish() {
        Object.assign(tally.extra, n, {
          deferred: deferrals.deferred,
          deferredDroppedAtMmExit: deferrals.droppedAtExit,
          deferredStillOwedAtEnd: deferrals.stillOwed(),
        });
        tally.notes.push(
          'Upper bound: the trace does not show when PTEs changed, so each generation is assumed allocated as early as possible (syscall entry or the previous flush of that task).',
          'The generation must move on every deferred PTE change; freed page tables must always flush (lazy CPUs are kept then).',
          'arch_tlbbatch_flush() has no mm, so batched reclaim flushes cannot complete generations and are kept as observed.',
          'Targets whose callback found the generation already covered (pages=0, empty) are counted as known-covered at request time; the catch-up may have happened after the IPI was sent.',
        );
        if (n.freedTablesUnknown > 0) {
          tally.notes.push(`${n.freedTablesUnknown} remote requests could not be classified as freeing page tables or not (no csd events, or no targets); they were treated as not freeing tables.`);
        }
        return tally.outcome(true);
      },
    };
  },
};

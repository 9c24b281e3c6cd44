// P4 deferred to next switch, variant A (DOMAIN.md §5), LATR-like (Kumar et al., "LATR: Lazy
// Translation Coherence", ASPLOS 2018): instead of interrupting a CPU that does not run the mm, let it
// flush when it next loads the mm. switch_mm_irqs_off() already does this catch-up whenever the
// CPU's ASID generation is behind (ctxs[asid].tlb_gen < mm tlb_gen -> full flush), which is why the
// kernel since 6.14 keeps such CPUs in mm_cpumask and lets flush_tlb_func() drop them at reason 5.
//
// Per target of a flush request with an mm:
//   - mm not loaded there (snapshot, or the callback logged reason 5): deferred, always (its CR3 points
//     elsewhere: it cannot use or walk this mm's translations until switch_mm_irqs_off());
//   - lazy (kernel thread with the mm still loaded, or the callback switched it to init_mm): deferred
//     unless page tables were freed (a lazy CPU can walk them speculatively);
//   - running the mm: kept (variant B, deferred-b.ts, defers some of these too).
// A deferred CPU pays one full flush at its next switch-in to the mm (nothing extra if the kernel
// flushed that switch-in fully anyway); the delay request -> switch-in is the deferral delay, unbounded
// when the CPU never comes back (counted in `deferredStillOwedAtEnd`).
// Requests without an mm (arch_tlbbatch_flush) and table syncs are kept as observed.
// On 6.14+ kernels this is nearly what the kernel does (only the unfiltered freed-tables flushes
// differ); A mainly rates older kernels, whose precise mm_cpumask and lazy filter it models.

import type { FlushRequest, ModelEvent } from '../model/types.js';
import type { PolicyContext, PolicyDefinition, PolicyRun } from './policy.js';
import { SwitchInDeferrals } from './deferrals.js';
import { localPages, Tally, targetPages, targetState, type Callback } from './replay.js';

/** Flush classes by the request's cause: what a deferred running CPU could still see. */
export type FlushClass = 'writeProtect' | 'unmap' | 'unknown';

const WRITE_PROTECT = new Set(['mprotect', 'fork', 'pkey_mprotect', 'userfaultfd']);
const UNMAP = new Set([
  'munmap', 'madvise', 'mremap', 'exit', 'exec', 'brk', 'shmdt', 'process_madvise',
  'kswapd', 'kcompactd', 'khugepaged', 'reclaim', 'migration', 'move_pages', 'migrate_pages', 'mbind',
]);

export function flushClass(cause: string): FlushClass {
  if (WRITE_PROTECT.has(cause)) return 'writeProtect';
  if (UNMAP.has(cause)) return 'unmap';
  return 'unknown';
}

/**
 * The replay shared by both variants. `deferRunning(req)` says whether CPUs running the mm may be
 * deferred for this request too (variant B); variant A never does.
 */
export function replayDeferred(ctx: PolicyContext, deferRunning: (req: FlushRequest) => boolean): PolicyRun {
  const tally = new Tally(ctx);
  const deferrals = new SwitchInDeferrals(tally);
  const n = { deferredNotLoaded: 0, deferredLazy: 0, lazyKeptFreedTables: 0, deferredRunning: 0, deferredRunningWriteProtect: 0, deferredRunningUnmap: 0, kept: 0 };

  function onRequest(req: FlushRequest): void {
    tally.observe(req);
    if (req.kind === 'tableSync' || req.mm === 0 || req.kind === 'batched') {
      tally.keepAsObserved(req);
      return;
    }
    tally.requests++;
    tally.localFlush(localPages(req));
    const freedTables = req.freedTables === true;
    const running = !freedTables && deferRunning(req);
    const send: Callback[] = [];
    for (const t of req.targets) {
      const c = t.cpu;
      const state = targetState(req, t);
      const notLoaded = state === 'notLoaded';
      const lazy = state === 'lazy';
      if (notLoaded || (lazy && !freedTables)) {
        if (notLoaded) n.deferredNotLoaded++;
        else n.deferredLazy++;
        deferrals.defer(c, req.mm, req.ts);
        tally.drop(req, t);
        continue;
      }
      if (lazy) n.lazyKeptFreedTables++;
      if (state === 'running' && running) {
        n.deferredRunning++;
        if (flushClass(req.cause) === 'writeProtect') n.deferredRunningWriteProtect++;
        else n.deferredRunningUnmap++;
        deferrals.deferToNextSwitch(c, req.ts);
        tally.drop(req, t);
        continue;
      }
      n.kept++;
      send.push({ cpu: c, pages: targetPages(t), observed: t, shootdown: true });
    }
    tally.send(req.ts, send, undefined, req.cause);
  }

  return {
    reads: ['request', 'switch', 'mmExit'],
    onEvent(e: ModelEvent) {
      if (e.type === 'request') onRequest(e.req);
      else if (e.type === 'switch') deferrals.onSwitch(e);
      else if (e.type === 'mmExit') deferrals.onMmExit(e.mm);
    },
    finish() {
      Object.assign(tally.extra, n, {
        deferred: deferrals.deferred,
        deferredDroppedAtMmExit: deferrals.droppedAtExit,
        deferredStillOwedAtEnd: deferrals.stillOwed(),
      });
      tally.notes.push('Deferral delay is unbounded: a CPU that never loads the mm again is never flushed (deferredStillOwedAtEnd); the distribution covers deferrals paid within the trace.');
      return tally.outcome(true);
    },
  };
}

export const deferredA: PolicyDefinition = {
  name: 'deferred-a',
  title: 'P4a deferred to switch-in, CPUs not running the mm (LATR-like)',
  rule: 'Do not IPI a CPU that does not run the mm (not loaded, or lazy when no page tables were freed); it does a full flush at its next switch-in to the mm.',
  source: 'LATR (Kumar et al., ASPLOS 2018); the 6.14 lazy mm_cpumask and should_flush_tlb() in arch/x86/mm/tlb.c',
  risk: 'safe',
  riskReason: 'the CPU cannot use this mm\'s translations before switch_mm_irqs_off(), which flushes when its generation is behind; lazy CPUs keep getting the IPI when page tables were freed',
  params: [],
  create: (ctx) => replayDeferred(ctx, () => false),
};

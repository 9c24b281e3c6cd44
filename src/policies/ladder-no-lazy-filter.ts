// Older-kernel baseline: no lazy filter (DOMAIN.md §5, "pre-4.19"). Before Rik van Riel's lazy-TLB
// series (4.19: native_flush_tlb_others() -> on_each_cpu_cond_mask(tlb_is_not_lazy)), a flush went to
// every CPU in mm_cpumask, lazy ones included; mm_cpumask was precise (a CPU left it when it switched
// to another mm). A lazy CPU receiving the IPI ran leave_mm() (switch to init_mm) and so dropped out
// of mm_cpumask until it loaded the mm again.
//
// Replay, per flush request with an mm: targets = every CPU in the precise mm_cpumask at request
// time except the initiator, minus lazy CPUs that this replay already sent through leave_mm() and
// that have not switched since, plus the traced kernel's own targets (except, on 6.14+, those whose
// bit was stale: the mm not loaded there, remote reason 5 — a precise mask would not have them).
// Observed targets keep their observed outcome and IPI; the others (lazy CPUs the traced kernel
// filtered) get a callback that switches them to init_mm (no flush of the user mm) and an IPI
// unless one is already pending.
// Batched flushes (no mm): the observed targets plus lazy CPUs whose loaded mm is loaded on one of
// the batch's observed targets or its initiator: the batch's cpumask is the OR of the unmapped
// pages' mm_cpumasks, which the trace does not show; this proxy counts the mms it surely touched.

import type { FlushRequest } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { localPages, Tally, targetPages, targetState, type Callback } from './replay.js';

export const ladderNoLazyFilter: PolicyDefinition = {
  name: 'ladder-no-lazy-filter',
  title: 'Ladder: broadcast to mm_cpumask, lazy CPUs too (pre-4.19)',
  rule: 'Every flush IPIs every CPU in the (precise) mm_cpumask, lazy CPUs included; a lazy CPU that gets one leaves the mm (leave_mm) until it loads it again.',
  source: 'pre-4.19 arch/x86/mm/tlb.c native_flush_tlb_others(); lazy filter added by Rik van Riel\'s lazy-TLB series (4.19, tlb_is_not_lazy)',
  risk: 'safe',
  riskReason: 'an older kernel\'s behaviour: more IPIs, never fewer flushes',
  params: [],
  create(ctx) {
    const tally = new Tally(ctx);
    /** per CPU: the mm it left through leave_mm() under this replay (-1 none) */
    const leftMm: number[] = [];
    const n = { addedLazyTargets: 0, droppedStaleTargets: 0 };

    function onRequest(req: FlushRequest): void {
      tally.observe(req);
      if (req.kind === 'tableSync' || req.kind === 'localOnly') {
        // localOnly: no other CPU in the 6.14+ lazy mask, so none in the precise one either
        tally.keepAsObserved(req);
        return;
      }
      const s = req.snapshot;
      const byCpu = new Map(req.targets.map((t) => [t.cpu, t]));
      const targets = new Set<number>();
      if (req.mm !== 0) {
        for (let c = 0; c < s.preciseMask.length; c++) {
          if (s.preciseMask[c] && c !== req.cpu && !(s.lazy[c] && leftMm[c] === req.mm)) targets.add(c);
        }
        // The traced kernel's own targets stay, except on 6.14+ those whose bit was stale (the mm was
        // not loaded there: reason 5), which a precise mask would not have had. Before 6.14 the
        // kernel's mask was precise, and the model's reconstruction of it can lag a switch.
        for (const t of req.targets) if (!(ctx.model.lazyCpumask && targetState(req, t) === 'notLoaded')) targets.add(t.cpu);
      } else {
        for (const t of req.targets) targets.add(t.cpu);
        const mms = new Set<number>([s.loadedMm[req.cpu]!]);
        for (const t of req.targets) mms.add(s.loadedMm[t.cpu]!);
        for (let c = 0; c < s.lazy.length; c++) {
          if (s.lazy[c] && c !== req.cpu && s.loadedMm[c] !== 0 && mms.has(s.loadedMm[c]!) && leftMm[c] !== s.loadedMm[c]) targets.add(c);
        }
      }
      tally.requests++;
      tally.localFlush(localPages(req));
      const send: Callback[] = [];
      for (const c of targets) {
        const t = byCpu.get(c) ?? null;
        if (t === null) n.addedLazyTargets++;
        // a lazy CPU runs leave_mm() on the IPI: it is out of the mask until it loads the mm again
        if (s.lazy[c]) leftMm[c] = s.loadedMm[c]!;
        send.push({ cpu: c, deliveredTs: req.closedTs, pages: t !== null ? targetPages(t) : 0, observed: t, shootdown: true });
      }
      for (const t of req.targets) {
        if (!targets.has(t.cpu)) {
          n.droppedStaleTargets++;
          tally.drop(req, t);
        }
      }
      tally.send(req.ts, send, undefined, req.cause);
    }

    return {
      reads: ['request', 'switch'],
      onEvent(e) {
        if (e.type === 'request') onRequest(e.req);
        else if (e.type === 'switch' && !e.toKernelThread) leftMm[e.cpu] = -1;
      },
      finish() {
        Object.assign(tally.extra, n);
        tally.notes.push(
          'mm_cpumask is the precise (pre-6.14) one rebuilt by the model; on kernels before 6.5 the observed targets are a lower bound, so the added lazy targets are too.',
          'Batched flushes: lazy CPUs are added when their loaded mm is loaded on one of the batch\'s observed targets or its initiator (the batch cpumask itself is not traced).',
        );
        return tally.outcome(false);
      },
    };
  },
};

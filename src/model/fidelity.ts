// Model fidelity: how well the rebuilt state predicts what the kernel then did, reported in the
// summary (`model.fidelity`) so users know how far to trust the replays that rest on it.
//   - IPI targets: the set should_flush_tlb() would pick from our state (arch/x86/mm/tlb.c
//     native_flush_tlb_multi() -> on_each_cpu_cond_mask()), against the csd_queue_cpu targets the
//     kernel queued; compared for both mm_cpumask semantics (6.14+ lazy, older precise).
//   - Switch-in flushes: what switch_mm_irqs_off() would log (full flush, current, nothing)
//     against the reason-0 tlb_flush it logged (switches.ts makes the prediction).

import type { FlushRequest, ObservedSink } from './types.js';

export class Fidelity {
  constructor(private readonly sink: ObservedSink) {}

  /**
   * The targets of a remote mm request against the prediction from its CPU snapshot. `noIpi`: it
   * queued none although some CPU needed it (the accounting leaves those out on a machine that
   * flushes by hypercall, where no target is ever queued: delivery.ts).
   */
  targets(req: FlushRequest, noIpi: boolean): void {
    const s = req.snapshot;
    // a CPU whose loaded mm we have not learned yet makes any prediction a guess: not compared
    for (let i = 0; i < s.known.length; i++) {
      if (i !== req.cpu && !s.known[i]) {
        this.sink.onFidelitySkipped('cpuStateUnknown');
        return;
      }
    }
    const observed = new Set(req.targets.map((t) => t.cpu));
    // A CPU mid-switch is, for should_flush_tlb(), in its state before the switch until
    // switch_mm_irqs_off() clears is_lazy and writes loaded_mm, after it from then on (the
    // sched_switch tracepoint comes before context_switch()): either is the kernel's.
    const before = new Map((s.midSwitch ?? []).map((m) => [m.cpu, m]));
    for (const variant of ['lazy', 'precise'] as const) {
      const mask = variant === 'lazy' ? s.lazyMask : s.preciseMask;
      const filtered = new Set<number>();
      const trimmed = new Set<number>();
      const unfiltered = new Set<number>();
      // CPUs in the filtered / trimmed set in one of their two states only
      const filteredEither = new Set<number>();
      const trimmedEither = new Set<number>();
      for (let i = 0; i < mask.length; i++) {
        if (!mask[i] || i === req.cpu) continue;
        unfiltered.add(i);
        const after = !s.lazy[i];
        const afterFiltered = after && s.loadedMm[i] === req.mm;
        const b = before.get(i);
        const beforeTrim = b === undefined ? after : !b.lazy;
        const beforeFiltered = b === undefined ? afterFiltered : !b.lazy && b.loadedMm === req.mm;
        if (after && beforeTrim) trimmed.add(i);
        else if (after || beforeTrim) trimmedEither.add(i);
        if (afterFiltered && beforeFiltered) filtered.add(i);
        else if (afterFiltered || beforeFiltered) filteredEither.add(i);
      }
      let kind = 'mismatch';
      if (within(observed, filtered, filteredEither)) kind = 'filtered';
      else if (eqSet(observed, unfiltered)) kind = 'unfiltered';
      else if (variant === 'lazy' && req.trim && within(observed, trimmed, trimmedEither)) kind = 'trim';
      else kind = classifyMismatch(observed, filtered, unfiltered);
      const match = kind === 'filtered' || kind === 'unfiltered' || kind === 'trim';
      this.sink.onFidelityTargets(match, variant, kind, noIpi);
    }
  }

  /**
   * What we predicted switch_mm would log against what it did: `predicted` and `observed` are -1
   * (full flush), 0 (current) or null (no event); `observed` is the reason-0 pages or null.
   */
  switchFlush(predicted: number | null, observed: number | null): void {
    const obs = observed === null ? null : observed < 0 ? -1 : 0;
    this.sink.onFidelitySwitch(obs === predicted, `predicted ${switchOutcome(predicted)}, observed ${switchOutcome(obs)}`);
  }
}

function switchOutcome(x: number | null): string {
  return x === null ? 'none' : x < 0 ? 'full' : 'current';
}

function eqSet(a: Set<number>, b: Set<number>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** `a` holds every CPU of `must` and otherwise only CPUs of `may` */
function within(a: Set<number>, must: Set<number>, may: Set<number>): boolean {
  for (const x of must) if (!a.has(x)) return false;
  for (const x of a) if (!must.has(x) && !may.has(x)) return false;
  return true;
}

function classifyMismatch(observed: Set<number>, filtered: Set<number>, unfiltered: Set<number>): string {
  for (const x of observed) if (!unfiltered.has(x)) return 'targetNotInMask';
  for (const x of filtered) if (!observed.has(x)) return 'runningCpuNotTargeted';
  return 'partialFilter';
}

// Deferred flushes a policy leaves for a CPU's next switch-in to the mm (generation, deferred-a,
// deferred-b): owed per (CPU, mm), paid as one full flush by the catch-up switch_mm_irqs_off() does,
// or dropped when the mm exits first. The flushes it adds go through the policy's Tally (replay.ts).

import type { SwitchEvent } from '../model/types.js';
import type { Tally } from './replay.js';

/**
 * Full flushes owed at a CPU's next switch-in to an mm: a deferred callback is replaced by the
 * catch-up switch_mm_irqs_off() does when the CPU's ASID generation is behind (arch/x86/mm/tlb.c:
 * "ns.need_flush" when ctxs[asid].tlb_gen < next_tlb_gen). Several deferrals to one (cpu, mm) cost
 * one flush. If the kernel already flushed that switch-in fully (reason 0, pages -1) nothing is
 * added; the delay request -> switch-in is recorded either way.
 */
export class SwitchInDeferrals {
  /** mm -> cpu -> request times still owed (by mm first: an mm's exit drops all of its own) */
  private owed = new Map<number, Map<number, number[]>>();
  /** cpu -> request times owed at the CPU's next context switch of any kind (running CPUs, LATR) */
  private owedAtNextSwitch = new Map<number, number[]>();
  deferred = 0;
  /** deferrals whose mm exited before the CPU came back: nothing to flush */
  droppedAtExit = 0;

  constructor(private readonly tally: Tally) {}

  /** Defer a CPU that does not run the mm: it pays at its next switch-in to `mm`. */
  defer(cpu: number, mm: number, ts: number): void {
    let byCpu = this.owed.get(mm);
    if (byCpu === undefined) {
      byCpu = new Map();
      this.owed.set(mm, byCpu);
    }
    let list = byCpu.get(cpu);
    if (list === undefined) {
      list = [];
      byCpu.set(cpu, list);
    }
    list.push(ts);
    this.deferred++;
  }

  /** Defer a CPU that runs the mm: it flushes at its next context switch (LATR-style). */
  deferToNextSwitch(cpu: number, ts: number): void {
    let list = this.owedAtNextSwitch.get(cpu);
    if (list === undefined) {
      list = [];
      this.owedAtNextSwitch.set(cpu, list);
    }
    list.push(ts);
    this.deferred++;
  }

  onSwitch(e: SwitchEvent): void {
    const running = this.owedAtNextSwitch.get(e.cpu);
    if (running !== undefined) {
      this.owedAtNextSwitch.delete(e.cpu);
      for (const ts of running) this.tally.delays.add((e.ts - ts) / 1000);
      this.tally.addFullFlush();
    }
    // switch_mm_irqs_off() runs for a user task whose mm is not loaded, or the same mm after lazy mode
    const switchIn = !e.toKernelThread && (e.fromMm !== e.toMm || e.wasLazy);
    if (!switchIn) return;
    const byCpu = this.owed.get(e.toMm);
    const list = byCpu?.get(e.cpu);
    if (byCpu === undefined || list === undefined) return;
    byCpu.delete(e.cpu);
    if (byCpu.size === 0) this.owed.delete(e.toMm);
    for (const ts of list) this.tally.delays.add((e.ts - ts) / 1000);
    if (e.observedFlush !== -1) this.tally.addFullFlush();
  }

  onMmExit(mm: number): void {
    const byCpu = this.owed.get(mm);
    if (byCpu === undefined) return;
    for (const list of byCpu.values()) this.droppedAtExit += list.length;
    this.owed.delete(mm);
  }

  /** Deferrals still owed at the end of the trace (the CPU never came back: unbounded delay). */
  stillOwed(): number {
    let n = 0;
    for (const byCpu of this.owed.values()) for (const l of byCpu.values()) n += l.length;
    for (const l of this.owedAtNextSwitch.values()) n += l.length;
    return n;
  }
}

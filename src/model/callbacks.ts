// Flush callbacks, on the target's side (kernel/smp.c, arch/x86/mm/tlb.c flush_tlb_func(); DOMAIN.md
// §2 (b)): call_function[_single]_entry -> csd_function_entry(func, csd) -> tlb_flush 1 (flushed),
// 5 (mm not loaded here: leave mm_cpumask), 0 (lazy CPU switching to init_mm) or nothing (already
// current) -> csd_function_exit. A csd NULL is the initiator running its own part (shootdowns.ts).
//
// With csd events (6.5+) a run is paired with its request through the csd FIFOs (pairing.ts).
// Without them (before 6.5) a remote reason-1/5/0 flush is matched by window to a request whose
// initiator is still waiting (smp_call_function_many_cond() waits for every target), and counts
// are lower bounds: a target that did nothing leaves no event at all.

import type { CsdFunctionEvent, TlbFlushEvent } from '../events/types.js';
import { enteringLazy, lazyTookMm } from './kthread-flush.js';
import type { CsdPairing } from './pairing.js';
import type { OpenRequest, Shootdowns } from './shootdowns.js';
import { INIT_MM } from './tasks.js';
import type { CpuTlb, TlbState } from './tlb-state.js';
import type { CallbackClass, ObservedSink, TargetOutcome, TargetRecord, Vocabulary } from './types.js';

export function callbackClass(func: string): CallbackClass {
  const name = func.split('+')[0]!;
  switch (name) {
    case 'flush_tlb_func':
    case 'tlb_remove_table_smp_sync':
    case 'do_flush_tlb_all':
    case 'do_kernel_range_flush':
      return name;
    default:
      return 'other';
  }
}

export const TLB_CLASSES: ReadonlySet<CallbackClass> = new Set<CallbackClass>(['flush_tlb_func', 'tlb_remove_table_smp_sync', 'do_flush_tlb_all', 'do_kernel_range_flush']);

/** A callback running on a CPU (csd_function_entry .. _exit). */
export interface CsdFrame {
  func: string;
  cls: CallbackClass;
  /** csd NULL: the initiator's own part */
  local: boolean;
  /** remote: the target record being run; local: null */
  target: TargetRecord | null;
  /** the request it belongs to (local: the one the CPU is initiating) */
  open: OpenRequest | null;
  sawFlush: boolean;
}

/** Per CPU: the callbacks running (nested csd frames) and open call_function vector entries. */
export class HandlerCpu {
  csd: CsdFrame[] = [];
  /** open irq_vectors call_function[_single] entries (window pairing) */
  vectorDepth = 0;
  /** the open vector entry already ran a TLB flush callback (it was that callback's IPI) */
  vectorRanFlush = false;
}

export class Callbacks {
  readonly cpus: HandlerCpu[] = [];
  /** remote flush callbacks of no request the trace shows (queued before it started, or lost) */
  unattached = 0;
  /** of those, the ones that were their vector's TLB IPI (kernels without ipi_send_*) */
  unattachedVectorIpis = 0;

  constructor(
    private readonly tlb: TlbState,
    private readonly shootdowns: Shootdowns,
    private readonly pairing: CsdPairing<OpenRequest>,
    private readonly sink: ObservedSink,
    private readonly vocab: Readonly<Vocabulary>,
  ) {}

  grow(n: number): void {
    for (let i = this.cpus.length; i < n; i++) this.cpus.push(new HandlerCpu());
  }

  /** the innermost callback running on `cpu`, or null */
  frame(cpu: number): CsdFrame | null {
    const csd = this.cpus[cpu]!.csd;
    return csd.length > 0 ? csd[csd.length - 1]! : null;
  }

  onVectorEntry(cpu: number, ts: number): void {
    const h = this.cpus[cpu]!;
    h.vectorDepth++;
    h.vectorRanFlush = false;
    this.sink.onVectorEntry(cpu, ts);
  }

  onVectorExit(cpu: number): void {
    const h = this.cpus[cpu]!;
    if (h.vectorDepth > 0) h.vectorDepth--;
  }

  /** A lost-events marker: what was running on `cpu` cannot be trusted across the gap. */
  lostEvents(cpu: number): void {
    const h = this.cpus[cpu]!;
    h.csd.length = 0;
    h.vectorDepth = 0;
  }

  onCsdEntry(e: CsdFunctionEvent): void {
    const h = this.cpus[e.cpu]!;
    const cls = callbackClass(e.func);
    if (e.csd === null) {
      // the initiator runs the callback on itself
      const open = this.shootdowns.initiating(e.cpu);
      h.csd.push({ func: e.func, cls, local: true, target: null, open: cls === 'flush_tlb_func' ? open : null, sawFlush: false });
      return;
    }
    const entry = this.pairing.take(e.cpu, e.func, e.csd);
    this.sink.onRemoteCallback(e.cpu, cls, e.ts);
    if (entry === null) {
      this.sink.onUnpairedHandler(e.cpu, cls);
      if (cls === 'flush_tlb_func') this.unattached++;
    }
    const target = entry?.target ?? null;
    if (target !== null) {
      target.handlerTs = e.ts;
      target.outcome = cls === 'tlb_remove_table_smp_sync' ? 'tableSync' : 'empty';
    }
    h.csd.push({ func: e.func, cls, local: false, target, open: entry?.open ?? null, sawFlush: false });
  }

  onCsdExit(e: CsdFunctionEvent): void {
    const h = this.cpus[e.cpu]!;
    // pop to the matching frame (an exit lost to the ring buffer must not wedge the stack)
    let frame: CsdFrame | undefined;
    while (h.csd.length > 0) {
      frame = h.csd.pop();
      if (frame!.func === e.func) break;
    }
    if (frame === undefined) return;
    if (h.csd.length === 0) h.vectorDepth = 0; // 6.18 captures have no call_function*_exit
    if (frame.local) {
      if (frame.open !== null) this.shootdowns.initiatorDone(e.cpu, e.ts);
      return;
    }
    const t = frame.target;
    if (frame.cls === 'flush_tlb_func' && !frame.sawFlush && t !== null) t.outcome = 'empty';
    if (t !== null && frame.open !== null) {
      this.sink.onTargetDone(frame.open.req, t, e.ts);
      this.shootdowns.targetDone(frame.open, e.ts);
    } else if (t === null && frame.cls === 'flush_tlb_func') {
      // unpaired handler: still accounted by outcome
      this.sink.onTargetDone(null, { cpu: e.cpu, queuedTs: e.ts, ipi: false, handlerTs: e.ts, outcome: frame.sawFlush ? 'full' : 'empty', pages: 0 }, e.ts);
    }
  }

  /** flush_tlb_func() on a target CPU, inside the remote csd frame `frame` (csd vocabulary). */
  inHandler(e: TlbFlushEvent, frame: CsdFrame): void {
    const outcome = this.apply(e, frame.open);
    const t = frame.target;
    if (t !== null) {
      t.outcome = outcome;
      t.pages = e.pages;
    }
  }

  /**
   * A remote flush seen without csd events: count it, and pair it by window (DOMAIN.md §3).
   *
   * Its IPI: the vector entry it ran in, if it was the first flush callback of that entry.
   * flush_smp_call_function_queue() runs the whole call_single_queue in one vector, and an IPI is
   * raised only into an empty queue (llist_add() in __smp_call_single_queue() and
   * smp_call_function_many_cond()), so the callbacks after the first in one vector came with no IPI
   * of their own: on qemu-6.1-8cpu/reclaim-mmap 15,620 callbacks ran in 7,250 vectors. A callback
   * run from the idle loop (no vector) had none. Without ipi_send_* (before 6.4) these are the
   * request's hardware IPIs (`req.ipis`); with it the sender's count stands.
   */
  withoutCsd(e: TlbFlushEvent): void {
    const open = this.windowMatch(e.cpu, this.tlb.cpus[e.cpu]!);
    const outcome = this.apply(e, open);
    const h = this.cpus[e.cpu]!;
    const ipi = h.vectorDepth > 0 && !h.vectorRanFlush;
    if (h.vectorDepth > 0) h.vectorRanFlush = true;
    let t: TargetRecord | null = null;
    if (open !== null) {
      t = { cpu: e.cpu, queuedTs: open.req.ts, ipi, handlerTs: e.ts, outcome, pages: e.pages };
      open.req.targets.push(t);
      if (ipi && !this.vocab.ipi) open.req.ipis++;
    } else {
      this.unattached++;
      if (ipi && !this.vocab.ipi) this.unattachedVectorIpis++;
    }
    this.sink.onRemoteWithoutCsd(e.cpu, outcome, e.ts, ipi && !this.vocab.ipi);
    if (t !== null) this.sink.onTargetDone(open!.req, t, e.ts);
  }

  /** State change of a remote flush callback; returns its outcome class. */
  private apply(e: TlbFlushEvent, open: OpenRequest | null): TargetOutcome {
    const c = this.tlb.cpus[e.cpu]!;
    const req = open?.req ?? null;
    switch (e.reason) {
      case 1:
        if (req !== null && req.mm !== 0 && req.mm !== c.loadedMm && req.kind === 'remote') {
          // A full flush whose initiator has not run its own part yet may be arch_tlbbatch_flush()
          // (its local part, reason 2, can come after the targets' callbacks): its batch cpumask
          // reaches CPUs running other mms, so nothing follows about mms until it is known.
          if (req.pages < 0 && req.local === 'none' && open !== null) (open.evidence ??= []).push({ cpu: e.cpu, pid: c.pid });
          else this.shootdowns.mmEvidence(req, e.cpu);
        }
        // both paths in flush_tlb_func() catch the loaded mm's ASID up to mm_tlb_gen
        this.tlb.catchUp(c, c.loadedMm);
        return e.pages === 0 ? 'zero' : e.pages < 0 ? 'full' : 'ranged';
      case 5:
        // "The CPU was left in the mm_cpumask of the target mm. Clear it."
        if (req !== null && req.mm !== 0) this.tlb.mm(req.mm).lazyMask[e.cpu] = 0;
        return 'wrongCpu';
      case 0:
        // lazy CPU: switch_mm_irqs_off(NULL, &init_mm, NULL). One already lazy when it was queued
        // was not filtered by should_flush_tlb(): an unfiltered flush of the mm it had loaded.
        if (open !== null && req !== null && req.snapshot.lazy[e.cpu] === 1 && !enteringLazy(req.snapshot, e.cpu)) lazyTookMm(open, req.snapshot.loadedMm[e.cpu]!);
        this.tlb.loadMm(e.cpu, INIT_MM, e.pages);
        return 'switchToInitMm';
      default:
        return 'full';
    }
  }

  /**
   * Window pairing (no csd events): the initiator waits in smp_call_function_many_cond() until every
   * target ran the callback, so a handler belongs to a request whose initiator has not moved on,
   * preferring the one whose mm this CPU has loaded.
   */
  private windowMatch(cpu: number, c: CpuTlb): OpenRequest | null {
    const open = this.shootdowns.open;
    let best: OpenRequest | null = null;
    for (let i = open.length - 1; i >= 0; i--) {
      const o = open[i]!;
      if (o.req.cpu === cpu || o.req.kind === 'localOnly') continue;
      if (o.req.targets.some((t) => t.cpu === cpu)) continue;
      const score = (o.initiatorDone ? 0 : 2) + (o.req.mm === c.loadedMm || o.req.mm === 0 ? 1 : 0);
      const bestScore = best === null ? -1 : (best.initiatorDone ? 0 : 2) + (best.req.mm === c.loadedMm || best.req.mm === 0 ? 1 : 0);
      if (score > bestScore) best = o;
    }
    return best;
  }
}

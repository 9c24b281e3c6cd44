// How a remote flush reached the other CPUs: by IPI, or without one (DOMAIN.md §9; issue "remote
// flushes without IPIs"). Read from the trace itself, request by request:
//
//   native_flush_tlb_multi()  tlb_flush 4, then csd_queue_cpu + ipi_send_* for each CPU that
//                             should_flush_tlb() picks, and flush_tlb_func() runs there ('ipi');
//   pv_ops flush_tlb_multi    a hypervisor flushes the other vCPUs (PVM, Hyper-V, Xen): tlb_flush 4
//     by hypercall            and the local part are logged, but no csd_queue_cpu, no remote
//                             flush_tlb_func and no reason 1 follow although CPUs ran the mm
//                             ('noIpi'); /proc/interrupts "TLB shootdowns" stays 0;
//   kvm_flush_tlb_multi()     (arch/x86/kernel/kvm.c) clears preempted vCPUs from the mask and
//                             marks them KVM_VCPU_FLUSH_TLB (flushed at their next VM entry), then
//                             calls native_flush_tlb_multi(): IPIs to part of the CPUs
//                             should_flush_tlb() picks ('partial'; a model misprediction looks the
//                             same, so it is counted, not asserted);
//   broadcast_tlb_flush()     INVLPGB on 6.15+ AMD for mms with a global ASID: no tlb_flush event at
//                             all, so nothing here can see it (a blind spot the summary states).
// A request whose should_flush_tlb() set is empty needs no remote flush ('filtered': 6.14+ keeps
// CPUs in mm_cpumask after they leave the mm, so many tlb_flush 4 queue nothing).
//
// Once the trace shows it flushes by hypercall (HYPERCALL_EVIDENCE requests that needed other CPUs
// got no callback, and no request ever had one), each such request is given the CPUs the
// hypervisor flushed as targets with outcome 'hypercall' (no IPI, no callback run): the policies
// then estimate in the units that exist on that machine, remote flush requests and CPUs flushed.
// Which vCPUs a hypervisor flushes is not traced; the should_flush_tlb() set stands for them.

import type { OpenRequest } from './shootdowns.js';
import type { FlushRequest, ObservedSink, Vocabulary } from './types.js';

/** How one remote request reached the other CPUs (see above); 'unknown': the model did not know every CPU's state. */
export type Delivery = 'ipi' | 'partial' | 'noIpi' | 'filtered' | 'unknown';

/**
 * Requests that needed other CPUs and got no callback, with none ever having one, before the trace
 * counts as hypercall-flushed. Until then such requests are closed (the model's state moves on as
 * always) but held back from the policies, with the events behind them, and get their 'hypercall'
 * targets once it is decided, so every one is counted in the units of the machine; a request with
 * callbacks lets them go as they are (an IPI machine's mispredictions).
 */
const HYPERCALL_EVIDENCE = 3;

interface Held {
  open: OpenRequest;
  needed: number[];
}

export class FlushDelivery {
  private withCallbacks = 0;
  private withoutCallbacks = 0;
  private hypercall = false;
  private held: Held[] = [];

  constructor(
    private readonly sink: ObservedSink,
    private readonly vocab: Vocabulary,
    /** held requests may go to the policies now */
    private readonly release: () => void,
  ) {}

  /**
   * Classify a remote mm request whose initiator has moved on (every target it will queue is
   * queued). Returns the CPUs should_flush_tlb() picks (null: unknown), for settle().
   */
  classify(req: FlushRequest): number[] | null {
    const predicted = shouldFlushSet(req, this.vocab.reason5);
    let delivery: Delivery = 'unknown';
    if (predicted !== null) {
      let inPredicted = 0;
      for (const t of req.targets) if (predicted.includes(t.cpu)) inPredicted++;
      const observed = req.targets.length;
      if (observed === 0) delivery = predicted.length === 0 ? 'filtered' : 'noIpi';
      else delivery = inPredicted === observed && observed < predicted.length ? 'partial' : 'ipi';
    }
    req.delivery = delivery;
    this.sink.onDelivery(req, delivery, predicted === null ? 0 : predicted.length);
    return predicted;
  }

  /**
   * After classify(): on a hypercall-flushing machine a request that needed other CPUs gets them
   * as 'hypercall' targets; until the trace has shown which kind of machine it is (see
   * HYPERCALL_EVIDENCE), such a request is held back from the policies.
   */
  settle(open: OpenRequest, needed: number[] | null): void {
    const req = open.req;
    if (req.targets.length > 0) {
      this.withCallbacks++;
      this.hypercall = false;
      this.releaseAll();
      return;
    }
    if (req.delivery !== 'noIpi' || needed === null) return;
    this.withoutCallbacks++;
    if (this.hypercall) {
      byHypercall(req, needed);
      return;
    }
    if (this.withCallbacks > 0) return;
    open.held = true;
    this.held.push({ open, needed });
    if (this.withoutCallbacks >= HYPERCALL_EVIDENCE) this.decideHypercall();
  }

  /** End of input: requests still held needed other CPUs and no request ever had a callback. */
  finish(): void {
    if (this.held.length > 0) this.decideHypercall();
  }

  private decideHypercall(): void {
    this.hypercall = true;
    for (const h of this.held) byHypercall(h.open.req, h.needed);
    this.releaseAll();
  }

  /** Hand the held requests on as they are (the mechanism was settled, or the outbox is full). */
  releaseAll(): void {
    if (this.held.length === 0) return;
    for (const h of this.held) h.open.held = false;
    this.held = [];
    this.release();
  }
}

/** The CPUs a hypervisor flushed for `req`, as targets that ran no callback and took no IPI. */
function byHypercall(req: FlushRequest, cpus: number[]): void {
  for (const cpu of cpus) req.targets.push({ cpu, queuedTs: req.ts, ipi: false, handlerTs: null, outcome: 'hypercall', pages: req.pages });
}

/**
 * The CPUs should_flush_tlb() picks from the request's snapshot (arch/x86/mm/tlb.c): those in the
 * kernel's mm_cpumask (6.14+ lazy form when reason 5 was seen), not lazy, running the mm; null
 * when the model does not know some CPU's state.
 */
function shouldFlushSet(req: FlushRequest, lazyCpumask: boolean): number[] | null {
  const s = req.snapshot;
  for (let i = 0; i < s.known.length; i++) if (i !== req.cpu && !s.known[i]) return null;
  const mask = lazyCpumask ? s.lazyMask : s.preciseMask;
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] && i !== req.cpu && !s.lazy[i] && s.loadedMm[i] === req.mm) out.push(i);
  return out;
}

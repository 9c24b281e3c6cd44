// Bookkeeping every policy replay shares, so that each policy file holds only its rule:
//   - counting what the policy does (requests, shootdowns, IPIs, flush work, deferrals) next to
//     what was observed for the same requests (the baseline the cost model compares against);
//   - deciding whether a callback the policy queues needs a new IPI (DOMAIN.md §5: "one IPI per
//     newly queued target unless that target still has an undelivered callback");
//   (the deferred full flushes a CPU pays at its next switch-in to the mm are in deferrals.ts).
//
// The cost formula, the same for every policy (all inputs are `--cost` parameters, src/policies/cost.ts):
//
//   cpuTimeSavedNs = ipiRoundTripNs × (observed IPIs − policy IPIs)
//                  + Σ flushWork(observed flushes) − Σ flushWork(policy flushes)
//
//   flushWork(full flush, pages = -1) = fullFlushRefillNs      (refilling the TLB afterwards)
//   flushWork(N entries)              = N × perEntryInvalidationNs (tlb.c: ~100 ns per INVLPG)
//   flushWork(0)                      = 0                        (caught up, wrong CPU, empty callback)
//
// "Flushes" are the initiator's local flush, every remote callback's flush, and every full flush a
// policy adds at a switch-in (a switch-in that the kernel already flushed fully, reason 0 pages -1,
// costs nothing extra). A callback that rode along on an IPI already pending costs no round trip.
//
// IPI units follow what the trace can show, exactly as src/model/observed.ts counts them:
//   'ipi'       ipi_send_cpu / ipi_send_cpumask seen (6.4+): hardware IPIs, counted by the sender;
//   'vectors'   no ipi_send_* but call_function*_entry vectors (before 6.4): hardware IPIs, counted
//               on the receiver (a vector that ran a flush callback; src/model/callbacks.ts);
//   'callbacks' (summaries before this unit existed: one per remote callback; no longer produced);
//   'none'      neither: IPIs are not countable (reported as 0);
//   'hypercall' the machine flushes other CPUs by hypercall (src/model/delivery.ts): there are no
//               flush IPIs and no callbacks; shootdowns and IPIs are reported as 0 ("n/a"), and the
//               estimate is in the units that exist there, remote flush requests and CPUs flushed.
// Remote flush requests (a request that flushed at least one other CPU) and the CPUs they flushed
// are tallied whatever the mechanism, a 'hypercall' target counting as a CPU flushed.
// The unit is known for sure only at the end of the trace (a trace may have no IPI at all), so the
// series is buffered until the first request with a hardware IPI settles it.

import { DistributionBuilder } from '../model/distribution.js';
import type { FlushRequest, TargetRecord } from '../model/types.js';
import type { PolicyContext, PolicyOutcome } from './policy.js';

/** pages of a flush as the cost model sees it: -1 full, N entries, 0 nothing flushed */
export function targetPages(t: TargetRecord): number {
  switch (t.outcome) {
    case 'ranged':
      return t.pages > 0 ? t.pages : 1;
    case 'full':
      return -1;
    default:
      // zero, wrongCpu, empty, switchToInitMm (loads init_mm: no flush of the user mm), tableSync, unanswered
      return 0;
  }
}

export function localPages(req: FlushRequest): number {
  if (req.local === 'full') return -1;
  if (req.local === 'ranged') return req.localPages > 0 ? req.localPages : 1;
  return 0;
}

/** A remote flush callback that ran: what /proc/interrupts "TLB shootdowns" counts (observed.ts). */
export function isShootdown(t: TargetRecord): boolean {
  return t.outcome !== 'unanswered' && t.outcome !== 'tableSync' && t.outcome !== 'hypercall';
}

/** A callback the policy queues on a remote CPU. */
export interface Callback {
  cpu: number;
  /** the flush it does: -1 full, N entries, 0 none */
  pages: number;
  /** the observed target it corresponds to (its queue and handler times are used), or null for a
   * callback the kernel did not queue that way */
  observed: TargetRecord | null;
  /** a flush_tlb_func callback (counted as a shootdown); false for tlb_remove_table_smp_sync */
  shootdown: boolean;
  /** for a callback without an observed target: when it runs there at the latest (ns); default the
   * send time plus the mean observed queue-to-entry latency */
  deliveredTs?: number;
}

/**
 * Per CPU, the callbacks queued there and not yet taken off call_single_queue, as [queued, drained]
 * intervals. A callback queued inside such an interval finds the queue non-empty and sends no IPI
 * (__smp_call_single_queue() / smp_call_function_many_cond() IPI only when llist_add() finds the list
 * empty). Intervals, not a running maximum: requests arrive in request order, but their
 * csd_queue_cpu times interleave.
 */
class CallbackQueues {
  /** per CPU, the intervals' queued and drained times in two parallel arrays (plain doubles: no
   * object per callback) */
  private queued: number[][] = [];
  private drained: number[][] = [];

  pendingAt(cpu: number, ts: number): boolean {
    const q = this.queued[cpu];
    if (q === undefined) return false;
    const d = this.drained[cpu]!;
    // newest first: a callback pending at `ts` is most likely a recent one
    for (let i = q.length - 1; i >= 0; i--) {
      if (q[i]! <= ts && d[i]! > ts) return true;
    }
    return false;
  }

  add(cpu: number, queued: number, drained: number): void {
    if (!(drained > queued)) return;
    let q = this.queued[cpu];
    let d = this.drained[cpu];
    if (q === undefined || d === undefined) {
      q = [];
      d = [];
      this.queued[cpu] = q;
      this.drained[cpu] = d;
    }
    q.push(queued);
    d.push(drained);
    // requests come in time order: a callback drained long before this one cannot matter again
    // (the slack covers emulated IPIs of ~100 ms and batches flushed a little in the past); at most
    // the newest 256 are kept. Compacted in place: on a busy CPU this runs for every callback.
    if (q.length > 64) {
      const horizon = queued - PENDING_HORIZON_NS;
      let n = 0;
      for (let i = 0; i < q.length; i++) {
        if (d[i]! > horizon) {
          q[n] = q[i]!;
          d[n] = d[i]!;
          n++;
        }
      }
      q.length = n;
      d.length = n;
      if (n > 256) {
        q.splice(0, n - 256);
        d.splice(0, n - 256);
      }
    }
  }
}

/**
 * When each CPU drained its callback queue: flush_smp_call_function_queue() takes the whole list at
 * once (llist_del_all()) and then runs the callbacks one by one, so a callback queued at q left the
 * queue no later than the first callback entry (csd_function_entry) on that CPU at or after q.
 * Checked on the fixtures: predicting IPIs this way from the observed queue/entry times gives 6041
 * for 5916 real IPIs on qemu-6.12-8cpu/reclaim-mmap, 1005 for 1000 on mt-munmap.
 */
class DrainTimes {
  private perCpu: number[][] = [];

  add(cpu: number, handlerTs: number): void {
    let list = this.perCpu[cpu];
    if (list === undefined) {
      list = [];
      this.perCpu[cpu] = list;
    }
    // mostly appended in order; keep sorted
    let i = list.length;
    while (i > 0 && list[i - 1]! > handlerTs) i--;
    if (i === list.length) list.push(handlerTs);
    else list.splice(i, 0, handlerTs);
    if (list.length > 8192) list.splice(0, 4096);
  }

  /** first callback entry on `cpu` at or after `ts`, or Infinity */
  firstAtOrAfter(cpu: number, ts: number): number {
    const list = this.perCpu[cpu];
    if (list === undefined) return Infinity;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (list[m]! < ts) lo = m + 1;
      else hi = m;
    }
    return lo < list.length ? list[lo]! : Infinity;
  }
}

const PENDING_HORIZON_NS = 1_000_000_000;

const NO_CALLBACKS: readonly Callback[] = Object.freeze([]);

/** the unit counts hardware IPIs (by the sender or on the receiver); 'none' and 'hypercall' count none */
export function countsIpis(unit: PolicyOutcome['unit']): boolean {
  return unit === 'ipi' || unit === 'vectors';
}

type IpiUnit = PolicyOutcome['unit'];

/** a flush of another CPU, by IPI callback or by a hypervisor */
function flushesRemote(t: TargetRecord): boolean {
  return t.outcome === 'hypercall' || isShootdown(t);
}

export class Tally {
  requests = 0;
  shootdowns = 0;
  rangedToFull = 0;
  fullFlushesAdded = 0;
  readonly delays = new DistributionBuilder();
  readonly extra: PolicyOutcome['extra'] = {};
  readonly notes: string[] = [];

  // observed side, for the cost model
  private baseIpis = 0;
  private baseWorkNs = 0;
  private baseRemoteRequests = 0;
  private baseRemoteCpus = 0;
  // policy side
  private ipis = 0;
  private workNs = 0;
  private remoteRequests = 0;
  private remoteCpus = 0;
  /** ipis series points waiting until the trace shows it counts IPIs: [ts, hardware IPIs] */
  private pendingSeries: Array<[number, number]> | null = [];
  /** callbacks this policy queued */
  private kept = new CallbackQueues();
  /** observed callbacks this policy did NOT queue (an observed callback may have ridden on them) */
  private dropped = new CallbackQueues();
  private drains = new DrainTimes();
  /** observed queue -> entry latency, for callbacks the kernel did not send */
  private latencySum = 0;
  private latencyN = 0;
  /** per request cause: [shootdowns, hardware IPIs] */
  private byCause = new Map<string, [number, number]>();

  constructor(private readonly ctx: PolicyContext) {}

  private work(pages: number): number {
    if (pages < 0) return this.ctx.cost.fullFlushRefillNs;
    return pages * this.ctx.cost.perEntryInvalidationNs;
  }

  /** The observed side of one request: call for every request event, before the policy acts on it. */
  observe(req: FlushRequest): void {
    if (req.ipis > 0 && this.pendingSeries !== null) this.flushPendingSeries(true);
    this.baseIpis += req.ipis;
    let remote = 0;
    for (const t of req.targets) {
      if (req.kind !== 'tableSync' && flushesRemote(t)) remote++;
      if (t.handlerTs !== null) {
        this.drains.add(t.cpu, t.handlerTs);
        this.latencySum += Math.max(0, t.handlerTs - t.queuedTs);
        this.latencyN++;
      }
      if (req.kind === 'tableSync' || !isShootdown(t)) continue;
      this.baseWorkNs += this.work(targetPages(t));
    }
    if (req.kind !== 'tableSync') this.baseWorkNs += this.work(localPages(req));
    if (remote > 0) {
      this.baseRemoteRequests++;
      this.baseRemoteCpus += remote;
    }
  }

  /** The request exactly as observed (P0, and requests a policy leaves alone). */
  keepAsObserved(req: FlushRequest): void {
    // (most requests are direct local flushes: no targets, no array to make)
    const cbs: readonly Callback[] = req.targets.length === 0 ? NO_CALLBACKS : req.targets.map((t) => ({
      cpu: t.cpu,
      pages: targetPages(t),
      observed: t,
      shootdown: req.kind !== 'tableSync' && flushesRemote(t),
    }));
    if (req.kind !== 'tableSync') {
      this.requests++;
      this.localFlush(localPages(req));
    }
    // req.ipis is the kernel's own count (an ipi_send_cpumask may name CPUs in ways the per-target
    // flags do not show); only IPIs this policy makes necessary are added on top.
    this.send(req.ts, cbs, req.ipis, req.cause);
  }

  /** The initiator's own flush under the policy (no IPI). */
  localFlush(pages: number): void {
    this.workNs += this.work(pages);
  }

  /**
   * Queue callbacks at `ts`; returns the hardware IPIs they need. A kept observed target that had its
   * own IPI keeps it; one that rode along on a pending callback needs an IPI only if the policy dropped
   * that pending callback; a new target needs one unless the policy left a callback pending there.
   * `cause`: the request cause they are counted under in the outcome's byCause.
   */
  send(ts: number, cbs: readonly Callback[], observedIpis?: number, cause?: string): number {
    if (cbs.length === 0) {
      // a direct local flush (most requests): only the kernel's own IPI count, if any
      const n = observedIpis ?? 0;
      if (n > 0) {
        this.ipis += n;
        this.addIpiSeries(ts, n);
        if (cause !== undefined) this.countCause(cause, 0, n);
      }
      return n;
    }
    let ipis = 0;
    let extraIpis = 0;
    let shootdowns = 0;
    let remote = 0;
    for (const cb of cbs) {
      const o = cb.observed;
      const queued = o !== null ? o.queuedTs : ts;
      const drained = o !== null ? this.drainedAt(o) : Math.min(this.drains.firstAtOrAfter(cb.cpu, ts), cb.deliveredTs ?? ts + this.meanLatency());
      const keptPending = this.kept.pendingAt(cb.cpu, queued);
      let need: boolean;
      if (o !== null) need = o.ipi || (!keptPending && this.dropped.pendingAt(cb.cpu, queued));
      else need = !keptPending;
      if (need) ipis++;
      if (need && o !== null && !o.ipi) extraIpis++;
      this.kept.add(cb.cpu, queued, drained);
      if (cb.shootdown && (o === null || isShootdown(o))) {
        shootdowns++;
        this.workNs += this.work(cb.pages);
      }
      if (cb.shootdown && (o === null || flushesRemote(o))) remote++;
    }
    if (remote > 0) {
      this.remoteRequests++;
      this.remoteCpus += remote;
    }
    if (observedIpis !== undefined) ipis = observedIpis + extraIpis;
    this.ipis += ipis;
    this.shootdowns += shootdowns;
    if (cause !== undefined) this.countCause(cause, shootdowns, ipis);
    if (shootdowns > 0) this.ctx.series.add('shootdowns', ts, shootdowns);
    this.addIpiSeries(ts, ipis);
    return ipis;
  }

  private countCause(cause: string, shootdowns: number, ipis: number): void {
    let c = this.byCause.get(cause);
    if (c === undefined) {
      c = [0, 0];
      this.byCause.set(cause, c);
    }
    c[0] += shootdowns;
    c[1] += ipis;
  }

  /** The policy does not queue this observed callback (avoided, deferred or merged elsewhere). */
  drop(req: FlushRequest, t: TargetRecord): void {
    this.dropped.add(t.cpu, t.queuedTs, this.drainedAt(t));
  }

  private drainedAt(t: TargetRecord): number {
    if (t.handlerTs === null) return t.queuedTs; // never seen running: assume it did not hold the queue
    return Math.min(this.drains.firstAtOrAfter(t.cpu, t.queuedTs), t.handlerTs);
  }

  private meanLatency(): number {
    return this.latencyN > 0 ? this.latencySum / this.latencyN : 0;
  }

  /** A queued callback of this policy now does a full flush instead of `oldPages` (coalescing). */
  upgradeToFull(oldPages: number): void {
    if (oldPages < 0) return;
    if (oldPages > 0) this.rangedToFull++;
    this.workNs += this.work(-1) - this.work(oldPages);
  }

  /** A full flush the policy adds (switch-in after a deferral, or a flush the kernel did not do). */
  addFullFlush(): void {
    this.fullFlushesAdded++;
    this.workNs += this.work(-1);
  }

  private addIpiSeries(ts: number, ipis: number): void {
    if (ipis === 0) return;
    if (this.pendingSeries !== null) this.pendingSeries.push([ts, ipis]);
    else this.ctx.series.add('ipis', ts, ipis);
  }

  /** `counted`: the trace counts IPIs (the buffered points go to the series), else they are dropped. */
  private flushPendingSeries(counted: boolean): void {
    const list = this.pendingSeries;
    this.pendingSeries = null;
    if (list === null || !counted) return;
    for (const [ts, ipis] of list) this.ctx.series.add('ipis', ts, ipis);
  }

  unit(): IpiUnit {
    const m = this.ctx.model;
    if (m.flushMechanism === 'hypercall') return 'hypercall';
    return m.sawIpi ? 'ipi' : m.sawVectors ? 'vectors' : 'none';
  }

  /** The PolicyOutcome; `delays` is reported when the policy deferred or delayed anything. */
  outcome(withDelays: boolean): PolicyOutcome {
    const unit = this.unit();
    const counted = countsIpis(unit);
    this.flushPendingSeries(counted);
    const ipis = counted ? this.ipis : 0;
    const baseIpis = counted ? this.baseIpis : 0;
    const savedNs = this.ctx.cost.ipiRoundTripNs * (baseIpis - ipis) + (this.baseWorkNs - this.workNs);
    const notes = [...this.notes];
    if (unit === 'vectors') notes.push('No ipi_send_* events (kernel < 6.4): IPIs are counted where they arrived, one per call_function vector that ran a flush callback, like the observed figure.');
    if (unit === 'none') notes.push('No IPI events of any kind in this trace: IPIs are not counted.');
    if (unit === 'hypercall') {
      notes.push(
        `This machine flushes other CPUs by hypercall: no flush IPIs to avoid. Under this policy ${this.remoteRequests} remote flush requests for ${this.remoteCpus} CPUs, against ${this.baseRemoteRequests} for ${this.baseRemoteCpus} as traced (the CPUs of a hypercall are those should_flush_tlb() picks; the cost model counts no IPI and no hypercall cost).`,
      );
    }
    const byCause = [...this.byCause].map(([cause, [shootdowns, hw]]) => ({ cause, shootdowns: unit === 'hypercall' ? 0 : shootdowns, ipis: counted ? hw : 0 }));
    return {
      byCause,
      requests: this.requests,
      shootdowns: unit === 'hypercall' ? 0 : this.shootdowns,
      ipis,
      unit,
      remote: { requests: this.remoteRequests, cpus: this.remoteCpus, baseRequests: this.baseRemoteRequests, baseCpus: this.baseRemoteCpus },
      rangedToFull: this.rangedToFull,
      fullFlushesAdded: this.fullFlushesAdded,
      deferralDelayUs: withDelays ? this.delays : null,
      cpuTimeSavedUs: savedNs / 1000,
      extra: this.extra,
      notes,
    };
  }
}

/**
 * What a target CPU was doing with the request's mm. The callback's own event is the best evidence
 * (it shows the CPU when the callback ran, and catches a CPU switching to the mm); without one, the
 * model's snapshot at request time decides:
 *   'running'   tlb_flush 1 (flush_tlb_func() only logs it with the mm loaded and not lazy), or the
 *               snapshot has the mm loaded by a user task (any non-lazy CPU for a request without mm);
 *   'lazy'      tlb_flush 0 inside the handler (a lazy CPU switching to init_mm), or a kernel thread
 *               runs there with the mm still loaded (enter_lazy_tlb());
 *   'notLoaded' tlb_flush 5 (the mm is not loaded there), or the snapshot has another mm loaded;
 *   'unknown'   no evidence and the model does not know what the CPU has loaded (early in a trace):
 *               every policy keeps such a target as the kernel did.
 */
export type TargetState = 'running' | 'lazy' | 'notLoaded' | 'unknown';

export function targetState(req: FlushRequest, t: TargetRecord): TargetState {
  switch (t.outcome) {
    case 'ranged':
    case 'full':
    case 'zero':
      return 'running';
    case 'wrongCpu':
      return 'notLoaded';
    case 'switchToInitMm':
      return 'lazy';
    default:
      break;
  }
  const s = req.snapshot;
  if (s.known !== undefined && s.known[t.cpu] === 0) return 'unknown';
  if (req.mm !== 0 && s.loadedMm[t.cpu] !== req.mm) return 'notLoaded';
  return s.lazy[t.cpu] === 1 ? 'lazy' : 'running';
}

/** The cpumask the kernel of this trace keeps: 6.14+ lazy mm_cpumask, else the precise one. */
export function kernelMask(req: FlushRequest, lazyCpumask: boolean): Uint8Array {
  return lazyCpumask ? req.snapshot.lazyMask : req.snapshot.preciseMask;
}

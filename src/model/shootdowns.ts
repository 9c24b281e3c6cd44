// Flush requests, on the initiator's side (arch/x86/mm/tlb.c, DOMAIN.md §2 (a)-(d)):
//   flush_tlb_mm_range()   tlb_flush 4 (other CPUs in mm_cpumask) or a direct tlb_flush 3;
//   native_flush_tlb_multi() -> on_each_cpu_cond_mask(should_flush_tlb): csd_queue_cpu per
//                          target, ipi_send_cpu[mask], then the local part (flush_tlb_func() on
//                          itself, csd NULL: tlb_flush 3, 2 or 5);
//   arch_tlbbatch_flush()  tlb_flush 4 pages=-1 from reclaim, no mm, local tlb_flush 2;
//   tlb_remove_table_sync_one() the page-table-free sync, csd_queue_cpu with no tlb_flush 4.
// A request is open from its first event until its initiator has moved on and every queued target
// has answered (callbacks.ts runs the target side); then it is closed: its generation completes,
// the observed accounting and the fidelity score it, and the policies get it whole.

import type { CsdQueueCpuEvent, TlbFlushEvent, TraceEvent } from '../events/types.js';
import { callbackClass, TLB_CLASSES } from './callbacks.js';
import { batchedMms, type BatchedPending } from './batched-pending.js';
import type { Causes } from './causes.js';
import { FlushDelivery } from './delivery.js';
import { lazyTookMm, settleKthreadMm } from './kthread-flush.js';
import type { Fidelity } from './fidelity.js';
import { TRANSACTION_TIMEOUT_NS, type CsdPairing } from './pairing.js';
import type { PolicyStream } from './policy-stream.js';
import { INIT_MM, type TaskRegistry } from './tasks.js';
import { EMPTY_SNAPSHOT, removeItem, type CpuTlb, type TlbState } from './tlb-state.js';
import type { CallbackClass, FlushRequest, ObservedSink, RequestKind, TargetRecord, Vocabulary } from './types.js';

/** A request being made or waiting for its targets. */
export interface OpenRequest {
  req: FlushRequest;
  /** the initiator has moved on: no more targets will be queued */
  initiatorDone: boolean;
  /** targets queued and not yet answered */
  pending: number;
  closed: boolean;
  /** the IPI for the queued targets went out: a later csd_queue_cpu is another call */
  ipiSent?: boolean;
  /** closed, but held back from the policies until the flush mechanism is known (delivery.ts) */
  held?: boolean;
  /**
   * Remote reason-1 flushes seen before the initiator's own part said whether this is an mm flush
   * or arch_tlbbatch_flush() (see mmEvidence()): the CPU and the task that was running there.
   */
  evidence?: Array<{ cpu: number; pid: number }>;
  /** its local part was tlb_flush 2 (flush_tlb_func() with no mm): arch_tlbbatch_flush() for sure */
  batchLocal?: boolean;
  /** taken for a batch: the mm a CPU lazy when it was queued had loaded when it took it (kthread-flush.ts) */
  lazyTookMm?: number;
  /** taken for a batch, shown at its close to flush one mm (kthread-flush.ts) */
  mmFromTargets?: boolean;
}

/** What startRequest() and the like decide about a new request; newRequest() fills in the rest. */
type RequestFields = Pick<FlushRequest, 'kind' | 'mm' | 'pages' | 'gen' | 'completedGen' | 'cause' | 'freedTables' | 'trim' | 'snapshot'>;

/** Per CPU: the request it is initiating, and what it queued since its last IPI. */
export class InitiatorCpu {
  /** the flush request this CPU is initiating */
  initiating: OpenRequest | null = null;
  /** class of the callbacks queued by this CPU since its last IPI (to classify the IPI) */
  queuedClass: CallbackClass | null = null;
}

export interface ShootdownHooks {
  /** the trace named a CPU: make every tracker know it */
  ensureCpu(n: number): void;
  /** pids proven to share an mm */
  remapMm(drop: number, keep: number): void;
}

export class Shootdowns {
  readonly cpus: InitiatorCpu[] = [];
  /** requests not yet closed (window pairing matches handlers to these when there are no csd events) */
  readonly open: OpenRequest[] = [];
  /** TLB IPIs of no request the trace shows (queued before it started, or its initiator's events lost) */
  unattachedIpis = 0;
  private nextReqId = 1;

  constructor(
    private readonly tlb: TlbState,
    private readonly tasks: TaskRegistry,
    private readonly causes: Causes,
    private readonly batchedPending: BatchedPending,
    private readonly pairing: CsdPairing<OpenRequest>,
    private readonly stream: PolicyStream,
    private readonly sink: ObservedSink,
    private readonly fidelity: Fidelity,
    private readonly vocab: Vocabulary,
    private readonly hooks: ShootdownHooks,
  ) {
    this.delivery = new FlushDelivery(sink, vocab, () => this.stream.drain());
  }

  private readonly delivery: FlushDelivery;

  grow(n: number): void {
    for (let i = this.cpus.length; i < n; i++) this.cpus.push(new InitiatorCpu());
  }

  /** The request `cpu` is initiating, if any. */
  initiating(cpu: number): OpenRequest | null {
    return this.cpus[cpu]!.initiating;
  }

  // ---------------------------------------------------------------- starting a request

  /** tlb_flush 4 (or 3/2 with nothing open): a request of the event's task starts here. */
  start(e: TlbFlushEvent, kind: RequestKind, kthread: boolean): FlushRequest {
    this.initiatorDone(e.cpu, e.ts);
    let mm = kthread ? 0 : this.tasks.mmOf(e.pid);
    if (!kthread) this.tasks.markUser(e.pid);
    if (mm === INIT_MM) mm = 0;
    const cause = this.causes.causeOf(e.pid, e.ts, kthread, e.comm);
    if (kind === 'remote' && (kthread || this.causes.inReclaim(e.pid)) && e.pages < 0) {
      // arch_tlbbatch_flush() from reclaim: no mm (the batch spans mms)
      kind = 'batched';
      mm = 0;
    }
    let gen = 0;
    let completedGen = 0;
    let trim = false;
    // tlb_gen bumps that `gen` cannot count: a batch's, and a kernel thread's remote flush (of
    // some user mm the event does not name)
    if (kind === 'batched') this.tlb.countBatch(kthread || this.causes.inReclaim(e.pid) ? 0 : mm);
    else if (kind === 'remote' && mm === 0) this.tlb.countBatch(0);
    if (mm !== 0 && kind !== 'batched') {
      const m = this.tlb.mm(mm);
      gen = this.tlb.openGen(m);
      completedGen = m.completedGen;
      // flush_tlb_mm_range(): info->trim_cpumask = should_trim_cpumask(mm) before flush_tlb_multi()
      if (kind === 'remote' && e.ts >= m.nextTrimTs) {
        trim = true;
        m.nextTrimTs = e.ts + 1_000_000_000;
      }
    }
    // a direct local flush has no targets: nothing to predict, no CPU state for policies to read
    const snapshot = kind === 'localOnly' ? EMPTY_SNAPSHOT : this.tlb.snapshot(mm);
    return this.openRequest(e, { kind, mm, pages: e.pages, gen, completedGen, cause, freedTables: null, trim, snapshot }).req;
  }

  /**
   * A direct local flush (tlb_flush 3 outside any request) while no event waits in the outbox: it
   * opens and closes on this one event, and most requests of fork, madvise and munmap storms are
   * these. The same state changes, sink calls and policy event, in the same order, as start() +
   * localPart() + initiatorDone() make for it, without what only requests that wait for targets
   * need: no OpenRequest, no window or outbox entry, and no open generation (its generation is
   * the mm's newest, opened and completed at once).
   */
  directLocalFlush(e: TlbFlushEvent, c: CpuTlb, kthread: boolean): void {
    let mm = kthread ? 0 : this.tasks.mmOf(e.pid);
    if (!kthread) this.tasks.markUser(e.pid);
    if (mm === INIT_MM) mm = 0;
    const cause = this.causes.causeOf(e.pid, e.ts, kthread, e.comm);
    const m = mm !== 0 ? this.tlb.mm(mm) : null;
    const gen = m !== null ? this.tlb.bumpGen(m) : 0;
    const req = this.newRequest(e, {
      kind: 'localOnly',
      mm,
      pages: e.pages,
      gen,
      completedGen: m !== null ? m.completedGen : 0,
      cause,
      freedTables: null,
      trim: false,
      snapshot: EMPTY_SNAPSHOT,
    });
    req.local = e.pages === 0 ? 'zero' : e.pages < 0 ? 'full' : 'ranged';
    req.localPages = e.pages;
    this.sink.onRequest(req);
    this.stream.flushSyscalls();
    this.tlb.catchUp(c, c.loadedMm);
    // completedGen, as close() computes it (this request's generation is done)
    if (m !== null) this.tlb.settleCompleted(m);
    this.sink.onRequestClosed(req);
    this.stream.emitNow({ type: 'request', req });
  }

  /** csd_queue_cpu: a callback queued for `e.target`; a TLB one is a target of the request being made. */
  onCsdQueue(e: CsdQueueCpuEvent): void {
    const ic = this.cpus[e.cpu]!;
    const cls = callbackClass(e.func);
    ic.queuedClass = ic.queuedClass === null || TLB_CLASSES.has(cls) ? cls : ic.queuedClass;
    let open: OpenRequest | null = null;
    let target: TargetRecord | null = null;
    if (cls === 'flush_tlb_func' || cls === 'tlb_remove_table_smp_sync') {
      open = ic.initiating;
      const wantKind = cls === 'flush_tlb_func' ? null : 'tableSync';
      if (open === null || open.ipiSent || (wantKind === 'tableSync') !== (open.req.kind === 'tableSync')) {
        open = this.implicitRequest(e, cls === 'tlb_remove_table_smp_sync' ? 'tableSync' : 'remote');
      }
      this.hooks.ensureCpu(e.target);
      target = { cpu: e.target, queuedTs: e.ts, ipi: false, handlerTs: null, outcome: 'unanswered', pages: 0 };
      open.req.targets.push(target);
      open.pending++;
    }
    this.pairing.queue(e.target, e.func, e.csd, { open, target }, e.ts);
  }

  /** A csd_queue_cpu with no tlb_flush 4 before it: a table sync, or a request whose start we missed. */
  private implicitRequest(e: CsdQueueCpuEvent, kind: RequestKind): OpenRequest {
    const kthread = this.tasks.isKernelThread(e.pid);
    let mm = kthread ? 0 : this.tasks.mmOf(e.pid);
    if (mm === INIT_MM) mm = 0;
    return this.openRequest(e, {
      kind,
      mm,
      pages: -1,
      gen: 0,
      completedGen: mm !== 0 ? this.tlb.mm(mm).completedGen : 0,
      cause: this.causes.causeOf(e.pid, e.ts, kthread, e.comm),
      freedTables: kind === 'tableSync' ? true : null,
      trim: false,
      snapshot: this.tlb.snapshot(mm),
    });
  }

  /** Make a request initiated by the event's CPU and task, and open it there. */
  private openRequest(e: TraceEvent, f: RequestFields): OpenRequest {
    const req = this.newRequest(e, f);
    const open: OpenRequest = { req, initiatorDone: false, pending: 0, closed: false };
    this.initiatorDone(e.cpu, e.ts);
    this.cpus[e.cpu]!.initiating = open;
    this.open.push(open);
    this.sink.onRequest(req);
    this.stream.push({ type: 'request', req }, open);
    return open;
  }

  /** A request of the event's CPU and task, nothing done yet: its local part 'none', no targets. */
  private newRequest(e: TraceEvent, f: RequestFields): FlushRequest {
    const req = this.makeRequest(e, f);
    this.batchedPending.classify(req);
    return req;
  }

  private makeRequest(e: TraceEvent, f: RequestFields): FlushRequest {
    // every field written out (no spread): one object shape, and ~100k requests a second
    return {
      id: this.nextReqId++,
      ts: e.ts,
      closedTs: e.ts,
      cpu: e.cpu,
      pid: e.pid,
      comm: e.comm,
      kind: f.kind,
      mm: f.mm,
      pages: f.pages,
      gen: f.gen,
      completedGen: f.completedGen,
      cause: f.cause,
      local: 'none',
      localPages: 0,
      targets: [],
      ipis: 0,
      freedTables: f.freedTables,
      trim: f.trim,
      delivery: null,
      snapshot: f.snapshot,
      batchedPending: false,
    };
  }

  /** ipi_send_cpu / ipi_send_cpumask: the IPI for what this CPU queued since its last one. */
  onIpi(ts: number, cpu: number, targets: readonly number[], callback: string): void {
    const ic = this.cpus[cpu]!;
    const cls = ic.queuedClass;
    // reschedule IPIs (callback=0x0) and other SMP calls are IPIs the CPU took, but not TLB work
    const tlb = cls !== null && TLB_CLASSES.has(cls) && callback !== '0x0';
    this.sink.onIpi(ts, cpu, targets, tlb);
    ic.queuedClass = null;
    if (tlb && ic.initiating !== null) {
      const req = ic.initiating.req;
      req.ipis += targets.length;
      ic.initiating.ipiSent = true;
      for (const t of req.targets) if (targets.includes(t.cpu)) t.ipi = true;
    } else if (tlb) {
      this.unattachedIpis += targets.length;
    }
  }

  // ---------------------------------------------------------------- the initiator's own part

  /** The initiator's own flush_tlb_func() run (csd NULL) or its direct local flush: tlb_flush 3, 2, 5 or 0. */
  localPart(e: TlbFlushEvent, open: OpenRequest | null): void {
    if (open === null) return;
    const req = open.req;
    if (e.reason === 5) {
      if (req.mm !== 0) this.tlb.mm(req.mm).lazyMask[e.cpu] = 0;
      req.local = 'wrongCpu';
    } else if (e.reason === 0) {
      // the initiator itself was lazy (e.g. an exiting task after exit_mm(), or a kernel thread
      // flushing the mm it keeps loaded): switch to init_mm
      lazyTookMm(open, this.tlb.cpus[e.cpu]!.loadedMm);
      this.tlb.loadMm(e.cpu, INIT_MM, e.pages);
      req.local = 'switchToInitMm';
    } else {
      if (e.reason === 2) {
        open.batchLocal = true;
        if (req.kind === 'remote') {
          req.kind = 'batched';
          this.tlb.countBatch(req.cause === 'reclaim' ? 0 : req.mm);
        }
        if (req.kind === 'batched' && req.mm !== 0) {
          // first counted as an mm request: undo the generation bump
          this.tlb.retractGen(req.mm, req.gen);
          req.mm = 0;
          req.gen = 0;
        }
      }
      req.local = e.pages === 0 ? 'zero' : e.pages < 0 ? 'full' : 'ranged';
      const c = this.tlb.cpus[e.cpu]!;
      this.tlb.catchUp(c, c.loadedMm);
    }
    req.localPages = e.pages;
    this.settleEvidence(open);
  }

  // ---------------------------------------------------------------- what targets tell about the mm

  /**
   * A remote reason-1 flush of an mm request ran on `cpu`: the request's mm is what that CPU has
   * loaded (6.14+ returns with reason 5 otherwise; before, only CPUs in the precise mm_cpumask
   * were sent the request). Without tgids this is also how threads of one process are found: the
   * task running there shares the initiator's mm.
   */
  mmEvidence(req: FlushRequest, cpu: number): void {
    const c = this.tlb.cpus[cpu]!;
    if (req.mm === 0 || req.mm === c.loadedMm) return;
    if (!this.tasks.tgidKnown && !c.lazy && c.pid > 0 && !this.tasks.isKernelThread(c.pid)) {
      const merged = this.tasks.sameMm(req.pid, c.pid);
      if (merged !== null) this.hooks.remapMm(merged.drop, merged.keep);
    }
    if (req.mm !== c.loadedMm && this.tlb.hasMm(req.mm)) this.tlb.loadMm(cpu, req.mm, 0, false);
    c.lazy = false;
  }

  /**
   * The request turned out to be an mm flush (or closed as one): the evidence its early targets
   * left counts now, for the CPUs still running the task that took the callback.
   */
  private settleEvidence(open: OpenRequest): void {
    const list = open.evidence;
    if (list === undefined) return;
    open.evidence = undefined;
    if (open.req.kind !== 'remote') return;
    for (const ev of list) {
      if (this.tlb.cpus[ev.cpu]!.pid === ev.pid) this.mmEvidence(open.req, ev.cpu);
    }
  }

  // ---------------------------------------------------------------- closing

  /** The initiator on `cpu` moved on: no more targets can be queued for its request. */
  initiatorDone(cpu: number, ts: number): void {
    const ic = this.cpus[cpu]!;
    const open = ic.initiating;
    if (open === null) return;
    ic.initiating = null;
    if (open.initiatorDone) return;
    open.initiatorDone = true;
    // every target it will queue is queued: how the flush reached the other CPUs, and how well the
    // model predicted them (remote mm requests, when the csd vocabulary shows targets)
    const req = open.req;
    if (this.vocab.csd && req.kind === 'remote' && req.mm !== 0) {
      const needed = this.delivery.classify(req);
      this.fidelity.targets(req, req.delivery === 'noIpi');
      // held back from the policies until the trace shows whether this machine flushes by hypercall
      this.delivery.settle(open, needed);
    }
    this.maybeClose(open, ts);
  }

  /** A target of `open` answered or was given up on. */
  targetDone(open: OpenRequest, ts: number): void {
    open.pending--;
    this.maybeClose(open, ts);
  }

  maybeClose(open: OpenRequest, ts: number): void {
    if (open.closed || !open.initiatorDone) return;
    // csd pairing: wait for every queued target; window pairing closes when the initiator moves on
    if (this.vocab.csd && open.pending > 0) return;
    this.close(open, ts);
  }

  /**
   * Close `open` as it stands (its targets are not coming: timeout, outbox cap, end of input); one
   * held back from the policies (delivery.ts) is let go, with the others held (outbox cap).
   */
  forceClose(open: OpenRequest, ts: number): void {
    if (open.closed && open.held === true) {
      this.delivery.releaseAll();
      return;
    }
    open.initiatorDone = true;
    this.close(open, ts);
  }

  private close(open: OpenRequest, ts: number): void {
    if (open.closed) return;
    open.closed = true;
    this.settleEvidence(open);
    const req = open.req;
    req.closedTs = ts;
    if (this.vocab.csd) settleKthreadMm(open);
    this.batchedPending.closed(req);
    if (req.kind === 'batched') this.batchedPending.batched(batchedMms(req, this.tasks, this.causes, this.vocab.reason5));
    if (req.mm !== 0 && req.gen > 0) this.tlb.closeGen(this.tlb.mm(req.mm), req.gen);
    this.inferFreedTables(req);
    this.sink.onRequestClosed(req);
    removeItem(this.open, open);
    this.stream.drain();
  }

  /** Close transactions whose targets never answered (lost events, trace end) after a timeout. */
  expire(now: number): void {
    if (this.open.length === 0) return;
    const first = this.open[0]!;
    if (now - first.req.ts < TRANSACTION_TIMEOUT_NS) return;
    for (const o of [...this.open]) {
      if (now - o.req.ts < TRANSACTION_TIMEOUT_NS) break;
      this.forceClose(o, now);
    }
  }

  /** End of input: every request still open is closed as it stands. */
  closeAll(ts: number): void {
    this.delivery.finish();
    for (const o of [...this.open]) this.forceClose(o, ts);
  }

  /** Unfiltered (freed_tables) when a target was lazy at request time, or not running the mm without trim. */
  private inferFreedTables(req: FlushRequest): void {
    if (req.freedTables !== null || req.kind !== 'remote' || req.mm === 0) return;
    if (!this.vocab.csd) return;
    // should_flush_tlb() skips lazy CPUs always, and CPUs not running the mm unless trim_cpumask
    let unfiltered = false;
    for (const t of req.targets) {
      if (req.snapshot.lazy[t.cpu]) unfiltered = true;
      else if (!req.trim && (t.outcome === 'wrongCpu' || req.snapshot.loadedMm[t.cpu] !== req.mm)) unfiltered = true;
    }
    req.freedTables = unfiltered ? true : req.targets.length > 0 ? false : null;
  }
}

// The kernel model: rebuilds x86 TLB state (arch/x86/mm/tlb.c, 6.1 .. 6.18) from the event stream.
//
// This file is the dispatcher: it reads each event the way the kernel produced it and hands it to
// the tracker that owns that part of the state (Perfetto's trace processor works the same way):
//   tasks.ts         who owns which mm (tgids, or pids merged on evidence);
//   tlb-state.ts     per CPU cpu_tlbstate (loaded mm, lazy, ASID slots), per mm tlb_gen and mm_cpumask;
//   switches.ts      sched_switch and what switch_mm_irqs_off() did (predicted, then observed);
//   shootdowns.ts    flush requests on the initiator's side, open until every target answered;
//   callbacks.ts     flush callbacks on the targets' side; pairing.ts pairs the two by csd;
//   causes.ts        why a flush happened; lifetimes.ts when mms begin and end;
//   flush-reasons.ts what a tlb_flush is, by its reason and where it ran;
//   delivery.ts      how a flush reached other CPUs: IPIs, or a hypervisor's hypercall;
//   fidelity.ts      how well the state predicted the kernel; policy-stream.ts what policies read.
// It reports to an `ObservedSink` (accounting) and emits `ModelEvent`s, time-ordered and with
// complete requests, to the policies.

import type { SyscallEnterEvent, TlbFlushEvent, TraceEvent } from '../events/types.js';
import { BatchedPending } from './batched-pending.js';
import { RowEvents, ROW_SYSCALL, ROW_TLB_FLUSH, type EventBatch } from '../events/batch.js';
import type { SyscallInfo } from '../events/payloads/syscalls.js';
import { Callbacks } from './callbacks.js';
import { Causes } from './causes.js';
import { Fidelity } from './fidelity.js';
import { TlbFlushReasons } from './flush-reasons.js';
import { Lifetimes } from './lifetimes.js';
import { CsdPairing } from './pairing.js';
import { PolicyStream } from './policy-stream.js';
import { Shootdowns, type OpenRequest } from './shootdowns.js';
import { Switches } from './switches.js';
import { SyscallRun } from './syscall-run.js';
import { cloneSharesMm, INIT_MM, TaskRegistry, type TaskInfo } from './tasks.js';
import { TlbState, type CpuTlb } from './tlb-state.js';
import type { ModelEvent, ObservedSink, Vocabulary } from './types.js';

export { outboxLimit } from './policy-stream.js';

export interface ModelOptions {
  cpus: number;
  tgidKnown: boolean;
  /** emit policy-facing events here, time-ordered */
  emit: (e: ModelEvent) => void;
  sink: ObservedSink;
  /**
   * Syscalls some policy wants every entry of (PolicyRun.everySyscall), each with the set of
   * syscalls that every policy wanting it also wants every entry of; filled in before the first
   * event. Entries of other syscalls, and for the other policies these too, are coalesced per
   * task: see PolicyStream.pushSyscall().
   */
  everySyscall?: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * The task of a CPU's last event, the header comm and the registry epoch it was looked up with (a
 * cache). The comm kept is the event's own string, not task.comm: equal names held in two strings
 * (a task first named by a fork or switch payload, or by another CPU's line header) compare by
 * content, a runtime call per event, where the same string compares by identity. task.comm
 * changes only with an epoch bump, so this stays exact.
 */
class TaskCache {
  task: TaskInfo | null = null;
  comm = '';
  epoch = -1;
}

export class KernelModel {
  readonly tasks: TaskRegistry;
  private readonly sink: ObservedSink;
  private readonly tlb: TlbState;
  private readonly stream: PolicyStream;
  private readonly causes: Causes;
  private readonly pairing: CsdPairing<OpenRequest>;
  private readonly shootdowns: Shootdowns;
  private readonly callbacks: Callbacks;
  private readonly switches: Switches;
  private readonly lifetimes: Lifetimes;
  private readonly flushReasons: TlbFlushReasons;
  private readonly batchedPending = new BatchedPending();
  private readonly taskCache: TaskCache[] = [];
  /** the objects row events are read through (consumeRow()) */
  private readonly rows = new RowEvents();
  private readonly rowView = (b: EventBatch, i: number) => this.rows.syscall(b, i);
  /** the run of syscall entries the last event continued, if any (syscall-run.ts) */
  private readonly run: SyscallRun;
  private readonly vocab: Vocabulary = { csd: false, ipi: false, reason5: false, vectors: false };
  private nCpus = 0;
  private consumed = 0;

  constructor(opts: ModelOptions) {
    const n = Math.max(1, opts.cpus);
    const sink = opts.sink;
    this.tasks = new TaskRegistry(opts.tgidKnown);
    this.tlb = new TlbState(n);
    this.stream = new PolicyStream(opts.emit, opts.everySyscall ?? new Map(), n);
    this.run = new SyscallRun(this.stream);
    this.causes = new Causes(this.tasks);
    const fidelity = new Fidelity(sink);
    this.pairing = new CsdPairing<OpenRequest>((open, ts) => this.shootdowns.targetDone(open, ts));
    this.shootdowns = new Shootdowns(this.tlb, this.tasks, this.causes, this.batchedPending, this.pairing, this.stream, sink, fidelity, this.vocab, {
      ensureCpu: (cpu) => this.cpu(cpu),
      remapMm: (drop, keep) => this.remapMm(drop, keep),
    });
    this.stream.forceClose = (open, ts) => this.shootdowns.forceClose(open as OpenRequest, ts);
    this.callbacks = new Callbacks(this.tlb, this.shootdowns, this.pairing, sink, this.vocab);
    this.switches = new Switches(this.tlb, this.tasks, this.stream, fidelity, {
      initiatorDone: (cpu, ts) => this.shootdowns.initiatorDone(cpu, ts),
      remapMm: (drop, keep) => this.remapMm(drop, keep),
    });
    this.lifetimes = new Lifetimes(this.tlb, this.tasks, this.switches, this.stream);
    this.flushReasons = new TlbFlushReasons(this.tlb, this.shootdowns, this.callbacks, this.switches, this.stream, sink, this.vocab);
    this.sink = sink;
    this.cpu(n - 1);
  }

  get cpuCount(): number {
    return this.nCpus;
  }

  /** the event vocabulary seen so far */
  get sawCsd(): boolean {
    return this.vocab.csd;
  }
  get sawIpi(): boolean {
    return this.vocab.ipi;
  }
  get sawReason5(): boolean {
    return this.vocab.reason5;
  }
  get sawVectors(): boolean {
    return this.vocab.vectors;
  }

  /**
   * Remote flush callbacks and TLB IPIs that belong to no request the trace shows (queued before
   * it started, or their initiator's events were lost). Policies cannot act on them: the pipeline
   * carries them over unchanged to every policy.
   */
  get unattachedCallbacks(): number {
    return this.callbacks.unattached;
  }
  /** TLB IPIs of no request the trace shows: sent (ipi_send_*), or, before 6.4, vectors (callbacks.ts) */
  get unattachedIpis(): number {
    return this.shootdowns.unattachedIpis + this.callbacks.unattachedVectorIpis;
  }

  /** Targets queued but never answered (after finish()). */
  unansweredCount(): number {
    return this.pairing.unanswered();
  }

  /** Sizes of the model's queues, for the tests that check they stay bounded on broken traces. */
  queueSizes(): { outbox: number; openRequests: number; queuedCallbacks: number } {
    return { outbox: this.stream.waiting, openRequests: this.shootdowns.open.length, queuedCallbacks: this.pairing.waiting };
  }

  /**
   * The input declared its CPU count (`cpus=N`, `#P:N`) after the model was made: a text
   * trace's header line is parsed with its first batch. Before the first event this gives the
   * state a model made with N CPUs has, so a CPU that has not shown up yet is known to exist
   * (target predictions are not compared while its loaded mm is unknown), as with trace.dat,
   * whose CPU count is known before any record.
   */
  declareCpus(n: number): void {
    if (n > this.nCpus) this.cpu(n - 1);
  }

  /** CPU `n`'s TLB state; every tracker's per-CPU state grows when the trace shows a new CPU. */
  private cpu(n: number): CpuTlb {
    if (n >= this.nCpus) {
      const newN = n + 1;
      this.tlb.grow(newN);
      this.switches.grow(newN);
      this.shootdowns.grow(newN);
      this.callbacks.grow(newN);
      for (let i = this.taskCache.length; i < newN; i++) this.taskCache.push(new TaskCache());
      this.stream.setCpus(newN);
      this.nCpus = newN;
    }
    return this.tlb.cpus[n]!;
  }

  mmName(id: number): string {
    if (id === INIT_MM) return 'init_mm';
    const info = this.tasks.mmIdentity(id);
    return info ? `${info.comm}[${info.tgid}]${info.frozen ? ' before exec' : ''}` : `mm#${id}`;
  }

  mmIdentity(id: number) {
    return this.tasks.mmIdentity(id);
  }

  // ---------------------------------------------------------------- events

  /**
   * Row i of a batch (src/events/batch.ts). A syscall entry or tlb_flush row is read through an
   * object filled in anew for each row: nothing here keeps an event object past its consume()
   * (the policy stream copies the syscall entries it holds back).
   */
  consumeRow(b: EventBatch, i: number): void {
    const kind = b.row[i];
    if (kind === ROW_SYSCALL) {
      if (this.run.continuedByRow(b, i, this.tasks.epoch)) {
        this.run.continueRow(b, i, this.rowView);
        this.afterEvent(b.ts[i]!);
      } else this.consumeSyscall(this.rows.syscall(b, i), b.sys[i]!);
      return;
    }
    this.run.task = null;
    if (kind === ROW_TLB_FLUSH) this.consumeTlbFlush(this.rows.tlbFlush(b, i));
    else this.consume(b.objects[i]!);
  }

  /** One event (the model keeps no reference to it). */
  consume(e: TraceEvent): void {
    if (e.kind === 'syscall_enter') {
      if (this.run.continuedBy(e, this.tasks.epoch)) {
        this.run.continueWith(e);
        this.afterEvent(e.ts);
      } else this.consumeSyscall(e, null);
      return;
    }
    this.run.task = null;
    if (e.kind === 'tlb_flush') {
      this.consumeTlbFlush(e);
      return;
    }
    const cpu = e.cpu;
    const c = this.cpu(cpu);
    const sc = this.switches.cpus[cpu]!;
    // exec renames the task: remember the name its old mm had
    const commBefore = e.kind === 'sched_process_exec' ? this.tasks.task(e.execPid)?.comm : undefined;
    const task = this.taskOf(cpu, e.pid, e.tgid, e.comm);
    // The header names the task running on this CPU. Before the first switch it tells us what the
    // CPU has loaded; a task other than the one the last sched_switch named means a switch we
    // never saw.
    if (sc.pending === null && !sc.execPending && e.pid !== c.pid) {
      this.learnFromHeader(cpu, c, e.pid, task.kernelThread || task.exited === true, c.pid >= 0);
      c.pid = e.pid;
    }
    // A pending switch is resolved by the first event after it on that CPU (see consumeTlbFlush()).
    c.enteringLazy = false;
    if (sc.pending !== null) {
      // the switched-in task's own exit: it had run exit_mm() before it was switched out
      const exiting = e.kind === 'sched_process_exit' && e.exitPid === sc.pending.nextPid;
      this.switches.resolve(cpu, null, exiting);
    }
    // The initiator moved on: no more targets can be queued for its request.
    if (!partOfInitiation(e)) this.shootdowns.initiatorDone(cpu, e.ts);

    switch (e.kind) {
      case 'csd_queue_cpu':
        this.vocab.csd = true;
        this.shootdowns.onCsdQueue(e);
        break;
      case 'csd_function_entry':
        this.vocab.csd = true;
        this.callbacks.onCsdEntry(e);
        break;
      case 'csd_function_exit':
        this.callbacks.onCsdExit(e);
        break;
      case 'ipi_send_cpu':
        this.vocab.ipi = true;
        this.shootdowns.onIpi(e.ts, cpu, [e.target], e.callback);
        break;
      case 'ipi_send_cpumask':
        this.vocab.ipi = true;
        this.shootdowns.onIpi(e.ts, cpu, e.targets, e.callback);
        break;
      case 'call_function_entry':
      case 'call_function_single_entry':
        this.vocab.vectors = true;
        this.callbacks.onVectorEntry(cpu, e.ts);
        break;
      case 'call_function_exit':
      case 'call_function_single_exit':
        this.callbacks.onVectorExit(cpu);
        break;
      case 'sched_switch':
        this.switches.onSwitch(e);
        break;
      case 'sched_process_fork': {
        const merged = this.tasks.onFork(e.parentPid, e.childPid, e.childComm);
        if (merged !== null) this.remapMm(merged.drop, merged.keep);
        break;
      }
      case 'sched_process_exec':
        this.lifetimes.onExec(e.execPid, cpu, e.ts, commBefore);
        break;
      case 'sched_process_exit':
        this.lifetimes.onExit(e.exitPid, e.tgid, e.ts, cpu);
        break;
      case 'mm_vmscan_direct_reclaim_begin':
        this.causes.directReclaimBegin(e.pid);
        this.stream.push({ type: 'reclaim', phase: 'begin', ts: e.ts, cpu, pid: e.pid, nrReclaimed: -1 }, null);
        break;
      case 'mm_vmscan_direct_reclaim_end':
        this.causes.directReclaimEnd(e.pid);
        this.stream.push({ type: 'reclaim', phase: 'end', ts: e.ts, cpu, pid: e.pid, nrReclaimed: e.nrReclaimed }, null);
        break;
      case 'mm_vmscan_lru_shrink_inactive':
        this.stream.push({ type: 'reclaim', phase: 'pass', ts: e.ts, cpu, pid: e.pid, nrReclaimed: e.nrReclaimed }, null);
        break;
      case 'lost_events':
        // Pairing state on that CPU cannot be trusted across a gap.
        this.callbacks.lostEvents(cpu);
        this.switches.forget(cpu);
        this.pairing.abandonOn(cpu, e.ts);
        break;
      default:
        break;
    }
    this.afterEvent(e.ts);
  }

  /**
   * consume() of a syscall entry (85% of the events of a madvise or munmap storm). The same steps
   * in the same order; its fields are read here, where only syscall entries pass, so V8 reads them
   * through one event shape's inline cache instead of a megamorphic lookup over all event shapes.
   * `reused`: the syscall of a row event whose object is filled in anew for the next row (the
   * stream copies what it keeps of it), null when `e` is an event of its own.
   */
  private consumeSyscall(e: SyscallEnterEvent, reused: SyscallInfo | null): void {
    this.run.task = null;
    const cpu = e.cpu;
    const pid = e.pid;
    const ts = e.ts;
    const c = this.cpu(cpu);
    const sc = this.switches.cpus[cpu]!;
    const task = this.taskOf(cpu, pid, e.tgid, e.comm);
    if (sc.pending === null && !sc.execPending && pid !== c.pid) {
      this.learnFromHeader(cpu, c, pid, task.kernelThread || task.exited === true, c.pid >= 0);
      c.pid = pid;
    }
    c.enteringLazy = false;
    if (sc.pending !== null) this.switches.resolve(cpu, null);
    // a syscall is no part of an initiation: the initiator moved on
    this.shootdowns.initiatorDone(cpu, ts);

    if (!task.user) this.tasks.markUser(pid);
    // a capture with both raw_syscalls:sys_enter and syscalls:sys_enter_* records each call twice
    const prev = task.lastSyscall;
    if (prev === null || !(prev.name === e.name && prev.raw !== e.raw && ts - prev.ts < 1_000_000)) {
      if (prev === null) task.lastSyscall = { name: e.name, ts, raw: e.raw };
      else {
        prev.name = e.name;
        prev.ts = ts;
        prev.raw = e.raw;
      }
      // a clone call: what it says about its child's mm (TaskRegistry.onFork())
      task.cloneVm = cloneSharesMm(e.name, e.args);
      task.flushedInCall = false;
      const mm = this.tasks.mmOf(pid);
      this.batchedPending.call(pid, mm, e.name);
      this.stream.pushSyscall(e, task, mm, reused);
      // the task's next entries of this syscall on this CPU may take the short path (syscall-run.ts)
      this.run.begin(e, task, mm, reused, this.tasks.epoch);
    }
    this.afterEvent(ts);
  }

  /** consume() of a tlb_flush (the most frequent event after syscall entries), as consumeSyscall(). */
  private consumeTlbFlush(e: TlbFlushEvent): void {
    const cpu = e.cpu;
    const pid = e.pid;
    const reason = e.reason;
    const c = this.cpu(cpu);
    const sc = this.switches.cpus[cpu]!;
    const h = this.callbacks.cpus[cpu]!;
    const task = this.taskOf(cpu, pid, e.tgid, e.comm);
    // tlb_flush 0 names the task being switched away from, not the one running
    if (sc.pending === null && reason !== 0 && !sc.execPending && pid !== c.pid) {
      this.learnFromHeader(cpu, c, pid, task.kernelThread || task.exited === true, c.pid >= 0);
      c.pid = pid;
    }
    c.enteringLazy = false;
    // a pending switch is resolved by this flush if it is the switch's own (reason 0 outside a handler)
    if (sc.pending !== null && !(reason === 0 && h.csd.length === 0)) this.switches.resolve(cpu, null);
    // a tlb_flush that belongs to the initiation in progress: its local part (3/2/5), or anything inside a handler frame
    const initiating = this.shootdowns.initiating(cpu);
    if (initiating !== null && !(h.csd.length > 0 || h.vectorDepth > 0 || (reason !== 4 && initiating.req.local === 'none' && reason !== 0))) {
      this.shootdowns.initiatorDone(cpu, e.ts);
    }
    // the task initiated a flush (tlb_flush 4, or a local-only 3 outside any callback): TaskRegistry.onFork()
    if ((reason === 4 || reason === 3) && h.csd.length === 0 && h.vectorDepth === 0) task.flushedInCall = true;
    this.flushReasons.dispatch(e, c, task.kernelThread);
    this.afterEvent(e.ts);
  }

  /**
   * The task in the header of an event on `cpu`. Consecutive events of one CPU mostly come from
   * the same task: when nothing in the header differs from what the registry holds, see() would
   * change nothing, so it is skipped.
   */
  private taskOf(cpu: number, pid: number, tgid: number, comm: string): TaskInfo {
    const tc = this.taskCache[cpu]!;
    let task = tc.task;
    if (task === null || task.pid !== pid || tc.comm !== comm || tc.epoch !== this.tasks.epoch || (tgid >= 0 && (task.tgid !== tgid || task.tgidProvisional))) {
      task = this.tasks.see(pid, tgid, comm);
      tc.task = task;
      tc.comm = comm;
      tc.epoch = this.tasks.epoch;
    }
    if (this.tasks.pendingMerge !== null) {
      this.remapMm(this.tasks.pendingMerge.drop, this.tasks.pendingMerge.keep);
      this.tasks.pendingMerge = null;
    }
    return task;
  }

  /**
   * A user task running on a CPU whose state we did not know: it runs its own mm, not lazily.
   * A kernel thread tells us nothing (it runs whatever mm was loaded before, lazily).
   */
  private learnFromHeader(cpu: number, c: CpuTlb, pid: number, kthread: boolean, pidKnown: boolean): void {
    if (kthread || pid <= 0) {
      // a switch to a kernel thread we did not see: it borrows the loaded mm lazily
      if (pidKnown && c.loadedMm !== INIT_MM) c.lazy = true;
      return;
    }
    const mm = this.tasks.mmOf(pid);
    if (mm === INIT_MM) return;
    if (mm !== c.loadedMm || !c.loadedKnown) this.tlb.loadMm(cpu, mm, 0, false);
    c.lazy = false;
  }

  /** pids proven to share an mm: every tracker's state keyed by the merged-away id moves to `keep`. */
  private remapMm(drop: number, keep: number): void {
    this.tlb.remap(drop, keep);
    this.batchedPending.remap(drop, keep);
    this.switches.remap(drop, keep);
    // requests not yet handed to policies name the surviving id
    this.stream.remap(drop, keep);
  }

  /** Every event's last step: time out stale transactions, and now and then forget the dead. */
  private afterEvent(ts: number): void {
    this.shootdowns.expire(ts);
    if ((++this.consumed & 4095) === 0) {
      this.lifetimes.purge(ts);
      this.pairing.sweep(ts);
    }
  }

  /** End of input: close what is open, flush the policy stream. */
  finish(ts: number): void {
    this.run.task = null;
    this.stream.flushSyscalls();
    for (let i = 0; i < this.nCpus; i++) {
      if (this.switches.cpus[i]!.pending !== null) this.switches.resolve(i, null);
      this.shootdowns.initiatorDone(i, ts);
    }
    this.shootdowns.closeAll(ts);
    this.stream.flushSyscalls();
    this.stream.drain();
  }
}

/** Events that belong to an initiation in progress on this CPU (DOMAIN.md §2 (b)). */
function partOfInitiation(e: TraceEvent): boolean {
  switch (e.kind) {
    case 'csd_queue_cpu':
    case 'ipi_send_cpu':
    case 'ipi_send_cpumask':
    case 'call_function_entry':
    case 'call_function_single_entry':
    case 'call_function_exit':
    case 'call_function_single_exit':
    case 'csd_function_entry':
    case 'csd_function_exit':
      return true;
    default:
      // (tlb_flush: consumeTlbFlush() decides)
      return false;
  }
}

// The kernel model: rebuilds x86 TLB state (arch/x86/mm/tlb.c, 6.1 .. 6.18) from the event stream.
//
// Per CPU it mirrors cpu_tlbstate: loaded_mm, is_lazy, the TLB_NR_DYN_ASIDS = 6 ASID slots with the
// generation each has caught up to (ctxs[asid].tlb_gen) and the round-robin next_asid; plus the
// stack of csd callbacks running on it. Per mm: context.tlb_gen (observed lower bound: +1 per flush
// request), the completed generation, mm_cpumask in both the 6.14+ lazy form and the older precise
// form. Shootdown transactions pair the initiator's csd_queue_cpu with each target's
// csd_function_entry by (target cpu, func, csd) in FIFO order (DOMAIN.md §2-4).
//
// The model is fed events in time order through `consume()`; it reports to an `ObservedSink`
// (accounting) and emits `ModelEvent`s, time-ordered and with complete requests, to policies.

import type {
  CsdFunctionEvent,
  CsdQueueCpuEvent,
  SchedSwitchEvent,
  SyscallEnterEvent,
  TlbFlushEvent,
  TraceEvent,
} from '../events/types.js';
import { INIT_MM, TaskRegistry, type TaskInfo } from './tasks.js';
import type {
  CpuSnapshot,
  FlushRequest,
  ModelEvent,
  RequestKind,
  SyscallModelEvent,
  TargetOutcome,
  TargetRecord,
} from './types.js';

/** TLB_NR_DYN_ASIDS in arch/x86/include/asm/tlbflush.h */
export const TLB_NR_DYN_ASIDS = 6;

/** csd callback classes by `func` (never by callsite: DOMAIN.md §1). */
export type CallbackClass = 'flush_tlb_func' | 'tlb_remove_table_smp_sync' | 'do_flush_tlb_all' | 'do_kernel_range_flush' | 'other';

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

const TLB_CLASSES = new Set<CallbackClass>(['flush_tlb_func', 'tlb_remove_table_smp_sync', 'do_flush_tlb_all', 'do_kernel_range_flush']);

/** Dead mms and tasks are forgotten this long after their exit (their teardown flushes come first). */
const RETIRE_AFTER_NS = 2_000_000_000;

/**
 * Events held behind open requests before the oldest is closed as it stands: OUTBOX_PER_CPU per
 * CPU, at least OUTBOX_MIN. The cap is for requests that will never complete (handlers lost), and
 * how many events a request that does complete spans grows with the CPU count (events/s): across
 * the shared captures at most 801 events on 2 CPUs, 1,541 on 8 and 3,131 on 16 (qemu, where an IPI
 * takes 10-100 ms), 5-10x below the cap. A lower cap is a smaller peak heap: on sng-munmap one
 * request whose handlers were lost held 65,536 events (the former fixed cap), whose promotion
 * let the old generation grow: 10 streamed copies peaked at ~200 MB RSS, with 4,096 at ~125 MB.
 */
const OUTBOX_PER_CPU = 2048;
const OUTBOX_MIN = 4096;
export function outboxLimit(cpus: number): number {
  return Math.max(OUTBOX_MIN, OUTBOX_PER_CPU * cpus);
}

/** A transaction stays open at most this long waiting for handlers (trace time), then is closed as unanswered. */
const TRANSACTION_TIMEOUT_NS = 2_000_000_000;

/** Open request per initiator in window pairing (no csd events): handlers are matched to these. */
interface OpenRequest {
  req: FlushRequest;
  /** the initiator has moved on: no more targets will be queued */
  initiatorDone: boolean;
  /** targets queued and not yet answered */
  pending: number;
  closed: boolean;
  /** the IPI for the queued targets went out: a later csd_queue_cpu is another call */
  ipiSent?: boolean;
  /**
   * Remote reason-1 flushes seen before the initiator's own part said whether this is an mm flush
   * or arch_tlbbatch_flush() (see mmEvidence()): the CPU and the task that was running there.
   */
  evidence?: Array<{ cpu: number; pid: number }>;
}

/** What startRequest() and the like decide about a new request; newRequest() fills in the rest. */
type RequestFields = Pick<FlushRequest, 'kind' | 'mm' | 'pages' | 'gen' | 'completedGen' | 'cause' | 'freedTables' | 'trim' | 'snapshot'>;

interface CsdFrame {
  func: string;
  cls: CallbackClass;
  local: boolean;
  /** remote: the target record being run; local: the initiator's request */
  target: TargetRecord | null;
  open: OpenRequest | null;
  sawFlush: boolean;
}

class CpuState {
  loadedMm = INIT_MM;
  /** whether loadedMm is known (false until the first switch or flush tells us) */
  loadedKnown = false;
  lazy = false;
  pid = -1;
  /** ASID slots: mm id (-1 unknown/empty) and the generation it caught up to */
  slotMm = new Int32Array(TLB_NR_DYN_ASIDS).fill(-1);
  slotGen = new Float64Array(TLB_NR_DYN_ASIDS);
  /** KernelModel.batchedFlushes and the mm's MmState.batched when the slot last caught up (see behind()) */
  slotBatch = new Float64Array(TLB_NR_DYN_ASIDS);
  slotMmBatch = new Float64Array(TLB_NR_DYN_ASIDS);
  /** KernelModel.clock when the slot last caught up */
  slotSyncAt = new Float64Array(TLB_NR_DYN_ASIDS);
  nextAsid = 0;
  /** slots we have seen allocated: until all 6 are known a miss is not a prediction */
  slotsKnown = 0;
  csd: CsdFrame[] = [];
  /** open irq_vectors call_function[_single] entries (window pairing) */
  vectorDepth = 0;
  /** a sched_switch whose switch_mm outcome (tlb_flush 0 or nothing) is not yet seen */
  pendingSwitch: PendingSwitch | null = null;
  /** the flush request this CPU is initiating */
  initiating: OpenRequest | null = null;
  /** class of the callbacks queued by this CPU since its last IPI (to classify the IPI) */
  queuedClass: CallbackClass | null = null;
  /** a reason-0 flush outside a switch: exec_mmap() loads the new mm before sched_process_exec */
  execPending = false;
  /**
   * The task of this CPU's last event, the header comm and the registry epoch it was looked up
   * with (a cache). The comm kept is the event's own string, not task.comm: equal names held in
   * two strings (a task first named by a fork or switch payload, or by another CPU's line
   * header) compare by content, a runtime call per event, where the same string compares by
   * identity. task.comm changes only with an epoch bump, so this stays exact.
   */
  task: TaskInfo | null = null;
  taskComm = '';
  taskEpoch = -1;
}

interface PendingSwitch {
  ts: number;
  prevPid: number;
  nextPid: number;
  fromMm: number;
  toMm: number;
  wasLazy: boolean;
  toKernel: boolean;
  /** model prediction: -1 full flush, 0 no flush needed, null no event expected, undefined unknown */
  predicted: number | null | undefined;
  predictedSlot: number;
}

class MmState {
  gen = 0;
  completedGen = 0;
  /** generations of requests still open, in order */
  openGens: number[] = [];
  /** batched flushes of this mm alone (see KernelModel.countBatch): tlb_gen bumps `gen` leaves out */
  batched = 0;
  /** KernelModel.clock at the last `gen` bump */
  genAt = 0;
  lazyMask: Uint8Array;
  preciseMask: Uint8Array;
  /** should_trim_cpumask(): the next request at or after this time carries trim_cpumask (once per HZ) */
  nextTrimTs = -Infinity;
  constructor(cpus: number) {
    this.lazyMask = new Uint8Array(cpus);
    this.preciseMask = new Uint8Array(cpus);
  }
}

/** Sink for the observed accounting (src/model/observed.ts implements it). */
export interface ObservedSink {
  onRequest(req: FlushRequest): void;
  onRequestClosed(req: FlushRequest): void;
  onRemoteCallback(cpu: number, cls: CallbackClass, ts: number): void;
  onTargetDone(req: FlushRequest | null, t: TargetRecord, ts: number): void;
  onIpi(ts: number, fromCpu: number, targets: readonly number[], tlb: boolean): void;
  onTlbFlush(e: TlbFlushEvent, remote: boolean): void;
  onUnpairedHandler(cpu: number, cls: CallbackClass): void;
  onFidelityTargets(match: boolean, variant: 'lazy' | 'precise', kind: string): void;
  onFidelitySwitch(match: boolean, kind: string): void;
  onFidelitySkipped(why: string): void;
  /** remote shootdown counted without csd events (lower bound) */
  onRemoteWithoutCsd(cpu: number, outcome: TargetOutcome, ts: number): void;
  onVectorEntry(cpu: number, ts: number): void;
}

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
   * task: see pushSyscall().
   */
  everySyscall?: ReadonlyMap<string, ReadonlySet<string>>;
}

export class KernelModel {
  readonly tasks: TaskRegistry;
  private cpus: CpuState[] = [];
  private mms = new Map<number, MmState>();
  private nextReqId = 1;
  /** csd pairing FIFOs keyed by `${target}|${func}|${csd}` */
  private csdQueues = new Map<string, Array<{ open: OpenRequest | null; target: TargetRecord | null }>>();
  /** requests in window pairing mode, not yet closed */
  private windowOpen: OpenRequest[] = [];
  /**
   * Reorder buffer for policy events: requests wait here until closed. Two parallel arrays (the
   * event, and the request it waits for or null): no entry object per event, and emptied without
   * a splice in the common case (most requests pass through it).
   */
  private outbox: ModelEvent[] = [];
  private outboxOpen: Array<OpenRequest | null> = [];
  private nCpus: number;
  /** outboxLimit(nCpus) */
  private maxOutbox: number;
  /** vocabulary seen so far */
  sawCsd = false;
  sawIpi = false;
  sawReason5 = false;
  sawVectors = false;
  /** tasks holding a coalesced syscall entry not yet handed to the policies */
  private pendingSyscallTasks: TaskInfo[] = [];
  private readonly everySyscall: ReadonlyMap<string, ReadonlySet<string>>;
  private inDirectReclaim = new Set<number>();

  constructor(private readonly opts: ModelOptions) {
    this.nCpus = Math.max(1, opts.cpus);
    this.maxOutbox = outboxLimit(this.nCpus);
    this.everySyscall = opts.everySyscall ?? new Map();
    this.tasks = new TaskRegistry(opts.tgidKnown);
    for (let i = 0; i < this.nCpus; i++) this.cpus.push(new CpuState());
  }

  get cpuCount(): number {
    return this.nCpus;
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

  /** Grow per-CPU arrays when the trace shows a CPU beyond what we were told. */
  private cpu(n: number): CpuState {
    if (n >= this.nCpus) {
      const newN = n + 1;
      for (let i = this.nCpus; i < newN; i++) this.cpus.push(new CpuState());
      for (const mm of this.mms.values()) {
        const a = new Uint8Array(newN);
        a.set(mm.lazyMask);
        mm.lazyMask = a;
        const b = new Uint8Array(newN);
        b.set(mm.preciseMask);
        mm.preciseMask = b;
      }
      this.nCpus = newN;
      this.maxOutbox = outboxLimit(newN);
    }
    return this.cpus[n]!;
  }

  private mm(id: number): MmState {
    let m = this.mms.get(id);
    if (m === undefined) {
      m = new MmState(this.nCpus);
      this.mms.set(id, m);
    }
    return m;
  }

  mmName(id: number): string {
    if (id === INIT_MM) return 'init_mm';
    const info = this.tasks.mmIdentity(id);
    return info ? `${info.comm}[${info.tgid}]${info.frozen ? ' before exec' : ''}` : `mm#${id}`;
  }

  mmIdentity(id: number) {
    return this.tasks.mmIdentity(id);
  }

  consume(e: TraceEvent): void {
    if (e.kind === 'syscall_enter') {
      this.consumeSyscall(e);
      return;
    }
    if (e.kind === 'tlb_flush') {
      this.consumeTlbFlush(e);
      return;
    }
    const c = this.cpu(e.cpu);
    // exec renames the task: remember the name its old mm had
    const commBefore = e.kind === 'sched_process_exec' ? this.tasks.task(e.execPid)?.comm : undefined;
    const task = this.taskOf(c, e.pid, e.tgid, e.comm);
    // The header names the task running on this CPU. Before the first switch it tells us what the
    // CPU has loaded; a task other than the one the last sched_switch named means a switch we
    // never saw.
    if (c.pendingSwitch === null && !c.execPending && e.pid !== c.pid) {
      this.learnFromHeader(e.cpu, c, e.pid, task.kernelThread || task.exited === true, c.pid >= 0);
      c.pid = e.pid;
    }
    // A pending switch is resolved by the first event after it on that CPU (see consumeTlbFlush()).
    if (c.pendingSwitch !== null) {
      // the switched-in task's own exit: it had run exit_mm() before it was switched out
      const exiting = e.kind === 'sched_process_exit' && e.exitPid === c.pendingSwitch.nextPid;
      this.resolveSwitch(e.cpu, c, null, exiting);
    }
    // The initiator moved on: no more targets can be queued for its request.
    if (c.initiating !== null && !this.partOfInitiation(e)) this.initiatorDone(c, e.ts);

    switch (e.kind) {
      case 'csd_queue_cpu':
        this.sawCsd = true;
        this.onCsdQueue(e, c);
        break;
      case 'csd_function_entry':
        this.sawCsd = true;
        this.onCsdEntry(e, c);
        break;
      case 'csd_function_exit':
        this.onCsdExit(e, c);
        break;
      case 'ipi_send_cpu':
        this.sawIpi = true;
        this.onIpi(e.ts, e.cpu, c, [e.target], e.callback);
        break;
      case 'ipi_send_cpumask':
        this.sawIpi = true;
        this.onIpi(e.ts, e.cpu, c, e.targets, e.callback);
        break;
      case 'call_function_entry':
      case 'call_function_single_entry':
        this.sawVectors = true;
        c.vectorDepth++;
        this.opts.sink.onVectorEntry(e.cpu, e.ts);
        break;
      case 'call_function_exit':
      case 'call_function_single_exit':
        if (c.vectorDepth > 0) c.vectorDepth--;
        break;
      case 'sched_switch':
        this.onSwitch(e, c);
        break;
      case 'sched_process_fork':
        this.tasks.onFork(e.parentPid, e.childPid, e.childComm);
        break;
      case 'sched_process_exec':
        this.onExec(e.execPid, c, e.ts, commBefore);
        break;
      case 'sched_process_exit':
        this.onExit(e.exitPid, e.tgid, e.ts, c);
        break;
      case 'mm_vmscan_direct_reclaim_begin':
        this.inDirectReclaim.add(e.pid);
        break;
      case 'mm_vmscan_direct_reclaim_end':
        this.inDirectReclaim.delete(e.pid);
        break;
      case 'lost_events':
        // Pairing state on that CPU cannot be trusted across a gap.
        c.csd.length = 0;
        c.vectorDepth = 0;
        c.pendingSwitch = null;
        this.abandonTargetsOn(e.cpu, e.ts);
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
   */
  private consumeSyscall(e: SyscallEnterEvent): void {
    const cpu = e.cpu;
    const pid = e.pid;
    const ts = e.ts;
    const c = this.cpu(cpu);
    const task = this.taskOf(c, pid, e.tgid, e.comm);
    if (c.pendingSwitch === null && !c.execPending && pid !== c.pid) {
      this.learnFromHeader(cpu, c, pid, task.kernelThread || task.exited === true, c.pid >= 0);
      c.pid = pid;
    }
    if (c.pendingSwitch !== null) this.resolveSwitch(cpu, c, null);
    // a syscall is no part of an initiation: the initiator moved on
    if (c.initiating !== null) this.initiatorDone(c, ts);

    if (!task.user) this.tasks.markUser(pid);
    // a capture with both raw_syscalls:sys_enter and syscalls:sys_enter_* records each call twice
    const prev = task.lastSyscall;
    if (prev === null) {
      task.lastSyscall = { name: e.name, ts, raw: e.raw };
      this.pushSyscall(e, task);
    } else if (!(prev.name === e.name && prev.raw !== e.raw && ts - prev.ts < 1_000_000)) {
      prev.name = e.name;
      prev.ts = ts;
      prev.raw = e.raw;
      this.pushSyscall(e, task);
    }
    this.afterEvent(ts);
  }

  /** consume() of a tlb_flush (the most frequent event after syscall entries), as consumeSyscall(). */
  private consumeTlbFlush(e: TlbFlushEvent): void {
    const cpu = e.cpu;
    const pid = e.pid;
    const reason = e.reason;
    const c = this.cpu(cpu);
    const task = this.taskOf(c, pid, e.tgid, e.comm);
    // tlb_flush 0 names the task being switched away from, not the one running
    if (c.pendingSwitch === null && reason !== 0 && !c.execPending && pid !== c.pid) {
      this.learnFromHeader(cpu, c, pid, task.kernelThread || task.exited === true, c.pid >= 0);
      c.pid = pid;
    }
    // a pending switch is resolved by this flush if it is the switch's own (reason 0 outside a handler)
    if (c.pendingSwitch !== null && !(reason === 0 && c.csd.length === 0)) this.resolveSwitch(cpu, c, null);
    if (c.initiating !== null && !this.flushPartOfInitiation(reason, c)) this.initiatorDone(c, e.ts);
    this.onTlbFlush(e, c, task.kernelThread);
    this.afterEvent(e.ts);
  }

  /**
   * The task in the header of an event on CPU `c`. Consecutive events of one CPU mostly come from
   * the same task: when nothing in the header differs from what the registry holds, see() would
   * change nothing, so it is skipped.
   */
  private taskOf(c: CpuState, pid: number, tgid: number, comm: string): TaskInfo {
    let task = c.task;
    if (task === null || task.pid !== pid || c.taskComm !== comm || c.taskEpoch !== this.tasks.epoch || (tgid >= 0 && (task.tgid !== tgid || task.tgidProvisional))) {
      task = this.tasks.see(pid, tgid, comm);
      c.task = task;
      c.taskComm = comm;
      c.taskEpoch = this.tasks.epoch;
    }
    if (this.tasks.pendingMerge !== null) {
      this.remapMm(this.tasks.pendingMerge.drop, this.tasks.pendingMerge.keep);
      this.tasks.pendingMerge = null;
    }
    return task;
  }

  /** Every event's last step: time out stale transactions, and now and then forget the dead. */
  private afterEvent(ts: number): void {
    this.expire(ts);
    if ((++this.consumed & 4095) === 0) {
      this.purgeRetired(ts);
      this.sweepQueues(ts);
    }
  }
  private consumed = 0;

  /**
   * A user task running on a CPU whose state we did not know: it runs its own mm, not lazily.
   * A kernel thread tells us nothing (it runs whatever mm was loaded before, lazily).
   */
  private learnFromHeader(cpu: number, c: CpuState, pid: number, kthread: boolean, pidKnown: boolean): void {
    if (kthread || pid <= 0) {
      // a switch to a kernel thread we did not see: it borrows the loaded mm lazily
      if (pidKnown && c.loadedMm !== INIT_MM) c.lazy = true;
      return;
    }
    const mm = this.tasks.mmOf(pid);
    if (mm === INIT_MM) return;
    if (mm !== c.loadedMm || !c.loadedKnown) this.loadMm(cpu, c, mm, 0, false);
    c.lazy = false;
  }

  /**
   * Remote flush callbacks and TLB IPIs that belong to no request the trace shows (queued before
   * it started, or their initiator's events were lost). Policies cannot act on them: the pipeline
   * carries them over unchanged to every policy.
   */
  unattachedCallbacks = 0;
  unattachedIpis = 0;

  /** Events that belong to an initiation in progress on this CPU (DOMAIN.md §2 (b)). */
  private partOfInitiation(e: TraceEvent): boolean {
    switch (e.kind) {
      case 'csd_queue_cpu':
      case 'ipi_send_cpu':
      case 'ipi_send_cpumask':
      case 'call_function_entry':
      case 'call_function_single_entry':
      case 'call_function_exit':
      case 'call_function_single_exit':
        return true;
      case 'csd_function_entry':
      case 'csd_function_exit':
        return true;
      default:
        // (tlb_flush: consumeTlbFlush() asks flushPartOfInitiation())
        return false;
    }
  }

  /** A tlb_flush that belongs to the initiation in progress: its local part (3/2/5), or anything inside a handler frame. */
  private flushPartOfInitiation(reason: number, c: CpuState): boolean {
    return c.csd.length > 0 || c.vectorDepth > 0 || (reason !== 4 && c.initiating !== null && c.initiating.req.local === 'none' && reason !== 0);
  }

  // ---------------------------------------------------------------- tlb_flush

  private onTlbFlush(e: TlbFlushEvent, c: CpuState, kthread: boolean): void {
    if (e.reason === 5) this.sawReason5 = true;
    const frame = c.csd.length > 0 ? c.csd[c.csd.length - 1]! : null;

    if (frame !== null) {
      frame.sawFlush = true;
      if (!frame.local) {
        this.remoteFlushInHandler(e, c, frame.target, frame.open);
        this.opts.sink.onTlbFlush(e, true);
      } else {
        this.localFlushInRun(e, c, frame.open);
        this.opts.sink.onTlbFlush(e, false);
      }
      return;
    }

    switch (e.reason) {
      case 4:
        this.opts.sink.onTlbFlush(e, false);
        this.startRequest(e, c, 'remote', kthread);
        return;
      case 3:
      case 2: {
        this.opts.sink.onTlbFlush(e, false);
        const open = c.initiating;
        if (open !== null && open.req.local === 'none' && !this.sawCsd) {
          // pre-6.5: the local part of the request just made (no csd frame to bracket it)
          this.localFlushInRun(e, c, open);
          return;
        }
        // A direct local flush: flush_tlb_mm_range() with no other CPU in mm_cpumask (reason 3), or
        // arch_tlbbatch_flush() with only this CPU in the batch (reason 2).
        if (c.initiating !== null) this.initiatorDone(c, e.ts);
        if (e.reason === 3 && this.outbox.length === 0) {
          this.directLocalFlush(e, c, kthread);
          return;
        }
        this.startRequest(e, c, e.reason === 3 ? 'localOnly' : 'batched', kthread);
        this.localFlushInRun(e, c, c.initiating);
        this.initiatorDone(c, e.ts);
        return;
      }
      case 1:
      case 5: {
        // No csd frame: either a kernel without csd events (remote handler in a vector bracket or
        // run from the idle loop), or a local reason 5 on 6.14+ without csd events.
        if (e.reason === 5 && c.initiating !== null && c.initiating.req.local === 'none') {
          this.localFlushInRun(e, c, c.initiating);
          this.opts.sink.onTlbFlush(e, false);
          return;
        }
        this.opts.sink.onTlbFlush(e, true);
        this.remoteWithoutCsd(e, c);
        return;
      }
      case 0: {
        this.opts.sink.onTlbFlush(e, c.vectorDepth > 0);
        if (c.pendingSwitch !== null) {
          this.resolveSwitch(e.cpu, c, e.pages);
          return;
        }
        if (c.vectorDepth > 0 && !this.sawCsd) {
          // pre-6.5 lazy CPU switching to init_mm inside the flush IPI
          this.remoteWithoutCsd(e, c);
          return;
        }
        if (!kthread && c.pid > 0) {
          // exec_mmap(): the new mm is loaded before sched_process_exec names it
          c.execPending = true;
          return;
        }
        if (!this.sawCsd && c.loadedMm !== INIT_MM) {
          // pre-6.5: a lazy idle CPU ran the flush callback from the idle loop (no IPI) and switched to init_mm
          this.remoteWithoutCsd(e, c);
          return;
        }
        // leave_mm() or a use_temporary_mm() switch
        this.loadMm(e.cpu, c, INIT_MM, e.pages);
        return;
      }
      default:
        this.opts.sink.onTlbFlush(e, false);
        return;
    }
  }

  /** flush_tlb_func() on a target CPU for request `open` (csd vocabulary). */
  private remoteFlushInHandler(e: TlbFlushEvent, c: CpuState, t: TargetRecord | null, open: OpenRequest | null): void {
    const outcome = this.applyRemoteFlush(e, c, open);
    if (t !== null) {
      t.outcome = outcome;
      t.pages = e.pages;
    }
  }

  /** State change of a remote flush callback; returns its outcome class. */
  private applyRemoteFlush(e: TlbFlushEvent, c: CpuState, open: OpenRequest | null): TargetOutcome {
    const req = open?.req ?? null;
    switch (e.reason) {
      case 1:
        if (req !== null && req.mm !== 0 && req.mm !== c.loadedMm && req.kind === 'remote') {
          // A full flush whose initiator has not run its own part yet may be arch_tlbbatch_flush()
          // (its local part, reason 2, can come after the targets' callbacks): its batch cpumask
          // reaches CPUs running other mms, so nothing follows about mms until it is known.
          if (req.pages < 0 && req.local === 'none' && open !== null) (open.evidence ??= []).push({ cpu: e.cpu, pid: c.pid });
          else this.mmEvidence(req, e.cpu, c);
        }
        // both paths in flush_tlb_func() catch the loaded mm's ASID up to mm_tlb_gen
        this.catchUp(c, c.loadedMm);
        return e.pages === 0 ? 'zero' : e.pages < 0 ? 'full' : 'ranged';
      case 5:
        // "The CPU was left in the mm_cpumask of the target mm. Clear it."
        if (req !== null && req.mm !== 0) this.mm(req.mm).lazyMask[e.cpu] = 0;
        return 'wrongCpu';
      case 0:
        // lazy CPU: switch_mm_irqs_off(NULL, &init_mm, NULL)
        this.loadMm(e.cpu, c, INIT_MM, e.pages);
        return 'switchToInitMm';
      default:
        return 'full';
    }
  }

  /**
   * A remote reason-1 flush of an mm request ran on `cpu`: the request's mm is what that CPU has
   * loaded (6.14+ returns with reason 5 otherwise; before, only CPUs in the precise mm_cpumask
   * were sent the request). Without tgids this is also how threads of one process are found: the
   * task running there shares the initiator's mm.
   */
  private mmEvidence(req: FlushRequest, cpu: number, c: CpuState): void {
    if (req.mm === 0 || req.mm === c.loadedMm) return;
    if (!this.tasks.tgidKnown && !c.lazy && c.pid > 0 && !this.tasks.isKernelThread(c.pid)) {
      const merged = this.tasks.sameMm(req.pid, c.pid);
      if (merged !== null) this.remapMm(merged.drop, merged.keep);
    }
    if (req.mm !== c.loadedMm && this.mms.has(req.mm)) this.loadMm(cpu, c, req.mm, 0, false);
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
      const c = this.cpus[ev.cpu]!;
      if (c.pid === ev.pid) this.mmEvidence(open.req, ev.cpu, c);
    }
  }

  /** The initiator's own flush_tlb_func() run (csd NULL) or its direct local flush. */
  private localFlushInRun(e: TlbFlushEvent, c: CpuState, open: OpenRequest | null): void {
    if (open === null) return;
    const req = open.req;
    if (e.reason === 5) {
      if (req.mm !== 0) this.mm(req.mm).lazyMask[e.cpu] = 0;
      req.local = 'wrongCpu';
    } else if (e.reason === 0) {
      // the initiator itself was lazy (e.g. an exiting task after exit_mm()): switch to init_mm
      this.loadMm(e.cpu, c, INIT_MM, e.pages);
      req.local = 'switchToInitMm';
    } else {
      if (e.reason === 2) {
        if (req.kind === 'remote') {
          req.kind = 'batched';
          this.countBatch(req.cause === 'reclaim' ? 0 : req.mm);
        }
        if (req.kind === 'batched' && req.mm !== 0) this.retractGen(req);
      }
      req.local = e.pages === 0 ? 'zero' : e.pages < 0 ? 'full' : 'ranged';
      this.catchUp(c, c.loadedMm);
    }
    req.localPages = e.pages;
    this.settleEvidence(open);
  }

  /** A remote flush seen without csd events: count it, and pair it by window (DOMAIN.md §3). */
  private remoteWithoutCsd(e: TlbFlushEvent, c: CpuState): void {
    const open = this.windowMatch(e.cpu, c);
    const outcome = this.applyRemoteFlush(e, c, open);
    let t: TargetRecord | null = null;
    if (open !== null) {
      t = { cpu: e.cpu, queuedTs: open.req.ts, ipi: c.vectorDepth > 0, handlerTs: e.ts, outcome, pages: e.pages };
      open.req.targets.push(t);
    } else {
      this.unattachedCallbacks++;
    }
    this.opts.sink.onRemoteWithoutCsd(e.cpu, outcome, e.ts);
    if (t !== null) this.opts.sink.onTargetDone(open!.req, t, e.ts);
  }

  /**
   * Window pairing (no csd events): the initiator waits in smp_call_function_many_cond() until every
   * target ran the callback, so a handler belongs to a request whose initiator has not moved on,
   * preferring the one whose mm this CPU has loaded.
   */
  private windowMatch(cpu: number, c: CpuState): OpenRequest | null {
    let best: OpenRequest | null = null;
    for (let i = this.windowOpen.length - 1; i >= 0; i--) {
      const o = this.windowOpen[i]!;
      if (o.req.cpu === cpu || o.req.kind === 'localOnly') continue;
      if (o.req.targets.some((t) => t.cpu === cpu)) continue;
      const score = (o.initiatorDone ? 0 : 2) + (o.req.mm === c.loadedMm || o.req.mm === 0 ? 1 : 0);
      const bestScore = best === null ? -1 : (best.initiatorDone ? 0 : 2) + (best.req.mm === c.loadedMm || best.req.mm === 0 ? 1 : 0);
      if (score > bestScore) best = o;
    }
    return best;
  }

  // ---------------------------------------------------------------- requests

  private startRequest(e: TlbFlushEvent, c: CpuState, kind: RequestKind, kthread: boolean): FlushRequest {
    if (c.initiating !== null) this.initiatorDone(c, e.ts);
    let mm = kthread ? 0 : this.tasks.mmOf(e.pid);
    if (!kthread) this.tasks.markUser(e.pid);
    if (mm === INIT_MM) mm = 0;
    const cause = this.causeOf(e.pid, e.ts, kthread, e.comm);
    if (kind === 'remote' && (kthread || this.inDirectReclaim.has(e.pid)) && e.pages < 0) {
      // arch_tlbbatch_flush() from reclaim: no mm (the batch spans mms)
      kind = 'batched';
      mm = 0;
    }
    let gen = 0;
    let completedGen = 0;
    let trim = false;
    // tlb_gen bumps that `gen` cannot count: a batch's, and a kernel thread's remote flush (of
    // some user mm the event does not name)
    if (kind === 'batched') this.countBatch(kthread || this.inDirectReclaim.has(e.pid) ? 0 : mm);
    else if (kind === 'remote' && mm === 0) this.countBatch(0);
    if (mm !== 0 && kind !== 'batched') {
      const m = this.mm(mm);
      gen = ++m.gen;
      m.genAt = ++this.clock;
      completedGen = m.completedGen;
      m.openGens.push(gen);
      // flush_tlb_mm_range(): info->trim_cpumask = should_trim_cpumask(mm) before flush_tlb_multi()
      if (kind === 'remote' && e.ts >= m.nextTrimTs) {
        trim = true;
        m.nextTrimTs = e.ts + 1_000_000_000;
      }
    }
    // a direct local flush has no targets: nothing to predict, no CPU state for policies to read
    const snapshot = kind === 'localOnly' ? EMPTY_SNAPSHOT : this.snapshot(mm);
    return this.openRequest(e, c, { kind, mm, pages: e.pages, gen, completedGen, cause, freedTables: null, trim, snapshot }).req;
  }

  /**
   * A direct local flush (tlb_flush 3 outside any request) while no event waits in the outbox: it
   * opens and closes on this one event, and most requests of fork, madvise and munmap storms are
   * these. The same state changes, sink calls and policy event, in the same order, as
   * startRequest() + localFlushInRun() + initiatorDone() make for it, without what only requests
   * that wait for targets need: no OpenRequest, no window or outbox entry, and no open generation
   * (its generation is the mm's newest, opened and completed at once).
   */
  private directLocalFlush(e: TlbFlushEvent, c: CpuState, kthread: boolean): void {
    let mm = kthread ? 0 : this.tasks.mmOf(e.pid);
    if (!kthread) this.tasks.markUser(e.pid);
    if (mm === INIT_MM) mm = 0;
    const cause = this.causeOf(e.pid, e.ts, kthread, e.comm);
    const m = mm !== 0 ? this.mm(mm) : null;
    const gen = m !== null ? ++m.gen : 0;
    if (m !== null) m.genAt = ++this.clock;
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
    this.opts.sink.onRequest(req);
    if (this.pendingSyscallTasks.length > 0) this.flushSyscalls();
    this.catchUp(c, c.loadedMm);
    // completedGen, as close() computes it (this request's generation is done)
    if (m !== null) m.completedGen = m.openGens.length > 0 ? m.openGens[0]! - 1 : m.gen;
    this.opts.sink.onRequestClosed(req);
    this.opts.emit({ type: 'request', req });
  }

  /** A batched request was first counted as an mm request: undo the generation bump. */
  private retractGen(req: FlushRequest): void {
    const m = this.mm(req.mm);
    removeItem(m.openGens, req.gen);
    if (m.gen === req.gen) m.gen--;
    req.mm = 0;
    req.gen = 0;
  }

  private snapshot(mm: number): CpuSnapshot {
    const n = this.nCpus;
    const s: CpuSnapshot = {
      loadedMm: new Int32Array(n),
      known: new Uint8Array(n),
      lazy: new Uint8Array(n),
      lazyMask: new Uint8Array(n),
      preciseMask: new Uint8Array(n),
      localGen: new Float64Array(n).fill(-1),
    };
    const m = mm !== 0 ? this.mm(mm) : null;
    for (let i = 0; i < n; i++) {
      const c = this.cpus[i]!;
      s.loadedMm[i] = c.loadedMm;
      s.known[i] = c.loadedKnown ? 1 : 0;
      s.lazy[i] = c.lazy ? 1 : 0;
      if (m !== null) {
        s.lazyMask[i] = m.lazyMask[i]!;
        s.preciseMask[i] = m.preciseMask[i]!;
        const slot = slotOf(c, mm);
        if (slot >= 0) s.localGen[i] = c.slotGen[slot]!;
      }
    }
    return s;
  }

  private causeOf(pid: number, ts: number, kthread: boolean, comm: string): string {
    if (kthread) {
      for (const k of ['kswapd', 'khugepaged', 'kcompactd', 'migration', 'kworker']) if (comm.startsWith(k)) return k;
      return 'kthread';
    }
    if (this.inDirectReclaim.has(pid)) return 'reclaim';
    const s = this.tasks.task(pid)?.lastSyscall ?? undefined;
    if (s !== undefined && ts - s.ts < 50_000_000) {
      switch (s.name) {
        case 'clone':
        case 'clone3':
        case 'fork':
        case 'vfork':
          return 'fork';
        case 'execve':
        case 'execveat':
          return 'exec';
        case 'exit':
        case 'exit_group':
          return 'exit';
        default:
          if (!s.name.startsWith('nr_')) return s.name;
      }
    }
    return 'unknown';
  }

  private onCsdQueue(e: CsdQueueCpuEvent, c: CpuState): void {
    const cls = callbackClass(e.func);
    c.queuedClass = c.queuedClass === null || TLB_CLASSES.has(cls) ? cls : c.queuedClass;
    let open: OpenRequest | null = null;
    let target: TargetRecord | null = null;
    if (cls === 'flush_tlb_func' || cls === 'tlb_remove_table_smp_sync') {
      open = c.initiating;
      const wantKind = cls === 'flush_tlb_func' ? null : 'tableSync';
      if (open === null || open.ipiSent || (wantKind === 'tableSync') !== (open.req.kind === 'tableSync')) {
        open = this.implicitRequest(e, c, cls === 'tlb_remove_table_smp_sync' ? 'tableSync' : 'remote');
      }
      this.cpu(e.target);
      target = { cpu: e.target, queuedTs: e.ts, ipi: false, handlerTs: null, outcome: 'unanswered', pages: 0 };
      open.req.targets.push(target);
      open.pending++;
    }
    const key = `${e.target}|${e.func}|${e.csd}`;
    let q = this.csdQueues.get(key);
    if (q === undefined) {
      q = [];
      this.csdQueues.set(key, q);
    } else if (e.csd !== null) {
      // csd_lock(): a csd is queued again only after its callback ran, so an older unmatched entry
      // lost its handler's events (ring-buffer overwrite): close it as unanswered, keep pairing exact.
      for (const old of q.splice(0)) this.abandon(old, e.ts);
    }
    q.push({ open, target });
    if (q.length > 4096) this.abandon(q.shift()!, e.ts); // bounded memory
  }

  /** A queued target whose handler the trace lost: it stays 'unanswered'; its request may close. */
  private abandon(entry: { open: OpenRequest | null; target: TargetRecord | null }, ts: number): void {
    if (entry.target === null || entry.target.handlerTs !== null) return;
    this.abandonedTargets++;
    if (entry.open === null) return;
    entry.open.pending--;
    this.maybeClose(entry.open, ts);
  }

  /** queued targets given up on (handler lost or never came) */
  private abandonedTargets = 0;

  /** Give up on queued targets older than the transaction timeout (bounded memory on hostile input). */
  private sweepQueues(now: number): void {
    for (const [key, q] of this.csdQueues) {
      while (q.length > 0 && q[0]!.target !== null && now - q[0]!.target.queuedTs > TRANSACTION_TIMEOUT_NS) this.abandon(q.shift()!, now);
      if (q.length === 0) this.csdQueues.delete(key);
    }
  }

  /** A lost-events marker on `cpu`: targets still waiting there will never show their handler. */
  private abandonTargetsOn(cpu: number, ts: number): void {
    const prefix = `${cpu}|`;
    for (const [key, q] of this.csdQueues) {
      if (!key.startsWith(prefix)) continue;
      for (const entry of q) this.abandon(entry, ts);
      this.csdQueues.delete(key);
    }
  }

  /** A csd_queue_cpu with no tlb_flush 4 before it: a table sync, or a request whose start we missed. */
  private implicitRequest(e: CsdQueueCpuEvent, c: CpuState, kind: RequestKind): OpenRequest {
    const kthread = this.tasks.isKernelThread(e.pid);
    let mm = kthread ? 0 : this.tasks.mmOf(e.pid);
    if (mm === INIT_MM) mm = 0;
    return this.openRequest(
      e,
      c,
      {
        kind,
        mm,
        pages: -1,
        gen: 0,
        completedGen: mm !== 0 ? this.mm(mm).completedGen : 0,
        cause: this.causeOf(e.pid, e.ts, kthread, e.comm),
        freedTables: kind === 'tableSync' ? true : null,
        trim: false,
        snapshot: this.snapshot(mm),
      },
    );
  }

  /** Make a request initiated by the event's CPU and task, and open it there. */
  private openRequest(e: TraceEvent, c: CpuState, f: RequestFields): OpenRequest {
    const req = this.newRequest(e, f);
    const open: OpenRequest = { req, initiatorDone: false, pending: 0, closed: false };
    if (c.initiating !== null) this.initiatorDone(c, e.ts);
    c.initiating = open;
    this.windowOpen.push(open);
    this.opts.sink.onRequest(req);
    this.push({ type: 'request', req }, open);
    return open;
  }

  /** A request of the event's CPU and task, nothing done yet: its local part 'none', no targets. */
  private newRequest(e: TraceEvent, f: RequestFields): FlushRequest {
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
      snapshot: f.snapshot,
    };
  }

  private onIpi(ts: number, cpu: number, c: CpuState, targets: readonly number[], callback: string): void {
    const cls = c.queuedClass;
    // reschedule IPIs (callback=0x0) and other SMP calls are IPIs the CPU took, but not TLB work
    const tlb = cls !== null && TLB_CLASSES.has(cls) && callback !== '0x0';
    this.opts.sink.onIpi(ts, cpu, targets, tlb);
    c.queuedClass = null;
    if (tlb && c.initiating !== null) {
      const req = c.initiating.req;
      req.ipis += targets.length;
      c.initiating.ipiSent = true;
      for (const t of req.targets) if (targets.includes(t.cpu)) t.ipi = true;
    } else if (tlb) {
      this.unattachedIpis += targets.length;
    }
  }

  private onCsdEntry(e: CsdFunctionEvent, c: CpuState): void {
    const cls = callbackClass(e.func);
    if (e.csd === null) {
      // the initiator runs the callback on itself
      const open = c.initiating;
      c.csd.push({ func: e.func, cls, local: true, target: null, open: cls === 'flush_tlb_func' ? open : null, sawFlush: false });
      return;
    }
    const key = `${e.cpu}|${e.func}|${e.csd}`;
    const q = this.csdQueues.get(key);
    const entry = q !== undefined && q.length > 0 ? q.shift()! : null;
    if (q !== undefined && q.length === 0) this.csdQueues.delete(key);
    this.opts.sink.onRemoteCallback(e.cpu, cls, e.ts);
    if (entry === null) {
      this.opts.sink.onUnpairedHandler(e.cpu, cls);
      if (cls === 'flush_tlb_func') this.unattachedCallbacks++;
    }
    const target = entry?.target ?? null;
    if (target !== null) {
      target.handlerTs = e.ts;
      target.outcome = cls === 'tlb_remove_table_smp_sync' ? 'tableSync' : 'empty';
    }
    c.csd.push({ func: e.func, cls, local: false, target, open: entry?.open ?? null, sawFlush: false });
  }

  private onCsdExit(e: CsdFunctionEvent, c: CpuState): void {
    // pop to the matching frame (an exit lost to the ring buffer must not wedge the stack)
    let frame: CsdFrame | undefined;
    while (c.csd.length > 0) {
      frame = c.csd.pop();
      if (frame!.func === e.func) break;
    }
    if (frame === undefined) return;
    if (c.csd.length === 0) c.vectorDepth = 0; // 6.18 captures have no call_function*_exit
    if (frame.local) {
      if (frame.open !== null) this.initiatorDone(c, e.ts);
      return;
    }
    const t = frame.target;
    if (frame.cls === 'flush_tlb_func' && !frame.sawFlush && t !== null) t.outcome = 'empty';
    if (t !== null && frame.open !== null) {
      this.opts.sink.onTargetDone(frame.open.req, t, e.ts);
      frame.open.pending--;
      this.maybeClose(frame.open, e.ts);
    } else if (t === null && frame.cls === 'flush_tlb_func') {
      // unpaired handler: still accounted by outcome
      this.opts.sink.onTargetDone(null, { cpu: e.cpu, queuedTs: e.ts, ipi: false, handlerTs: e.ts, outcome: frame.sawFlush ? 'full' : 'empty', pages: 0 }, e.ts);
    }
  }

  private initiatorDone(c: CpuState, ts: number): void {
    const open = c.initiating;
    c.initiating = null;
    if (open === null || open.initiatorDone) return;
    open.initiatorDone = true;
    this.evaluateTargets(open.req);
    this.maybeClose(open, ts);
  }

  private maybeClose(open: OpenRequest, ts: number): void {
    if (open.closed || !open.initiatorDone) return;
    // csd pairing: wait for every queued target; window pairing closes when the initiator moves on
    if (this.sawCsd && open.pending > 0) return;
    this.close(open, ts);
  }

  private close(open: OpenRequest, ts: number): void {
    if (open.closed) return;
    open.closed = true;
    this.settleEvidence(open);
    const req = open.req;
    req.closedTs = ts;
    if (req.mm !== 0 && req.gen > 0) {
      const m = this.mm(req.mm);
      removeItem(m.openGens, req.gen);
      // completedGen: the largest g with every request <= g finished (Amit's tlb_gen_completed)
      m.completedGen = m.openGens.length > 0 ? m.openGens[0]! - 1 : m.gen;
    }
    this.inferFreedTables(req);
    this.opts.sink.onRequestClosed(req);
    removeItem(this.windowOpen, open);
    this.drain();
  }

  /** Close transactions whose targets never answered (lost events, trace end) after a timeout. */
  private expire(now: number): void {
    if (this.windowOpen.length === 0) return;
    const first = this.windowOpen[0]!;
    if (now - first.req.ts < TRANSACTION_TIMEOUT_NS) return;
    for (const o of [...this.windowOpen]) {
      if (now - o.req.ts < TRANSACTION_TIMEOUT_NS) break;
      o.initiatorDone = true;
      this.close(o, now);
    }
  }

  /** Unfiltered (freed_tables) when a target was lazy at request time, or not running the mm without trim. */
  private inferFreedTables(req: FlushRequest): void {
    if (req.freedTables !== null || req.kind !== 'remote' || req.mm === 0) return;
    if (!this.sawCsd) return;
    // should_flush_tlb() skips lazy CPUs always, and CPUs not running the mm unless trim_cpumask
    let unfiltered = false;
    for (const t of req.targets) {
      if (req.snapshot.lazy[t.cpu]) unfiltered = true;
      else if (!req.trim && (t.outcome === 'wrongCpu' || req.snapshot.loadedMm[t.cpu] !== req.mm)) unfiltered = true;
    }
    req.freedTables = unfiltered ? true : req.targets.length > 0 ? false : null;
  }

  /**
   * Model fidelity: the target set should_flush_tlb() would pick from our state, against the
   * csd_queue_cpu targets the kernel actually queued.
   */
  private evaluateTargets(req: FlushRequest): void {
    if (!this.sawCsd || req.kind !== 'remote' || req.mm === 0) return;
    const s = req.snapshot;
    // a CPU whose loaded mm we have not learned yet makes any prediction a guess: not compared
    for (let i = 0; i < s.known.length; i++) {
      if (i !== req.cpu && !s.known[i]) {
        this.opts.sink.onFidelitySkipped('cpuStateUnknown');
        return;
      }
    }
    const observed = new Set(req.targets.map((t) => t.cpu));
    for (const variant of ['lazy', 'precise'] as const) {
      const mask = variant === 'lazy' ? s.lazyMask : s.preciseMask;
      const filtered = new Set<number>();
      const trimmed = new Set<number>();
      const unfiltered = new Set<number>();
      for (let i = 0; i < mask.length; i++) {
        if (!mask[i] || i === req.cpu) continue;
        unfiltered.add(i);
        if (s.lazy[i]) continue;
        trimmed.add(i);
        if (s.loadedMm[i] === req.mm) filtered.add(i);
      }
      let kind = 'mismatch';
      if (eqSet(observed, filtered)) kind = 'filtered';
      else if (eqSet(observed, unfiltered)) kind = 'unfiltered';
      else if (variant === 'lazy' && req.trim && eqSet(observed, trimmed)) kind = 'trim';
      else kind = classifyMismatch(observed, filtered, unfiltered);
      const match = kind === 'filtered' || kind === 'unfiltered' || kind === 'trim';
      this.opts.sink.onFidelityTargets(match, variant, kind);
    }
  }

  // ---------------------------------------------------------------- context switches

  private onSwitch(e: SchedSwitchEvent, c: CpuState): void {
    const next = this.tasks.seeNamed(e.nextPid, e.nextComm);
    this.tasks.seeNamed(e.prevPid, e.prevComm);
    c.pid = e.nextPid;
    // a reason-0 flush by a user task that no sched_process_exec followed before it was switched
    // out was not an exec (text_poke()'s temporary mm, kthread_use_mm, ...)
    c.execPending = false;
    if (c.initiating !== null) this.initiatorDone(c, e.ts);
    // a task past sched_process_exit has no mm any more (exit_mm()): switch_mm is skipped like for a kernel thread
    const toKernel = next.kernelThread || next.exited === true;
    const toMm = toKernel ? c.loadedMm : this.tasks.mmOf(e.nextPid);
    const ps: PendingSwitch = {
      ts: e.ts,
      prevPid: e.prevPid,
      nextPid: e.nextPid,
      fromMm: c.loadedMm,
      toMm,
      wasLazy: c.lazy,
      toKernel,
      predicted: undefined,
      predictedSlot: -1,
    };
    if (toKernel) {
      // enter_lazy_tlb(): keep the mm loaded, no event (unless already in init_mm)
      if (c.loadedMm !== INIT_MM) c.lazy = true;
      ps.predicted = null;
      this.finishSwitch(e.cpu, c, ps, null);
      return;
    }
    ps.predicted = this.predictSwitch(c, toMm, ps);
    c.pendingSwitch = ps;
  }

  /** What switch_mm_irqs_off() will log for a switch to `toMm` (arch/x86/mm/tlb.c). */
  private predictSwitch(c: CpuState, toMm: number, ps: PendingSwitch): number | null | undefined {
    if (!c.loadedKnown) return undefined;
    if (toMm === c.loadedMm) {
      if (!c.lazy) return null; // same mm, not lazy: early return, no event
      const slot = slotOf(c, toMm);
      if (slot < 0) return undefined;
      ps.predictedSlot = slot;
      return this.behind(c, slot, toMm) ? -1 : null; // caught up: return without an event
    }
    const slot = slotOf(c, toMm);
    if (slot >= 0) {
      ps.predictedSlot = slot;
      return this.behind(c, slot, toMm) ? -1 : 0;
    }
    // not cached: choose_new_asid() takes the next slot round-robin and flushes it
    if (c.slotsKnown < TLB_NR_DYN_ASIDS) return undefined;
    return -1;
  }

  /** The first event after a sched_switch on that CPU tells what switch_mm did (`observed` = pages or null). */
  private resolveSwitch(cpu: number, c: CpuState, observed: number | null, nextExiting = false): void {
    const ps = c.pendingSwitch!;
    c.pendingSwitch = null;
    if (observed === null && nextExiting && ps.toMm !== c.loadedMm && !ps.toKernel) {
      // No switch_mm event, and the first thing the task does is its sched_process_exit: it had
      // been switched out inside do_exit() after exit_mm() (the tracepoint comes after it), so it
      // had no mm any more, and context_switch() took the kernel-thread path: enter_lazy_tlb(),
      // the CPU keeps the previous mm loaded, lazily. Not evidence that the two tasks share an mm
      // (qemu-6.12-8cpu/fork-churn: fork-churn 534 -> its exiting child 549 at 36.681366, CPU 0).
      this.switchFidelity(c, ps, null);
      if (c.loadedMm !== INIT_MM) c.lazy = true;
      ps.toKernel = true;
      this.finishSwitch(cpu, c, ps, null);
      return;
    }
    if (observed === null && ps.toMm !== c.loadedMm && !ps.toKernel && c.loadedKnown) {
      // No switch_mm event although we thought the mm changed: the trace proves both tasks share
      // one mm (without tgids, pids are merged here), or the CPU was already in it.
      // After a kernel thread, the owner of the lazily kept mm is the evidence (unless it exited:
      // its mm is gone, and a task switched in without a flush is then more likely a zombie).
      const prevTask = this.tasks.task(ps.prevPid);
      let owner = prevTask && !prevTask.kernelThread && !prevTask.exited ? ps.prevPid : -1;
      if (owner < 0 && prevTask?.kernelThread && c.loadedMm !== INIT_MM) {
        const o = this.tasks.mmIdentity(c.loadedMm)?.tgid ?? -1;
        if (o > 0 && !this.tasks.task(o)?.exited) owner = o;
      }
      // only a task the trace showed to have an mm (a kernel thread we failed to recognise would
      // otherwise glue unrelated processes together)
      const merged = owner > 0 && this.tasks.isKnownUser(ps.nextPid) ? this.tasks.sameMm(owner, ps.nextPid) : null;
      if (merged !== null) this.remapMm(merged.drop, merged.keep);
      ps.toMm = this.tasks.mmOf(ps.nextPid);
    }
    if (observed !== null) this.tasks.markUser(ps.nextPid);
    this.switchFidelity(c, ps, observed);
    this.finishSwitch(cpu, c, ps, observed);
  }

  /** Model fidelity: what we predicted switch_mm would log against what it did. */
  private switchFidelity(c: CpuState, ps: PendingSwitch, observed: number | null): void {
    if (ps.predicted === undefined || !c.loadedKnown) return;
    const obs = observed === null ? null : observed < 0 ? -1 : 0;
    const name = (x: number | null) => (x === null ? 'none' : x < 0 ? 'full' : 'current');
    this.opts.sink.onFidelitySwitch(obs === ps.predicted, `predicted ${name(ps.predicted)}, observed ${name(obs)}`);
  }

  private finishSwitch(cpu: number, c: CpuState, ps: PendingSwitch, observed: number | null): void {
    if (!ps.toKernel) {
      if (observed !== null || ps.toMm !== c.loadedMm) {
        this.loadMm(cpu, c, ps.toMm, observed ?? 0, observed !== null);
      } else if (c.lazy && observed !== null) {
        this.catchUp(c, ps.toMm);
      }
      c.lazy = false;
      c.loadedKnown = true;
    }
    this.push(
      {
        type: 'switch',
        ts: ps.ts,
        cpu,
        pid: ps.nextPid,
        fromMm: ps.fromMm,
        toMm: ps.toKernel ? ps.fromMm : ps.toMm,
        toKernelThread: ps.toKernel,
        wasLazy: ps.wasLazy,
        observedFlush: observed,
      },
      null,
    );
  }

  /**
   * switch_mm_irqs_off() to `mm` on this CPU: cpumask bookkeeping and ASID choice. `pages` is the
   * observed reason-0 flush (-1 the new ASID slot was flushed, 0 it was current).
   */
  private loadMm(cpu: number, c: CpuState, mm: number, pages: number, observed = true): void {
    const prev = c.loadedMm;
    if (prev !== mm && prev !== INIT_MM && this.mms.has(prev)) {
      // pre-6.14: "Stop remote flushes for the previous mm"; 6.14+ leaves the bit (lazyMask)
      this.mm(prev).preciseMask[cpu] = 0;
    }
    if (mm !== INIT_MM) {
      const m = this.mm(mm);
      m.lazyMask[cpu] = 1;
      m.preciseMask[cpu] = 1;
    }
    c.loadedMm = mm;
    c.loadedKnown = true;
    c.lazy = false;
    // ASID slot: reuse the mm's slot, or take next_asid round-robin
    let slot = slotOf(c, mm);
    if (slot < 0) {
      slot = c.nextAsid;
      c.nextAsid = (c.nextAsid + 1) % TLB_NR_DYN_ASIDS;
      if (c.slotMm[slot] === -1) c.slotsKnown++;
      c.slotMm[slot] = mm;
      c.slotGen[slot] = -1;
    }
    if (observed && (pages !== 0 || mm === INIT_MM)) c.slotGen[slot] = mm === INIT_MM ? 0 : this.mm(mm).gen;
    else if (observed) c.slotGen[slot] = Math.max(c.slotGen[slot]!, mm === INIT_MM ? 0 : this.mm(mm).gen);
    // either way the kernel's own tlb_gen was reached: a full flush, or the slot was current
    if (observed) this.syncBatch(c, slot, mm);
  }

  /** The CPU's ASID for `mm` has caught up with the mm's generation. */
  private catchUp(c: CpuState, mm: number): void {
    if (mm === INIT_MM) return;
    const slot = slotOf(c, mm);
    if (slot >= 0) {
      c.slotGen[slot] = this.mm(mm).gen;
      this.syncBatch(c, slot, mm);
    }
  }

  /**
   * Flushes of mms the trace does not name, so far: `gen` (a lower bound) leaves out the tlb_gen
   * bumps they made. A batched unmap flush (arch_tlbbatch_flush()): each page the batch unmapped
   * bumped its mm's tlb_gen (arch_tlbbatch_add_pending() -> inc_mm_tlb_gen()) with no event, and
   * the batch may span any mm; a kernel thread's flush of one user mm (kcompactd or khugepaged
   * moving a page: flush_tlb_mm_range() of the page's mm, which no event names). A CPU such a
   * flush left out (lazy: should_flush_tlb() filtered it) finds the mm's tlb_gen moved on when
   * it switches back to it, and flushes in full. Counted here: those of kernel threads and of
   * direct reclaim. A user task's own batch (MADV_PAGEOUT) spans its own mm: MmState.batched.
   * Switch-flush fidelity on reclaim-mmap went from 54.6% to 98.4% (qemu-6.12-8cpu) and from
   * 52.7% to 97.2% (qemu-6.1-8cpu, where kcompactd's flushes are most of it).
   */
  private batchedFlushes = 0;

  /** orders generation bumps and ASID catch-ups (remapMm() asks which came first) */
  private clock = 0;

  /** a flush whose tlb_gen bumps `gen` does not count: of the initiator's own mm (`mm`), or of any mm (0) */
  private countBatch(mm: number): void {
    if (mm === 0) this.batchedFlushes++;
    else this.mm(mm).batched++;
  }

  /** ASID `slot` of CPU `c` caught up with the kernel's tlb_gen of `mm` */
  private syncBatch(c: CpuState, slot: number, mm: number): void {
    c.slotSyncAt[slot] = ++this.clock;
    c.slotBatch[slot] = this.batchedFlushes;
    c.slotMmBatch[slot] = mm === INIT_MM ? 0 : this.mm(mm).batched;
  }

  /** whether the CPU's ASID `slot` is behind its mm `mm`: switch_mm will flush it */
  private behind(c: CpuState, slot: number, mm: number): boolean {
    const m = this.mm(mm);
    return c.slotGen[slot]! < m.gen || c.slotBatch[slot]! < this.batchedFlushes || c.slotMmBatch[slot]! < m.batched;
  }

  /** pids proven to share an mm: move CPU state keyed by the merged-away id. */
  private remapMm(drop: number, keep: number): void {
    const d = this.mms.get(drop);
    const k = this.mm(keep);
    const kGenAt = k.genAt;
    if (d !== undefined) {
      for (let i = 0; i < this.nCpus; i++) {
        if (d.lazyMask[i]) k.lazyMask[i] = 1;
        if (d.preciseMask[i]) k.preciseMask[i] = 1;
      }
      k.gen = Math.max(k.gen, d.gen);
      k.completedGen = Math.max(k.completedGen, d.completedGen);
      k.batched = Math.max(k.batched, d.batched);
      k.genAt = Math.max(k.genAt, d.genAt);
      this.mms.delete(drop);
    }
    for (const c of this.cpus) {
      if (c.loadedMm === drop) c.loadedMm = keep;
      for (let s = 0; s < TLB_NR_DYN_ASIDS; s++) {
        if (c.slotMm[s] !== drop) continue;
        c.slotMm[s] = keep;
        // The CPU loaded the one real mm under the provisional id (a new thread switched in
        // before its first event gave its tgid): an ASID current for `drop`, caught up after
        // the last request of `keep`, was current for `keep` too. Without this the merge left
        // it behind by all of `keep`'s earlier requests: on qemu-6.12-8cpu/reclaim-mmap's raw
        // ftrace, 291 lazy returns to reclaim-mmap predicted to flush that did not.
        if (d !== undefined && c.slotGen[s]! >= d.gen && c.slotSyncAt[s]! > kGenAt) c.slotGen[s] = k.gen;
      }
      // a switch waiting for its flush (or for the next event) to a task that just turned out to
      // run the other mm: typically a new thread named first by the sched_switch payload, whose
      // own first event then gives its tgid. Its switch goes to the surviving mm, and what the
      // kernel will log is predicted again for that mm (the CPU's state is the one at the switch).
      const ps = c.pendingSwitch;
      if (ps !== null && (ps.toMm === drop || ps.fromMm === drop)) {
        if (ps.fromMm === drop) ps.fromMm = keep;
        if (ps.toMm === drop) {
          ps.toMm = keep;
          if (!ps.toKernel) ps.predicted = this.predictSwitch(c, keep, ps);
        }
      }
    }
    // requests not yet handed to policies name the surviving id
    for (const t of this.pendingSyscallTasks) if (t.pendingSyscall !== null && t.pendingSyscall.mm === drop) t.pendingSyscall.mm = keep;
    for (const ev of this.outbox) {
      if (ev.type === 'request' && ev.req.mm === drop) ev.req.mm = keep;
      else if ((ev.type === 'switch') && (ev.fromMm === drop || ev.toMm === drop)) {
        if (ev.fromMm === drop) ev.fromMm = keep;
        if (ev.toMm === drop) ev.toMm = keep;
      } else if (ev.type === 'syscall' && ev.mm === drop) ev.mm = keep;
    }
  }

  private onExec(pid: number, c: CpuState, ts: number, commBefore?: string): void {
    const old = this.tasks.mmOf(pid);
    this.tasks.onExec(pid, commBefore);
    const mm = this.tasks.mmOf(pid);
    if (old !== INIT_MM && old !== mm) this.push({ type: 'mmExit', ts, mm: old }, null);
    // exec_mmap() switched this CPU to the new mm (its tlb_flush 0 came just before)
    if (c.execPending || c.pid === pid) this.loadMm(this.cpus.indexOf(c), c, mm, -1);
    c.execPending = false;
    if (old !== INIT_MM && old !== mm) this.retire(old, -1, ts);
  }

  /**
   * do_exit(): trace_sched_process_exit comes before exit_mm(), so the exiting task's last flushes
   * (exit_mmap's teardown) still follow; after exit_mm() the task runs lazily with no mm of its own.
   * The mm's state is kept a while for those flushes, then forgotten (bounded memory).
   */
  private onExit(pid: number, tgid: number, ts: number, c: CpuState): void {
    const t = this.tasks.task(pid);
    if (t === undefined || t.kernelThread) return;
    const mm = this.tasks.mmOf(pid);
    t.exited = true;
    if (c.pid === pid && c.loadedMm === mm && mm !== INIT_MM) c.lazy = true;
    const leader = this.tasks.tgidKnown ? pid === (tgid >= 0 ? tgid : t.tgid) : true;
    if (leader && mm !== INIT_MM) {
      this.push({ type: 'mmExit', ts, mm }, null);
      this.retire(mm, pid, ts);
    }
  }

  /** `task`: the record of `pid` when it exited (a later task may reuse the pid) */
  private retired: Array<{ mm: number; pid: number; ts: number; task: TaskInfo | undefined }> = [];

  private retire(mm: number, pid: number, ts: number): void {
    this.retired.push({ mm, pid, ts, task: pid >= 0 ? this.tasks.task(pid) : undefined });
  }

  /** Forget mms and tasks that died more than RETIRE_AFTER_NS ago and are loaded nowhere. */
  private purgeRetired(now: number): void {
    while (this.retired.length > 0 && now - this.retired[0]!.ts > RETIRE_AFTER_NS) {
      const r = this.retired.shift()!;
      if (this.cpus.some((c) => c.loadedMm === r.mm)) {
        this.retired.push({ ...r, ts: now });
        break;
      }
      const m = this.mms.get(r.mm);
      if (m !== undefined && m.openGens.length === 0) this.mms.delete(r.mm);
      this.tasks.forget(r.pid, r.mm, r.task);
    }
  }

  // ---------------------------------------------------------------- policy stream

  /**
   * A syscall entry for the policies. What a syscall reader keeps of the entries is per task "the
   * last syscall entry" (its time, a madvise advice), so of a run of one task's entries with no
   * other model event in between only the last is handed on (coalesced: just before the next event
   * of another type, or at the end): on sng-madvise the policies get 134,805 syscall events
   * instead of 1,153,427. An entry of a syscall in opts.everySyscall also goes out at once, to the
   * policies that want every entry of it (promotion: a munmap storm is a million of those, which
   * the other readers still get coalesced).
   */
  private pushSyscall(e: SyscallEnterEvent, task: TaskInfo): void {
    const mm = this.tasks.mmOf(e.pid);
    // storms repeat one syscall: its membership is remembered (strings compare by identity first)
    if (e.name !== this.lastSyscallName) {
      this.lastSyscallName = e.name;
      this.lastSyscallWith = this.everySyscall.get(e.name) ?? null;
    }
    const withEvery = this.lastSyscallWith;
    if (withEvery !== null) {
      // the policies taking this entry now read the coalesced entries of the syscalls outside
      // withEvery: those still pending are older, so they go out first
      if (this.pendingSyscallTasks.length > 0 && this.pendingOutside(withEvery)) this.flushSyscalls();
      if (this.outbox.length === 0) {
        // handed on at once: one reused event object (a policy keeps what it needs of a syscall
        // event, never the event: see SyscallModelEvent)
        const s = this.syscallScratch;
        s.ts = e.ts;
        s.cpu = e.cpu;
        s.mm = mm;
        s.e = e;
        this.opts.emit(s);
      } else {
        this.buffer({ type: 'syscall', ts: e.ts, cpu: e.cpu, mm, e, every: true }, null);
      }
    }
    const p = task.pendingSyscall;
    if (p === null) {
      task.pendingSyscall = { type: 'syscall', ts: e.ts, cpu: e.cpu, mm, e, every: false };
      this.pendingSyscallTasks.push(task);
      return;
    }
    p.ts = e.ts;
    p.cpu = e.cpu;
    p.mm = mm;
    p.e = e;
  }

  /** whether a pending coalesced entry is of a syscall outside `names` */
  private pendingOutside(names: ReadonlySet<string>): boolean {
    for (const t of this.pendingSyscallTasks) if (t.pendingSyscall !== null && !names.has(t.pendingSyscall.e.name)) return true;
    return false;
  }

  private lastSyscallName = '';
  private lastSyscallWith: ReadonlySet<string> | null = null;
  private readonly syscallScratch: SyscallModelEvent = { type: 'syscall', ts: 0, cpu: 0, mm: 0, e: null as unknown as SyscallEnterEvent, every: true };

  /** Hand on the coalesced syscall entries (they are older than whatever comes next). */
  private flushSyscalls(): void {
    const tasks = this.pendingSyscallTasks;
    this.pendingSyscallTasks = [];
    for (const t of tasks) {
      const p = t.pendingSyscall;
      t.pendingSyscall = null;
      if (p !== null) this.push(p, null);
    }
  }

  private push(ev: ModelEvent, open: OpenRequest | null): void {
    if (this.pendingSyscallTasks.length > 0) this.flushSyscalls();
    if (this.outbox.length === 0 && (open === null || open.closed)) {
      this.opts.emit(ev); // nothing waiting: no buffering
      return;
    }
    this.buffer(ev, open);
  }

  /** Queue an event behind the open requests in the outbox. */
  private buffer(ev: ModelEvent, open: OpenRequest | null): void {
    // A buffered syscall event keeps a copy of its trace event: while a request stays open (up to
    // maxOutbox events, e.g. targets whose handlers were lost) every entry would otherwise keep the
    // reader's own objects alive, and V8 then allocates all later events of that kind straight in
    // the old generation (allocation-site pretenuring): on sng-munmap ~40 MB more peak RSS.
    if (ev.type === 'syscall') ev.e = copySyscallEnter(ev.e);
    this.outbox.push(ev);
    this.outboxOpen.push(open);
    if (this.outbox.length > this.maxOutbox) this.forceOldest();
    this.drain();
  }

  /**
   * Bounded memory: policies see requests complete, so events wait behind an open request. If one
   * stays open too long (targets whose handlers were lost), close it as it is.
   */
  private forceOldest(): void {
    if (this.outbox.length === 0) return;
    const ev = this.outbox[0]!;
    const open = this.outboxOpen[0];
    if (open !== null && !open.closed) {
      open.initiatorDone = true;
      this.close(open, ev.type === 'request' ? ev.req.ts : 0);
    }
  }

  private drain(): void {
    const evs = this.outbox;
    const opens = this.outboxOpen;
    let i = 0;
    while (i < evs.length) {
      const open = opens[i];
      if (open !== null && !open.closed) break;
      this.opts.emit(evs[i]!);
      i++;
    }
    if (i === 0) return;
    if (i === 1 && evs.length === 1) {
      // one request handed on (the common case): pop() is inline, `length = 0` a runtime call
      evs.pop();
      opens.pop();
    } else if (i === evs.length) {
      // all handed on: keeps the arrays' storage, no splice
      evs.length = 0;
      opens.length = 0;
    } else {
      evs.splice(0, i);
      opens.splice(0, i);
    }
  }

  /** End of input: close what is open, flush the policy stream. */
  finish(ts: number): void {
    this.flushSyscalls();
    for (let i = 0; i < this.cpus.length; i++) {
      const c = this.cpus[i]!;
      if (c.pendingSwitch !== null) this.resolveSwitch(i, c, null);
      if (c.initiating !== null) this.initiatorDone(c, ts);
    }
    for (const o of [...this.windowOpen]) {
      o.initiatorDone = true;
      this.close(o, ts);
    }
    this.flushSyscalls();
    this.drain();
  }

  /** Targets queued but never answered (after finish()). */
  unansweredCount(): number {
    let n = this.abandonedTargets;
    for (const q of this.csdQueues.values()) for (const x of q) if (x.target !== null && x.target.outcome === 'unanswered') n++;
    return n;
  }
}

/** Shared by requests that target no other CPU (direct local flushes: most requests in fork-heavy traces). */
const EMPTY_SNAPSHOT: CpuSnapshot = Object.freeze({
  loadedMm: new Int32Array(0),
  known: new Uint8Array(0),
  lazy: new Uint8Array(0),
  lazyMask: new Uint8Array(0),
  preciseMask: new Uint8Array(0),
  localGen: new Float64Array(0),
});

function copySyscallEnter(e: SyscallEnterEvent): SyscallEnterEvent {
  const args: Record<string, number> = {};
  for (const k in e.args) args[k] = e.args[k]!;
  return { kind: e.kind, ts: e.ts, cpu: e.cpu, pid: e.pid, tgid: e.tgid, comm: e.comm, hardirq: e.hardirq, line: e.line, name: e.name, nr: e.nr, raw: e.raw, args };
}

/**
 * Remove the first occurrence of `x`. Requests mostly close in the order they open, the newest
 * (a direct local flush opens and closes on one event) or the oldest: those take no splice.
 */
function removeItem<T>(list: T[], x: T): void {
  const i = list.indexOf(x);
  if (i < 0) return;
  if (i === list.length - 1) list.pop();
  else if (i === 0) list.shift();
  else list.splice(i, 1);
}

function slotOf(c: CpuState, mm: number): number {
  for (let s = 0; s < TLB_NR_DYN_ASIDS; s++) if (c.slotMm[s] === mm) return s;
  return -1;
}

function eqSet(a: Set<number>, b: Set<number>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function classifyMismatch(observed: Set<number>, filtered: Set<number>, unfiltered: Set<number>): string {
  for (const x of observed) if (!unfiltered.has(x)) return 'targetNotInMask';
  for (const x of filtered) if (!observed.has(x)) return 'runningCpuNotTargeted';
  return 'partialFilter';
}

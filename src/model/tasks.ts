// Who owns which address space. No tracepoint carries an mm, so we derive one (DOMAIN.md §3):
//   - with a TGID column: mm = tgid, and a fresh mm at every sched_process_exec;
//   - without (trace-cmd report, perf script): every pid starts as its own mm, and pids are merged
//     when the trace proves they share one: a user->user sched_switch on a CPU with no
//     `tlb_flush 0` after it means switch_mm_irqs_off() saw prev == next (same mm, no event); and
//     at the fork itself, when the parent's clone call shared its mm (forkSharesMm() below).
// Kernel threads own no mm: they borrow the loaded one lazily (enter_lazy_tlb()).

import type { SyscallInfo } from '../events/payloads/syscalls.js';
import type { SyscallModelEvent } from './types.js';

export const INIT_MM = 0; // init_mm: loaded by idle/kernel threads after leave_mm or a lazy flush

export interface TaskInfo {
  pid: number;
  comm: string;
  tgid: number;
  /** tgid not seen yet (the task was named by a sched_switch/fork payload): tgid = pid for now */
  tgidProvisional: boolean;
  /** past sched_process_exit: exit_mm() dropped its mm, it runs lazily like a kernel thread */
  exited?: boolean;
  kernelThread: boolean;
  /** the trace proved the task has an mm (mirrors TaskRegistry's known-user set, for the hot path) */
  user: boolean;
  /** Kernel-model state kept on the record (a pid-keyed map lookup per event saved):
   * the task's last syscall entry (cause attribution, double-traced calls) */
  lastSyscall: { name: string; ts: number; raw: boolean } | null;
  /** its newest syscall entry not yet handed to the policies (see KernelModel: coalescing) */
  pendingSyscall: SyscallModelEvent | null;
  /** the syscall whose entry pendingSyscall.e is the policy stream's own copy of; null: the ingest's event */
  pendingOwn: SyscallInfo | null;
  /** in its last syscall: the call's flags said it shares the mm (clone CLONE_VM, vfork: true; fork,
   * clone without CLONE_VM: false), or cannot say (clone3: its flags are in user memory: null) */
  cloneVm: boolean | null | undefined;
  /** it initiated a TLB flush since its last syscall entry (dup_mmap() flushes the parent's mm) */
  flushedInCall: boolean;
}

const CLONE_VM = 0x100;

/** What a clone-family syscall entry says about the mm its child gets; undefined for other syscalls. */
export function cloneSharesMm(name: string, args: Readonly<Record<string, number>>): boolean | null | undefined {
  switch (name) {
    case 'clone': {
      const flags = args.clone_flags;
      return flags === undefined ? null : (flags & CLONE_VM) !== 0;
    }
    case 'vfork':
      return true; // CLONE_VM | CLONE_VFORK: the child runs in the parent's mm until it execs
    case 'fork':
      return false;
    case 'clone3':
      return null;
    default:
      return undefined;
  }
}

/** Comm prefixes of kernel threads on x86 Linux (children of kthreadd have no mm). */
const KTHREAD_PREFIXES = [
  'swapper', 'kworker/', 'ksoftirqd/', 'migration/', 'rcu_', 'rcuog/', 'rcuop/', 'rcuos/', 'rcub/',
  'kthreadd', 'kswapd', 'khugepaged', 'kcompactd', 'cpuhp/', 'idle_inject/', 'watchdog', 'irq/',
  'kdevtmpfs', 'oom_reaper', 'writeback', 'kblockd', 'jbd2/', 'ext4-', 'xfs', 'scsi_', 'khungtaskd',
  'kauditd', 'ksmd', 'kintegrityd', 'kthrotld', 'ipv6_addrconf', 'mm_percpu_wq', 'pool_workqueue',
  'kstrp', 'zswap', 'psimon', 'kpsmoused', 'ata_sff', 'md', 'edac-poller', 'devfreq_wq', 'khvcd',
  'kswapd', 'card', 'hwrng', 'napi/', 'nvme', 'blkcg_punt', 'tpm_dev_wq', 'inet_frag_wq', 'netns',
  'kmpath', 'kaluad', 'ttm', 'dmcrypt', 'kcryptd', 'ksgxd', 'kvm-', 'vfio', 'krfcommd', 'btrfs',
  'loop', 'kerneloops', 'kmemleak', 'kthrotld', 'acpi_thermal_pm', 'ecryptfs', 'charger_manager',
  'mld', 'kipmi', 'zram', 'iprt', 'slub_flushwq', 'cfg80211', 'kstrp', 'rpciod', 'xprtiod', 'nfsiod',
  'kdamond', 'hwrng', 'watchdogd', 'nvme-', 'kaudit', 'khelper', 'kmpathd', 'kvm', 'ttm_swap',
];

export function looksLikeKernelThread(comm: string, pid: number): boolean {
  if (pid === 0) return true;
  if (pid === 2) return true; // kthreadd
  for (const p of KTHREAD_PREFIXES) if (comm.startsWith(p)) return true;
  // per-CPU kernel threads are named name/N or name/N:M (ksoftirqd/0, kworker/3:1H, cpuhp/2)
  return /\/\d+(:\d+)?[A-Za-z-]*$/.test(comm);
}

/**
 * Groups of pids found to share an mm, for mm inference without tgids. Every member points
 * straight at its group's root (the smallest pid, whose key the group's mm is kept under), and each
 * group keeps its members, so that a pid can leave its group in constant time: a thread forgotten
 * after its exit (a process whose threads come and go), a vfork() child that execs, a pid handed
 * out again.
 */
class PidUnion {
  /** non-root member -> its group's root */
  private parent = new Map<number, number>();
  /** root -> every pid of its group, the root included (only groups of two or more) */
  private members = new Map<number, Set<number>>();
  find(p: number): number {
    return this.parent.get(p) ?? p;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    const root = Math.min(ra, rb);
    const child = Math.max(ra, rb);
    let into = this.members.get(root);
    if (into === undefined) {
      into = new Set([root]);
      this.members.set(root, into);
    }
    const from = this.members.get(child);
    if (from === undefined) {
      into.add(child);
      this.parent.set(child, root);
      return;
    }
    for (const m of from) {
      into.add(m);
      this.parent.set(m, root);
    }
    this.members.delete(child);
  }
  /** the pids of `p`'s group, or null when it is in none */
  groupOf(p: number): ReadonlySet<number> | null {
    return this.members.get(this.find(p)) ?? null;
  }
  /**
   * `p` leaves its group. Returns the group's old and new root when `p` was its root and others
   * remain (the caller moves what it keyed by the old root), else null.
   */
  detach(p: number): { from: number; to: number } | null {
    const r = this.find(p);
    this.parent.delete(p);
    const group = this.members.get(r);
    if (group === undefined) return null;
    group.delete(p);
    if (r !== p) {
      if (group.size === 1) this.members.delete(r);
      return null;
    }
    // the root left: the smallest pid left is the new root (a loop, not Math.min(...group): a
    // spread of a big group overflows the stack), and every member points at it
    this.members.delete(r);
    let root = Infinity;
    for (const m of group) if (m < root) root = m;
    this.parent.delete(root);
    if (group.size > 1) {
      for (const m of group) if (m !== root) this.parent.set(m, root);
      this.members.set(root, group);
    }
    return { from: r, to: root };
  }
}

const MEMO_SIZE = 256;

export interface MmIdentity {
  /** the mm was replaced by exec: its name stays the comm it had */
  frozen?: boolean;
  id: number;
  /** the process: tgid, or the root pid of the inferred group */
  tgid: number;
  comm: string;
}

/**
 * Task registry: pid -> comm, tgid, kernel-thread flag, mm.
 * mm ids are small integers (> 0); 0 is init_mm.
 */
export class TaskRegistry {
  private tasks = new Map<number, TaskInfo>();
  private kthreadChildren = new Set<number>();
  private knownUser = new Set<number>();
  private union = new PidUnion();
  /** process key (tgid or union root) -> current mm id; a new one after exec */
  private mmOfProcess = new Map<number, number>();
  private mmInfo = new Map<number, MmIdentity>();
  private mmsSeen = 0;
  private nextMmId = 1;

  /** true once an event header carried a tgid (TGID column, perf -F +pid, trace.dat saved tgids) */
  tgidKnown: boolean;

  /**
   * Bumped by every change that can alter a task's record or its mm (a task made or forgotten, a
   * tgid learned, a kernel-thread flag flipped, processes merged, exec): callers' caches and the
   * mmOf() memo below are valid while it stays the same.
   */
  epoch = 0;
  /** mmOf() memo, direct-mapped by pid: the hot path asks for the same few pids millions of times */
  private readonly memoPid = new Int32Array(MEMO_SIZE).fill(-1);
  private readonly memoMm = new Int32Array(MEMO_SIZE);
  private readonly memoEpoch = new Float64Array(MEMO_SIZE).fill(-1);

  constructor(tgidKnown: boolean) {
    this.tgidKnown = tgidKnown;
  }

  /**
   * Called for every event header: keeps comm/tgid fresh. When a task named earlier without a tgid
   * turns out to belong to another process, the mm it was provisionally given must merge into
   * that process's mm: `merged` says which (the caller remaps state keyed by it).
   */
  see(pid: number, tgid: number, comm: string): TaskInfo {
    if (tgid > 0 && !this.tgidKnown) {
      this.tgidKnown = true;
      this.epoch++;
    }
    let t = this.tasks.get(pid);
    if (t === undefined) {
      const user = this.knownUser.has(pid);
      t = { pid, comm, tgid: tgid >= 0 ? tgid : pid, tgidProvisional: tgid < 0, kernelThread: this.classify(pid, comm), user, lastSyscall: null, pendingSyscall: null, pendingOwn: null, cloneVm: undefined, flushedInCall: false };
      this.tasks.set(pid, t);
      this.epoch++;
    } else {
      if (t.comm !== comm && comm !== '<...>' && comm !== '') {
        t.comm = comm;
        // a rename: callers' task caches compare header comms against the one they were made with
        this.epoch++;
      }
      if (tgid >= 0 && t.tgid !== tgid) {
        this.epoch++;
        const oldKey = t.tgid;
        t.tgid = tgid;
        if (t.tgidProvisional && this.tgidKnown) {
          const provisional = this.mmOfProcess.get(oldKey);
          const real = this.mmOfProcess.get(tgid);
          if (provisional !== undefined && oldKey === pid) {
            this.mmOfProcess.delete(oldKey);
            if (real === undefined) this.mmOfProcess.set(tgid, provisional);
            else if (real !== provisional) this.pendingMerge = { keep: real, drop: provisional };
          }
        }
      }
      if (tgid >= 0 && t.tgidProvisional) {
        t.tgidProvisional = false;
        this.epoch++;
      }
    }
    return t;
  }

  /** set by see() when a provisional mm must be merged; the caller takes it */
  pendingMerge: { keep: number; drop: number } | null = null;

  /** A task named by a sched_switch/fork payload (no tgid there). */
  seeNamed(pid: number, comm: string): TaskInfo {
    const t = this.tasks.get(pid);
    if (t !== undefined) {
      if (comm && t.comm !== comm) {
        t.comm = comm;
        if (!this.knownUser.has(pid)) t.kernelThread = this.classify(pid, comm);
        this.epoch++;
      }
      return t;
    }
    return this.see(pid, -1, comm);
  }

  private classify(pid: number, comm: string): boolean {
    if (this.knownUser.has(pid)) return false;
    if (this.kthreadChildren.has(pid)) return true;
    return looksLikeKernelThread(comm, pid);
  }

  /**
   * Whether the child of this fork shares its parent's mm, from the parent's clone call: its flags
   * when the trace shows them (clone, fork, vfork); for clone3 (flags in user memory), whether the
   * parent flushed its TLB inside the call. copy_process() -> dup_mm() -> dup_mmap() ends with
   * flush_tlb_mm(oldmm) (kernel/fork.c: the parent's PTEs were made copy-on-write), which logs a
   * tlb_flush 3 or 4 of the parent before sched_process_fork; a CLONE_VM child gets the parent's mm
   * and nothing is flushed. The flush is trusted only once the trace has shown it: a fork whose
   * flags say it copies the mm, or a clone3 that flushed (`forkFlushSeen`); a kernel that flushed
   * another way (a broadcast INVLPGB flush logs nothing) leaves the children unmerged, as before.
   * null: nothing to tell by (no syscall entries traced, or not a user task's clone call).
   */
  private forkSharesMm(parent: TaskInfo | undefined): boolean | null {
    if (parent === undefined || parent.kernelThread || parent.cloneVm === undefined) return null;
    const flushed = parent.flushedInCall;
    if (parent.cloneVm === true) return true;
    if (flushed) this.forkFlushSeen = true; // a fork, or a clone3 that copied the mm
    if (parent.cloneVm === false || flushed) return false;
    return this.forkFlushSeen ? true : null;
  }

  /** a fork that copied the mm was seen flushing the parent: a clone3 without a flush shares it */
  private forkFlushSeen = false;

  /** forks whose child was found to share the parent's mm at the fork (pids merged without tgids) */
  forksSharingMm = 0;

  /**
   * A sched_process_fork. Returns the mm merged away when the child is found to share its parent's
   * mm and the trace has no tgids (the caller remaps state keyed by it), else null.
   */
  onFork(parentPid: number, childPid: number, childComm: string): { keep: number; drop: number } | null {
    const parent = this.tasks.get(parentPid);
    const shares = this.forkSharesMm(parent);
    if (parent !== undefined) parent.cloneVm = undefined; // one fork per call
    this.register(parentPid, childPid, childComm);
    if (shares !== true || parent === undefined || !parent.user) return null;
    this.forksSharingMm++;
    if (!this.tgidKnown) return this.sameMm(parentPid, childPid);
    // With tgids a thread is in its parent's process already; a vfork() or posix_spawn() child is a
    // process of its own that runs in its parent's mm until it execs (CLONE_VM without CLONE_THREAD)
    this.inParentMm.set(childPid, this.processKey(parentPid));
    return null;
  }

  /** with tgids: a CLONE_VM child's pid -> the process whose mm it runs in, until its exec or exit */
  private inParentMm = new Map<number, number>();

  /** the child runs in another process's mm (a vfork() or posix_spawn() child before its exec) */
  private borrowsMm(pid: number): boolean {
    const key = this.inParentMm.get(pid);
    return key !== undefined && key !== (this.tasks.get(pid)?.tgid ?? pid);
  }

  private register(parentPid: number, childPid: number, childComm: string): void {
    this.epoch++;
    if (this.tasks.has(childPid)) this.reused(childPid);
    if (parentPid === 2) this.kthreadChildren.add(childPid);
    const parent = this.tasks.get(parentPid);
    const child = this.seeNamed(childPid, childComm);
    if (parentPid === 2) {
      // a reused pid: evidence about the task that had it before does not carry over
      this.knownUser.delete(childPid);
      this.lastUser = -1;
      child.user = false;
      child.kernelThread = true;
    } else if (parent && !parent.kernelThread) {
      // only kthreadd makes kernel threads: a user task's child is a user task
      child.kernelThread = false;
      child.user = true;
      this.knownUser.add(childPid);
    }
  }

  /** Evidence that a pid has an mm of its own (made an mm syscall, logged a switch-in flush, initiated a flush). */
  markUser(pid: number): void {
    // (every flush request marks its initiator: the last one marked is remembered)
    if (pid === this.lastUser || pid === 0) return;
    if (this.knownUser.has(pid)) {
      this.lastUser = pid; // known users are never flagged kernel threads again
      return;
    }
    this.lastUser = pid;
    this.knownUser.add(pid);
    const t = this.tasks.get(pid);
    if (t) {
      t.kernelThread = false;
      t.user = true;
    }
    this.epoch++;
  }

  /** the pid markUser() last found or made a known user (-1: none) */
  private lastUser = -1;

  /** The trace proved this task has an mm (syscall, flush, switch-in flush, forked by a user task). */
  isKnownUser(pid: number): boolean {
    return this.knownUser.has(pid);
  }

  /**
   * exec gives the process a new mm. Returns true when the old one lives on in other tasks: a
   * vfork() or posix_spawn() child ran in its parent's mm since the fork (onFork()), and its exec
   * leaves the parent there.
   */
  onExec(pid: number, commBefore?: string): boolean {
    this.markUser(pid);
    this.epoch++;
    // a vfork()/posix_spawn() child running in its parent's mm leaves it there and gets its own
    let oldLivesOn = false;
    if (this.tgidKnown) {
      oldLivesOn = this.borrowsMm(pid);
      this.inParentMm.delete(pid);
    } else {
      const group = this.union.groupOf(pid);
      if (group !== null) {
        oldLivesOn = this.anyOtherRunning(group, pid);
        this.leaveGroup(pid);
      }
    }
    const key = this.processKey(pid);
    // the old mm keeps the name it had (the comm before exec), so reports tell the two apart
    const old = oldLivesOn ? undefined : this.mmOfProcess.get(key);
    const oldInfo = old !== undefined ? this.mmInfo.get(old) : undefined;
    if (oldInfo) {
      if (commBefore) oldInfo.comm = commBefore;
      oldInfo.frozen = true;
    }
    this.mmOfProcess.set(key, this.newMm(key, this.tasks.get(pid)?.comm ?? ''));
    return oldLivesOn;
  }

  /**
   * Whether `pid`'s exit ends its mm: with tgids, the exit of the thread-group leader (as before),
   * unless it ran in its parent's mm (a vfork() child that exits without exec); without, the exit
   * of the last task of its group still running (a thread's exit leaves the mm to the others:
   * exit_mm() drops one user of it).
   */
  exitEndsMm(pid: number, tgid: number): boolean {
    if (this.tgidKnown) return !this.borrowsMm(pid) && pid === (tgid >= 0 ? tgid : (this.tasks.get(pid)?.tgid ?? pid));
    const group = this.union.groupOf(pid);
    return group === null || !this.anyOtherRunning(group, pid);
  }

  /** some task of `group` other than `pid` is known and has not exited */
  private anyOtherRunning(group: ReadonlySet<number>, pid: number): boolean {
    for (const m of group) {
      if (m === pid) continue;
      const t = this.tasks.get(m);
      if (t !== undefined && t.exited !== true) return true;
    }
    return false;
  }

  /**
   * Evidence that two pids share an mm (no switch_mm flush between them). Returns the mm id that
   * was merged away (so the caller can remap state keyed by it) and the one kept, or null.
   */
  sameMm(a: number, b: number): { keep: number; drop: number } | null {
    if (this.tgidKnown || a === b) return null;
    const ka = this.union.find(a);
    const kb = this.union.find(b);
    if (ka === kb) return null;
    const ma = this.mmOfProcess.get(ka);
    const mb = this.mmOfProcess.get(kb);
    this.epoch++;
    this.union.union(a, b);
    const root = this.union.find(a);
    // keep the older mm id so counters attributed so far stay together
    const keep = ma !== undefined && mb !== undefined ? Math.min(ma, mb) : (ma ?? mb);
    if (keep === undefined) return null;
    this.mmOfProcess.set(root, keep);
    const drop = ma !== undefined && mb !== undefined ? Math.max(ma, mb) : undefined;
    return drop === undefined || drop === keep ? null : { keep, drop };
  }

  private processKey(pid: number): number {
    if (this.tgidKnown) return this.inParentMm.get(pid) ?? this.tasks.get(pid)?.tgid ?? pid;
    return this.union.find(pid);
  }

  private newMm(tgid: number, comm: string): number {
    const id = this.nextMmId++;
    this.mmsSeen++;
    this.mmInfo.set(id, { id, tgid, comm });
    return id;
  }

  /** The mm a task runs in, or INIT_MM for kernel threads. */
  mmOf(pid: number): number {
    const slot = pid & (MEMO_SIZE - 1);
    if (this.memoPid[slot] === pid && this.memoEpoch[slot] === this.epoch) return this.memoMm[slot]!;
    const t = this.tasks.get(pid);
    let mm: number | undefined = INIT_MM;
    if (t !== undefined && !t.kernelThread) {
      const key = this.processKey(pid);
      mm = this.mmOfProcess.get(key);
      if (mm === undefined) {
        mm = this.newMm(key, t.comm);
        this.mmOfProcess.set(key, mm);
      }
    }
    if (pid >= 0 && pid <= 0x7fffffff) {
      this.memoPid[slot] = pid;
      this.memoMm[slot] = mm;
      this.memoEpoch[slot] = this.epoch;
    }
    return mm;
  }

  /** forks of a pid we already had a record of: pid_max wrapped during the trace */
  pidsReused = 0;

  /**
   * A fork hands out a pid we have a record of: the kernel frees a pid only once its task is
   * reaped (a thread-group leader only after its whole group), so that record, the process it
   * named and the group it was inferred to share an mm with belong to a task that is gone. The
   * new task starts with none of them (on a pid_max=1000 capture, 21,659 forks over 692 pids, the
   * old records made target predictions wrong for a third of the requests).
   */
  private reused(pid: number): void {
    this.pidsReused++;
    this.dropTask(pid);
    if (this.tgidKnown) {
      this.mmOfProcess.delete(pid); // the old process keyed by its leader's pid
      return;
    }
    this.leaveGroup(pid);
  }

  /**
   * Without tgids: `pid` leaves the group of pids it was found to share an mm with; the mm keyed
   * by it, when it was the group's root, stays with the others under their new root.
   */
  private leaveGroup(pid: number): void {
    const moved = this.union.detach(pid);
    const mm = this.mmOfProcess.get(pid);
    this.mmOfProcess.delete(pid);
    // its group lives on under another root: the group's mm goes with it
    if (moved !== null && mm !== undefined) this.mmOfProcess.set(moved.to, mm);
  }

  /**
   * Forget an exited task (and its process's mm mapping, when it was the one named). `task` is
   * the record retired: a pid handed out again since then names another task, which stays.
   */
  forget(pid: number, mm: number, task?: TaskInfo): void {
    if (pid < 0) return;
    const t = this.tasks.get(pid);
    if (t === undefined) return;
    if (task !== undefined && t !== task) {
      this.mmInfo.delete(mm); // the old task's mm goes; the new task and its process stay
      this.epoch++; // its name is gone (callers' caches of mm names)
      return;
    }
    this.epoch++;
    const key = this.processKey(pid);
    if (this.mmOfProcess.get(key) === mm && key === pid) this.mmOfProcess.delete(key);
    this.mmInfo.delete(mm);
    this.dropTask(pid);
  }

  /**
   * Forget an exited task whose mm lives on in others (a thread; a vfork() child's exit). Without
   * tgids it leaves its group too, so that a process whose threads come and go keeps a group of its
   * live threads (exitEndsMm() looks at each).
   */
  forgetTask(pid: number, task: TaskInfo | undefined): void {
    const t = this.tasks.get(pid);
    if (t === undefined || (task !== undefined && t !== task)) return;
    this.epoch++;
    this.dropTask(pid);
    if (!this.tgidKnown) this.leaveGroup(pid);
  }

  private dropTask(pid: number): void {
    this.tasks.delete(pid);
    this.inParentMm.delete(pid);
    this.knownUser.delete(pid);
    this.lastUser = -1;
    this.kthreadChildren.delete(pid);
  }

  /** address spaces seen so far */
  get mmCount(): number {
    return this.mmsSeen;
  }

  isKernelThread(pid: number): boolean {
    return this.tasks.get(pid)?.kernelThread ?? looksLikeKernelThread('', pid);
  }

  task(pid: number): TaskInfo | undefined {
    // (asked for every flush request's initiator: the last answer holds while the epoch does)
    if (pid === this.lastTaskPid && this.epoch === this.lastTaskEpoch) return this.lastTask;
    const t = this.tasks.get(pid);
    this.lastTaskPid = pid;
    this.lastTaskEpoch = this.epoch;
    this.lastTask = t;
    return t;
  }
  private lastTaskPid = -1;
  private lastTaskEpoch = -1;
  private lastTask: TaskInfo | undefined = undefined;

  mmIdentity(mm: number): MmIdentity | undefined {
    const info = this.mmInfo.get(mm);
    if (info === undefined) return undefined;
    // refresh the name from the process's current comm (until exec replaces this mm)
    const t = info.frozen ? undefined : this.tasks.get(info.tgid);
    if (t && t.comm) info.comm = t.comm;
    return info;
  }
}

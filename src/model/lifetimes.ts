// When address spaces begin and end (DOMAIN.md §3): exec_mmap() gives the task a new mm (logged as
// a tlb_flush 0 just before sched_process_exec), do_exit() drops it. Dead mms and tasks are kept a
// while for their teardown flushes (exit_mmap() runs after the sched_process_exit tracepoint), then
// forgotten, so memory stays bounded however many processes a trace shows.

import type { PolicyStream } from './policy-stream.js';
import type { Switches } from './switches.js';
import { INIT_MM, type TaskInfo, type TaskRegistry } from './tasks.js';
import type { TlbState } from './tlb-state.js';

/** Dead mms and tasks are forgotten this long after their exit (their teardown flushes come first). */
const RETIRE_AFTER_NS = 2_000_000_000;

export class Lifetimes {
  /** `task`: the record of `pid` when it exited (a later task may reuse the pid) */
  private retired: Array<{ mm: number | null; pid: number; ts: number; task: TaskInfo | undefined }> = [];

  constructor(
    private readonly tlb: TlbState,
    private readonly tasks: TaskRegistry,
    private readonly switches: Switches,
    private readonly stream: PolicyStream,
  ) {}

  /** sched_process_exec of `pid` on `cpu`; `commBefore`: the name its old mm had. */
  onExec(pid: number, cpu: number, ts: number, commBefore?: string): void {
    const c = this.tlb.cpus[cpu]!;
    const sc = this.switches.cpus[cpu]!;
    const old = this.tasks.mmOf(pid);
    const oldLivesOn = this.tasks.onExec(pid, commBefore);
    const mm = this.tasks.mmOf(pid);
    const oldEnds = old !== INIT_MM && old !== mm && !oldLivesOn;
    if (oldEnds) this.stream.push({ type: 'mmExit', ts, mm: old }, null);
    // exec_mmap() switched this CPU to the new mm (its tlb_flush 0 came just before)
    if (sc.execPending || c.pid === pid) this.tlb.loadMm(cpu, mm, -1);
    sc.execPending = false;
    if (oldEnds) this.retire(old, -1, ts);
  }

  /**
   * do_exit(): trace_sched_process_exit comes before exit_mm(), so the exiting task's last flushes
   * (exit_mmap's teardown) still follow; after exit_mm() the task runs lazily with no mm of its own.
   * The mm's state is kept a while for those flushes, then forgotten (bounded memory).
   */
  onExit(pid: number, tgid: number, ts: number, cpu: number): void {
    const t = this.tasks.task(pid);
    if (t === undefined || t.kernelThread) return;
    const c = this.tlb.cpus[cpu]!;
    const mm = this.tasks.mmOf(pid);
    t.exited = true;
    if (c.pid === pid && c.loadedMm === mm && mm !== INIT_MM) c.lazy = true;
    if (mm !== INIT_MM && this.tasks.exitEndsMm(pid, tgid)) {
      this.stream.push({ type: 'mmExit', ts, mm }, null);
      this.retire(mm, pid, ts);
    } else {
      this.retire(null, pid, ts); // its mm lives on in other tasks: only the task is forgotten
    }
  }

  /** `mm` null: forget the task only */
  private retire(mm: number | null, pid: number, ts: number): void {
    this.retired.push({ mm, pid, ts, task: pid >= 0 ? this.tasks.task(pid) : undefined });
  }

  /** Forget mms and tasks that died more than RETIRE_AFTER_NS ago and are loaded nowhere. */
  purge(now: number): void {
    while (this.retired.length > 0 && now - this.retired[0]!.ts > RETIRE_AFTER_NS) {
      const r = this.retired.shift()!;
      if (r.mm === null) {
        this.tasks.forgetTask(r.pid, r.task);
        continue;
      }
      if (this.tlb.isLoadedAnywhere(r.mm)) {
        this.retired.push({ ...r, ts: now });
        break;
      }
      this.tlb.forgetMm(r.mm);
      this.tasks.forget(r.pid, r.mm, r.task);
    }
  }
}

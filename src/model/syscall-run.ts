// Runs of syscall entries: one task's entries of one syscall on one CPU, with no other event
// between them. On sng-madvise they are 85% of the events (922,341 of 1,349,048 lines continue a
// run). After a run's first entry has been through KernelModel.consumeSyscall() the CPU's task,
// its pending switch, the initiator state and the task's flags are settled, and for the next entry
// that function would change nothing but the task's last entry (its time and arguments) and the
// policy stream's pending copy of it: the run takes the entries after the first on that short path.
//
// The short path holds only while nothing else happened: the model ends the run on every other
// event, and the registry's epoch (bumped by anything that changes a task or its mm, including the
// periodic purge of dead tasks) must not have moved since the run's first entry.

import { ARGS_PER_ROW, type EventBatch } from '../events/batch.js';
import type { SyscallInfo } from '../events/payloads/syscalls.js';
import type { SyscallEnterEvent } from '../events/types.js';
import type { PolicyStream } from './policy-stream.js';
import type { TaskInfo } from './tasks.js';

export class SyscallRun {
  /** the run's task; null: no run (the next syscall entry takes the full path) */
  task: TaskInfo | null = null;
  private cpu = -1;
  private pid = -1;
  private tgid = -1;
  private comm = '';
  private name = '';
  private raw = false;
  /** the syscall of row entries (null: the run's entries are event objects) */
  private info: SyscallInfo | null = null;
  private mm = 0;
  /** TaskRegistry.epoch when the run began */
  private epoch = -1;
  /** some policy takes every entry of this syscall: each one still goes through pushSyscall() */
  private every = false;

  constructor(private readonly stream: PolicyStream) {}

  /** Entry e of `task` (in `mm`) was handed on by consumeSyscall(): the entries after it may continue its run. */
  begin(e: SyscallEnterEvent, task: TaskInfo, mm: number, info: SyscallInfo | null, epoch: number): void {
    this.task = task;
    this.cpu = e.cpu;
    this.pid = e.pid;
    this.tgid = e.tgid;
    this.comm = e.comm;
    this.name = e.name;
    this.raw = e.raw;
    this.info = info;
    this.mm = mm;
    this.epoch = epoch;
    this.every = this.stream.takesEvery(e.name);
  }

  /** whether syscall row i continues the run */
  continuedByRow(b: EventBatch, i: number, epoch: number): boolean {
    return this.task !== null && b.sys[i] === this.info && b.pid[i] === this.pid && b.cpu[i] === this.cpu && b.comm[i] === this.comm && b.tgid[i] === this.tgid && epoch === this.epoch;
  }

  /** whether syscall entry e (an event object) continues the run */
  continuedBy(e: SyscallEnterEvent, epoch: number): boolean {
    return this.task !== null && this.info === null && e.pid === this.pid && e.cpu === this.cpu && e.name === this.name && e.raw === this.raw && e.comm === this.comm && e.tgid === this.tgid && epoch === this.epoch;
  }

  /**
   * Row i, continuing the run: the task's last entry is this one. `view` fills the row's event
   * object when a policy takes every entry (otherwise the pending copy is written from the row).
   */
  continueRow(b: EventBatch, i: number, view: (b: EventBatch, i: number) => SyscallEnterEvent): void {
    const task = this.task!;
    const ts = b.ts[i]!;
    task.lastSyscall!.ts = ts;
    const p = task.pendingSyscall;
    if (this.every || p === null || task.pendingOwn !== this.info) {
      this.stream.pushSyscall(view(b, i), task, this.mm, this.info);
      return;
    }
    // PolicyStream.pushSyscall() of a coalesced entry: its own copy of the task's last entry, in place
    p.ts = ts;
    const e = p.e;
    const h = b.hardirq[i]!;
    e.ts = ts;
    e.hardirq = h < 0 ? undefined : h === 1;
    e.line = b.line[i]!;
    this.info!.fill(e.args, b.args, i * ARGS_PER_ROW);
  }

  /** Entry e (an event object), continuing the run. */
  continueWith(e: SyscallEnterEvent): void {
    const task = this.task!;
    task.lastSyscall!.ts = e.ts;
    this.stream.pushSyscall(e, task, this.mm, null);
  }
}

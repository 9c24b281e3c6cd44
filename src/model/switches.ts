// Context switches and what switch_mm_irqs_off() does on each (arch/x86/mm/tlb.c, DOMAIN.md §2 (e)).
//
// sched_switch is emitted before switch_mm, so a switch stays pending until the next event on that
// CPU tells what switch_mm did: a `tlb_flush 0` (pages -1: the ASID was behind or newly taken, 0: it
// was current) or nothing (same mm, or a lazy return to a current ASID). Before that event comes
// the model predicts it from the CPU's ASID slots (predict()), and fidelity.ts scores the
// prediction. A switch to a kernel thread (or to a task past exit_mm()) is enter_lazy_tlb(): the
// CPU keeps its mm loaded, lazily, and logs nothing.
//
// A switch with no event where we expected a change of mm is evidence: without tgids the two
// tasks share one mm (pids merged here), which is how threads are found in trace-cmd text.

import type { SchedSwitchEvent } from '../events/types.js';
import type { Fidelity } from './fidelity.js';
import type { PolicyStream } from './policy-stream.js';
import { INIT_MM, type TaskRegistry } from './tasks.js';
import { slotOf, TLB_NR_DYN_ASIDS, type CpuTlb, type TlbState } from './tlb-state.js';

export interface PendingSwitch {
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

/** Per CPU: the switch whose switch_mm outcome is not yet seen, and an exec's pending mm load. */
export class SwitchCpu {
  /** a sched_switch whose switch_mm outcome (tlb_flush 0 or nothing) is not yet seen */
  pending: PendingSwitch | null = null;
  /** a reason-0 flush outside a switch: exec_mmap() loads the new mm before sched_process_exec */
  execPending = false;
}

export interface SwitchHooks {
  /** the CPU's initiator moved on (a switch ends any flush it was sending) */
  initiatorDone(cpu: number, ts: number): void;
  /** pids proven to share an mm */
  remapMm(drop: number, keep: number): void;
}

/**
 * Switches to another mm whose ASID we held current that flushed in full anyway, with no switch
 * ever logging pages=0, before the CPU counts as having no PCID (TlbState.pcid). A kernel with
 * PCID flushes such a switch only if the ASID was behind, which the model tracks; one such miss can
 * be a generation we did not see, several in a row with no pages=0 at all are the rule.
 */
const NO_PCID_EVIDENCE = 3;

export class Switches {
  readonly cpus: SwitchCpu[] = [];
  private noPcidEvidence = 0;

  constructor(
    private readonly tlb: TlbState,
    private readonly tasks: TaskRegistry,
    private readonly stream: PolicyStream,
    private readonly fidelity: Fidelity,
    private readonly hooks: SwitchHooks,
  ) {}

  grow(n: number): void {
    for (let i = this.cpus.length; i < n; i++) this.cpus.push(new SwitchCpu());
  }

  onSwitch(e: SchedSwitchEvent): void {
    const cpu = e.cpu;
    const c = this.tlb.cpus[cpu]!;
    const sc = this.cpus[cpu]!;
    const next = this.tasks.seeNamed(e.nextPid, e.nextComm);
    this.tasks.seeNamed(e.prevPid, e.prevComm);
    c.pid = e.nextPid;
    // a reason-0 flush by a user task that no sched_process_exec followed before it was switched
    // out was not an exec (text_poke()'s temporary mm, kthread_use_mm, ...)
    sc.execPending = false;
    this.hooks.initiatorDone(cpu, e.ts);
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
      if (c.loadedMm !== INIT_MM) {
        c.enteringLazy = !c.lazy;
        c.lazy = true;
      }
      ps.predicted = null;
      this.finish(cpu, c, ps, null);
      return;
    }
    ps.predicted = this.predict(c, toMm, ps);
    sc.pending = ps;
    c.switchingTo = toMm;
  }

  /** What switch_mm_irqs_off() will log for a switch to `toMm` (arch/x86/mm/tlb.c). */
  private predict(c: CpuTlb, toMm: number, ps: PendingSwitch): number | null | undefined {
    if (!c.loadedKnown) return undefined;
    if (toMm === c.loadedMm) {
      if (!c.lazy) return null; // same mm, not lazy: early return, no event
      const slot = slotOf(c, toMm);
      if (slot < 0) return undefined;
      ps.predictedSlot = slot;
      return this.tlb.behind(c, slot, toMm) ? -1 : null; // caught up: return without an event
    }
    // no PCID: choose_new_asid() flushes every switch to another mm
    if (this.tlb.pcid === false) return -1;
    const slot = slotOf(c, toMm);
    if (slot >= 0) {
      ps.predictedSlot = slot;
      return this.tlb.behind(c, slot, toMm) ? -1 : 0;
    }
    // not cached: choose_new_asid() takes the next slot round-robin and flushes it
    if (c.slotsKnown < TLB_NR_DYN_ASIDS) return undefined;
    return -1;
  }

  /**
   * The first event after a sched_switch on that CPU tells what switch_mm did: `observed` is the
   * reason-0 pages, or null when the event is something else. `nextExiting`: that event is the
   * switched-in task's own sched_process_exit.
   */
  resolve(cpu: number, observed: number | null, nextExiting = false): void {
    const c = this.tlb.cpus[cpu]!;
    const sc = this.cpus[cpu]!;
    const ps = sc.pending!;
    sc.pending = null;
    c.switchingTo = -1;
    if (observed === null && nextExiting && ps.toMm !== c.loadedMm && !ps.toKernel) {
      // No switch_mm event, and the first thing the task does is its sched_process_exit: it had
      // been switched out inside do_exit() after exit_mm() (the tracepoint comes after it), so it
      // had no mm any more, and context_switch() took the kernel-thread path: enter_lazy_tlb(),
      // the CPU keeps the previous mm loaded, lazily. Not evidence that the two tasks share an mm
      // (qemu-6.12-8cpu/fork-churn: fork-churn 534 -> its exiting child 549 at 36.681366, CPU 0).
      this.score(c, ps, null);
      if (c.loadedMm !== INIT_MM) c.lazy = true;
      ps.toKernel = true;
      this.finish(cpu, c, ps, null);
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
      if (merged !== null) this.hooks.remapMm(merged.drop, merged.keep);
      ps.toMm = this.tasks.mmOf(ps.nextPid);
    }
    if (observed !== null) this.tasks.markUser(ps.nextPid);
    this.score(c, ps, observed);
    if (observed !== null && ps.toMm !== ps.fromMm && !ps.toKernel) this.learnPcid(ps, observed);
    this.finish(cpu, c, ps, observed);
  }

  /** A switch to another mm logged `observed` pages: evidence for or against PCID (TlbState.pcid). */
  private learnPcid(ps: PendingSwitch, observed: number): void {
    if (observed === 0) {
      this.tlb.pcid = true;
      return;
    }
    if (this.tlb.pcid === null && ps.predicted === 0 && ++this.noPcidEvidence >= NO_PCID_EVIDENCE) this.tlb.pcid = false;
  }

  /** Model fidelity: what we predicted switch_mm would log against what it did. */
  private score(c: CpuTlb, ps: PendingSwitch, observed: number | null): void {
    if (ps.predicted === undefined || !c.loadedKnown) return;
    this.fidelity.switchFlush(ps.predicted, observed);
  }

  private finish(cpu: number, c: CpuTlb, ps: PendingSwitch, observed: number | null): void {
    if (!ps.toKernel) {
      if (observed !== null || ps.toMm !== c.loadedMm) {
        this.tlb.loadMm(cpu, ps.toMm, observed ?? 0, observed !== null);
      } else if (c.lazy && observed !== null) {
        this.tlb.catchUp(c, ps.toMm);
      }
      c.lazy = false;
      c.loadedKnown = true;
    }
    this.stream.push(
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

  /** A lost-events marker on `cpu`: what its pending switch did will never be seen. */
  forget(cpu: number): void {
    this.cpus[cpu]!.pending = null;
    this.tlb.cpus[cpu]!.switchingTo = -1;
    this.tlb.cpus[cpu]!.enteringLazy = false;
  }

  /**
   * A switch waiting for its flush (or for the next event) to a task that just turned out to run
   * the other mm: typically a new thread named first by the sched_switch payload, whose own first
   * event then gives its tgid. Its switch goes to the surviving mm, and what the kernel will log
   * is predicted again for that mm (the CPU's state is the one at the switch).
   */
  remap(drop: number, keep: number): void {
    for (let cpu = 0; cpu < this.cpus.length; cpu++) {
      const ps = this.cpus[cpu]!.pending;
      if (ps === null || (ps.toMm !== drop && ps.fromMm !== drop)) continue;
      if (ps.fromMm === drop) ps.fromMm = keep;
      if (ps.toMm === drop) {
        ps.toMm = keep;
        if (!ps.toKernel) ps.predicted = this.predict(this.tlb.cpus[cpu]!, keep, ps);
      }
    }
  }
}

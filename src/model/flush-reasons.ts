// What a tlb_flush event is (arch/x86/mm/tlb.c trace_tlb_flush() call sites; DOMAIN.md §1-2), by
// where it ran and its reason:
//   inside a callback frame   the target's flush_tlb_func() (reason 1), or the initiator's own part;
//   reason 4                  native_flush_tlb_multi() / arch_tlbbatch_flush(): a remote request starts;
//   reason 3 / 2              a local-only flush_tlb_mm_range() / arch_tlbbatch_flush(), or, before
//                             csd events (pre-6.5), the local part of the request just made;
//   reason 1 / 5 (no frame)   a handler without csd events (vector bracket or idle loop);
//   reason 0                  switch_mm_irqs_off()'s flush, leave_mm(), exec_mmap(), or a lazy CPU
//                             switching to init_mm inside a pre-6.5 flush IPI.
// It hands each to the tracker that owns it; the model (model.ts) has already settled the CPU's
// task and any pending switch.

import type { TlbFlushEvent } from '../events/types.js';
import type { Callbacks } from './callbacks.js';
import type { PolicyStream } from './policy-stream.js';
import type { Shootdowns } from './shootdowns.js';
import type { Switches } from './switches.js';
import { INIT_MM } from './tasks.js';
import type { CpuTlb, TlbState } from './tlb-state.js';
import type { ObservedSink, Vocabulary } from './types.js';

export class TlbFlushReasons {
  constructor(
    private readonly tlb: TlbState,
    private readonly shootdowns: Shootdowns,
    private readonly callbacks: Callbacks,
    private readonly switches: Switches,
    private readonly stream: PolicyStream,
    private readonly sink: ObservedSink,
    private readonly vocab: Vocabulary,
  ) {}

  /**
   * A tlb_flush, by where it ran: inside a callback (the target's flush_tlb_func(), or the
   * initiator's own part), or outside one, where its reason tells what it is (DOMAIN.md §1-2).
   */
  dispatch(e: TlbFlushEvent, c: CpuTlb, kthread: boolean): void {
    const cpu = e.cpu;
    if (e.reason === 5) this.vocab.reason5 = true;
    const frame = this.callbacks.frame(cpu);
    if (frame !== null) {
      frame.sawFlush = true;
      if (!frame.local) {
        this.callbacks.inHandler(e, frame);
        this.sink.onTlbFlush(e, true);
      } else {
        this.shootdowns.localPart(e, frame.open);
        this.sink.onTlbFlush(e, false);
      }
      return;
    }

    switch (e.reason) {
      case 4:
        // native_flush_tlb_multi() or arch_tlbbatch_flush(): a request to other CPUs starts
        this.sink.onTlbFlush(e, false);
        this.shootdowns.start(e, 'remote', kthread);
        return;
      case 3:
      case 2: {
        this.sink.onTlbFlush(e, false);
        const open = this.shootdowns.initiating(cpu);
        if (open !== null && open.req.local === 'none' && !this.vocab.csd) {
          // pre-6.5: the local part of the request just made (no csd frame to bracket it)
          this.shootdowns.localPart(e, open);
          return;
        }
        // A direct local flush: flush_tlb_mm_range() with no other CPU in mm_cpumask (reason 3), or
        // arch_tlbbatch_flush() with only this CPU in the batch (reason 2).
        this.shootdowns.initiatorDone(cpu, e.ts);
        if (e.reason === 3 && this.stream.waiting === 0) {
          this.shootdowns.directLocalFlush(e, c, kthread);
          return;
        }
        this.shootdowns.start(e, e.reason === 3 ? 'localOnly' : 'batched', kthread);
        this.shootdowns.localPart(e, this.shootdowns.initiating(cpu));
        this.shootdowns.initiatorDone(cpu, e.ts);
        return;
      }
      case 1:
      case 5: {
        // No csd frame: either a kernel without csd events (remote handler in a vector bracket or
        // run from the idle loop), or a local reason 5 on 6.14+ without csd events.
        const open = this.shootdowns.initiating(cpu);
        if (e.reason === 5 && open !== null && open.req.local === 'none') {
          this.shootdowns.localPart(e, open);
          this.sink.onTlbFlush(e, false);
          return;
        }
        this.sink.onTlbFlush(e, true);
        this.callbacks.withoutCsd(e);
        return;
      }
      case 0: {
        const inVector = this.callbacks.cpus[cpu]!.vectorDepth > 0;
        this.sink.onTlbFlush(e, inVector);
        if (this.switches.cpus[cpu]!.pending !== null) {
          this.switches.resolve(cpu, e.pages);
          return;
        }
        if (inVector && !this.vocab.csd) {
          // pre-6.5 lazy CPU switching to init_mm inside the flush IPI
          this.callbacks.withoutCsd(e);
          return;
        }
        if (!kthread && c.pid > 0) {
          // exec_mmap(): the new mm is loaded before sched_process_exec names it
          this.switches.cpus[cpu]!.execPending = true;
          return;
        }
        if (!this.vocab.csd && c.loadedMm !== INIT_MM) {
          // pre-6.5: a lazy idle CPU ran the flush callback from the idle loop (no IPI) and switched to init_mm
          this.callbacks.withoutCsd(e);
          return;
        }
        // leave_mm() or a use_temporary_mm() switch
        this.tlb.loadMm(cpu, INIT_MM, e.pages);
        return;
      }
      default:
        this.sink.onTlbFlush(e, false);
        return;
    }
  }
}

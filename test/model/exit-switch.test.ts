// A task switched in without a switch_mm flush whose first event is its own sched_process_exit
// had already run exit_mm() (do_exit() calls it before the sched_process_exit tracepoint) and
// been preempted: it has no mm, so context_switch() kept the previous mm loaded, lazily
// (enter_lazy_tlb()), as for a kernel thread. Without tgids (trace-cmd report) the model used to
// read the missing flush as proof that parent and child share an mm, and with tgids it loaded the
// child's mm on that CPU. The lines are CPU 0 of qemu-6.12-8cpu/fork-churn/trace-cmd-report.txt.gz,
// lines 5524-5642, unchanged: fork-churn 534 forks 549, which execs /bin/true, runs (its own local
// flushes), is switched out (R, with a switch_mm flush to 534's mm at 36.681171), switched in again
// at 36.681366 with no tlb_flush 0 (checked by hand: the next CPU 0 line is its exit), and exits.
// The same fix moved the generation policy's estimate on the whole capture from 1087 to 1072
// shootdowns in trace-cmd and trace.dat, next to raw ftrace's 1070 (tgids known), and raw
// ftrace's switch-in fidelity from 93.7% to 94.1%.
import { describe, expect, it } from 'vitest';
import { Diagnostics } from '../../src/ingest/diagnostics.js';
import { openTrace } from '../../src/ingest/index.js';
import { KernelModel } from '../../src/model/model.js';
import { ObservedAccounting } from '../../src/model/observed.js';
import type { ModelEvent } from '../../src/model/types.js';

const EXCERPT = `cpus=8
      fork-churn-534   [000]    36.662927: sched_process_fork:   comm=fork-churn pid=534 child_comm=fork-churn child_pid=549
      fork-churn-534   [000]    36.663001: call_function_entry:  vector=252
      fork-churn-534   [000]    36.663010: csd_function_entry:   func=flush_tlb_func, csd=0xff4493a3bdc3d560
      fork-churn-534   [000]    36.663025: tlb_flush:            pages=-1 reason=remote shootdown (1)
      fork-churn-534   [000]    36.663029: csd_function_exit:    func=flush_tlb_func, csd=0xff4493a3bdc3d560
      fork-churn-534   [000]    36.663031: call_function_exit:   vector=252
      fork-churn-534   [000]    36.663065: sched_switch:         fork-churn:534 [120] R ==> fork-churn:549 [120]
      fork-churn-534   [000]    36.663075: tlb_flush:            pages=-1 reason=flush on task switch (0)
            true-549   [000]    36.663161: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663346: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663346: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663346: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: sys_enter:            NR 59 (48d034, 7ffeba52add0, 7ffeba52b0f8, 48d039, 7ffeba52ae40, 7ffeba52ade0)
            true-549   [000]    36.663501: tlb_flush:            pages=-1 reason=flush on task switch (0)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=-1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: sched_process_exec:   filename=/bin/true pid=549 old_pid=549
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: tlb_flush:            pages=1 reason=local mm shootdown (3)
            true-549   [000]    36.663501: sys_enter:            NR 10 (5db000, 7000, 1, 4, 22421700, 22421720)
            true-549   [000]    36.663501: sys_enter_mprotect:   start: 0x005db000, len: 0x00007000, prot: 0x00000001
            true-549   [000]    36.663501: tlb_flush:            pages=2 reason=local mm shootdown (3)
            true-549   [000]    36.681141: sched_switch:         true:549 [120] R ==> fork-churn:534 [120]
            true-549   [000]    36.681171: tlb_flush:            pages=-1 reason=flush on task switch (0)
      fork-churn-534   [000]    36.681366: sched_switch:         fork-churn:534 [120] S ==> true:549 [120]
            true-549   [000]    36.681624: sched_process_exit:   comm=true pid=549 prio=120
            true-549   [000]    36.681806: sched_switch:         true:549 [120] X ==> fork-churn:534 [120]
`;

async function switches(text: string): Promise<Array<Extract<ModelEvent, { type: 'switch' }>>> {
  const source = await openTrace(['-'], { stdin: Buffer.from(text) }, new Diagnostics({}));
  const out: Array<Extract<ModelEvent, { type: 'switch' }>> = [];
  const model = new KernelModel({
    cpus: 8,
    tgidKnown: false,
    sink: new ObservedAccounting(),
    emit: (e) => {
      if (e.type === 'switch') out.push({ ...e });
    },
  });
  for await (const batch of source.events()) for (const e of batch) model.consume(e);
  model.finish(36.683e9);
  return out;
}

describe('a switch to a task inside do_exit() after exit_mm()', () => {
  it('keeps the previous mm loaded lazily and does not merge parent and child', async () => {
    const sw = await switches(EXCERPT);
    const to549 = sw.filter((s) => s.pid === 549);
    expect(to549.map((s) => s.ts)).toEqual([36663065000, 36681366000]);
    const [first, exiting] = to549;
    // the first switch-in loaded 549's own mm (then exec gave it a new one)
    expect(first!.toKernelThread).toBe(false);
    expect(first!.observedFlush).toBe(-1);
    // the last one: no flush, the CPU stays in 534's mm like a switch to a kernel thread
    expect(exiting!.observedFlush).toBeNull();
    expect(exiting!.toKernelThread).toBe(true);
    expect(exiting!.toMm).toBe(exiting!.fromMm);
    // 534's mm, the one the switch back to 534 at 36.681141 loaded
    const back = sw.find((s) => s.ts === 36681141000)!;
    expect(back.pid).toBe(534);
    expect(exiting!.fromMm).toBe(back.toMm);
    // parent and child were not merged: 549's exec'd mm is another one
    expect(back.fromMm).not.toBe(back.toMm);
  });
});

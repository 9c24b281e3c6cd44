// Hand-checked excerpts for each event ordering of DOMAIN.md §2. Every line is copied unchanged
// from a real capture in ../shared/traces (file and line numbers given); the expected numbers
// were counted by hand from the lines shown.
import { describe, expect, it } from 'vitest';
import { analyzeExcerpt } from './helpers.js';

describe('DOMAIN §2 (b): remote shootdown, csd vocabulary (6.18)', () => {
  // native-6.18-2cpu/sng-tlb-shootdown/ftrace.txt.gz lines 72-82: git munmap; CPU 1 runs git too.
  const excerpt = `
             git-5903    (   5896) [000] .....   223.575537: sys_munmap(addr: 0x7fa06af7b000, len: 0x105000)
             git-5903    (   5896) [000] ...1.   223.575579: tlb_flush: pages:-1 reason:remote IPI send (4)
             git-5903    (   5896) [000] ...2.   223.575579: csd_queue_cpu: cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=0000000069199808
             git-5903    (   5896) [000] ...2.   223.575580: ipi_send_cpu: cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 callback=generic_smp_call_function_single_interrupt+0x0/0x10
             git-5903    (   5896) [000] d..2.   223.575592: csd_function_entry: func=flush_tlb_func, csd=0000000000000000
             git-5903    (   5896) [000] d..2.   223.575593: tlb_flush: pages:-1 reason:local MM shootdown (3)
             git-5903    (   5896) [000] d..2.   223.575593: csd_function_exit: func=flush_tlb_func, csd=0000000000000000
             git-5902    (   5896) [001] d.h..   223.575600: call_function_single_entry: vector=251
             git-5902    (   5896) [001] d.h..   223.575600: csd_function_entry: func=flush_tlb_func, csd=0000000069199808
             git-5902    (   5896) [001] d.h..   223.575600: tlb_flush: pages:-1 reason:remote shootdown (1)
             git-5902    (   5896) [001] d.h..   223.575601: csd_function_exit: func=flush_tlb_func, csd=0000000069199808
`;
  it('counts one request, one remote full flush on CPU 1, one TLB IPI, nothing wasted', async () => {
    const s = await analyzeExcerpt(2, excerpt);
    expect(s.observed.requests).toBe(1);
    expect(s.observed.requestsByKind).toEqual({ remote: 1, localOnly: 0, batched: 0 });
    expect(s.observed.remoteShootdowns.byCpu).toEqual({ '0': 0, '1': 1 });
    expect(s.observed.remoteShootdowns.exact).toBe(true);
    expect(s.observed.remoteShootdowns.pairing).toBe('csd');
    expect(s.observed.remoteShootdowns.byOutcome).toEqual({ full: 1 });
    expect(s.observed.ipis.total).toBe(1);
    expect(s.observed.ipis.tlb).toBe(1);
    expect(s.observed.wasted.total).toBe(0);
    expect(s.observed.tlbFlush.byReason).toEqual({ '0': 0, '1': 1, '2': 0, '3': 1, '4': 1, '5': 0 });
    expect(s.observed.byCause.find((c) => c.cause === 'munmap')?.requests).toBe(1);
    expect(s.observed.latencyUs.count).toBe(1);
    expect(s.observed.latencyUs.max).toBe(21); // 223.575600 - 223.575579
  });
});

describe('DOMAIN §2 (b) with a local reason 5, then (a) direct local flushes', () => {
  // native-6.18-2cpu/sng-tlb-shootdown/ftrace.txt.gz lines 56-69: stress-ng exec tears down the old
  // mm: the initiator already runs the new mm (local reason 5, not a shootdown), CPU 0 runs git
  // (remote reason 5: wasted). Then two direct local flushes (reason 3 alone: DOMAIN §2 (a)).
  const excerpt = `
       stress-ng-5953    (   5953) [001] d..1.   223.574595: tlb_flush: pages:-1 reason:flush on task switch (0)
       stress-ng-5953    (   5953) [001] ...1.   223.574624: tlb_flush: pages:-1 reason:remote IPI send (4)
       stress-ng-5953    (   5953) [001] ...2.   223.574625: csd_queue_cpu: cpu=0 callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=000000000b0b7113
       stress-ng-5953    (   5953) [001] ...2.   223.574625: ipi_send_cpu: cpu=0 callsite=on_each_cpu_cond_mask+0x20/0x60 callback=generic_smp_call_function_single_interrupt+0x0/0x10
       stress-ng-5953    (   5953) [001] d..2.   223.574640: csd_function_entry: func=flush_tlb_func, csd=0000000000000000
       stress-ng-5953    (   5953) [001] d..2.   223.574640: tlb_flush: pages:0 reason:remote wrong CPU (5)
       stress-ng-5953    (   5953) [001] d..2.   223.574640: csd_function_exit: func=flush_tlb_func, csd=0000000000000000
             git-5903    (   5896) [000] d.h..   223.574648: call_function_single_entry: vector=251
             git-5903    (   5896) [000] d.h..   223.574649: csd_function_entry: func=flush_tlb_func, csd=000000000b0b7113
             git-5903    (   5896) [000] d.h..   223.574649: tlb_flush: pages:0 reason:remote wrong CPU (5)
             git-5903    (   5896) [000] d.h..   223.574649: csd_function_exit: func=flush_tlb_func, csd=000000000b0b7113
       stress-ng-5953    (   5953) [001] d..3.   223.574670: tlb_flush: pages:1 reason:local MM shootdown (3)
       stress-ng-5953    (   5953) [001] d..1.   223.574670: tlb_flush: pages:-1 reason:local MM shootdown (3)
       stress-ng-5953    (   5953) [001] .....   223.574707: sched_process_exec: filename=/usr/bin/stress-ng pid=5953 old_pid=5953
`;
  it('the initiator reason 5 is local; the remote one is a wasted shootdown', async () => {
    const s = await analyzeExcerpt(2, excerpt);
    expect(s.observed.tlbFlush.byReason['5']).toBe(2);
    expect(s.observed.remoteShootdowns.byCpu).toEqual({ '0': 1, '1': 0 });
    expect(s.observed.remoteShootdowns.byOutcome).toEqual({ wrongCpu: 1 });
    expect(s.observed.wasted.byKind.remoteWrongCpu).toBe(1);
    expect(s.observed.wasted.total).toBe(1);
    // 1 remote request + 2 direct local flushes
    expect(s.observed.requestsByKind).toEqual({ remote: 1, localOnly: 2, batched: 0 });
    expect(s.input.vocabulary.reason5).toBe(true);
  });
});

describe('DOMAIN §2 (c): batched reclaim flush from kswapd (6.12, 8 CPUs)', () => {
  // qemu-6.12-8cpu/reclaim-mmap/ftrace.txt.gz lines 3076-3108 (the switch lines in between kept):
  // kswapd1 on CPU 4 flushes a batch; CPUs 1, 2, 3 run the reader threads and get full flushes.
  const excerpt = `
         kswapd1-100     (    100) [004] ...1.     8.642619: tlb_flush: pages:-1 reason:remote ipi send (4)
         kswapd1-100     (    100) [004] ...2.     8.642637: csd_queue_cpu: cpu=1 callsite=on_each_cpu_cond_mask+0x24/0x40 func=flush_tlb_func csd=000000004befa0e9
         kswapd1-100     (    100) [004] ...2.     8.642642: csd_queue_cpu: cpu=2 callsite=on_each_cpu_cond_mask+0x24/0x40 func=flush_tlb_func csd=0000000022f28483
         kswapd1-100     (    100) [004] ...2.     8.642643: csd_queue_cpu: cpu=3 callsite=on_each_cpu_cond_mask+0x24/0x40 func=flush_tlb_func csd=000000008d96fc4d
         kswapd1-100     (    100) [004] ...2.     8.642647: ipi_send_cpumask: cpumask=00000000,0000000e callsite=on_each_cpu_cond_mask+0x24/0x40 callback=generic_smp_call_function_single_interrupt+0x0/0x20
    reclaim-mmap-286     (    285) [001] d.h..     8.642677: call_function_entry: vector=252
    reclaim-mmap-286     (    285) [001] d.h..     8.642688: csd_function_entry: func=flush_tlb_func, csd=000000004befa0e9
    reclaim-mmap-286     (    285) [001] d.h..     8.642707: tlb_flush: pages:-1 reason:remote shootdown (1)
    reclaim-mmap-286     (    285) [001] d.h..     8.642713: csd_function_exit: func=flush_tlb_func, csd=000000004befa0e9
    reclaim-mmap-286     (    285) [001] d.h..     8.642718: call_function_exit: vector=252
          <idle>-0       (-------) [000] d..2.     8.643428: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=reclaim-mmap next_pid=285 next_prio=120
    reclaim-mmap-288     (    285) [003] d.H..     8.643437: call_function_entry: vector=252
    reclaim-mmap-288     (    285) [003] d.H..     8.643448: csd_function_entry: func=flush_tlb_func, csd=000000008d96fc4d
          <idle>-0       (-------) [000] d..2.     8.643456: tlb_flush: pages:-1 reason:flush on task switch (0)
    reclaim-mmap-288     (    285) [003] d.H..     8.643478: tlb_flush: pages:-1 reason:remote shootdown (1)
    reclaim-mmap-288     (    285) [003] d.H..     8.643483: csd_function_exit: func=flush_tlb_func, csd=000000008d96fc4d
    reclaim-mmap-288     (    285) [003] d.H..     8.643486: call_function_exit: vector=252
    reclaim-mmap-287     (    285) [002] d.h1.     8.647838: call_function_entry: vector=252
    reclaim-mmap-287     (    285) [002] d.h1.     8.647838: csd_function_entry: func=flush_tlb_func, csd=0000000022f28483
    reclaim-mmap-287     (    285) [002] d.h1.     8.647838: tlb_flush: pages:-1 reason:remote shootdown (1)
    reclaim-mmap-287     (    285) [002] d.h1.     8.647838: csd_function_exit: func=flush_tlb_func, csd=0000000022f28483
    reclaim-mmap-287     (    285) [002] d.h1.     8.647838: call_function_exit: vector=252
         kswapd1-100     (    100) [004] d..2.     8.649093: sched_switch: prev_comm=kswapd1 prev_pid=100 prev_prio=120 prev_state=R+ ==> next_comm=reclaim-mmap next_pid=289 next_prio=120
         kswapd1-100     (    100) [004] d..2.     8.649130: tlb_flush: pages:-1 reason:flush on task switch (0)
`;
  it('one batched request with three full remote flushes and a 3-CPU IPI', async () => {
    const s = await analyzeExcerpt(8, excerpt);
    expect(s.observed.requestsByKind).toEqual({ remote: 0, localOnly: 0, batched: 1 });
    expect(s.observed.remoteShootdowns.total).toBe(3);
    expect(s.observed.remoteShootdowns.byCpu).toMatchObject({ '1': 1, '2': 1, '3': 1, '4': 0 });
    expect(s.observed.remoteShootdowns.byOutcome).toEqual({ full: 3 });
    expect(s.observed.ipis.total).toBe(3);
    expect(s.observed.ipis.tlb).toBe(3);
    expect(s.observed.byCause.find((c) => c.cause === 'kswapd')?.shootdowns).toBe(3);
    // handler latencies: 8.642688-8.642619, 8.643448-8.642619, 8.647838-8.642619 (us)
    expect(s.observed.latencyUs.min).toBe(69);
    expect(s.observed.latencyUs.max).toBe(5219);
  });
});

describe('DOMAIN §2 (e): context switches', () => {
  // native-6.18-2cpu/sng-tlb-shootdown/ftrace.txt.gz lines 83-85: threads of one process (tgid
  // 5896) switch with no tlb_flush 0 (same mm); qemu-6.12-8cpu/reclaim-mmap lines 3063-3066: idle
  // to a user task flushes (-1).
  it('same-mm switches log nothing, and are predicted to log nothing', async () => {
    const s = await analyzeExcerpt(
      2,
      `
             git-5903    (   5896) [000] d..2.   223.575731: sched_switch: prev_comm=git prev_pid=5903 prev_prio=120 prev_state=R ==> next_comm=git next_pid=5896 next_prio=120
             git-5896    (   5896) [000] d..2.   223.575738: sched_switch: prev_comm=git prev_pid=5896 prev_prio=120 prev_state=S ==> next_comm=git next_pid=5903 next_prio=120
             git-5903    (   5896) [000] d..2.   223.575739: sched_switch: prev_comm=git prev_pid=5903 prev_prio=120 prev_state=R ==> next_comm=git next_pid=5896 next_prio=120
`,
    );
    expect(s.observed.tlbFlush.total).toBe(0);
    expect(s.observed.requests).toBe(0);
  });
  it('switch-in flushes are reason 0, never shootdowns', async () => {
    const s = await analyzeExcerpt(
      8,
      `
          <idle>-0       (-------) [003] d..2.     8.629236: sched_switch: prev_comm=swapper/3 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=reclaim-mmap next_pid=288 next_prio=120
          <idle>-0       (-------) [002] d..2.     8.629241: sched_switch: prev_comm=swapper/2 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=reclaim-mmap next_pid=287 next_prio=120
          <idle>-0       (-------) [003] d..2.     8.629268: tlb_flush: pages:-1 reason:flush on task switch (0)
          <idle>-0       (-------) [002] d..2.     8.629280: tlb_flush: pages:-1 reason:flush on task switch (0)
`,
    );
    expect(s.observed.tlbFlush.byReason['0']).toBe(2);
    expect(s.observed.tlbFlush.byReasonPages['0']).toEqual({ full: 2, ranged: 0, zero: 0 });
    expect(s.observed.remoteShootdowns.total).toBe(0);
    expect(s.observed.requests).toBe(0);
  });
});

describe('before csd/ipi events (6.1): vector pairing, lower bound', () => {
  // qemu-6.1-8cpu/mt-munmap/ftrace.txt.gz lines 14-19: init (clone) flushes; CPU 5 is lazy in the
  // idle loop with init's mm and switches to init_mm inside the IPI (reason 0 in the vector bracket).
  it('counts the lazy switch as a wasted remote shootdown and the vector as the IPI', async () => {
    const s = await analyzeExcerpt(
      8,
      `
            init-1       (      1) [002] ...1.     8.418139: tlb_flush: pages:-1 reason:remote ipi send (4)
          <idle>-0       (-------) [005] d.h1.     8.418345: call_function_single_entry: vector=251
            init-1       (      1) [002] d..2.     8.418377: tlb_flush: pages:-1 reason:local mm shootdown (3)
          <idle>-0       (-------) [005] d.h1.     8.418395: tlb_flush: pages:-1 reason:flush on task switch (0)
          <idle>-0       (-------) [005] d.h1.     8.418404: call_function_single_exit: vector=251
            init-1       (      1) [002] .....     8.418495: sched_process_fork: comm=init pid=1 child_comm=init child_pid=239
`,
    );
    expect(s.observed.remoteShootdowns.exact).toBe(false);
    expect(s.observed.remoteShootdowns.pairing).toBe('vector');
    expect(s.observed.remoteShootdowns.byCpu['5']).toBe(1);
    expect(s.observed.remoteShootdowns.total).toBe(1);
    expect(s.observed.wasted.byKind.lazySwitchToInitMm).toBe(1);
    expect(s.observed.ipis.total).toBe(1);
    expect(s.observed.requestsByKind).toEqual({ remote: 1, localOnly: 0, batched: 0 });
  });
});

describe('a switch to a thread first named by the switch itself', () => {
  // native-6.18-2cpu/mt-mixed/ftrace.txt.gz lines 121-122 and 128-129 (between them only CPU 1's
  // nohz IPI): tlbw-5050 runs on CPU 0 and switches
  // to its second thread 5051, which the trace has not shown before (no fork: it was made before
  // tracing started). The payload gives no tgid, so until 5051's own first event (the next line,
  // tgid 5050) the model holds it as a process of its own. The kernel logs no flush: same mm.
  const excerpt = `
            tlbw-5050    (   5050) [000] .....  1354.141922: sys_munmap(addr: 0x7f4627b32000, len: 0x10000)
            tlbw-5050    (   5050) [000] d..1.  1354.141925: tlb_flush: pages:16 reason:local MM shootdown (3)
            tlbw-5050    (   5050) [000] d..2.  1354.142030: sched_switch: prev_comm=tlbw prev_pid=5050 prev_prio=120 prev_state=R ==> next_comm=tlbw next_pid=5051 next_prio=120
            tlbw-5051    (   5050) [000] d..2.  1354.142049: sched_switch: prev_comm=tlbw prev_pid=5051 prev_prio=120 prev_state=D ==> next_comm=migration/0 next_pid=18 next_prio=0
`;
  it('predicts no flush for it once its first event shows the tgid: the switch stays in one mm', async () => {
    const s = await analyzeExcerpt(2, excerpt);
    // the switch 5050 -> 5051 is compared (CPU 0's mm is known from 5050's events) and matches
    expect(s.model.fidelity.switchCompared).toBe(1);
    expect(s.model.fidelity.switchFlush).toBe(1);
    expect(s.model.fidelity.switchMismatches ?? {}).toEqual({});
  });
});

// Which events `tlbtrace record` enables, against the event lists of real kernels: this machine's
// 6.18 (every event of the catalogue), a 6.1 like ../shared/traces/qemu-6.1-8cpu's (no ipi_send_*,
// no csd_*), and a kernel without per-syscall events (raw_syscalls:sys_enter, filtered in the kernel).
import { describe, expect, it } from 'vitest';
import { EVENT_FAMILIES } from '../events/catalogue.js';
import { missingByCost, parseAvailableEvents, planEvents } from './plan.js';

const ALL = EVENT_FAMILIES.flatMap((f) => f.events);

describe('planEvents', () => {
  it('enables every catalogue event a 6.18 kernel lists', () => {
    const plan = planEvents(new Set([...ALL, 'raw_syscalls:sys_enter', 'sched:sched_wakeup']), 'x64');
    expect(plan.enable).toEqual(ALL);
    expect(plan.missing).toEqual([]);
    expect(plan.rawSyscallFilter).toBeNull();
  });

  it('says what a 6.1 kernel (no ipi_send_*, no csd_*) costs', () => {
    const v61 = ALL.filter((e) => !e.startsWith('ipi:') && !e.startsWith('csd:'));
    const plan = planEvents(new Set(v61), 'x64');
    expect(plan.missing.map((m) => m.event)).toEqual(['ipi:ipi_send_cpu', 'ipi:ipi_send_cpumask', 'csd:csd_queue_cpu', 'csd:csd_function_entry', 'csd:csd_function_exit']);
    const groups = missingByCost(plan.missing);
    expect(groups).toHaveLength(2);
    expect(groups[1]!.cost).toContain('lower bound');
  });

  it('stands raw_syscalls:sys_enter, filtered to the mm syscalls by x86_64 number, in for missing per-syscall events', () => {
    const noSyscalls = ALL.filter((e) => !e.startsWith('syscalls:'));
    const plan = planEvents(new Set([...noSyscalls, 'raw_syscalls:sys_enter']), 'x64');
    expect(plan.enable).toContain('raw_syscalls:sys_enter');
    expect(plan.missing).toEqual([]);
    // arch/x86/entry/syscalls/syscall_64.tbl: 10 mprotect, 11 munmap, 25 mremap, 28 madvise, 56 clone,
    // 57 fork, 58 vfork, 237 mbind, 256 migrate_pages, 279 move_pages, 329 pkey_mprotect, 435 clone3,
    // 440 process_madvise
    expect(plan.rawSyscallFilter).toBe('id == 10 || id == 11 || id == 25 || id == 28 || id == 56 || id == 57 || id == 58 || id == 237 || id == 256 || id == 279 || id == 329 || id == 435 || id == 440');
    // on another architecture the numbers differ: no filter, the syscalls are missing
    expect(planEvents(new Set([...noSyscalls, 'raw_syscalls:sys_enter']), 'arm64').rawSyscallFilter).toBeNull();
  });

  it('parses available_events lines', () => {
    expect([...parseAvailableEvents('tlb:tlb_flush\n  ipi:ipi_send_cpu \n\n')]).toEqual(['tlb:tlb_flush', 'ipi:ipi_send_cpu']);
  });
});

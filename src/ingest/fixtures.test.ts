// Exact numbers for the real traces in fixtures/ (copied from ../shared/traces, see fixtures/README.md).
//
// Every number below was counted WITHOUT this parser, with shell tools on the gzipped text:
//   events per type   zcat F | grep -v '^#' | grep -oE '[0-9]+\.[0-9]{6}: +[a-z_0-9:]+' | awk '{print $2}' \
//                       | sed 's/:$//; s/^[a-z_]*://' | sort | uniq -c
//                     (the raw ftrace call form `sys_mprotect(` is counted as sys_enter_mprotect)
//   events per CPU    zcat F | grep -v '^#' | grep -v '^cpus=' | sed -E 's/^[^[]*\[([0-9]+)\].*/\1/' | sort -n | uniq -c
//                     (the first `[..]` of a line is its CPU: no comm in these files has a bracket)
//   tlb_flush reasons zcat F | grep -E ' (tlb:)?tlb_flush: ' | grep -oE '\([0-9]\)$' | sort | uniq -c
//   header            zcat F | sed -n 3p  (ftrace `entries-in-buffer/entries-written: A/B #P:N`),
//                     zcat F | head -1    (trace-cmd `cpus=N`)
// Raw ftrace and trace-cmd report of one recording gave the same numbers for every fixture, so one
// table serves both; perf script is a second run and has its own.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { countEvents, readAll } from './testutil.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

interface Pinned {
  byType: Record<string, number>;
  byCpu: Record<number, number>;
  tlbReasons: Record<number, number>;
  declaredCpus: number;
}

const TEXT: Record<string, Pinned> = {
  'native-6.18-2cpu/mt-mixed': {
    byType: { call_function_single_entry: 2989, csd_function_entry: 5974, csd_function_exit: 5974, csd_queue_cpu: 2989, ipi_send_cpu: 3031, sched_migrate_task: 5, sched_process_exec: 1, sched_process_exit: 2, sched_process_fork: 2, sched_switch: 129, sys_enter_madvise: 301, sys_enter_mprotect: 1504, sys_enter_munmap: 1501, tlb_flush: 9027 },
    byCpu: { 0: 21386, 1: 12043 },
    tlbReasons: { 0: 23, 1: 2979, 3: 3039, 4: 2985, 5: 1 },
    declaredCpus: 2,
  },
  'native-6.18-2cpu/sng-tlb-shootdown': {
    byType: { call_function_single_entry: 108, csd_function_entry: 7122, csd_function_exit: 7122, csd_queue_cpu: 106, ipi_send_cpu: 1443, sched_migrate_task: 130, sched_process_exec: 112, sched_process_exit: 245, sched_process_fork: 237, sched_switch: 14106, sys_enter_madvise: 2855, sys_enter_mprotect: 18093, sys_enter_munmap: 907, tlb_flush: 40116 },
    byCpu: { 0: 45476, 1: 47226 },
    tlbReasons: { 0: 7133, 1: 12, 3: 25834, 4: 7022, 5: 115 },
    declaredCpus: 2,
  },
  'qemu-6.1-8cpu/mt-munmap': {
    byType: { call_function_entry: 1244, call_function_exit: 1244, call_function_single_entry: 49, call_function_single_exit: 49, sched_migrate_task: 56, sched_process_exec: 1, sched_process_exit: 8, sched_process_fork: 9, sched_switch: 813, sys_enter: 381, sys_enter_madvise: 7, sys_enter_mprotect: 8, sys_enter_munmap: 176, tlb_flush: 1661 },
    byCpu: { 0: 1309, 1: 638, 2: 645, 3: 582, 4: 625, 5: 608, 6: 623, 7: 676 },
    tlbReasons: { 0: 22, 1: 1241, 3: 208, 4: 190 },
    declaredCpus: 8,
  },
  'qemu-6.1-8cpu/reclaim-mmap': {
    byType: { call_function_entry: 5844, call_function_exit: 5844, call_function_single_entry: 1677, call_function_single_exit: 1677, mm_vmscan_direct_reclaim_begin: 585, mm_vmscan_direct_reclaim_end: 585, mm_vmscan_kswapd_sleep: 4, mm_vmscan_kswapd_wake: 23, sched_migrate_task: 160, sched_process_exec: 1, sched_process_exit: 8, sched_process_fork: 9, sched_switch: 3513, sys_enter: 50, sys_enter_madvise: 7, sys_enter_mprotect: 8, sys_enter_munmap: 11, tlb_flush: 21985 },
    byCpu: { 0: 5091, 1: 4881, 2: 5695, 3: 5268, 4: 5173, 5: 5189, 6: 5354, 7: 5340 },
    tlbReasons: { 0: 854, 1: 15535, 2: 2240, 3: 64, 4: 3292 },
    declaredCpus: 8,
  },
  'qemu-6.12-16cpu/mt-munmap': {
    byType: { call_function_entry: 889, call_function_exit: 889, call_function_single_entry: 27, call_function_single_exit: 27, csd_function_entry: 1103, csd_function_exit: 1103, csd_queue_cpu: 1028, ipi_send_cpu: 54, ipi_send_cpumask: 68, sched_migrate_task: 34, sched_process_exec: 1, sched_process_exit: 16, sched_process_fork: 16, sched_switch: 583, sys_enter: 187, sys_enter_madvise: 15, sys_enter_mprotect: 16, sys_enter_munmap: 67, tlb_flush: 1084 },
    byCpu: { 0: 1698, 1: 404, 2: 351, 3: 388, 4: 407, 5: 337, 6: 340, 7: 402, 8: 326, 9: 322, 10: 311, 11: 379, 12: 392, 13: 365, 14: 377, 15: 408 },
    tlbReasons: { 0: 41, 1: 873, 3: 95, 4: 75 },
    declaredCpus: 16,
  },
  'qemu-6.12-8cpu/lazy-idle': {
    byType: { call_function_entry: 972, call_function_exit: 972, call_function_single_entry: 480, call_function_single_exit: 480, csd_function_entry: 1718, csd_function_exit: 1718, csd_queue_cpu: 1560, ipi_send_cpu: 491, ipi_send_cpumask: 152, sched_migrate_task: 116, sched_process_exec: 1, sched_process_exit: 8, sched_process_fork: 9, sched_switch: 9245, sys_enter: 350, sys_enter_madvise: 42, sys_enter_mprotect: 8, sys_enter_munmap: 143, tlb_flush: 2298 },
    byCpu: { 0: 2986, 1: 2766, 2: 2595, 3: 2504, 4: 2632, 5: 2403, 6: 2431, 7: 2446 },
    tlbReasons: { 0: 1922, 1: 43, 3: 175, 4: 158 },
    declaredCpus: 8,
  },
  'qemu-6.12-8cpu/mt-munmap': {
    byType: { call_function_entry: 995, call_function_exit: 995, call_function_single_entry: 42, call_function_single_exit: 42, csd_function_entry: 1259, csd_function_exit: 1259, csd_queue_cpu: 1104, ipi_send_cpu: 71, ipi_send_cpumask: 147, sched_migrate_task: 40, sched_process_exec: 1, sched_process_exit: 8, sched_process_fork: 9, sched_switch: 714, sys_enter: 309, sys_enter_madvise: 7, sys_enter_mprotect: 8, sys_enter_munmap: 140, tlb_flush: 1337 },
    byCpu: { 0: 2553, 1: 910, 2: 814, 3: 857, 4: 894, 5: 848, 6: 795, 7: 816 },
    tlbReasons: { 0: 22, 1: 991, 3: 169, 4: 155 },
    declaredCpus: 8,
  },
};

/** perf script (a second run of the same command), counted the same way */
const PERF: Record<string, Omit<Pinned, 'declaredCpus'>> = {
  'native-6.18-2cpu/mt-mixed': {
    byType: { call_function_single_entry: 2988, csd_function_entry: 6010, csd_function_exit: 6010, csd_queue_cpu: 2993, ipi_send_cpu: 3039, sched_migrate_task: 5, sched_process_exec: 1, sched_process_exit: 2, sched_process_fork: 1, sched_switch: 158, sys_enter_madvise: 301, sys_enter_mprotect: 1504, sys_enter_munmap: 1501, tlb_flush: 9026 },
    byCpu: { 0: 21464, 1: 12075 },
    tlbReasons: { 0: 40, 1: 2978, 3: 3013, 4: 2988, 5: 7 },
  },
  'native-6.18-2cpu/sng-tlb-shootdown': {
    byType: { call_function_single_entry: 83, csd_function_entry: 6589, csd_function_exit: 6589, csd_queue_cpu: 81, ipi_send_cpu: 749, sched_migrate_task: 98, sched_process_exec: 148, sched_process_exit: 280, sched_process_fork: 276, sched_switch: 13332, sys_enter_madvise: 6138, sys_enter_mprotect: 18733, sys_enter_munmap: 723, tlb_flush: 48656 },
    byCpu: { 0: 46692, 1: 55783 },
    tlbReasons: { 0: 6684, 3: 35397, 4: 6475, 5: 100 },
  },
};

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

describe('fixtures: pinned counts', () => {
  for (const [dir, want] of Object.entries(TEXT)) {
    for (const file of ['ftrace.txt.gz', 'trace-cmd-report.txt.gz']) {
      it(`${dir}/${file}`, async () => {
        const r = await readAll([FIXTURES + dir + '/' + file]);
        const c = countEvents(r.events);
        expect(r.diag.total).toBe(0);
        expect(c.byType).toEqual(want.byType);
        expect(c.byCpu).toEqual(want.byCpu);
        expect(c.tlbReasons).toEqual(want.tlbReasons);
        expect(c.total).toBe(sum(want.byType));
        expect(r.meta.declaredCpus).toBe(want.declaredCpus);
        expect(r.meta.truncated).toBe(false);
        if (file === 'ftrace.txt.gz') {
          expect(r.meta.format).toBe('ftrace');
          // header `entries-in-buffer/entries-written: N/N` (lossless) with N = events
          expect([r.meta.entriesInBuffer, r.meta.entriesWritten]).toEqual([c.total, c.total]);
          expect(r.meta.tgidKnown).toBe(true);
          expect(r.meta.lines).toBe(c.total + 12); // 12 header comment lines
        } else {
          expect(r.meta.format).toBe('trace-cmd');
          expect(r.meta.tgidKnown).toBe(false);
          expect(r.meta.lines).toBe(c.total + 1); // `cpus=N`
        }
      });
    }
  }

  for (const [dir, want] of Object.entries(PERF)) {
    it(`${dir}/perf-script.txt.gz`, async () => {
      const r = await readAll([FIXTURES + dir + '/perf-script.txt.gz']);
      const c = countEvents(r.events);
      expect(r.diag.total).toBe(0);
      expect(r.meta.format).toBe('perf-script');
      expect(c.byType).toEqual(want.byType);
      expect(c.byCpu).toEqual(want.byCpu);
      expect(c.tlbReasons).toEqual(want.tlbReasons);
    });
  }
});

describe('fixtures: cross-checks with independent counts', () => {
  // Every CPU named in an ipi_send_cpumask is one call_function_entry on the target (vector 252):
  // the sum of mask sizes equals the call_function_entry count, in both printings (ftrace hex
  // words, trace-cmd CPU lists). Independently: the CPU lists of trace-cmd summed with a python
  // one-liner give 995 / 972 / 889.
  for (const [dir, targets] of [['qemu-6.12-8cpu/mt-munmap', 995], ['qemu-6.12-8cpu/lazy-idle', 972], ['qemu-6.12-16cpu/mt-munmap', 889]] as const) {
    for (const file of ['ftrace.txt.gz', 'trace-cmd-report.txt.gz']) {
      it(`${dir}/${file}: ipi_send_cpumask targets`, async () => {
        const r = await readAll([FIXTURES + dir + '/' + file]);
        let n = 0;
        for (const e of r.events) if (e.kind === 'ipi_send_cpumask') n += e.targets.length;
        expect(n).toBe(targets);
        expect(n).toBe(TEXT[dir]!.byType.call_function_entry);
      });
    }
  }

  // truth.json's tlbIrqDeltaPerCpu is the kernel's own /proc/interrupts count of flush callbacks each
  // CPU received. Remote flush_tlb_func runs (csd_function_entry, non-NULL csd) match it per CPU up
  // to 1 (an IPI can land between reading /proc/interrupts and switching tracing on or off:
  // mt-mixed CPU 0 counts 1 vs 0 traced, qemu-6.12-8cpu/mt-munmap CPU 1 151 vs 150, ...).
  for (const dir of ['native-6.18-2cpu/mt-mixed', 'native-6.18-2cpu/sng-tlb-shootdown', 'qemu-6.12-8cpu/mt-munmap', 'qemu-6.12-8cpu/lazy-idle', 'qemu-6.12-16cpu/mt-munmap']) {
    it(`${dir}: remote flush callbacks vs /proc/interrupts`, async () => {
      const truth = JSON.parse(readFileSync(FIXTURES + dir + '/truth.json', 'utf8')) as { recording: { tlbIrqDeltaPerCpu: number[] } };
      const r = await readAll([FIXTURES + dir + '/ftrace.txt.gz']);
      const perCpu = truth.recording.tlbIrqDeltaPerCpu.map(() => 0);
      for (const e of r.events) if (e.kind === 'csd_function_entry' && e.func === 'flush_tlb_func' && e.csd !== null) perCpu[e.cpu]!++;
      truth.recording.tlbIrqDeltaPerCpu.forEach((want, cpu) => expect(Math.abs(perCpu[cpu]! - want), `CPU ${cpu}`).toBeLessThanOrEqual(1));
    });
  }
});

// Builds raw ftrace text (the tracefs `trace` file with options/record-tgid, as in
// ../shared/traces/*/ftrace.txt.gz) for the policy tests: the same header, the same column layout
// and the same event payloads as the real 6.12 / 6.18 captures, e.g.
//
//             bash-5045    (   5045) [000] ...1.  1354.137805: tlb_flush: pages:-1 reason:remote IPI send (4)
//             bash-5045    (   5045) [000] ...2.  1354.137806: csd_queue_cpu: cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=0000000069199808
//
// Helpers emit whole kernel sequences (DOMAIN.md §2): a context switch with its switch_mm flush, a
// remote shootdown (tlb_flush 4, csd_queue_cpu per target, the IPI, the initiator's own
// flush_tlb_func run, then each target's handler), a batched reclaim flush, a table-free sync.
// Time advances by one microsecond per line unless a helper is given a time.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FTRACE_HEADER } from '../model/helpers.js';

export interface Task {
  comm: string;
  pid: number;
  /** thread group id; -1 prints `-------` (idle) */
  tgid: number;
}

export const idle = (cpu: number): Task => ({ comm: `swapper/${cpu}`, pid: 0, tgid: -1 });

/** What a target's flush_tlb_func() callback logs (DOMAIN.md §1-2). */
export type Outcome =
  | { kind: 'ranged'; pages: number } // tlb_flush 1 pages:N
  | { kind: 'full' } // tlb_flush 1 pages:-1
  | { kind: 'zero' } // tlb_flush 1 pages:0: already caught up
  | { kind: 'wrongCpu' } // tlb_flush 5: mm not loaded there
  | { kind: 'lazy' } // tlb_flush 0 inside the handler: lazy CPU switches to init_mm
  | { kind: 'empty' }; // nothing between csd entry and exit

export interface Target {
  cpu: number;
  /** the task current on that CPU when the handler runs (shown in the line header) */
  task: Task;
  outcome: Outcome;
  /** false: the CPU already had a callback queued, so no new IPI names it */
  ipi?: boolean;
}


const CSD_BASE = 0x69199808;
const NULL_CSD = '0000000000000000';

export class FtraceText {
  private lines: string[] = [];
  /** current time in microseconds */
  us: number;
  /** what each CPU runs (for line headers) */
  private current: Task[] = [];

  constructor(
    readonly cpus: number,
    startSec = 100,
  ) {
    this.us = Math.round(startSec * 1e6);
    for (let c = 0; c < cpus; c++) this.current.push(idle(c));
  }

  /** Move the clock to `sec` seconds (never backwards). */
  at(sec: number): this {
    const us = Math.round(sec * 1e6);
    if (us < this.us) throw new Error(`time goes backwards: ${sec}`);
    this.us = us;
    return this;
  }

  /** Let `us` microseconds pass. */
  wait(us: number): this {
    this.us += us;
    return this;
  }

  running(cpu: number): Task {
    return this.current[cpu]!;
  }

  /** One raw line: `comm-pid (tgid) [cpu] flags ts: event: payload`; advances the clock 1 us. */
  line(cpu: number, flags: string, body: string, task = this.current[cpu]!): this {
    // kernel format "%16s-%-7d (%7s) [%03d] %s %5lu.%06lu: "
    const tgid = task.tgid < 0 ? '-------' : String(task.tgid).padStart(7);
    const sec = String(Math.floor(this.us / 1e6)).padStart(5);
    const frac = String(this.us % 1e6).padStart(6, '0');
    this.lines.push(`${task.comm.padStart(16)}-${String(task.pid).padEnd(7)} (${tgid}) [${String(cpu).padStart(3, '0')}] ${flags} ${sec}.${frac}: ${body}`);
    this.us += 1;
    return this;
  }

  /**
   * sched_switch on `cpu` to `next`, then what switch_mm_irqs_off() logs: `flush` -1 (new ASID or
   * behind), 0 (current), or null (no event: same mm, or a kernel thread going lazy).
   */
  switchTo(cpu: number, next: Task, flush: -1 | 0 | null): this {
    const prev = this.current[cpu]!;
    const state = prev.pid === 0 ? 'R' : 'S';
    this.line(
      cpu,
      'd..2.',
      `sched_switch: prev_comm=${prev.comm} prev_pid=${prev.pid} prev_prio=120 prev_state=${state} ==> next_comm=${next.comm} next_pid=${next.pid} next_prio=120`,
    );
    if (flush !== null) this.line(cpu, 'd..2.', `tlb_flush: pages:${flush} reason:flush on task switch (0)`, prev);
    this.current[cpu] = next;
    return this;
  }

  /** `sys_NAME(args)` as raw ftrace prints syscall entries. */
  syscall(cpu: number, name: string, args: string): this {
    return this.line(cpu, '.....', `sys_${name}(${args})`);
  }

  /** `raw_syscalls:sys_enter` as raw ftrace prints it: `sys_enter: NR 10 (7f..., 4000, 3, 0, 0, 0)`. */
  rawSyscall(cpu: number, nr: number, args: string[]): this {
    const six = [...args, '0', '0', '0', '0', '0', '0'].slice(0, 6);
    return this.line(cpu, '.....', `sys_enter: NR ${nr} (${six.join(', ')})`);
  }

  /** A direct local flush (no other CPU in mm_cpumask): `tlb_flush 3` alone. */
  localFlush(cpu: number, pages: number): this {
    return this.line(cpu, 'd..1.', `tlb_flush: pages:${pages} reason:local MM shootdown (3)`);
  }

  /**
   * flush_tlb_mm_range() with remote targets (6.18 order, DOMAIN.md §2 (b)): tlb_flush 4, one
   * csd_queue_cpu per target, the IPI (ipi_send_cpu for one newly queued target, ipi_send_cpumask for
   * several), the initiator's own callback (`local`: tlb_flush 3 pages, 5, or null for none), then
   * every target's handler. `reason4Pages` is what tlb_flush 4 logs.
   */
  shootdown(cpu: number, reason4Pages: number, targets: Target[], local: { pages: number } | 'wrongCpu' | null): this {
    this.line(cpu, '...1.', `tlb_flush: pages:${reason4Pages} reason:remote IPI send (4)`);
    for (const t of targets) {
      this.line(cpu, '...2.', `csd_queue_cpu: cpu=${t.cpu} callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=${csdOf(t.cpu, cpu)}`);
    }
    this.sendIpis(cpu, targets, 'on_each_cpu_cond_mask+0x20/0x60');
    if (local !== null) {
      this.line(cpu, 'd..2.', `csd_function_entry: func=flush_tlb_func, csd=${NULL_CSD}`);
      if (local === 'wrongCpu') this.line(cpu, 'd..2.', 'tlb_flush: pages:0 reason:remote wrong CPU (5)');
      else this.line(cpu, 'd..2.', `tlb_flush: pages:${local.pages} reason:local MM shootdown (3)`);
      this.line(cpu, 'd..2.', `csd_function_exit: func=flush_tlb_func, csd=${NULL_CSD}`);
    }
    for (const t of targets) this.handler(t, targets.length === 1 ? 251 : 252, cpu);
    return this;
  }

  /** Only the initiator side of shootdown() (targets answer later with handler()). */
  queueOnly(cpu: number, reason4Pages: number, targets: Target[], local: { pages: number } | null): this {
    this.line(cpu, '...1.', `tlb_flush: pages:${reason4Pages} reason:remote IPI send (4)`);
    for (const t of targets) {
      this.line(cpu, '...2.', `csd_queue_cpu: cpu=${t.cpu} callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=${csdOf(t.cpu, cpu)}`);
    }
    this.sendIpis(cpu, targets, 'on_each_cpu_cond_mask+0x20/0x60');
    if (local !== null) {
      this.line(cpu, 'd..2.', `csd_function_entry: func=flush_tlb_func, csd=${NULL_CSD}`);
      this.line(cpu, 'd..2.', `tlb_flush: pages:${local.pages} reason:local MM shootdown (3)`);
      this.line(cpu, 'd..2.', `csd_function_exit: func=flush_tlb_func, csd=${NULL_CSD}`);
    }
    return this;
  }

  /** A target's handler: call_function[_single]_entry, csd entry, what flush_tlb_func logs, csd exit. */
  handler(t: Target, vector: 251 | 252 = 251, fromCpu?: number): this {
    const task = t.task;
    const csd = csdOf(t.cpu, fromCpu);
    if (t.ipi !== false) this.line(t.cpu, 'd.h1.', `${vector === 251 ? 'call_function_single_entry' : 'call_function_entry'}: vector=${vector}`, task);
    this.line(t.cpu, 'd.h1.', `csd_function_entry: func=flush_tlb_func, csd=${csd}`, task);
    const o = t.outcome;
    if (o.kind === 'ranged') this.line(t.cpu, 'd.h1.', `tlb_flush: pages:${o.pages} reason:remote shootdown (1)`, task);
    else if (o.kind === 'full') this.line(t.cpu, 'd.h1.', 'tlb_flush: pages:-1 reason:remote shootdown (1)', task);
    else if (o.kind === 'zero') this.line(t.cpu, 'd.h1.', 'tlb_flush: pages:0 reason:remote shootdown (1)', task);
    else if (o.kind === 'wrongCpu') this.line(t.cpu, 'd.h1.', 'tlb_flush: pages:0 reason:remote wrong CPU (5)', task);
    else if (o.kind === 'lazy') this.line(t.cpu, 'd.h1.', 'tlb_flush: pages:-1 reason:flush on task switch (0)', task);
    this.line(t.cpu, 'd.h1.', `csd_function_exit: func=flush_tlb_func, csd=${csd}`, task);
    return this;
  }

  /**
   * arch_tlbbatch_flush() from reclaim (DOMAIN.md §2 (c)): tlb_flush 4 pages -1 from a kernel
   * thread, csd_queue_cpu per non-lazy target, the IPI, the local tlb_flush 2, targets tlb_flush 1 -1.
   */
  batchedFlush(cpu: number, targets: number[]): this {
    const ts: Target[] = targets.map((c) => ({ cpu: c, task: this.current[c]!, outcome: { kind: 'full' } }));
    this.line(cpu, '...1.', 'tlb_flush: pages:-1 reason:remote IPI send (4)');
    for (const t of ts) this.line(cpu, '...2.', `csd_queue_cpu: cpu=${t.cpu} callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=${csdOf(t.cpu, cpu)}`);
    this.sendIpis(cpu, ts, 'on_each_cpu_cond_mask+0x20/0x60');
    this.line(cpu, 'd..2.', `csd_function_entry: func=flush_tlb_func, csd=${NULL_CSD}`);
    this.line(cpu, 'd..2.', 'tlb_flush: pages:-1 reason:local shootdown (2)');
    this.line(cpu, 'd..2.', `csd_function_exit: func=flush_tlb_func, csd=${NULL_CSD}`);
    for (const t of ts) this.handler(t, ts.length === 1 ? 251 : 252, cpu);
    return this;
  }

  /**
   * tlb_remove_table_sync_one(): smp_call_function(tlb_remove_table_smp_sync) to every other online
   * CPU, unfiltered; the targets run the callback and log no tlb_flush (DOMAIN.md §2 (d)).
   */
  tableSync(cpu: number): this {
    const targets: number[] = [];
    for (let c = 0; c < this.cpus; c++) if (c !== cpu) targets.push(c);
    for (const c of targets) this.line(cpu, '...2.', `csd_queue_cpu: cpu=${c} callsite=smp_call_function_many_cond+0x1a8/0x5e0 func=tlb_remove_table_smp_sync csd=${syncCsdOf(c)}`);
    this.line(cpu, '...2.', `ipi_send_cpumask: cpumask=${hexMask(targets)} callsite=smp_call_function_many_cond+0x1a8/0x5e0 callback=generic_smp_call_function_single_interrupt+0x0/0x10`);
    for (const c of targets) {
      const task = this.current[c]!;
      this.line(c, 'd.h1.', 'call_function_entry: vector=252', task);
      this.line(c, 'd.h1.', `csd_function_entry: func=tlb_remove_table_smp_sync, csd=${syncCsdOf(c)}`, task);
      this.line(c, 'd.h1.', `csd_function_exit: func=tlb_remove_table_smp_sync, csd=${syncCsdOf(c)}`, task);
    }
    return this;
  }

  private sendIpis(cpu: number, targets: Target[], callsite: string): void {
    const named = targets.filter((t) => t.ipi !== false).map((t) => t.cpu);
    if (named.length === 1) {
      this.line(cpu, '...2.', `ipi_send_cpu: cpu=${named[0]} callsite=${callsite} callback=generic_smp_call_function_single_interrupt+0x0/0x10`);
    } else if (named.length > 1) {
      this.line(cpu, '...2.', `ipi_send_cpumask: cpumask=${hexMask(named)} callsite=${callsite} callback=generic_smp_call_function_single_interrupt+0x0/0x10`);
    }
  }

  text(): string {
    return FTRACE_HEADER(this.cpus, this.lines.length) + this.lines.join('\n') + '\n';
  }

  /** Write the text to a fresh temporary file and return its path. */
  write(name = 'trace.txt'): string {
    const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-policy-'));
    const path = join(dir, name);
    writeFileSync(path, this.text());
    return path;
  }
}

/** The per-CPU csd of flush_tlb_func (cfd_data is per initiating CPU: one csd per (initiator, target)). */
function csdOf(target: number, from = 0): string {
  return (CSD_BASE + from * 0x1000 + target * 0x40).toString(16).padStart(16, '0');
}
function syncCsdOf(target: number): string {
  return (0x52671e29 + target * 0x40).toString(16).padStart(16, '0');
}

/** raw ftrace prints a cpumask as 32-bit hex words, most significant first */
function hexMask(cpus: number[]): string {
  let w = 0;
  for (const c of cpus) w |= 1 << c;
  return `00000000,${(w >>> 0).toString(16).padStart(8, '0')}`;
}

/** Analyze the text (written to a temp file) through the whole pipeline; returns the summary. */
export async function analyzeText(t: FtraceText, opts: { policies?: string[]; params?: Record<string, string | number | boolean> } = {}) {
  const { analyzeTrace } = await import('../../src/pipeline/analyze.js');
  return analyzeTrace([t.write()], { policies: opts.policies, params: opts.params });
}

/** A thread of process `tgid`. */
export const thread = (comm: string, pid: number, tgid: number): Task => ({ comm, pid, tgid });

// The kernel's own counters, read just before tracing starts and just after it stops, for the
// cross-check `analyze` makes (src/pipeline/crosscheck.ts):
//   /proc/interrupts  `TLB:` flush callbacks each CPU ran for another CPU (arch/x86/mm/tlb.c
//                     flush_tlb_func(): `if (!local) inc_irq_stat(irq_tlb_count)`), `CAL:`
//                     function-call IPIs received (arch/x86/kernel/irq.c arch_show_interrupts());
//   /proc/vmstat      `nr_tlb_*`, only with CONFIG_DEBUG_TLBFLUSH (count_vm_tlb_event());
//   per_cpu/cpuN/stats  what the ring buffer took and lost per CPU (kernel/trace/trace.c
//                     tracing_stats_read()).

/**
 * Per-CPU values of the named lines of /proc/interrupts, indexed by CPU number. The header names
 * the columns (`CPU0 CPU1 ...`: online CPUs only, so a number may be skipped); an offline CPU's
 * slot stays 0. Lines not found are absent from the map.
 */
export function parseInterrupts(text: string, names: readonly string[]): Map<string, number[]> {
  const lines = text.split('\n');
  const cpuIds = (lines[0] ?? '')
    .trim()
    .split(/\s+/)
    .map((h) => /^CPU(\d+)$/.exec(h))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  const size = cpuIds.length ? Math.max(...cpuIds) + 1 : 0;
  const out = new Map<string, number[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (!names.includes(name)) continue;
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    const perCpu = new Array<number>(size).fill(0);
    for (let i = 0; i < cpuIds.length; i++) {
      const v = Number(fields[i]);
      if (!Number.isFinite(v)) break;
      perCpu[cpuIds[i]!] = v;
    }
    out.set(name, perCpu);
  }
  return out;
}

/** `nr_tlb_*` lines of /proc/vmstat (none without CONFIG_DEBUG_TLBFLUSH). */
export function parseVmstatTlb(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(nr_tlb_\w+)\s+(\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

export interface RingStats {
  /** events in the buffer not read yet */
  entries: number;
  /** events overwritten before they were read (overwrite mode: the oldest go) */
  overrun: number;
  /** events lost because a writer nested too deep to commit */
  commitOverrun: number;
  /** events dropped because the buffer was full (non-overwrite mode) */
  dropped: number;
  /** events read so far (absent before 4.x kernels: 0) */
  read: number;
  /** bytes of records not read yet */
  bytes: number;
}

/** per_cpu/cpuN/stats text -> numbers (fields a kernel does not print are 0) */
export function parseRingStats(text: string): RingStats {
  const get = (key: string): number => {
    const m = new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { entries: get('entries'), overrun: get('overrun'), commitOverrun: get('commit overrun'), dropped: get('dropped events'), read: get('read events'), bytes: get('bytes') };
}

/** lost = overwritten + not committed + dropped */
export function lostOf(s: RingStats): number {
  return s.overrun + s.commitOverrun + s.dropped;
}

/** after - before, per index (arrays of unequal length: the missing side counts 0) */
export function deltaPerCpu(before: readonly number[], after: readonly number[]): number[] {
  const n = Math.max(before.length, after.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((after[i] ?? 0) - (before[i] ?? 0));
  return out;
}

export function deltaRecord(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after).sort()) out[k] = after[k]! - (before[k] ?? 0);
  return out;
}

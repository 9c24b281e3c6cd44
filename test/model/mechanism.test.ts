// How remote flushes reached other CPUs (src/model/delivery.ts), on real captures:
//   - pvm-6.18-2cpu: a PVM guest flushes other vCPUs by hypercall. truth.json's /proc/interrupts
//     "TLB shootdowns" deltas are all 0, and the raw ftrace has no csd_queue_cpu of flush_tlb_func
//     (grep). The requests that needed the other CPU are counted by a scanner written here, apart
//     from the model: a tlb_flush 4 needs the other CPU when the task running there (the next of
//     its last sched_switch, or its first event's task) is a user task of the same tgid.
//   - qemu-6.12-8cpu/mt-munmap: flushes by IPI; the CPUs flushed are the flush_tlb_func callbacks
//     with a non-NULL csd (grep: 1065).
//   - a KVM PV-flush partial target set: the same capture with the IPIs of one vCPU dropped from
//     requests that IPI'd it and others, as kvm_flush_tlb_multi() does for a preempted vCPU.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { analyzeTrace } from '../../src/pipeline/analyze.js';

const FIXTURES = join(__dirname, '../../fixtures');
const FORMATS = ['ftrace.txt.gz', 'trace-cmd-report.txt.gz', 'trace.dat'];

function rawLines(path: string): string[] {
  return gunzipSync(readFileSync(path)).toString('utf8').split('\n');
}

// `comm-pid (tgid) [cpu] flags ts: event: payload` (raw ftrace with record-tgid)
const LINE = /^\s*(.*)-(\d+)\s+\(\s*([\d-]+)\)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s*(.*)$/;

/** tlb_flush 4 requests of a 2-CPU raw ftrace that needed the other CPU, and those that did not. */
function scanTwoCpuRequests(lines: string[]): { needed: number; notNeeded: number } {
  const tgidOf = new Map<number, number>();
  const running: Array<number | undefined> = [];
  let needed = 0;
  let notNeeded = 0;
  for (const line of lines) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const [, , pid, tgid, cpuText, , event, payload] = m;
    const cpu = Number(cpuText);
    if (tgid !== '-------') tgidOf.set(Number(pid), Number(tgid));
    if (event === 'sched_switch') {
      running[cpu] = Number(/next_pid=(\d+)/.exec(payload!)![1]);
      continue;
    }
    running[cpu] ??= Number(pid);
    if (event === 'tlb_flush' && payload!.endsWith('(4)')) {
      const other = running[1 - cpu];
      if (other !== undefined && other !== 0 && tgidOf.get(other) === Number(tgid)) needed++;
      else notNeeded++;
    }
  }
  return { needed, notNeeded };
}

describe.each(['mt-munmap', 'collapse'])('pvm-6.18-2cpu/%s: remote TLBs flushed by hypercall', (capture) => {
  const dir = join(FIXTURES, 'pvm-6.18-2cpu', capture);
  const lines = rawLines(join(dir, 'ftrace.txt.gz'));
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
  const expected = scanTwoCpuRequests(lines);

  it('the capture has no flush IPIs at all (independent checks)', () => {
    expect(truth.recording.tlbIrqDeltaPerCpu).toEqual([0, 0]);
    expect(lines.filter((l) => l.includes('csd_queue_cpu') && l.includes('func=flush_tlb_func')).length).toBe(0);
    expect(expected.needed).toBe(capture === 'mt-munmap' ? 589 : 398);
  });

  it.each(FORMATS)('%s: names the hypercall mechanism, counts every request, compares only what the trace shows', async (file) => {
    const s = await analyzeTrace([join(dir, file)]);
    const m = s.observed.mechanism!;
    expect(m.kind).toBe('hypercall');
    expect(m.requests.noIpi).toBe(expected.needed);
    expect(m.requests.noIpi + m.requests.filtered).toBe(s.observed.requestsByKind.remote);
    expect(m.requests.ipi + m.requests.partial).toBe(0);
    expect(m.remoteFlushRequests).toBe(expected.needed);
    expect(m.cpusFlushed).toBe(expected.needed); // 2 CPUs: one other CPU each
    expect(m.note).toContain('flushed remote TLBs by hypercall');
    // no flush IPIs to count, no callbacks, and a request that flushed by hypercall is no phantom
    expect(s.observed.remoteShootdowns.total).toBe(0);
    expect(s.observed.ipis.callbacksByClass.flush_tlb_func ?? 0).toBe(0);
    // (collapse's TLB IPIs are its tlb_remove_table_smp_sync broadcasts, still IPIs on this machine)
    if (capture === 'mt-munmap') expect(s.observed.ipis.tlb).toBe(0);
    expect(s.observed.phantomRequests).toBe(expected.notNeeded);
    // fidelity leaves out what the trace cannot show
    expect(s.model.fidelity.targetsSkipped?.flushedWithoutIpi).toBe(expected.needed);
    expect(s.model.fidelity.targets).toBe(1);
    expect(s.model.fidelity.switchFlush!).toBeGreaterThan(0.99);
    // the policies estimate in remote flush requests and CPUs; IPIs are n/a
    for (const p of Object.values(s.policies)) {
      expect(p.ipiUnit, p.name).toBe('hypercall');
      expect(p.ipis, p.name).toBe(0);
      expect(p.shootdowns, p.name).toBe(0);
    }
    expect(s.policies.observed!.remoteFlushes).toEqual({ requests: expected.needed, cpus: expected.needed, avoidedRequests: 0, avoidedCpus: 0 });
  });
});

describe('an IPI-flushing capture', () => {
  it('qemu-6.12-8cpu/mt-munmap: by IPI, the CPUs flushed are the paired flush callbacks', async () => {
    const dir = join(FIXTURES, 'qemu-6.12-8cpu/mt-munmap');
    const lines = rawLines(join(dir, 'ftrace.txt.gz'));
    const callbacks = lines.filter((l) => /csd_function_entry: func=flush_tlb_func, csd=(?!0+$)[0-9a-f]+$/.test(l)).length;
    expect(callbacks).toBe(1065);
    const s = await analyzeTrace([join(dir, 'ftrace.txt.gz')]);
    const m = s.observed.mechanism!;
    expect(m.kind).toBe('ipi');
    expect(m.cpusFlushed).toBe(callbacks);
    expect(m.requests.partial + m.requests.noIpi).toBe(0);
    expect(s.policies.observed!.ipiUnit).toBe('ipi');
  });
});

/**
 * The capture with one vCPU "preempted" in `n` requests that IPI'd it and other CPUs: its
 * csd_queue_cpu line and its bit of the ipi_send_cpumask go, and on that CPU the callback run
 * (csd_function_entry .. csd_function_exit with the same csd, and the tlb_flush between). This
 * is what a KVM guest's trace shows when kvm_flush_tlb_multi() clears a preempted vCPU from the
 * mask before native_flush_tlb_multi() (arch/x86/kernel/kvm.c).
 */
function dropVcpuIpis(lines: string[], victim: number, n: number): { lines: string[]; dropped: number } {
  const out: string[] = [];
  let dropped = 0;
  /** csds queued for the victim whose callback run is still to be removed */
  const pendingCsd = new Set<string>();
  let removingCsd: string | null = null;
  let request: { queues: number[]; victimLine: number; victimCsd: string } | null = null;
  for (const line of lines) {
    const m = LINE.exec(line);
    if (m === null) {
      out.push(line);
      continue;
    }
    const cpu = Number(m[4]);
    const event = m[6]!;
    const payload = m[7]!;
    if (cpu === victim && removingCsd !== null) {
      // inside the dropped callback run on the victim CPU
      if (event === 'csd_function_exit' && payload.endsWith(`csd=${removingCsd}`)) removingCsd = null;
      continue;
    }
    if (cpu === victim && event === 'csd_function_entry') {
      const csd = /csd=(\w+)$/.exec(payload)![1]!;
      if (pendingCsd.delete(csd)) {
        removingCsd = csd;
        continue;
      }
    }
    if (event === 'tlb_flush' && payload.endsWith('(4)')) request = { queues: [], victimLine: -1, victimCsd: '' };
    if (request !== null && event === 'csd_queue_cpu' && payload.includes('func=flush_tlb_func')) {
      const target = Number(/cpu=(\d+)/.exec(payload)![1]);
      request.queues.push(target);
      if (target === victim) {
        request.victimLine = out.length;
        request.victimCsd = /csd=(\w+)$/.exec(payload)![1]!;
      }
    }
    if (request !== null && event === 'ipi_send_cpumask' && dropped < n && request.victimLine >= 0 && request.queues.length > 1) {
      // this request IPI'd the victim and others: the victim was preempted
      const mask = /cpumask=([0-9a-f,]+)/.exec(payload)![1]!;
      const words = mask.split(',');
      const last = parseInt(words[words.length - 1]!, 16) & ~(1 << victim);
      words[words.length - 1] = last.toString(16).padStart(words[words.length - 1]!.length, '0');
      out.splice(request.victimLine, 1);
      pendingCsd.add(request.victimCsd);
      out.push(line.replace(`cpumask=${mask}`, `cpumask=${words.join(',')}`));
      dropped++;
      request = null;
      continue;
    }
    out.push(line);
  }
  return { lines: out, dropped };
}

describe('a KVM PV TLB flush excerpt (one preempted vCPU)', () => {
  it('recognises requests that IPI only part of the CPUs should_flush_tlb() picks', async () => {
    const dir = join(FIXTURES, 'qemu-6.12-8cpu/mt-munmap');
    const original = rawLines(join(dir, 'ftrace.txt.gz'));
    const { lines, dropped } = dropVcpuIpis(original, 7, 10);
    expect(dropped).toBe(10);
    // 10 csd_queue_cpu lines and 10 callback runs (entry, tlb_flush 1, exit) fewer
    expect(original.length - lines.length).toBe(10 + 10 * 3);
    const [before, after] = await Promise.all([
      analyzeTrace(['-'], { ingest: { stdin: Buffer.from(original.join('\n')) }, policies: ['observed'] }),
      analyzeTrace(['-'], { ingest: { stdin: Buffer.from(lines.join('\n')) }, policies: ['observed'] }),
    ]);
    expect(before.observed.mechanism!.requests.partial).toBe(0);
    const m = after.observed.mechanism!;
    expect(m.kind).toBe('ipi');
    expect(m.requests.partial).toBe(10);
    expect(m.note).toContain('preempted vCPUs');
    expect(after.observed.remoteShootdowns.byCpu['7']).toBe(before.observed.remoteShootdowns.byCpu['7']! - 10);
    expect(after.observed.ipis.byCpu['7']).toBe(before.observed.ipis.byCpu['7']! - 10);
  });
});

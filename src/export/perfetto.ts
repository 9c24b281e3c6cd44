// `export --perfetto FILE`: the model's event stream as Trace Event Format JSON, the format that
// Perfetto's UI (ui.perfetto.dev, "Open trace file") and chrome://tracing load. Format reference:
// "Trace Event Format" (Google doc, 2016) and Perfetto's importer,
// src/trace_processor/importers/json/json_trace_parser.cc (google/perfetto at ec5d16b).
//
// Layout: one process per CPU ("CPU n", pid n+1), with threads as tracks (tid (n+1)*100000 + lane):
//   lane 0      "tasks": what the CPU ran, one slice per context switch to the next;
//   lanes 1..   "flush requests": the requests this CPU initiated, from the request to the moment
//               every target had answered (the initiator waits in smp_call_function_many_cond());
//               a request that overlaps an earlier one without nesting in it (a model artefact,
//               or a target answer that was lost) goes to the next lane, so every lane nests;
//   lane 99999  "flush callbacks": each callback this CPU ran for a request, at its
//               csd_function_entry (zero length: the model keeps no exit time);
//   counters    "TLB shootdowns/s" and "TLB IPIs/s": callbacks run here and of those the ones a
//               hardware IPI named this CPU for, per bucket (--rate-bucket, 100 ms), as rates.
// A flow arrow (v1 's' / 'f' with binding point "e", id per target) goes from each request to
// each of its callbacks. Timestamps are microseconds written from the integer nanoseconds with
// three decimals, so they are exact. Strings from the trace go through JSON.stringify.
//
// Filters: `windows` (the time window, or the N slowest requests with their neighbourhood): a
// request is written when it overlaps a window, with all its callbacks and flows; a task slice
// when it overlaps one. Memory: one pending task slice per CPU, the lanes' end times, and one
// counter cell per active (bucket, CPU); the text goes out in 1 MiB writes.

import type { FlushRequest, ModelEvent, SwitchEvent } from '../model/types.js';
import type { EventSink, SinkContext } from '../pipeline/sink.js';
import type { Summary } from '../summary/schema.js';
import { VERSION } from '../cli/version.js';
import { MmNames, verdict, WASTED_OUTCOMES } from './facts.js';
import { StreamedFile } from './outfile.js';

export interface PerfettoOptions {
  path: string;
  /** [start, end] ns on the trace clock, sorted and disjoint; absent: everything */
  windows?: ReadonlyArray<readonly [number, number]>;
  /** counter bucket, ns (default 100 ms) */
  rateBucketNs?: number;
}

export interface PerfettoStats {
  events: number;
  requests: number;
  callbacks: number;
  flows: number;
  taskSlices: number;
  counterSamples: number;
  lanes: number;
  bytes: number;
}

const TASK_LANE = 0;
const CALLBACK_LANE = 99_999;
export const pidOfCpu = (cpu: number) => cpu + 1;
export const tidOf = (cpu: number, lane: number) => (cpu + 1) * 100_000 + lane; // < 2^31 up to NR_CPUS 8192

/** integer ns -> exact microseconds text */
export function usText(ns: number): string {
  const n = Math.round(ns);
  const neg = n < 0;
  const a = Math.abs(n);
  const q = Math.floor(a / 1000);
  const r = a - q * 1000;
  const s = r === 0 ? String(q) : `${q}.${String(r).padStart(3, '0').replace(/0+$/, '')}`;
  return neg ? `-${s}` : s;
}

const KIND_LABEL: Record<FlushRequest['kind'], string> = {
  remote: 'shootdown',
  localOnly: 'local flush',
  batched: 'batched flush',
  tableSync: 'table sync',
};

interface PendingTask {
  ts: number;
  pid: number;
  name: string;
  args: Record<string, unknown>;
}

export class PerfettoSink implements EventSink {
  private ctx!: SinkContext;
  private out: StreamedFile;
  private first = true;
  private names!: MmNames;
  private readonly windows: ReadonlyArray<readonly [number, number]> | null;
  private readonly bucketNs: number;
  /** per CPU: end time of the last request slice on each request lane */
  private lanes: number[][] = [];
  private named = new Set<number>();
  private tasks: Array<PendingTask | undefined> = [];
  /** (bucket * 8192 + cpu) -> [callbacks, ipis] */
  private rates = new Map<number, [number, number]>();
  private nextFlow = 1;
  readonly stats: PerfettoStats = { events: 0, requests: 0, callbacks: 0, flows: 0, taskSlices: 0, counterSamples: 0, lanes: 0, bytes: 0 };

  constructor(opts: PerfettoOptions) {
    this.out = new StreamedFile(opts.path);
    this.windows = opts.windows ?? null;
    this.bucketNs = opts.rateBucketNs ?? 100_000_000;
  }

  start(ctx: SinkContext): void {
    this.ctx = ctx;
    this.names = new MmNames(ctx);
    this.out.write('{"displayTimeUnit":"ns","traceEvents":[\n');
  }

  onEvent(ev: ModelEvent): void {
    if (ev.type === 'request') this.onRequest(ev.req);
    else if (ev.type === 'switch') this.onSwitch(ev);
  }

  private overlaps(a: number, b: number): boolean {
    const w = this.windows;
    if (w === null) return true;
    // windows are few (N slowest requests): a binary search for the first window ending at or after a
    let lo = 0;
    let hi = w.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (w[m]![1] < a) lo = m + 1;
      else hi = m;
    }
    return lo < w.length && w[lo]![0] <= b;
  }

  /** One event: `fields` serialized by JSON.stringify, ts (and dur) written exactly. */
  private emit(fields: Record<string, unknown>, tsNs: number, durNs?: number): void {
    const json = JSON.stringify(fields);
    const time = durNs === undefined ? `"ts":${usText(tsNs)}` : `"ts":${usText(tsNs)},"dur":${usText(durNs)}`;
    this.out.write(`${this.first ? '' : ',\n'}{${time},${json.slice(1)}`);
    this.first = false;
    this.stats.events++;
  }

  private track(cpu: number, lane: number): number {
    const tid = tidOf(cpu, lane);
    if (this.named.has(tid)) return tid;
    const pid = pidOfCpu(cpu);
    if (!this.named.has(-pid)) {
      this.named.add(-pid);
      this.emit({ ph: 'M', name: 'process_name', pid, tid: tidOf(cpu, TASK_LANE), args: { name: `CPU ${cpu}` } }, 0);
      this.emit({ ph: 'M', name: 'process_sort_index', pid, tid: tidOf(cpu, TASK_LANE), args: { sort_index: cpu } }, 0);
    }
    this.named.add(tid);
    const name = lane === TASK_LANE ? 'tasks' : lane === CALLBACK_LANE ? 'flush callbacks' : lane === 1 ? 'flush requests' : `flush requests (${lane})`;
    this.emit({ ph: 'M', name: 'thread_name', pid, tid, args: { name } }, 0);
    this.emit({ ph: 'M', name: 'thread_sort_index', pid, tid, args: { sort_index: lane } }, 0);
    if (lane !== TASK_LANE && lane !== CALLBACK_LANE) this.stats.lanes = Math.max(this.stats.lanes, lane);
    return tid;
  }

  /** the first request lane of `cpu` free at `ts` */
  private lane(cpu: number, ts: number, end: number): number {
    let lanes = this.lanes[cpu];
    if (lanes === undefined) {
      lanes = [];
      this.lanes[cpu] = lanes;
    }
    let i = 0;
    while (i < lanes.length && lanes[i]! > ts) i++;
    lanes[i] = end;
    return i + 1;
  }

  private onRequest(req: FlushRequest): void {
    for (const t of req.targets) {
      if (t.handlerTs === null || t.outcome === 'tableSync' || t.outcome === 'unanswered') continue;
      const key = Math.floor(t.handlerTs / this.bucketNs) * 8192 + t.cpu;
      const cell = this.rates.get(key);
      if (cell === undefined) this.rates.set(key, [1, t.ipi ? 1 : 0]);
      else {
        cell[0]++;
        if (t.ipi) cell[1]++;
      }
    }
    const end = Math.max(req.ts, req.closedTs);
    if (!this.overlaps(req.ts, end)) return;
    this.stats.requests++;
    const mm = req.mm === 0 ? null : this.names.name(req.mm);
    let shootdowns = 0;
    let wasted = 0;
    let unanswered = 0;
    for (const t of req.targets) {
      if (t.outcome === 'unanswered') unanswered++;
      else if (t.outcome !== 'tableSync' && t.outcome !== 'hypercall') shootdowns++;
      if (WASTED_OUTCOMES.has(t.outcome)) wasted++;
    }
    const verdicts: Record<string, string> = {};
    const charged = this.ctx.requestVerdicts;
    this.ctx.policies.forEach((p, i) => (verdicts[p] = verdict(shootdowns, charged[i]!)));
    const pid = pidOfCpu(req.cpu);
    const tid = this.track(req.cpu, this.lane(req.cpu, req.ts, end));
    const args = {
      request: req.id,
      comm: req.comm,
      pid: req.pid,
      mm,
      cause: req.cause,
      pages: req.pages,
      local: req.local,
      targets: req.targets.length,
      shootdowns,
      wasted,
      unanswered,
      ipis: req.ipis,
      freed_tables: req.freedTables,
      policies: verdicts,
    };
    this.emit({ ph: 'X', cat: 'tlb', pid, tid, name: `${KIND_LABEL[req.kind]}: ${req.cause}`, args }, req.ts, end - req.ts);
    for (const t of req.targets) {
      if (t.handlerTs === null) continue;
      const id = this.nextFlow++;
      const cbTid = this.track(t.cpu, CALLBACK_LANE);
      const cbPid = pidOfCpu(t.cpu);
      this.emit({ ph: 's', cat: 'tlb', name: 'shootdown', id, pid, tid }, req.ts);
      const name = t.outcome === 'tableSync' ? 'tlb_remove_table_smp_sync' : `flush_tlb_func: ${t.outcome}`;
      const cbArgs = {
        request: req.id,
        from_cpu: req.cpu,
        comm: req.comm,
        mm,
        outcome: t.outcome,
        pages: t.pages,
        ipi: t.ipi,
        queued_to_entry_us: (t.handlerTs - t.queuedTs) / 1000,
        request_to_entry_us: (t.handlerTs - req.ts) / 1000,
      };
      this.emit({ ph: 'X', cat: 'tlb', pid: cbPid, tid: cbTid, name, args: cbArgs }, t.handlerTs, 0);
      this.emit({ ph: 'f', bp: 'e', cat: 'tlb', name: 'shootdown', id, pid: cbPid, tid: cbTid }, t.handlerTs);
      this.stats.callbacks++;
      this.stats.flows++;
    }
  }

  private onSwitch(e: SwitchEvent): void {
    this.closeTask(e.cpu, e.ts);
    const comm = this.ctx.taskComm(e.pid);
    this.tasks[e.cpu] = {
      ts: e.ts,
      pid: e.pid,
      name: comm === undefined ? `pid ${e.pid}` : `${comm} ${e.pid}`,
      args: {
        pid: e.pid,
        comm: comm ?? null,
        mm: this.names.name(e.toMm),
        lazy_tlb: e.toKernelThread,
        switch_mm_flush: e.observedFlush === null ? 'none logged' : e.observedFlush < 0 ? 'full' : 'current',
      },
    };
  }

  private closeTask(cpu: number, end: number): void {
    const t = this.tasks[cpu];
    if (t === undefined) return;
    this.tasks[cpu] = undefined;
    const stop = Math.max(t.ts, end); // a late switch on this CPU (ts-out-of-order) closes at its start
    if (!this.overlaps(t.ts, stop)) return;
    this.emit({ ph: 'X', cat: 'sched', pid: pidOfCpu(cpu), tid: this.track(cpu, TASK_LANE), name: t.name, args: t.args }, t.ts, stop - t.ts);
    this.stats.taskSlices++;
  }

  private counters(): void {
    const byCpu = new Map<number, number[]>();
    for (const key of this.rates.keys()) {
      const cpu = key % 8192;
      const list = byCpu.get(cpu) ?? [];
      list.push(Math.floor(key / 8192));
      byCpu.set(cpu, list);
    }
    const perSec = 1e9 / this.bucketNs;
    for (const [cpu, buckets] of [...byCpu.entries()].sort((a, b) => a[0] - b[0])) {
      buckets.sort((a, b) => a - b);
      const pid = pidOfCpu(cpu);
      const tid = this.track(cpu, TASK_LANE);
      for (let i = 0; i < buckets.length; i++) {
        const b = buckets[i]!;
        const t0 = b * this.bucketNs;
        if (!this.overlaps(t0, t0 + this.bucketNs)) continue;
        const [n, ipis] = this.rates.get(b * 8192 + cpu)!;
        this.emit({ ph: 'C', name: 'TLB', pid, tid, args: { 'shootdowns/s': n * perSec, 'IPIs/s': ipis * perSec } }, t0);
        this.stats.counterSamples++;
        if (buckets[i + 1] !== b + 1) {
          // back to zero after the last active bucket of a run (a counter holds its value)
          this.emit({ ph: 'C', name: 'TLB', pid, tid, args: { 'shootdowns/s': 0, 'IPIs/s': 0 } }, t0 + this.bucketNs);
          this.stats.counterSamples++;
        }
      }
    }
  }

  async finish(summary: Summary): Promise<void> {
    const end = Number.isFinite(this.ctx.lastTs) ? this.ctx.lastTs : 0;
    for (let cpu = 0; cpu < this.tasks.length; cpu++) this.closeTask(cpu, end);
    this.counters();
    const other = {
      tool: `tlbtrace ${VERSION}`,
      files: summary.input.files,
      format: summary.input.format,
      rateBucketMs: this.bucketNs / 1e6,
      windows: this.windows?.map(([a, b]) => [usText(a), usText(b)]) ?? null,
      requests: this.stats.requests,
      callbacks: this.stats.callbacks,
      flows: this.stats.flows,
    };
    this.out.write(`\n],"otherData":${JSON.stringify(other)}}\n`);
    this.out.commit();
    this.stats.bytes = this.out.bytes;
  }

  async abort(): Promise<void> {
    this.out.abort();
  }
}

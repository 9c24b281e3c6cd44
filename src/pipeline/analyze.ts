// The whole flow in one pass: bytes -> lines -> typed events (src/ingest) -> kernel model
// (src/model) -> policy replays (src/policies) -> summary (src/summary/schema.ts).

import type { TraceEvent } from '../events/types.js';
import { EventBatch } from '../events/batch.js';
import { InputStats } from './input-stats.js';
import { Diagnostics } from '../ingest/diagnostics.js';
import { openTraceThreaded, type IngestThread } from '../ingest/worker/source.js';
import type { IngestOptions, TraceMeta, TraceSource } from '../ingest/source.js';
import { KernelModel } from '../model/model.js';
import { ObservedAccounting } from '../model/observed.js';
import type { ModelContext, ModelEvent } from '../model/types.js';
import { DEFAULT_COST } from '../policies/cost.js';
import { POLICIES } from '../policies/index.js';
import { validationOf } from '../policies/validation.js';
import { countsIpis } from '../policies/replay.js';
import type { ParamValue, PolicyDefinition, PolicyRun } from '../policies/policy.js';
import { SUMMARY_SCHEMA, type CostModel, type PolicyResult, type Summary } from '../summary/schema.js';
import { VERSION } from '../cli/version.js';
import type { EventSink, SinkContext } from './sink.js';
import { InputError } from '../errors.js';
import { openCaptureDir } from './capture-dir.js';
import { crossCheck } from './crosscheck.js';
import type { KernelCounters } from '../record/capture.js';
import { missingTlbEventsLine, tlbEventsMissing } from './missing.js';

export interface AnalyzeOptions {
  ingest?: IngestOptions;
  strict?: boolean;
  /** policy names to replay (default: all registered) */
  policies?: string[];
  /** `key=value` parameters; a key may be prefixed `policy.key` to target one policy */
  params?: Record<string, ParamValue>;
  cost?: Partial<CostModel>;
  /** where the input is parsed: a worker thread ('worker'), this one ('main'), or by size ('auto', the default) */
  ingestThread?: IngestThread;
  /** consumers of the model's event stream besides the policies (exporters); none by default */
  sinks?: EventSink[];
  /**
   * Only the events from `from` to `to` (seconds of the trace clock, as the trace prints them;
   * either end open): a steady state without the start or the end of a run. The model starts from
   * what the window's first events show, as it does at the start of any trace.
   */
  window?: { from?: number; to?: number };
}

export class UnknownPolicyError extends Error {}

export function selectPolicies(names: string[] | undefined): PolicyDefinition[] {
  if (names === undefined || names.length === 0 || (names.length === 1 && names[0] === 'all')) return [...POLICIES];
  const out: PolicyDefinition[] = [];
  for (const n of names) {
    const p = POLICIES.find((d) => d.name === n);
    if (p === undefined) throw new UnknownPolicyError(`unknown policy '${n}'; known: ${POLICIES.map((d) => d.name).join(', ')}`);
    out.push(p);
  }
  return out;
}

type MmLabel = { mm: string; comm: string; tgid: number };
const LABEL_CACHE_MAX = 4096;


/**
 * Every event of a batch through the input statistics and the kernel model. A plain function, not
 * part of analyzeSource(): V8 optimizes a loop inside an async function late (on-stack
 * replacement) and runs it in baseline code until then; this one is optimized as a whole.
 */
function consumeBatch(batch: EventBatch, stats: InputStats, model: KernelModel): void {
  for (let i = 0; i < batch.length; i++) {
    stats.seeRow(batch, i);
    model.consumeRow(batch, i);
  }
}

/** consumeBatch() of the events from `from` to `to` (ns) only */
function consumeBatchWindow(batch: EventBatch, stats: InputStats, model: KernelModel, from: number, to: number): void {
  const ts = batch.ts;
  for (let i = 0; i < batch.length; i++) {
    const t = ts[i]!;
    if (t < from || t > to) continue;
    stats.seeRow(batch, i);
    model.consumeRow(batch, i);
  }
}

/** consumeEvents() of the events from `from` to `to` (ns) only */
function consumeEventsWindow(events: TraceEvent[], stats: InputStats, model: KernelModel, from: number, to: number): void {
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.ts < from || e.ts > to) continue;
    stats.see(e);
    model.consume(e);
  }
}

/** consumeBatch() of a batch of event objects (the trace.dat reader, the ingest worker) */
function consumeEvents(events: TraceEvent[], stats: InputStats, model: KernelModel): void {
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    stats.see(e);
    model.consume(e);
  }
}

/**
 * Analyze trace files, or one capture directory (`tlbtrace record`'s, or one of ../shared/traces):
 * its trace, with the cross-check against the kernel counters it holds.
 */
export async function analyzeTrace(paths: string[], opts: AnalyzeOptions = {}): Promise<Summary> {
  selectPolicies(opts.policies); // a wrong policy name is reported before any input is opened
  const captures = paths.map(openCaptureDir);
  const capture = captures.find((c) => c !== null) ?? null;
  if (capture !== null && paths.length > 1) throw new InputError(capture.dir, 0, 'a capture directory must be the only input (analyze one directory at a time)');
  const diag = new Diagnostics({ strict: opts.strict });
  const ingest = capture !== null ? { ...opts.ingest, ...capture.ingest } : (opts.ingest ?? {});
  try {
    const source = await openTraceThreaded(capture !== null ? [capture.trace] : paths, ingest, diag, opts.ingestThread);
    return await analyzeSource(source, diag, opts, capture?.counters);
  } catch (err) {
    for (const sink of opts.sinks ?? []) await sink.abort?.();
    throw err;
  }
}

/**
 * The analysis of an already opened trace (an embedder's own TraceSource, the benchmark's replay).
 * `counters`: the kernel's own counts around the recording (a capture directory), cross-checked.
 */
export async function analyzeSource(source: TraceSource, diag: Diagnostics, opts: AnalyzeOptions = {}, counters?: KernelCounters): Promise<Summary> {
  const meta = source.meta;
  const definitions = selectPolicies(opts.policies);
  const cost: CostModel = { ...DEFAULT_COST, ...(opts.cost ?? {}), sources: DEFAULT_COST.sources };

  const accounting = new ObservedAccounting();
  // The accounting asks for the label of every request's mm (~100k a second): it is rebuilt only
  // when the mm's name changed (comm, tgid, exec). Bounded: a trace with more live mms than
  // LABEL_CACHE_MAX just rebuilds more often. A storm's requests ask for one mm again and again:
  // while the task registry's epoch (bumped by every change of a task, its name or its mm) stays
  // the same, that mm's label is the one given last.
  const labels = new Map<number, { label: MmLabel; comm: string; tgid: number; frozen: boolean | undefined }>();
  let lastMm = -1;
  let lastEpoch = -1;
  let lastLabel: MmLabel | null = null;
  const mmLabel = (mm: number): MmLabel => {
    if (mm === lastMm && model.tasks.epoch === lastEpoch) return lastLabel!;
    const id = model.mmIdentity(mm);
    let label: MmLabel | undefined;
    if (id !== undefined) {
      const c = labels.get(mm);
      if (c !== undefined && c.comm === id.comm && c.tgid === id.tgid && c.frozen === id.frozen) label = c.label;
    }
    if (label === undefined) {
      label = { mm: model.mmName(mm), comm: id?.comm ?? '', tgid: id?.tgid ?? -1 };
      if (id !== undefined) {
        if (labels.size >= LABEL_CACHE_MAX) labels.clear();
        labels.set(mm, { label, comm: id.comm, tgid: id.tgid, frozen: id.frozen });
      }
    }
    lastMm = mm;
    lastEpoch = model.tasks.epoch;
    lastLabel = label;
    return label;
  };
  accounting.mmLabel = mmLabel;
  const runs: Array<{ def: PolicyDefinition; run: PolicyRun; params: Record<string, ParamValue> }> = [];
  // each model event goes only to the policies that read its type (PolicyRun.reads)
  const readers: Record<ModelEvent['type'], PolicyRun[]> = { request: [], switch: [], syscall: [], mmExit: [], reclaim: [] };
  // a syscall entry goes to the policies that want every entry of its syscall (ev.every), or, as
  // the coalesced stream, to the other syscall readers (PolicyRun.everySyscall); made on first use
  const syscallRoutes = new Map<string, { every: PolicyRun[]; coalesced: PolicyRun[] }>();
  let routeName = '';
  let route: { every: PolicyRun[]; coalesced: PolicyRun[] } | undefined;
  const emit = (ev: ModelEvent) => {
    let list: PolicyRun[];
    switch (ev.type) {
      case 'request':
        list = readers.request;
        break;
      case 'syscall':
        if (route === undefined || ev.e.name !== routeName) {
          routeName = ev.e.name;
          route = syscallRoutes.get(routeName) ?? routeOf(routeName);
        }
        list = ev.every ? route.every : route.coalesced;
        break;
      case 'switch':
        list = readers.switch;
        break;
      case 'mmExit':
        list = readers.mmExit;
        break;
      case 'reclaim':
        list = readers.reclaim;
        break;
      default:
        // a new ModelEvent type must be routed here: this fails to compile until it is
        list = ev satisfies never;
    }
    for (let i = 0; i < list.length; i++) list[i]!.onEvent(ev);
  };
  const routeOf = (name: string) => {
    const r = { every: [] as PolicyRun[], coalesced: [] as PolicyRun[] };
    for (const run of readers.syscall) (run.everySyscall?.includes(name) ? r.every : r.coalesced).push(run);
    syscallRoutes.set(name, r);
    return r;
  };
  /** for each syscall some policy wants every entry of: the syscalls all such policies want every entry of */
  const everySyscall = new Map<string, Set<string>>();
  // Exporters (opts.sinks) see each event after the policies, and for a request what each policy
  // sent while handling it (`charged`, index = definitions). Without sinks none of this runs.
  const sinks = opts.sinks ?? [];
  const charged = new Int32Array(definitions.length);
  const emitToSinks = (ev: ModelEvent) => {
    if (ev.type === 'request') charged.fill(0);
    emit(ev);
    for (let i = 0; i < sinks.length; i++) sinks[i]!.onEvent(ev);
  };
  const model = new KernelModel({ cpus: meta.declaredCpus ?? 1, tgidKnown: meta.tgidKnown, emit: sinks.length > 0 ? emitToSinks : emit, sink: accounting, everySyscall });
  const stats = new InputStats();
  const ctx: ModelContext = {
    get cpus() {
      return model.cpuCount;
    },
    get lazyCpumask() {
      return model.sawReason5;
    },
    get sawCsd() {
      return model.sawCsd;
    },
    get sawIpi() {
      return model.sawIpi;
    },
    get sawVectors() {
      return model.sawVectors;
    },
    get firstTs() {
      return stats.firstTs;
    },
    get lastTs() {
      return stats.lastTs;
    },
    get flushMechanism() {
      return accounting.mechanismKind(model.sawCsd);
    },
    mmName: (mm) => model.mmName(mm),
  };
  for (const [index, def] of definitions.entries()) {
    const params = resolveParams(def, opts.params ?? {});
    const row = `policy:${def.name}`;
    const add = (key: 'shootdowns' | 'ipis', ts: number, n = 1) => accounting.series.add(row, key, ts, n);
    const run = def.create({
      model: ctx,
      params,
      cost,
      series: {
        add:
          sinks.length === 0
            ? add
            : (key, ts, n = 1) => {
                if (key === 'shootdowns') charged[index] += n;
                add(key, ts, n);
              },
      },
    });
    runs.push({ def, run, params });
    for (const type of run.reads ?? (Object.keys(readers) as Array<ModelEvent['type']>)) readers[type].push(run);
    for (const name of run.everySyscall ?? []) {
      const shared = everySyscall.get(name);
      everySyscall.set(name, new Set(shared === undefined ? run.everySyscall : run.everySyscall!.filter((n) => shared.has(n))));
    }
  }

  if (sinks.length > 0) {
    const sinkCtx: SinkContext = Object.create(ctx, {
      meta: { value: meta },
      policies: { value: definitions.map((d) => d.name) },
      requestVerdicts: { value: charged },
      taskComm: { value: (pid: number) => model.tasks.task(pid)?.comm },
      mmIdentity: { value: (mm: number) => model.mmIdentity(mm) },
    });
    for (const sink of sinks) sink.start(sinkCtx);
  }

  const win = opts.window;
  const fromNs = win?.from === undefined ? -Infinity : win.from * 1e9;
  const toNs = win?.to === undefined ? Infinity : win.to * 1e9;
  if (source.batches !== undefined) {
    for await (const batch of source.batches()) {
      // a text header's `cpus=N` is known once its first batch is parsed
      if (meta.declaredCpus !== undefined) model.declareCpus(meta.declaredCpus);
      if (win === undefined) consumeBatch(batch, stats, model);
      else consumeBatchWindow(batch, stats, model, fromNs, toNs);
    }
  } else {
    for await (const events of source.events()) {
      if (meta.declaredCpus !== undefined) model.declareCpus(meta.declaredCpus);
      if (win === undefined) consumeEvents(events, stats, model);
      else consumeEventsWindow(events, stats, model, fromNs, toNs);
    }
  }
  const endTs = Number.isFinite(stats.lastTs) ? stats.lastTs : 0;
  model.finish(endTs);
  accounting.series.touch(endTs);

  const cpus = Math.max(model.cpuCount, meta.declaredCpus ?? 0, stats.byCpu.length);
  const vocab = { csd: model.sawCsd, ipi: model.sawIpi, vectors: model.sawVectors };
  const observed = accounting.observedSection(cpus, vocab, model.unansweredCount(), mmLabel);

  const policies: Record<string, PolicyResult> = {};
  for (const { def, run, params } of runs) {
    const out = run.finish();
    // callbacks and IPIs outside any request the trace shows are carried over unchanged
    out.shootdowns += model.unattachedCallbacks;
    out.ipis += countsIpis(out.unit) ? model.unattachedIpis : 0;
    if (model.unattachedCallbacks + model.unattachedIpis > 0) {
      out.notes.push(`${model.unattachedCallbacks} remote callbacks and ${model.unattachedIpis} TLB IPIs belong to no request visible in the trace (queued before it started or lost); counted unchanged`);
    }
    const pct = (avoided: number, base: number) => (base > 0 ? Math.round((avoided / base) * 10000) / 100 : null);
    const avoidedShootdowns = observed.remoteShootdowns.total - out.shootdowns;
    const avoidedIpis = observed.ipis.tlb - out.ipis;
    policies[def.name] = {
      name: def.name,
      title: def.title,
      risk: def.risk,
      riskReason: def.riskReason,
      requests: out.requests,
      shootdowns: out.shootdowns,
      ipis: out.ipis,
      avoidedShootdowns,
      avoidedIpis,
      avoidedShootdownsPct: pct(avoidedShootdowns, observed.remoteShootdowns.total),
      avoidedIpisPct: pct(avoidedIpis, observed.ipis.tlb),
      rangedToFull: out.rangedToFull,
      fullFlushesAdded: out.fullFlushesAdded,
      deferralDelayUs: out.deferralDelayUs ? out.deferralDelayUs.toJSON() : null,
      cpuTimeSavedUs: Math.round(out.cpuTimeSavedUs * 1000) / 1000,
      ipiUnit: out.unit,
      remoteFlushes: {
        requests: out.remote.requests,
        cpus: out.remote.cpus,
        avoidedRequests: out.remote.baseRequests - out.remote.requests,
        avoidedCpus: out.remote.baseCpus - out.remote.cpus,
      },
      extra: out.extra,
      notes: out.notes,
      params,
      validation: validationOf(def.name),
      ...(out.byCause !== undefined ? { byCause: out.byCause } : {}),
    };
  }

  const seriesRows = accounting.series.rowsOut();
  const perCpu: Summary['series']['perCpu'] = [];
  const policySeries: Summary['series']['policies'] = [];
  for (const [row, list] of seriesRows) {
    if (row.startsWith('cpu')) {
      const cpu = Number(row.slice(3));
      for (const r of list) if (r.shootdowns > 0) perCpu.push({ t: r.t, cpu, shootdowns: r.shootdowns });
    } else if (row.startsWith('policy:')) {
      const policy = row.slice(7);
      for (const r of list) policySeries.push({ t: r.t, policy, shootdowns: r.shootdowns, ipis: r.ipis });
    }
  }
  const observedSeries = (seriesRows.get('observed') ?? []).map((r) => ({ t: r.t, requests: r.requests, shootdowns: r.shootdowns, ipis: r.ipis, wasted: r.wasted }));

  const summary: Summary = {
    schema: SUMMARY_SCHEMA,
    tool: { name: 'tlbtrace', version: VERSION },
    input: { ...inputSection(meta, stats, cpus, diag, vocab, model.sawReason5), ...(win === undefined ? {} : { window: { from: win.from ?? null, to: win.to ?? null } }) },
    observed,
    model: {
      fidelity: accounting.fidelity(model.sawReason5, accounting.mechanismKind(model.sawCsd) === 'hypercall'),
      mms: model.tasks.mmCount,
      generationsAreEstimates: true,
      attribution: model.tasks.tgidKnown ? 'tgid' : 'inferred-from-pid',
      pidsReused: model.tasks.pidsReused,
      forksSharingMm: model.tasks.forksSharingMm,
    },
    policies,
    costModel: cost,
    series: { bucketSec: accounting.series.bucketSec, observed: observedSeries, perCpu, policies: policySeries },
    blindSpots: blindSpots(vocab, meta, model.tasks.pidsReused),
  };
  const missing = tlbEventsMissing(summary.input.eventsByType);
  summary.input.tlbEventsMissing = missing;
  const line = missingTlbEventsLine(summary.input.eventsByType, missing);
  if (line !== null) summary.blindSpots.unshift(line);
  if (counters !== undefined) summary.crossCheck = crossCheck(summary, counters);
  for (const sink of sinks) await sink.finish(summary);
  return summary;
}

function resolveParams(def: PolicyDefinition, given: Record<string, ParamValue>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const p of def.params) {
    const v = given[`${def.name}.${p.key}`] ?? given[p.key];
    out[p.key] = v === undefined ? p.default : coerce(v, p.default);
  }
  return out;
}

function coerce(v: ParamValue, like: ParamValue): ParamValue {
  if (typeof like === 'number') {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UnknownPolicyError(`parameter value '${String(v)}' is not a number`);
    return n;
  }
  if (typeof like === 'boolean') return v === true || v === 'true' || v === '1';
  return String(v);
}

const sec = (ns: number) => Math.round(ns / 1000) / 1e6;

function inputSection(
  meta: TraceMeta,
  stats: InputStats,
  cpus: number,
  diag: Diagnostics,
  vocab: { csd: boolean; ipi: boolean; vectors: boolean },
  reason5: boolean,
): Summary['input'] {
  const perCpu: Summary['input']['lost']['perCpu'] = [];
  const lossy = meta.entriesInBuffer !== undefined && meta.entriesWritten !== undefined && meta.entriesInBuffer < meta.entriesWritten;
  const anyMarkers = stats.lostMarkersCpu.some((n) => (n ?? 0) > 0);
  for (let i = 0; i < cpus; i++) {
    const f = stats.firstTsCpu[i];
    const first = f === undefined || f !== f ? undefined : f;
    // A CPU whose ring buffer overwrote its oldest events starts later than the others: with a
    // lossy header, the CPU(s) starting last are the cut ones.
    const historyCut =
      (stats.lostMarkersCpu[i] ?? 0) > 0 ||
      (lossy && first !== undefined && first - stats.firstTs > 1_000_000);
    perCpu.push({
      cpu: i,
      events: stats.byCpu[i] ?? 0,
      lostEvents: stats.lostCpu[i] ?? 0,
      lostMarkers: stats.lostMarkersCpu[i] ?? 0,
      firstTs: first === undefined ? null : sec(first),
      lastTs: first === undefined ? null : sec(stats.lastTsCpu[i]!),
      historyCut,
    });
  }
  const cut = perCpu.filter((c) => c.historyCut);
  const any = lossy || anyMarkers || cut.length > 0;
  let note: string | null = null;
  if (any) {
    const parts: string[] = [];
    if (lossy) parts.push(`ring buffer overwrote ${meta.entriesWritten! - meta.entriesInBuffer!} events (entries-in-buffer/entries-written ${meta.entriesInBuffer}/${meta.entriesWritten})`);
    for (const c of cut) parts.push(`CPU ${c.cpu} history starts at ${c.firstTs}s${c.lostMarkers ? ` (${c.lostMarkers} lost-event markers)` : ''}; counts before that are unknown, not zero`);
    note = parts.join('; ');
  }
  const byType = Object.fromEntries([...stats.byType.entries()].sort((a, b) => a[0].localeCompare(b[0])));
  const byCpu: Record<string, number> = {};
  for (let i = 0; i < cpus; i++) byCpu[String(i)] = stats.byCpu[i] ?? 0;
  return {
    files: meta.files,
    format: meta.format,
    events: stats.events,
    eventsByType: byType,
    eventsByCpu: byCpu,
    cpus,
    declaredCpus: meta.declaredCpus ?? null,
    firstTs: Number.isFinite(stats.firstTs) ? sec(stats.firstTs) : null,
    lastTs: Number.isFinite(stats.lastTs) ? sec(stats.lastTs) : null,
    durationSec: Number.isFinite(stats.firstTs) ? sec(stats.lastTs - stats.firstTs) : 0,
    tgidKnown: meta.tgidKnown,
    vocabulary: { csd: vocab.csd, ipi: vocab.ipi, reason5, callFunctionVectors: vocab.vectors },
    lost: {
      any,
      entriesInBuffer: meta.entriesInBuffer ?? null,
      entriesWritten: meta.entriesWritten ?? null,
      perCpu,
      note,
    },
    truncated: meta.truncated,
    warnings: { total: diag.total, byCode: diag.byCode(), examples: diag.examples },
  };
}

function blindSpots(vocab: { csd: boolean; ipi: boolean; vectors: boolean }, meta: TraceMeta, pidsReused: number): string[] {
  const out = [
    'INVLPGB broadcast flushes and Hyper-V/Xen paravirtual flushes emit no IPI events; KVM pv flush skips preempted vCPUs but still logs reason 4.',
    'Generation increments without events (batched reclaim pages, flushes of an mm loaded nowhere) are invisible: generations are lower bounds.',
    'Lockless page-table walkers are not traced: table-sync bounds are bounds.',
    'The trace does not show when PTEs changed; generation-based savings are upper bounds.',
    'Prior protections are known only from mprotect calls seen in the trace (no mmap history).',
  ];
  if (!vocab.csd) out.push('No csd_* events (kernel < 6.5 or not enabled): callbacks that did nothing left no event, so remote shootdowns are a lower bound.');
  if (!vocab.ipi) out.push('No ipi_send_* events (kernel < 6.4 or not enabled): IPIs are counted from call_function*_entry vectors on the receivers, where enabled.');
  if (!meta.tgidKnown) out.push('No TGID column: processes (mms) are inferred from pids and context-switch evidence.');
  // raw ftrace prints the TGID column when the trace is read, from the saved pid -> tgid map
  // (kernel/trace/trace_output.c trace_print_context(): trace_find_tgid(entry->pid))
  if (pidsReused > 0 && meta.tgidKnown && meta.format === 'ftrace') {
    out.push(`${pidsReused} fork${pidsReused === 1 ? '' : 's'} reused a pid seen earlier in the trace: the TGID column shows each pid's tgid at the time the trace was read, so earlier tasks with a reused pid may be attributed to the wrong process (mm).`);
  }
  return out;
}

// The validation harness: replay each policy on its experiment's baseline capture, read what the
// kernel that implements the policy really did on the same workload, and compare the two per unit
// of work, for every trace format the captures were saved in (raw ftrace, trace-cmd report text,
// trace.dat). The baseline `observed` replay is checked the same way against the capture's own
// /proc/interrupts deltas (truth.json).
//
// Every capture is analyzed once per format with every policy; experiments share those runs.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeTrace } from '../pipeline/analyze.js';
import type { Summary } from '../summary/schema.js';
import { EXPERIMENTS, OBSERVED_CHECK, type Experiment } from './experiments.js';
import { unitOf, viewsOf, type WorkView } from './units.js';

/** the files of one recording, and the name a table gives each */
export const FORMATS = [
  { file: 'ftrace.txt.gz', name: 'ftrace' },
  { file: 'trace-cmd-report.txt.gz', name: 'trace-cmd' },
  { file: 'trace.dat', name: 'trace.dat' },
] as const;
export type FormatName = (typeof FORMATS)[number]['name'];

export interface Counts {
  shootdowns: number;
  /** TLB IPIs; null when the real side has no count of them (/proc/interrupts has none) */
  ipis: number | null;
}

export interface FormatResult {
  format: FormatName;
  /** the policy replayed on the baseline capture */
  estimate: Counts;
  /** what the real kernel did: its capture's observed counts (or /proc/interrupts for `observed`) */
  real: Counts;
  /** the same per unit of work */
  estimatePerUnit: Counts;
  realPerUnit: Counts;
  /** estimate / real per unit of work (null: the real count is 0 or unknown) */
  error: { shootdowns: number | null; ipis: number | null };
}

export interface ExperimentResult {
  experiment: Experiment;
  /** which flushes are compared: 'all flushes', or those of the work's own calls (units.ts) */
  view: string;
  unit: string;
  baselineUnits: number;
  realUnits: number;
  /** what the baseline kernel did per unit of work (its observed counts, first format read) */
  baselinePerUnit: Counts | null;
  formats: FormatResult[];
  /** why nothing was compared (a capture is absent) */
  skipped: string | null;
}

interface Truth {
  workloadResult?: Record<string, unknown> | null;
  recording?: { tlbIrqDeltaPerCpu?: number[] };
  kernel?: string;
}

/** `until`: analyze only up to this trace-clock time (seconds) */
type Analyze = (path: string, params?: Readonly<Record<string, string | number>>, until?: number) => Promise<Summary>;

export interface ValidateOptions {
  /** directories holding the captures (the first that has a capture wins) */
  roots: string[];
  /** only experiments of these policies (default: all) */
  policies?: string[];
  /** called before each trace is analyzed */
  progress?: (what: string) => void;
}

/** Where a capture lives: the first root that has its truth.json. */
export function findCapture(roots: string[], capture: string): string | null {
  for (const r of roots) if (existsSync(join(r, capture, 'truth.json'))) return join(r, capture);
  return null;
}

function readTruth(dir: string): Truth {
  return JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as Truth;
}

const perUnit = (c: Counts, units: number): Counts => ({ shootdowns: c.shootdowns / units, ipis: c.ipis === null ? null : c.ipis / units });
const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);

export async function runValidation(opts: ValidateOptions): Promise<ExperimentResult[]> {
  const cache = new Map<string, Promise<Summary>>();
  const analyze: Analyze = (path, params, until) => {
    const key = `${path} ${JSON.stringify(params ?? {})} ${until ?? ''}`;
    let p = cache.get(key);
    if (p === undefined) {
      const what = [...Object.entries(params ?? {}).map(([k, v]) => `${k}=${v}`), ...(until === undefined ? [] : [`up to ${until} s`])];
      opts.progress?.(what.length === 0 ? path : `${path} (${what.join(', ')})`);
      p = analyzeTrace([path], { ingestThread: 'main', ...(params !== undefined ? { params } : {}), ...(until !== undefined ? { window: { to: until } } : {}) });
      cache.set(key, p);
    }
    return p;
  };
  const wanted = (policy: string) => opts.policies === undefined || opts.policies.includes(policy);

  const results: ExperimentResult[] = [];
  for (const ex of EXPERIMENTS) {
    if (!wanted(ex.policy)) continue;
    for (const view of viewsOf(ex.workload)) {
      // a view whose unit does not compare the kernels is shown as a reference, not counted
      const exv = view.reference !== undefined && ex.reference === undefined ? { ...ex, reference: view.reference } : ex;
      const r = await runExperiment(exv, view, opts.roots, analyze);
      if (r !== null) results.push(r);
    }
  }
  if (wanted(OBSERVED_CHECK)) {
    // the baseline replay against /proc/interrupts, on every capture the experiments read
    const seen = new Set<string>();
    for (const ex of EXPERIMENTS) {
      for (const cap of [ex.baseline, ex.real]) {
        if (seen.has(cap)) continue;
        seen.add(cap);
        results.push(await runObservedCheck(cap, ex.workload, opts.roots, analyze));
      }
    }
  }
  return results;
}

/** shootdowns and TLB IPIs of the flushes `causes` names (null: all) in rows of { cause, shootdowns, ipis } */
function ofCauses(rows: ReadonlyArray<{ cause: string; shootdowns: number; ipis: number }> | undefined, causes: readonly string[] | null, all: Counts): Counts {
  if (causes === null) return all;
  const out: Counts = { shootdowns: 0, ipis: 0 };
  for (const r of rows ?? []) {
    if (!causes.includes(r.cause)) continue;
    out.shootdowns += r.shootdowns;
    out.ipis = out.ipis! + r.ipis;
  }
  return out;
}

/** null: an optional view the captures cannot give (left out of the table, not listed as skipped) */
async function runExperiment(ex: Experiment, view: WorkView, roots: string[], analyze: Analyze): Promise<ExperimentResult | null> {
  const base = findCapture(roots, ex.baseline);
  const real = findCapture(roots, ex.real);
  const out: ExperimentResult = { experiment: ex, view: view.name, unit: view.label, baselineUnits: 0, realUnits: 0, baselinePerUnit: null, formats: [], skipped: null };
  if (base === null || real === null) {
    out.skipped = `capture ${base === null ? ex.baseline : ex.real} not found under ${roots.join(', ')}`;
    return out;
  }
  const baseResult = readTruth(base).workloadResult;
  const realResult = readTruth(real).workloadResult;
  if (!baseResult || !realResult) {
    out.skipped = `no workloadResult in ${!baseResult ? ex.baseline : ex.real}/truth.json`;
    return out;
  }
  out.baselineUnits = await view.count(base, baseResult);
  out.realUnits = await view.count(real, realResult);
  // a view of part of each run (the readers' steady state) analyzes that part only
  const baseUntil = view.until === undefined ? undefined : ((await view.until(base)) ?? undefined);
  const realUntil = view.until === undefined ? undefined : ((await view.until(real)) ?? undefined);
  if (!(out.baselineUnits > 0) || !(out.realUnits > 0)) {
    if (view.optional) return null;
    out.skipped = `no ${view.label} in ${!(out.baselineUnits > 0) ? ex.baseline : ex.real}`;
    return out;
  }
  for (const f of FORMATS) {
    const bp = join(base, f.file);
    const rp = join(real, f.file);
    if (!existsSync(bp) || !existsSync(rp)) continue;
    const b = await analyze(bp, ex.params, baseUntil);
    const r = await analyze(rp, undefined, realUntil);
    const p = b.policies[ex.policy];
    if (p === undefined) throw new Error(`policy '${ex.policy}' was not replayed on ${bp}`);
    const estimate = ofCauses(p.byCause, view.causes, { shootdowns: p.shootdowns, ipis: p.ipis });
    // per cause, the real side as the `observed` replay counts it (observed.byCause counts table-sync
    // callbacks as shootdowns; policies count flush callbacks only)
    const realCounts = ofCauses(r.policies[OBSERVED_CHECK]?.byCause, view.causes, { shootdowns: r.observed.remoteShootdowns.total, ipis: r.observed.ipis.tlb });
    if (out.baselinePerUnit === null) {
      const baseCounts = ofCauses(b.policies[OBSERVED_CHECK]?.byCause, view.causes, { shootdowns: b.observed.remoteShootdowns.total, ipis: b.observed.ipis.tlb });
      out.baselinePerUnit = perUnit(baseCounts, out.baselineUnits);
    }
    out.formats.push(compare(f.name, estimate, realCounts, out.baselineUnits, out.realUnits));
  }
  if (out.formats.length === 0) out.skipped = `no trace format present in both ${ex.baseline} and ${ex.real}`;
  return out;
}

/** The observed replay of one capture against its /proc/interrupts "TLB shootdowns" deltas. */
async function runObservedCheck(capture: string, workload: string, roots: string[], analyze: Analyze): Promise<ExperimentResult> {
  const unit = unitOf(workload);
  const experiment: Experiment = {
    id: `observed: ${capture} vs /proc/interrupts`,
    policy: OBSERVED_CHECK,
    baseline: capture,
    real: `${capture} (/proc/interrupts)`,
    workload,
    change: 'none: the traced kernel itself, whose flush callbacks /proc/interrupts counts',
  };
  const out: ExperimentResult = { experiment, view: 'all flushes', unit: unit.label, baselineUnits: 0, realUnits: 0, baselinePerUnit: null, formats: [], skipped: null };
  const dir = findCapture(roots, capture);
  if (dir === null) {
    out.skipped = `capture ${capture} not found under ${roots.join(', ')}`;
    return out;
  }
  const truth = readTruth(dir);
  const irq = truth.recording?.tlbIrqDeltaPerCpu;
  if (!truth.workloadResult || irq === undefined) {
    out.skipped = `no workloadResult or tlbIrqDeltaPerCpu in ${capture}/truth.json`;
    return out;
  }
  out.baselineUnits = out.realUnits = unit.count(truth.workloadResult);
  const realCounts: Counts = { shootdowns: irq.reduce((a, b) => a + b, 0), ipis: null };
  for (const f of FORMATS) {
    const path = join(dir, f.file);
    if (!existsSync(path)) continue;
    const s = await analyze(path);
    const p = s.policies[OBSERVED_CHECK]!;
    if (out.baselinePerUnit === null) out.baselinePerUnit = perUnit({ shootdowns: s.observed.remoteShootdowns.total, ipis: s.observed.ipis.tlb }, out.baselineUnits);
    out.formats.push(compare(f.name, { shootdowns: p.shootdowns, ipis: p.ipis }, realCounts, out.baselineUnits, out.realUnits));
  }
  return out;
}

function compare(format: FormatName, estimate: Counts, real: Counts, baseUnits: number, realUnits: number): FormatResult {
  const e = perUnit(estimate, baseUnits);
  const r = perUnit(real, realUnits);
  return { format, estimate, real, estimatePerUnit: e, realPerUnit: r, error: { shootdowns: ratio(e.shootdowns, r.shootdowns), ipis: ratio(e.ipis, r.ipis) } };
}

/** The captures with MADV_COLLAPSE's table-free syncs, for what the targeted table-sync rule saves. */
export const TABLE_SYNC_CAPTURES = [
  'pvm-6.18-2cpu/collapse',
  'qemu-6.1-8cpu/collapse',
  'qemu-6.12-8cpu/collapse',
  'counterfactual-6.12-8cpu/stock/collapse',
  'counterfactual-6.12-8cpu/targeted/collapse',
  'qemu-6.12-16cpu/collapse',
] as const;

export interface TableSyncResult {
  capture: string;
  cpus: number;
  /** workloadResult.collapsed, or null when the capture has no workloadResult */
  collapses: number | null;
  /** tlb_remove_table_sync_one() calls seen (csd vocabulary: 6.5+; none visible before) */
  syncs: number;
  /** their callbacks on other CPUs (tlb_remove_table_smp_sync runs) */
  syncCallbacks: number;
  /** syncs the targeted rule drops (right after a flush of the same mm) and the callbacks it keeps (upper bound) */
  dropped: number;
  keptCallbacksUpper: number;
  /** whether the kernel's vocabulary shows the syncs at all (csd_* events, 6.5+) */
  visible: boolean;
}

/** What the targeted policy's table-sync rule does on each collapse capture (raw ftrace). */
export async function runTableSync(opts: ValidateOptions): Promise<TableSyncResult[]> {
  const out: TableSyncResult[] = [];
  for (const capture of TABLE_SYNC_CAPTURES) {
    const dir = findCapture(opts.roots, capture);
    if (dir === null) continue;
    const path = join(dir, 'ftrace.txt.gz');
    opts.progress?.(path);
    const s = await analyzeTrace([path], { ingestThread: 'main', policies: ['targeted'] });
    const e = s.policies.targeted!.extra;
    const truth = readTruth(dir);
    const collapsed = truth.workloadResult?.collapsed;
    out.push({
      capture,
      cpus: s.input.cpus,
      collapses: typeof collapsed === 'number' ? collapsed : null,
      syncs: Number(e.tableSyncRequests),
      syncCallbacks: Number(e.tableSyncCallbacksObserved),
      dropped: Number(e.tableSyncDropped),
      keptCallbacksUpper: Number(e.tableSyncCallbacksUpper),
      visible: s.input.vocabulary.csd,
    });
  }
  return out;
}

// `export --parquet DIR` / `analyze --parquet DIR`: the model's event stream as Parquet tables
// (tables.ts), one file per table for the capture, written as the stream goes (parquet.ts). The
// small tables (per-second series, policies, summary) are aggregated with arquero at the end.
//
// Nothing is visible in DIR until the capture is complete: the files are written under temporary
// names in DIR/.tlbtrace-tmp-*/ and renamed into their partitions by finish(). A capture already
// in DIR is never replaced: that is an error naming the partition.

import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ModelEvent, FlushRequest, SwitchEvent } from '../model/types.js';
import type { EventSink, SinkContext } from '../pipeline/sink.js';
import type { Summary } from '../summary/schema.js';
import { UsageError } from '../cli/errors.js';
import { captureIdentity, partitionDir, type CaptureId } from './dataset.js';
import { loadParquetWriter, ParquetTableWriter, PARQUET_SCHEMA_VERSION, type TableSpec } from './parquet.js';
import { CALLBACKS_TABLE, POLICIES_TABLE, requestsTable, SERIES_MEASURES, SERIES_TABLE, SUMMARY_TABLE, SWITCHES_TABLE } from './tables.js';
import { MmNames, verdict, WASTED_OUTCOMES } from './facts.js';
import { SeriesRollup } from './series.js';

export interface ParquetExportOptions {
  /** dataset root */
  dir: string;
  /** the inputs, for the capture's default identity */
  inputs: readonly string[];
  /** identity given on the command line */
  id?: Partial<CaptureId>;
}

export const TABLE_NAMES = ['requests', 'callbacks', 'switches', 'series', 'policies', 'summary'] as const;

/** Where each table of a capture lands, and whether one of them is already there. */
export function capturePaths(dir: string, id: CaptureId): Record<(typeof TABLE_NAMES)[number], string> {
  const out = {} as Record<(typeof TABLE_NAMES)[number], string>;
  for (const t of TABLE_NAMES) out[t] = join(partitionDir(dir, t, id), 'data.parquet');
  return out;
}

function refuseExisting(dir: string, id: CaptureId): void {
  for (const [table, path] of Object.entries(capturePaths(dir, id))) {
    if (existsSync(path)) {
      throw new UsageError(`${path} exists: capture '${id.capture}' of host '${id.host}', kernel '${id.kernel}' is already in ${dir} (table ${table}); remove it or choose another --capture`);
    }
  }
}

/** Checks what can be checked before reading (the directory, a capture named on the command line). */
export function checkParquetTarget(opts: ParquetExportOptions): void {
  const st = existsSync(opts.dir) ? statSync(opts.dir) : null;
  if (st !== null && !st.isDirectory()) throw new UsageError(`--parquet ${opts.dir}: not a directory`);
  if (opts.id?.kernel !== undefined || opts.inputs.every((f) => !/\.dat(\.gz|\.zst)?$/.test(f))) {
    // the identity does not depend on a trace.dat header: known now
    refuseExisting(opts.dir, captureIdentity(opts.inputs, opts.id ?? {}, undefined));
  }
}

export async function createParquetSink(opts: ParquetExportOptions): Promise<ParquetSink> {
  await loadParquetWriter();
  const aq = await import('arquero');
  return new ParquetSink(opts, aq);
}

type Arquero = typeof import('arquero');

export class ParquetSink implements EventSink {
  private ctx!: SinkContext;
  private tmpDir = '';
  private requests!: ParquetTableWriter;
  private callbacks!: ParquetTableWriter;
  private switches!: ParquetTableWriter;
  private names!: MmNames;
  private series!: SeriesRollup;
  private verdictNames: string[] = [];
  /** the capture's identity and paths, known at finish() */
  id: CaptureId | null = null;
  rows: Record<string, number> = {};

  constructor(
    private readonly opts: ParquetExportOptions,
    private readonly aq: Arquero,
  ) {}

  start(ctx: SinkContext): void {
    this.ctx = ctx;
    mkdirSync(this.opts.dir, { recursive: true });
    this.tmpDir = mkdtempSync(join(this.opts.dir, '.tlbtrace-tmp-'));
    const open = (spec: TableSpec) => new ParquetTableWriter(spec, join(this.tmpDir, `${spec.name}.parquet`));
    this.requests = open(requestsTable(ctx.policies));
    this.callbacks = open(CALLBACKS_TABLE);
    this.switches = open(SWITCHES_TABLE);
    this.names = new MmNames(ctx);
    this.series = new SeriesRollup(this.aq, () => ctx.firstTs);
    this.verdictNames = [...ctx.policies];
  }

  onEvent(ev: ModelEvent): void {
    if (ev.type === 'request') this.onRequest(ev.req);
    else if (ev.type === 'switch') this.onSwitch(ev);
  }

  private onRequest(req: FlushRequest): void {
    const mmId = req.mm === 0 ? null : req.mm;
    const mm = mmId === null ? null : this.names.name(req.mm);
    let handled = 0;
    let shootdowns = 0;
    let wasted = 0;
    let unanswered = 0;
    let last = -1;
    for (const t of req.targets) {
      // a 'hypercall' target was flushed by the hypervisor: no callback ran (src/model/delivery.ts)
      const ran = t.outcome !== 'unanswered' && t.outcome !== 'hypercall';
      const shootdown = ran && t.outcome !== 'tableSync';
      const waste = WASTED_OUTCOMES.has(t.outcome);
      if (t.handlerTs !== null) {
        handled++;
        if (t.handlerTs > last) last = t.handlerTs;
      }
      if (t.outcome === 'unanswered') unanswered++;
      if (shootdown) shootdowns++;
      if (waste) wasted++;
      this.callbacks.add([
        PARQUET_SCHEMA_VERSION, req.id, t.cpu, req.cpu, mmId, mm, req.kind, req.cause, req.ts, t.queuedTs,
        t.handlerTs, t.handlerTs === null ? null : t.handlerTs - req.ts, t.outcome, t.pages, t.ipi, shootdown, waste,
      ]);
      if (t.handlerTs !== null && ran) {
        if (shootdown) this.series.add(t.handlerTs, t.cpu, 'shootdowns', 1);
        if (shootdown && t.ipi) this.series.add(t.handlerTs, t.cpu, 'ipis', 1);
        if (waste) this.series.add(t.handlerTs, t.cpu, 'wasted', 1);
      }
    }
    if (req.kind !== 'tableSync') this.series.add(req.ts, req.cpu, 'requests', 1);
    if (req.ipis > 0) this.series.add(req.ts, req.cpu, 'ipis_sent', req.ipis);
    const row: unknown[] = [
      PARQUET_SCHEMA_VERSION, req.id, req.ts, req.closedTs, req.cpu, req.pid, req.comm, mmId, mm, req.kind, req.cause,
      req.pages, req.gen, req.local, req.localPages, req.targets.length, handled, shootdowns, wasted, unanswered,
      req.ipis, last < 0 ? null : last - req.ts, req.freedTables, req.trim, req.delivery,
    ];
    const charged = this.ctx.requestVerdicts;
    for (let i = 0; i < this.verdictNames.length; i++) row.push(charged[i]!, verdict(shootdowns, charged[i]!));
    this.requests.add(row);
  }

  private onSwitch(e: SwitchEvent): void {
    this.series.add(e.ts, e.cpu, 'switches', 1);
    this.switches.add([
      PARQUET_SCHEMA_VERSION, e.ts, e.cpu, e.pid, this.ctx.taskComm(e.pid) ?? null, e.fromMm, this.names.name(e.fromMm),
      e.toMm, this.names.name(e.toMm), e.toKernelThread, e.wasLazy, e.observedFlush,
    ]);
  }

  async finish(summary: Summary): Promise<void> {
    const firstNs = Number.isFinite(this.ctx.firstTs) ? this.ctx.firstTs : null;
    const series = new ParquetTableWriter(SERIES_TABLE, join(this.tmpDir, 'series.parquet'));
    const seriesTable = this.series.table();
    series.addColumns([
      Array.from({ length: seriesTable.numRows() }, () => PARQUET_SCHEMA_VERSION),
      seriesTable.array('second'),
      seriesTable.array('start_ns'),
      seriesTable.array('cpu'),
      ...SERIES_MEASURES.map((m) => seriesTable.array(m)),
    ] as ArrayLike<unknown>[]);

    const policies = new ParquetTableWriter(POLICIES_TABLE, join(this.tmpDir, 'policies.parquet'));
    for (const p of Object.values(summary.policies)) {
      policies.add([
        PARQUET_SCHEMA_VERSION, p.name, p.title, p.risk, p.requests, p.shootdowns, p.ipis, p.avoidedShootdowns, p.avoidedIpis,
        p.avoidedShootdownsPct, p.avoidedIpisPct, p.rangedToFull, p.fullFlushesAdded, p.cpuTimeSavedUs,
        p.deferralDelayUs?.p50 ?? null, p.deferralDelayUs?.p99 ?? null, JSON.stringify(p.params),
      ]);
    }

    this.id = captureIdentity(this.opts.inputs, this.opts.id ?? {}, this.ctx.meta.kernel);
    const s = summary;
    const summaryTable = new ParquetTableWriter(SUMMARY_TABLE, join(this.tmpDir, 'summary.parquet'));
    summaryTable.add([
      PARQUET_SCHEMA_VERSION, this.id.workload, s.tool.version, s.input.format, s.input.files.join(','), s.input.events, s.input.cpus,
      s.input.durationSec, firstNs, s.observed.requests, s.observed.requestsByKind.remote,
      s.observed.requestsByKind.localOnly, s.observed.requestsByKind.batched, s.observed.phantomRequests,
      s.observed.remoteShootdowns.total, s.observed.remoteShootdowns.exact, s.observed.remoteShootdowns.pairing, s.observed.ipis.total,
      s.observed.ipis.tlb, s.observed.ipis.callbacksByClass.tlb_remove_table_smp_sync ?? 0, s.observed.wasted.total,
      s.observed.remoteShootdowns.unansweredTargets, s.observed.remoteShootdowns.unpairedHandlers, s.observed.latencyUs.p50,
      s.observed.latencyUs.p99, s.model.fidelity.targets, s.model.fidelity.switchFlush, s.model.mms, s.model.attribution,
      s.input.lost.any, s.input.truncated, s.input.warnings.total, JSON.stringify(s),
    ]);

    const writers = [this.requests, this.callbacks, this.switches, series, policies, summaryTable];
    for (const w of writers) w.close();
    refuseExisting(this.opts.dir, this.id);
    const paths = capturePaths(this.opts.dir, this.id);
    for (const w of writers) {
      const path = paths[w.spec.name as (typeof TABLE_NAMES)[number]];
      mkdirSync(dirname(path), { recursive: true });
      w.commitTo(path);
      this.rows[w.spec.name] = w.rows;
    }
    rmSync(this.tmpDir, { recursive: true, force: true });
  }

  async abort(): Promise<void> {
    for (const w of [this.requests, this.callbacks, this.switches]) w?.abort();
    if (this.tmpDir !== '') rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

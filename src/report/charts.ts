// The report's charts: which ones, in what order, with what caption (buildCharts()), compiled
// from Vega-Lite to Vega lazily (vega-lite is big and only reports need it). The builders are in
// chart-specs.ts; the look and the size limits that keep every chart small (no spec over
// MAX_POINTS marks: a 40k-point line once made a 1 MB SVG) in chart-style.ts.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { Spec as VgSpec } from 'vega';
import type { Summary } from '../summary/schema.js';
import { ratesOverTimeSpec, avoidedByPolicySpec, cpuHeatmapSpec, fanoutSpec, latencySpec, wastedByKindSpec, topMmsSpec, causesSpec, fidelitySpec } from './chart-specs.js';
import { writeFileAtomic } from './write.js';

export { CONFIG, MAX_HEATMAP_CELLS, MAX_POINTS, timeGrid } from './chart-style.js';
export { ratesOverTimeSpec, avoidedByPolicySpec, cpuHeatmapSpec, fanoutSpec, latencySpec, wastedByKindSpec, topMmsSpec, causesSpec, fidelitySpec } from './chart-specs.js';

export const VEGA_LITE_SCHEMA_URL = 'https://vega.github.io/schema/vega-lite/v6.json';

/** In display order. */
export const CHART_NAMES = [
  'rates-over-time',
  'avoided-by-policy',
  'fidelity',
  'cpu-heatmap',
  'wasted-by-kind',
  'fanout',
  'latency',
  'top-mms',
  'causes',
] as const;
export type ChartName = (typeof CHART_NAMES)[number];

export interface Chart {
  name: ChartName;
  /** one or two sentences shown under the chart: what it shows and how to read it */
  caption: string;
  /** a full-width chart (time axis) rather than half-width */
  wide: boolean;
  spec: TopLevelSpec;
  /** why the chart has nothing to draw, if so (it is still emitted, empty) */
  empty: string | null;
}

// ---------------------------------------------------------------------------------------------

/** Every chart of the report, in display order. */
export function buildCharts(s: Summary): Chart[] {
  const seriesEmpty = s.series.observed.length === 0 ? 'no time series in the summary' : null;
  const anyPct = Object.values(s.policies).some((p) => p.avoidedShootdownsPct !== null || p.avoidedIpisPct !== null);
  const latencyEmpty = s.observed.latencyUs.histogram.some((b) => b.count > 0) ? null : 'no paired request/handler';
  const wide = true;
  return [
    {
      name: 'rates-over-time',
      wide,
      spec: ratesOverTimeSpec(s),
      empty: seriesEmpty,
      caption:
        'Remote shootdowns (flush callbacks run on another CPU) and hardware IPIs per second, observed and replayed under each policy. A dotted rule marks where a CPU with a cut history starts; before it the observed totals are missing that CPU.',
    },
    {
      name: 'avoided-by-policy',
      wide: false,
      spec: avoidedByPolicySpec(s),
      empty: anyPct ? null : 'no policy was replayed',
      caption: 'Share of observed shootdowns and IPIs each policy would avoid. Colour is the risk class: only green is safe on every architecture.',
    },
    {
      name: 'fidelity',
      wide: false,
      spec: fidelitySpec(s),
      empty: s.model.fidelity.targets === null && s.model.fidelity.switchFlush === null ? 'nothing was compared' : null,
      caption:
        'How often the replayed kernel model predicted the CPUs that got a flush IPI (vs csd_queue_cpu) and whether a switch-in flushed (vs reason 0 pages). Policy estimates are only as good as these.',
    },
    {
      name: 'cpu-heatmap',
      wide,
      spec: cpuHeatmapSpec(s),
      empty: s.series.perCpu.length === 0 ? 'no per-CPU series in the summary' : null,
      caption: 'Remote shootdowns each CPU received per second. Grey cells, if any: that CPU\'s ring buffer overwrote its oldest events, so its activity there is unknown.',
    },
    {
      name: 'wasted-by-kind',
      wide: false,
      spec: wastedByKindSpec(s),
      empty: s.observed.wasted.total === 0 ? 'no wasted callbacks' : null,
      caption: 'Remote callbacks that flushed nothing useful: the target no longer had the mm loaded, was already caught up, or ran a table-sync callback.',
    },
    {
      name: 'fanout',
      wide: false,
      spec: fanoutSpec(s),
      empty: s.observed.fanout.length === 0 ? 'no remote requests' : null,
      caption: 'Number of CPUs each remote flush request queued a callback for.',
    },
    {
      name: 'latency',
      wide: false,
      spec: latencySpec(s),
      empty: latencyEmpty,
      caption: 'Time from the initiator\'s tlb_flush reason 4 to the flush callback starting on the target; bucket labels are upper bounds.',
    },
    {
      name: 'top-mms',
      wide: false,
      spec: topMmsSpec(s),
      empty: s.observed.topMms.length === 0 ? 'no attributed address spaces' : null,
      caption: 'Address spaces whose flush requests caused the most remote shootdowns; red is the wasted part.',
    },
    {
      name: 'causes',
      wide: false,
      spec: causesSpec(s),
      empty: s.observed.byCause.length === 0 ? 'no causes attributed' : null,
      caption: 'What triggered the flush requests (syscall or kernel path), by remote shootdowns caused.',
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Compilation (lazy: vega-lite is big and only the report needs it)

export interface CompiledChart {
  spec: VgSpec;
  warnings: string[];
}

/** A vega/vega-lite logger that collects warnings instead of printing them. */
export function collectingLogger(warnings: string[]) {
  let level = 2;
  const logger = {
    level(l?: number): any {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: readonly unknown[]): any {
      warnings.push(`error: ${args.map(String).join(' ')}`);
      return logger;
    },
    warn(...args: readonly unknown[]): any {
      warnings.push(args.map(String).join(' '));
      return logger;
    },
    info(): any {
      return logger;
    },
    debug(): any {
      return logger;
    },
  };
  return logger;
}

/** Compile a Vega-Lite spec to Vega, without the `$schema` URL (the HTML must name no URL). */
export async function compileChart(spec: TopLevelSpec): Promise<CompiledChart> {
  const { compile } = await import('vega-lite');
  const warnings: string[] = [];
  // compile() passes data arrays through by reference and a vega View tags each row with a
  // Symbol id: clone so the builder's spec stays plain data
  const out = compile(structuredClone(spec), { logger: collectingLogger(warnings) }).spec;
  delete out.$schema;
  return { spec: out, warnings };
}

/** Write each chart's Vega-Lite spec to `dir/<name>.vl.json` (atomically). Returns the paths written. */
export async function writeVegaSpecs(s: Summary, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const chart of buildCharts(s)) {
    const path = join(dir, `${chart.name}.vl.json`);
    await writeFileAtomic(path, `${JSON.stringify({ $schema: VEGA_LITE_SCHEMA_URL, ...chart.spec }, null, 2)}\n`);
    written.push(path);
  }
  return written;
}

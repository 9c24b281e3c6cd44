import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import {
  CHART_NAMES,
  MAX_HEATMAP_CELLS,
  MAX_POINTS,
  buildCharts,
  collectingLogger,
  cpuHeatmapSpec,
  ratesOverTimeSpec,
  timeGrid,
  topMmsSpec,
  writeVegaSpecs,
} from '../../src/report/charts.js';
import { CONTROL_COMM, HOSTILE_COMM, sampleSummary } from './sample-summary.js';

/** Every `data.values` array anywhere in a spec. */
function allValues(spec: unknown): Record<string, unknown>[][] {
  const out: Record<string, unknown>[][] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) {
        if (k === 'data' && v && typeof v === 'object' && Array.isArray((v as { values?: unknown }).values)) out.push((v as { values: Record<string, unknown>[] }).values);
        walk(v);
      }
    }
  };
  walk(spec);
  return out;
}

/**
 * A readable normal form for snapshots: data arrays become their size, field names and first row;
 * everything else (marks, encodings, scales, titles) stays as is.
 */
function normalise(spec: unknown): unknown {
  return normaliseValue(JSON.parse(JSON.stringify(spec)));
}

function normaliseValue(spec: unknown): unknown {
  if (Array.isArray(spec)) return spec.map(normaliseValue);
  if (spec && typeof spec === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(spec)) {
      if (k === 'config') continue; // shared by every chart, snapshot once below
      if (k === 'data' && v && typeof v === 'object' && Array.isArray((v as { values?: unknown }).values)) {
        const values = (v as { values: Record<string, unknown>[] }).values;
        o[k] = { rows: values.length, fields: values.length ? Object.keys(values[0]!) : [], first: values[0] ?? null };
      } else o[k] = normaliseValue(v);
    }
    return o;
  }
  return spec;
}

describe('chart specs', () => {
  const s = sampleSummary();
  const charts = buildCharts(s);

  it('builds every named chart once, in order', () => {
    expect(charts.map((c) => c.name)).toEqual([...CHART_NAMES]);
    expect(charts.every((c) => c.empty === null)).toBe(true);
  });

  for (const name of CHART_NAMES) {
    it(`${name}: compiles with vega-lite without warnings and parses with vega`, async () => {
      const chart = charts.find((c) => c.name === name)!;
      const warnings: string[] = [];
      const vg = compile(structuredClone(chart.spec), { logger: collectingLogger(warnings) as never }).spec;
      expect(warnings).toEqual([]);
      const runtime = vega.parse(vg);
      expect(runtime).toBeTruthy();
      // and it renders headless with marks
      const view = new vega.View(runtime, { renderer: 'none', logger: collectingLogger(warnings) as never });
      const svg = await view.toSVG();
      view.finalize();
      expect(warnings).toEqual([]);
      expect(svg).toMatch(/class="mark-[a-z]+ role-mark/);
    });

    it(`${name}: normalised spec snapshot`, () => {
      const chart = charts.find((c) => c.name === name)!;
      expect(normalise(chart.spec)).toMatchSnapshot();
    });
  }

  it('shares one config', () => {
    expect((charts[0]!.spec as { config: unknown }).config).toMatchSnapshot();
  });

  it('rates: sums of the coarsened series equal the summary totals', () => {
    const values = allValues(ratesOverTimeSpec(s))[0]!;
    // the last row per (series, metric) repeats the final bucket to close the step line: skip it
    const end = Math.max(...values.map((v) => v['t'] as number));
    const sum = (series: string, metric: string) =>
      values.filter((v) => v['series'] === series && v['metric'] === metric && v['t'] !== end).reduce((a, v) => a + (v['count'] as number), 0);
    expect(sum('observed', 'shootdowns')).toBe(3900);
    expect(sum('observed', 'IPIs')).toBe(4300);
    expect(sum('p2-targeted-ipi', 'shootdowns')).toBe(2808);
    expect(sum('p4b-defer-running', 'IPIs')).toBe(1204);
    // rate = count / bucket width (0.25 s)
    const first = values.find((v) => v['series'] === 'observed' && v['metric'] === 'shootdowns' && v['t'] === 0)!;
    expect(first['rate']).toBeCloseTo((first['count'] as number) / 0.25, 3);
  });

  it('heatmap: a cut CPU shows "no history" cells before its first event, not zeros', () => {
    const values = allValues(cpuHeatmapSpec(s))[0]!;
    const cut = values.filter((v) => v['cut']);
    // CPU 1 starts at +0.6 s: buckets [0,0.25) and [0.25,0.5) are entirely before it
    expect(cut.map((v) => [v['cpu'], v['t']])).toEqual([
      [1, 0],
      [1, 0.25],
    ]);
    expect(cut.every((v) => v['shootdowns'] === null)).toBe(true);
    const cpu0 = values.filter((v) => v['cpu'] === 0).reduce((a, v) => a + (v['shootdowns'] as number), 0);
    expect(cpu0).toBe(1800);
  });

  it('top mms: labels carry the comm made visible, never raw control characters', () => {
    const labels = allValues(topMmsSpec(s))[0]!.map((v) => v['label'] as string);
    expect(labels).toContain(`${HOSTILE_COMM} [6001]`);
    expect(labels.some((l) => l.includes(CONTROL_COMM))).toBe(false);
    expect(labels).toContain('evil\\x1b[31mred\\x07 [6100]');
  });
});

describe('point budget', () => {
  it('coarsens a long, fine series to at most MAX_POINTS points per chart', () => {
    const s = sampleSummary();
    const n = 40_000;
    s.series.bucketSec = 0.001;
    s.input.durationSec = n * 0.001;
    s.series.observed = Array.from({ length: n }, (_, i) => ({ t: i * 0.001, requests: 1, shootdowns: 2, ipis: 3, wasted: 0 }));
    s.series.policies = Object.keys(s.policies).flatMap((policy) => Array.from({ length: n }, (_, i) => ({ t: i * 0.001, policy, shootdowns: 1, ipis: 1 })));
    s.series.perCpu = [0, 1].flatMap((cpu) => Array.from({ length: n }, (_, i) => ({ t: i * 0.001, cpu, shootdowns: 1 })));
    const rates = allValues(ratesOverTimeSpec(s))[0]!;
    expect(rates.length).toBeLessThanOrEqual(MAX_POINTS + 8 /* closing rows */);
    const total = rates.filter((v) => v['series'] === 'observed' && v['metric'] === 'shootdowns' && v['t'] !== 40).reduce((a, v) => a + (v['count'] as number), 0);
    expect(total).toBe(2 * n);
    const heat = allValues(cpuHeatmapSpec(s))[0]!;
    expect(heat.length).toBeLessThanOrEqual(MAX_HEATMAP_CELLS);
  });

  it('timeGrid merges whole buckets', () => {
    const g = timeGrid(0.1, [0, 0.1, 0.2, 0.9], 1, 4);
    expect(g.n).toBe(4);
    expect(g.width).toBeCloseTo(0.3);
    expect([0, 0.1, 0.2, 0.3, 0.9].map(g.index)).toEqual([0, 0, 0, 1, 3]);
  });
});

describe('writeVegaSpecs', () => {
  it('writes one .vl.json per chart, atomically (no temp files left), each with $schema', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'tlbtrace-vega-')), 'vega');
    const paths = await writeVegaSpecs(sampleSummary(), dir);
    expect(paths.map((p) => p.slice(dir.length + 1)).sort()).toEqual(CHART_NAMES.map((n) => `${n}.vl.json`).sort());
    expect((await readdir(dir)).sort()).toEqual(CHART_NAMES.map((n) => `${n}.vl.json`).sort());
    for (const p of paths) {
      const spec = JSON.parse(await readFile(p, 'utf8'));
      expect(spec.$schema).toMatch(/vega-lite\/v6\.json$/);
      const warnings: string[] = [];
      compile(spec, { logger: collectingLogger(warnings) as never });
      expect(warnings).toEqual([]);
    }
  });
});

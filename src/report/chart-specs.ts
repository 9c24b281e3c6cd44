// One Vega-Lite spec builder per chart of the report, each reading only the summary (already
// aggregated). Rates are counts per bucket / bucket width. A CPU whose ring buffer lost its
// oldest events (`historyCut`) is drawn as "no history" before its first event, never as zero
// (DOMAIN.md §8).

import type { TopLevelSpec } from 'vega-lite';
import type { Summary } from '../summary/schema.js';
import { MAX_POINTS, MAX_LINE_BUCKETS, MAX_HEATMAP_BUCKETS, MAX_HEATMAP_CELLS, TOP_N, WASTED_KIND_SHORT, WIDE_WIDTH, HALF_WIDTH, COLOR_USEFUL, COUNT_AXIS, COLOR_WASTED, COLOR_CUT, base, timeGrid, r3 } from './chart-style.js';
import { RISKS, RISK_COLORS, WASTED_KIND_LABELS, fmtInt, fmtPct, fmtShare, fmtUs, policiesInOrder, visible } from './format.js';

/** Shootdowns/s and IPIs/s over time: observed vs each policy. */
export function ratesOverTimeSpec(s: Summary): TopLevelSpec {
  const policies = policiesInOrder(s);
  const seriesNames = ['observed', ...policies.map((p) => p.name)];
  const nLines = seriesNames.length * 2;
  const ts = [...s.series.observed.map((r) => r.t), ...s.series.policies.map((r) => r.t)];
  const grid = timeGrid(s.series.bucketSec, ts, s.input.durationSec, Math.min(MAX_LINE_BUCKETS, Math.max(20, Math.floor(MAX_POINTS / nLines))));
  // [series][metric][bucket] counts, zero-filled: a bucket with no row had no events
  const acc = new Map<string, { shootdowns: Float64Array; ipis: Float64Array }>();
  for (const name of seriesNames) acc.set(name, { shootdowns: new Float64Array(grid.n), ipis: new Float64Array(grid.n) });
  for (const r of s.series.observed) {
    const a = acc.get('observed')!;
    const i = grid.index(r.t);
    if (i < grid.n) {
      a.shootdowns[i]! += r.shootdowns;
      a.ipis[i]! += r.ipis;
    }
  }
  for (const r of s.series.policies) {
    const a = acc.get(r.policy);
    const i = grid.index(r.t);
    if (!a || i >= grid.n) continue;
    a.shootdowns[i]! += r.shootdowns;
    a.ipis[i]! += r.ipis;
  }
  const values: { t: number; series: string; metric: string; rate: number; count: number }[] = [];
  for (const [series, a] of acc) {
    for (let i = 0; i < grid.n; i++) {
      values.push({ t: r3(i * grid.width), series, metric: 'shootdowns', rate: r3(a.shootdowns[i]! / grid.span(i)), count: a.shootdowns[i]! });
      values.push({ t: r3(i * grid.width), series, metric: 'IPIs', rate: r3(a.ipis[i]! / grid.span(i)), count: a.ipis[i]! });
    }
    // step-after draws each value from its bucket start to the next row: close the last bucket
    const last = grid.n - 1;
    values.push({ t: r3(grid.end), series, metric: 'shootdowns', rate: r3(a.shootdowns[last]! / grid.span(last)), count: 0 });
    values.push({ t: r3(grid.end), series, metric: 'IPIs', rate: r3(a.ipis[last]! / grid.span(last)), count: 0 });
  }
  const xScale = { domain: [0, r3(grid.end)], nice: false, zero: true };
  // where every CPU's history has begun: before it, the observed totals miss the cut CPUs' events
  const marks: { t: number; label: string }[] = [];
  const t0 = s.input.firstTs;
  if (t0 !== null) {
    for (const c of s.input.lost.perCpu) {
      if (c.historyCut && c.firstTs !== null) marks.push({ t: r3(c.firstTs - t0), label: `CPU ${c.cpu} history starts` });
    }
  }
  const color = {
    field: 'series',
    type: 'nominal' as const,
    title: null,
    sort: seriesNames,
    scale: { domain: seriesNames, range: ['#222222', '#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#bab0ac'] },
    legend: { orient: 'top' as const, direction: 'horizontal' as const, symbolType: 'stroke', columnPadding: 18 },
  };
  const panel = (metric: 'shootdowns' | 'IPIs', yTitle: string) => ({
    width: WIDE_WIDTH,
    height: 170,
    layer: [
      {
        transform: [{ filter: { field: 'metric', equal: metric } }],
        mark: { type: 'line' as const, interpolate: 'step-after' as const, strokeWidth: 1.5 },
        encoding: {
          x: { field: 't', type: 'quantitative' as const, title: `seconds since first event (bucket ${r3(grid.width)} s)`, scale: xScale },
          y: { field: 'rate', type: 'quantitative' as const, title: yTitle },
          color,
          strokeDash: { condition: { test: "datum.series === 'observed'", value: [1, 0] }, value: [5, 3] },
          tooltip: [
            { field: 'series', type: 'nominal' as const },
            { field: 't', type: 'quantitative' as const, title: 'bucket start (s)' },
            { field: 'rate', type: 'quantitative' as const, title: `${metric}/s`, format: ',.0f' },
          ],
        },
      },
      ...(marks.length
        ? [
            {
              data: { values: marks },
              mark: { type: 'rule' as const, color: '#888', strokeDash: [2, 2] },
              encoding: { x: { field: 't', type: 'quantitative' as const } },
            },
            {
              data: { values: marks },
              mark: { type: 'text' as const, align: 'left' as const, baseline: 'top' as const, dx: 3, y: 2, fontSize: 10, color: '#666' },
              encoding: { x: { field: 't', type: 'quantitative' as const }, text: { field: 'label' } },
            },
          ]
        : []),
    ],
  });
  return {
    ...base('Shootdowns and IPIs per second', 'observed (solid) vs the same trace replayed under each policy (dashed)'),
    data: { values },
    vconcat: [panel('shootdowns', 'remote shootdowns/s'), panel('IPIs', 'IPIs/s')],
  } as TopLevelSpec;
}

/** Avoided shootdowns and IPIs per policy (% of observed), coloured by risk class. */
export function avoidedByPolicySpec(s: Summary): TopLevelSpec {
  const policies = policiesInOrder(s);
  const values: Record<string, unknown>[] = [];
  for (const p of policies) {
    for (const [metric, pct, avoided] of [
      ['shootdowns', p.avoidedShootdownsPct, p.avoidedShootdowns],
      ['IPIs', p.avoidedIpisPct, p.avoidedIpis],
    ] as const) {
      values.push({
        policy: p.name,
        title: p.title,
        risk: p.risk,
        metric,
        pct: pct === null ? null : r3(pct),
        labelX: pct === null ? 0 : Math.max(0, r3(pct)),
        label: pct === null ? 'n/a' : fmtPct(pct),
        avoided,
      });
    }
  }
  const pcts = values.map((v) => v['pct']).filter((x): x is number => typeof x === 'number');
  const lo = Math.min(0, ...pcts);
  const y = { field: 'policy', type: 'nominal' as const, sort: policies.map((p) => p.name), title: null };
  return {
    ...base('Avoided by each policy', '% of observed (negative: the policy costs more than what happened)'),
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: ['shootdowns', 'IPIs'], header: { labelExpr: "'avoided ' + datum.value" } } },
    spec: {
      width: 170,
      height: { step: 22 },
      layer: [
        {
          transform: [{ filter: 'datum.pct !== null' }],
          mark: { type: 'bar' },
          encoding: {
            y,
            x: { field: 'pct', type: 'quantitative', title: '% of observed', scale: { domain: [lo, 100] } },
            color: {
              field: 'risk',
              type: 'nominal',
              title: 'risk',
              scale: { domain: [...RISKS], range: RISKS.map((r) => RISK_COLORS[r]) },
              legend: { orient: 'bottom', direction: 'horizontal' },
            },
            tooltip: [
              { field: 'title', type: 'nominal', title: 'policy' },
              { field: 'risk', type: 'nominal' },
              { field: 'avoided', type: 'quantitative', title: 'avoided', format: ',' },
              { field: 'label', type: 'nominal', title: '% of observed' },
            ],
          },
        },
        {
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
          encoding: { y, x: { field: 'labelX', type: 'quantitative' }, text: { field: 'label' } },
        },
      ],
    },
  } as TopLevelSpec;
}

/** Remote shootdowns received per CPU over time; "no history" before a cut CPU's first event. */
export function cpuHeatmapSpec(s: Summary): TopLevelSpec {
  const cpuSet = new Set<number>();
  for (let c = 0; c < s.input.cpus; c++) cpuSet.add(c);
  for (const r of s.series.perCpu) cpuSet.add(r.cpu);
  const cpus = [...cpuSet].sort((a, b) => a - b);
  const nCpus = Math.max(1, cpus.length);
  const grid = timeGrid(
    s.series.bucketSec,
    s.series.perCpu.map((r) => r.t),
    s.input.durationSec,
    Math.min(MAX_HEATMAP_BUCKETS, Math.max(4, Math.floor(MAX_HEATMAP_CELLS / nCpus))),
  );
  const counts = new Map<number, Float64Array>(cpus.map((c) => [c, new Float64Array(grid.n)]));
  for (const r of s.series.perCpu) {
    const i = grid.index(r.t);
    if (i < grid.n) counts.get(r.cpu)![i]! += r.shootdowns;
  }
  const t0 = s.input.firstTs;
  const historyStart = new Map<number, number>();
  for (const c of s.input.lost.perCpu) {
    if (c.historyCut && c.firstTs !== null && t0 !== null) historyStart.set(c.cpu, c.firstTs - t0);
  }
  const values: { cpu: number; t: number; t2: number; shootdowns: number | null; rate: number | null; cut: boolean }[] = [];
  for (const cpu of cpus) {
    const start = historyStart.get(cpu);
    const a = counts.get(cpu)!;
    for (let i = 0; i < grid.n; i++) {
      const t = i * grid.width;
      const cut = start !== undefined && t + grid.width <= start && a[i] === 0;
      values.push({ cpu, t: r3(t), t2: r3(t + grid.span(i)), shootdowns: cut ? null : a[i]!, rate: cut ? null : r3(a[i]! / grid.span(i)), cut });
    }
  }
  const x = {
    field: 't',
    type: 'quantitative' as const,
    title: `seconds since first event (bucket ${r3(grid.width)} s)`,
    scale: { domain: [0, r3(grid.end)], nice: false, zero: true },
  };
  const y = { field: 'cpu', type: 'ordinal' as const, title: 'CPU', sort: 'ascending' as const };
  const step = Math.max(3, Math.min(22, Math.floor(420 / nCpus)));
  return {
    ...base(
      'Remote shootdowns received per CPU',
      values.some((v) => v.cut) ? 'grey: no history (the ring buffer overwrote the oldest events), not zero' : 'per time bucket',
    ),
    data: { values },
    width: WIDE_WIDTH,
    height: { step },
    layer: [
      {
        transform: [{ filter: 'datum.cut' }],
        mark: { type: 'rect', color: COLOR_CUT },
        encoding: { x, x2: { field: 't2' }, y, tooltip: [{ field: 'cpu', type: 'ordinal', title: 'CPU' }, { field: 't', type: 'quantitative', title: 'bucket start (s)' }] },
      },
      {
        transform: [{ filter: '!datum.cut' }],
        mark: { type: 'rect' },
        encoding: {
          x,
          x2: { field: 't2' },
          y,
          color: { field: 'rate', type: 'quantitative', title: 'shootdowns/s', scale: { scheme: 'orangered', zero: true } },
          tooltip: [
            { field: 'cpu', type: 'ordinal', title: 'CPU' },
            { field: 't', type: 'quantitative', title: 'bucket start (s)' },
            { field: 'shootdowns', type: 'quantitative', format: ',' },
            { field: 'rate', type: 'quantitative', title: 'shootdowns/s', format: ',.0f' },
          ],
        },
      },
    ],
  } as TopLevelSpec;
}

/** How many CPUs each remote request targeted. */
export function fanoutSpec(s: Summary): TopLevelSpec {
  const values = [...s.observed.fanout].sort((a, b) => a.targets - b.targets);
  return {
    ...base('IPI fan-out', 'targets queued per remote request (0 = phantom: every CPU filtered)'),
    data: { values },
    width: HALF_WIDTH,
    height: 200,
    mark: { type: 'bar', color: COLOR_USEFUL },
    encoding: {
      x: { field: 'targets', type: 'ordinal', title: 'target CPUs per request', axis: { labelAngle: 0 } },
      y: { field: 'requests', type: 'quantitative', title: 'requests', axis: COUNT_AXIS },
      tooltip: [
        { field: 'targets', type: 'ordinal' },
        { field: 'requests', type: 'quantitative', format: ',' },
      ],
    },
  } as TopLevelSpec;
}

/** Request (initiator's reason 4) -> target handler entry latency histogram. */
export function latencySpec(s: Summary): TopLevelSpec {
  const d = s.observed.latencyUs;
  const sorted = [...d.histogram].sort((a, b) => (a.le ?? Infinity) - (b.le ?? Infinity));
  // keep one empty bucket either side of the populated range: a log-spaced histogram up to 1e5 µs
  // would otherwise be mostly empty columns with unreadable labels
  const first = sorted.findIndex((b) => b.count > 0);
  const last = sorted.length - 1 - [...sorted].reverse().findIndex((b) => b.count > 0);
  const lo = first < 0 ? 0 : Math.max(0, first - 1);
  const hi = first < 0 ? sorted.length - 1 : Math.min(sorted.length - 1, last + 1);
  const labels: string[] = [];
  const values: { bucket: string; le: number | null; count: number }[] = [];
  for (let i = lo; i <= hi; i++) {
    const b = sorted[i]!;
    const prev = i > 0 ? sorted[i - 1]!.le : null;
    const label = b.le === null ? `>${compactNumber(prev ?? 0)}` : `≤${compactNumber(b.le)}`;
    labels.push(label);
    values.push({ bucket: label, le: b.le, count: b.count });
  }
  return {
    ...base(
      'Request → handler latency (µs)',
      `n=${fmtInt(d.count)}  p50 ${fmtUs(d.p50)}  p90 ${fmtUs(d.p90)}  p99 ${fmtUs(d.p99)}  max ${fmtUs(d.max)}`,
    ),
    data: { values },
    width: HALF_WIDTH,
    height: 200,
    mark: { type: 'bar', color: COLOR_USEFUL },
    encoding: {
      x: {
        field: 'bucket',
        type: 'ordinal',
        sort: labels,
        title: 'µs from tlb_flush 4 to csd_function_entry (bucket upper bound)',
        axis: { labelAngle: labels.length > 10 ? -45 : 0 },
      },
      y: { field: 'count', type: 'quantitative', title: 'shootdowns', axis: COUNT_AXIS },
      tooltip: [
        { field: 'bucket', type: 'ordinal', title: 'µs' },
        { field: 'count', type: 'quantitative', format: ',' },
      ],
    },
  } as TopLevelSpec;
}

/** 1500 -> "1.5k", 100000 -> "100k", 2000000 -> "2M". */
function compactNumber(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return `${+n.toFixed(2)}`;
}

/** Wasted remote callbacks by kind. */
export function wastedByKindSpec(s: Summary): TopLevelSpec {
  const w = s.observed.wasted;
  const values = Object.entries(w.byKind)
    .map(([kind, count]) => ({ kind: WASTED_KIND_SHORT[kind] ?? kind, description: WASTED_KIND_LABELS[kind] ?? kind, count }))
    .sort((a, b) => b.count - a.count);
  return {
    ...base('Wasted remote callbacks', `${fmtInt(w.total)} callbacks that flushed nothing useful`),
    data: { values },
    width: HALF_WIDTH - 150,
    height: { step: 22 },
    mark: { type: 'bar', color: COLOR_WASTED },
    encoding: {
      y: { field: 'kind', type: 'nominal', sort: '-x', title: null },
      x: { field: 'count', type: 'quantitative', title: 'callbacks', axis: COUNT_AXIS },
      tooltip: [
        { field: 'description', type: 'nominal', title: 'kind' },
        { field: 'count', type: 'quantitative', format: ',' },
      ],
    },
  } as TopLevelSpec;
}

interface Attributed {
  label: string;
  requests: number;
  shootdowns: number;
  ipis: number;
  wasted: number;
}

function usefulWastedBars(title: string, subtitle: string, rows: Attributed[], yTitle: string): TopLevelSpec {
  const top = [...rows].sort((a, b) => b.shootdowns - a.shootdowns).slice(0, TOP_N);
  const values: Record<string, unknown>[] = [];
  for (const r of top) {
    const wasted = Math.min(r.wasted, r.shootdowns);
    for (const [kind, count] of [
      ['useful', r.shootdowns - wasted],
      ['wasted', wasted],
    ] as const) {
      values.push({ label: r.label, kind, count, requests: r.requests, shootdowns: r.shootdowns, ipis: r.ipis, wasted: r.wasted });
    }
  }
  return {
    ...base(title, subtitle),
    data: { values },
    width: HALF_WIDTH - 140,
    height: { step: 20 },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: top.map((r) => r.label), title: null },
      x: { field: 'count', type: 'quantitative', stack: 'zero', title: 'remote shootdowns', axis: COUNT_AXIS },
      color: {
        field: 'kind',
        type: 'nominal',
        title: null,
        scale: { domain: ['useful', 'wasted'], range: [COLOR_USEFUL, COLOR_WASTED] },
        legend: { orient: 'bottom', direction: 'horizontal' },
      },
      order: { field: 'kind', sort: 'descending' },
      tooltip: [
        { field: 'label', type: 'nominal', title: yTitle },
        { field: 'requests', type: 'quantitative', format: ',' },
        { field: 'shootdowns', type: 'quantitative', format: ',' },
        { field: 'ipis', type: 'quantitative', title: 'IPIs', format: ',' },
        { field: 'wasted', type: 'quantitative', format: ',' },
      ],
    },
  } as TopLevelSpec;
}

/** Address spaces with the most remote shootdowns, useful vs wasted. */
export function topMmsSpec(s: Summary): TopLevelSpec {
  const rows = s.observed.topMms.map((m) => ({ ...m, label: `${visible(m.comm)} [${m.tgid >= 0 ? m.tgid : m.mm}]` }));
  return usefulWastedBars('Top address spaces', `by remote shootdowns (top ${TOP_N}); label: comm [tgid]`, rows, 'mm');
}

/** Causes (syscall / reclaim path) with the most remote shootdowns. */
export function causesSpec(s: Summary): TopLevelSpec {
  const rows = s.observed.byCause.map((c) => ({ ...c, label: visible(c.cause) }));
  return usefulWastedBars('Causes', `by remote shootdowns (top ${TOP_N})`, rows, 'cause');
}

/** How well the replayed kernel model predicts what the trace shows (DOMAIN.md §4). */
export function fidelitySpec(s: Summary): TopLevelSpec {
  const f = s.model.fidelity;
  const values = [
    { check: 'IPI target sets', pct: f.targets === null ? null : r3(f.targets * 100), compared: f.targetsCompared, what: 'remote requests' },
    { check: 'switch-in flushes', pct: f.switchFlush === null ? null : r3(f.switchFlush * 100), compared: f.switchCompared, what: 'switch-ins' },
  ].map((v) => ({
    ...v,
    label: v.pct === null ? 'n/a (none compared)' : `${fmtShare(v.pct / 100)} of ${fmtInt(v.compared)} ${v.what}`,
    labelX: v.pct ?? 0,
  }));
  const y = { field: 'check', type: 'nominal' as const, title: null, sort: values.map((v) => v.check) };
  return {
    ...base('Model fidelity', 'share of predictions that match the trace'),
    data: { values },
    width: HALF_WIDTH - 120,
    height: { step: 28 },
    layer: [
      {
        transform: [{ filter: 'datum.pct !== null' }],
        mark: { type: 'bar', color: '#59a14f' },
        encoding: {
          y,
          x: { field: 'pct', type: 'quantitative', title: '% matching', scale: { domain: [0, 100] } },
          tooltip: [
            { field: 'check', type: 'nominal' },
            { field: 'label', type: 'nominal', title: 'agreement' },
          ],
        },
      },
      {
        mark: { type: 'text', align: 'right', dx: -4, color: 'white', fontSize: 10 },
        transform: [{ filter: 'datum.pct !== null && datum.pct >= 50' }],
        encoding: { y, x: { field: 'labelX', type: 'quantitative' }, text: { field: 'label' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
        transform: [{ filter: 'datum.pct === null || datum.pct < 50' }],
        encoding: { y, x: { field: 'labelX', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  } as TopLevelSpec;
}

// The fleet answers for people: a terminal table, JSON, and an HTML page with the single-capture
// report's look (its stylesheet and chart config, src/report/), charts pre-rendered to SVG.
// Every string from a dataset (hosts, kernels, captures, workloads come from paths and traces)
// goes through the report's escaping: visible() for the terminal, htmlText() for HTML.

import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, compileChart } from '../report/charts.js';
import { escapeHtml, htmlText, jsonForScript, visible } from '../report/format.js';
import { CSS, renderSvg } from '../report/html-assets.js';
import type { Row } from './engine.js';
import type { FleetResult, QueryName } from './queries.js';

interface Section {
  query: QueryName;
  title: string;
  note: string;
  columns: Array<[key: string, label: string]>;
}

const RATE_COLUMNS: Array<[string, string]> = [
  ['captures', 'captures'],
  ['hosts', 'hosts'],
  ['seconds', 'seconds'],
  ['requests_per_s', 'requests/s'],
  ['shootdowns_per_s', 'shootdowns/s'],
  ['tlb_ipis_per_s', 'TLB IPIs/s'],
  ['shootdowns_per_remote_request', 'shootdowns/remote req'],
  ['wasted_pct', 'wasted %'],
];

export const SECTIONS: Section[] = [
  { query: 'kernels', title: 'Per kernel', note: 'counts summed over the captures of each kernel, divided by their summed duration', columns: [['kernel', 'kernel'], ...RATE_COLUMNS] },
  {
    query: 'batching',
    title: 'Migration and reclaim flushes by kernel',
    note: 'remote and batched requests; migration = kcompactd, move_pages, migrate_pages, mbind; reclaim = kswapd, direct reclaim. Page migration is batched since 6.4 ("migrate_pages: batch flushing TLB"), reclaim since 4.3',
    columns: [['kernel', 'kernel'], ['flushes', 'flushes'], ['requests', 'requests'], ['batched_pct', 'batched %'], ['one_page_pct', 'one page %'], ['shootdowns', 'shootdowns'], ['shootdowns_per_request', 'shootdowns/request']],
  },
  {
    query: 'outliers',
    title: 'Outliers',
    note: 'remote flush requests with no flush IPI at all, or a robust z-score (median absolute deviations from the fleet median) above 3.5',
    columns: [['host', 'host'], ['kernel', 'kernel'], ['capture', 'capture'], ['why', 'why'], ['requests_remote', 'remote requests'], ['remote_shootdowns', 'shootdowns'], ['shootdowns_per_s', 'shootdowns/s'], ['shootdowns_per_remote_request', 'per remote req'], ['z_rate', 'z rate'], ['z_per_request', 'z per req']],
  },
  {
    query: 'policies',
    title: 'What each policy would avoid, across captures',
    note: '% of the observed remote shootdowns each policy avoids, distribution over the captures; fleet % = all avoided / all observed',
    columns: [['policy', 'policy'], ['captures', 'captures'], ['min_pct', 'min %'], ['p25_pct', 'p25 %'], ['median_pct', 'median %'], ['p75_pct', 'p75 %'], ['max_pct', 'max %'], ['fleet_pct', 'fleet %']],
  },
  {
    query: 'wasted',
    title: 'Wasted callbacks by host',
    note: 'callbacks that flushed nothing (wrong CPU, already current, empty, lazy CPU to init_mm, table sync), % of the callbacks of each capture',
    columns: [['host', 'host'], ['captures', 'captures'], ['wasted', 'wasted'], ['min_pct', 'min %'], ['median_pct', 'median %'], ['max_pct', 'max %']],
  },
  { query: 'hosts', title: 'Per host', note: 'as per kernel', columns: [['host', 'host'], ...RATE_COLUMNS] },
  { query: 'workloads', title: 'Per workload', note: 'as per kernel', columns: [['workload', 'workload'], ...RATE_COLUMNS] },
];

function cell(v: Row[string] | undefined): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toLocaleString('en-US', { maximumFractionDigits: 3 });
  return String(v);
}

export function renderTerminal(r: FleetResult, header: string): string {
  const out: string[] = [visible(header), ''];
  for (const s of SECTIONS) {
    const rows = r[s.query];
    out.push(s.title, `  (${s.note})`);
    if (rows.length === 0) {
      out.push('  none', '');
      continue;
    }
    const table = [s.columns.map(([, l]) => l), ...rows.map((row) => s.columns.map(([k]) => visible(cell(row[k]))))];
    const widths = s.columns.map((_, i) => Math.max(...table.map((t) => t[i]!.length)));
    const numeric = s.columns.map(([k]) => rows.every((row) => row[k] === null || typeof row[k] === 'number'));
    for (const t of table) out.push('  ' + t.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd());
    out.push('');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// HTML

function charts(r: FleetResult): Array<{ name: string; caption: string; spec: TopLevelSpec }> {
  const base = (title: string, subtitle: string) => ({ title: { text: title, subtitle }, config: CONFIG });
  const rates = r.kernels.flatMap((k) => [
    { kernel: k.kernel, measure: 'remote shootdowns/s', value: k.shootdowns_per_s },
    { kernel: k.kernel, measure: 'TLB IPIs/s', value: k.tlb_ipis_per_s },
  ]);
  const batching = r.batching.filter((b) => b.flushes !== 'other');
  return [
    {
      name: 'kernel-rates',
      caption: 'Remote flush callbacks and TLB IPIs per second of capture, per kernel: a kernel whose requests send no IPI sits at zero.',
      spec: {
        ...base('Shootdowns and IPIs per second, by kernel', 'summed over the kernel\'s captures'),
        data: { values: rates },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'kernel', type: 'nominal', title: null },
          yOffset: { field: 'measure' },
          x: { field: 'value', type: 'quantitative', title: 'per second' },
          color: { field: 'measure', type: 'nominal', title: null, scale: { range: ['#4e79a7', '#f28e2b'] } },
        },
        width: 520,
      } as TopLevelSpec,
    },
    {
      name: 'batching',
      caption: 'Share of migration and reclaim flush requests that were batched into one full flush, per kernel.',
      spec: {
        ...base('Batched migration and reclaim flushes, by kernel', '% of remote and batched requests'),
        data: { values: batching },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'kernel', type: 'nominal', title: null },
          yOffset: { field: 'flushes' },
          x: { field: 'batched_pct', type: 'quantitative', title: 'batched %', scale: { domain: [0, 100] } },
          color: { field: 'flushes', type: 'nominal', title: null, scale: { range: ['#59a14f', '#b07aa1'] } },
        },
        width: 520,
      } as TopLevelSpec,
    },
    {
      name: 'policy-savings',
      caption: 'Each point one capture: % of its observed remote shootdowns the policy would have avoided.',
      spec: {
        ...base('What each policy would avoid, per capture', '% of observed remote shootdowns; costs beyond -100% drawn at -100%'),
        data: { values: r.policySavings },
        mark: { type: 'tick', tooltip: true, thickness: 2 },
        encoding: {
          y: { field: 'policy', type: 'nominal', title: null },
          x: { field: 'avoided_shootdowns_pct', type: 'quantitative', title: 'avoided %', scale: { domain: [-100, 100], clamp: true } },
          color: { field: 'kernel', type: 'nominal' },
        },
        width: 520,
      } as TopLevelSpec,
    },
    {
      name: 'wasted',
      caption: 'Each point one capture: % of its callbacks that flushed nothing.',
      spec: {
        ...base('Wasted callbacks, by host', '% of callbacks per capture'),
        data: { values: r.captures.filter((c) => c.wasted_pct !== null) },
        mark: { type: 'point', tooltip: true, filled: true },
        encoding: {
          y: { field: 'host', type: 'nominal', title: null },
          x: { field: 'wasted_pct', type: 'quantitative', title: 'wasted %' },
          color: { field: 'kernel', type: 'nominal' },
        },
        width: 520,
      } as TopLevelSpec,
    },
  ];
}

function htmlTable(s: Section, rows: Row[]): string {
  if (rows.length === 0) return '<p class="empty">none</p>';
  const numeric = s.columns.map(([k]) => rows.every((row) => row[k] === null || typeof row[k] === 'number'));
  const th = s.columns.map(([, l], i) => `<th${numeric[i] ? ' class="n"' : ''}>${escapeHtml(l)}</th>`).join('');
  const body = rows.map((row) => `<tr>${s.columns.map(([k], i) => `<td${numeric[i] ? ' class="n"' : ''}>${htmlText(cell(row[k]))}</td>`).join('')}</tr>`).join('\n');
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`;
}

export async function renderFleetHtml(r: FleetResult, header: string): Promise<{ html: string; warnings: string[] }> {
  const warnings: string[] = [];
  const figures: string[] = [];
  for (const c of charts(r)) {
    const { spec, warnings: w } = await compileChart(c.spec);
    warnings.push(...w.map((m) => `${c.name}: ${m}`));
    const svg = await renderSvg(c.name, spec, warnings);
    figures.push(`<figure class="chart" id="fig-${c.name}">${svg}<figcaption>${htmlText(c.caption)}</figcaption></figure>`);
  }
  const csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; base-uri 'none'; form-action 'none'";
  const sections = SECTIONS.map((s) => `<section id="${s.query}"><h2>${escapeHtml(s.title)}</h2><p class="note">${htmlText(s.note)}</p>${htmlTable(s, r[s.query])}</section>`);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>tlbtrace fleet</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>tlbtrace fleet</h1><p class="sub">${htmlText(header)}</p></header>
<main>
<section id="charts"><h2>Charts</h2><div class="charts">${figures.join('\n')}</div></section>
${sections.join('\n')}
</main>
<footer>Generated by tlbtrace fleet from Parquet datasets with DuckDB; the query results are embedded below as JSON (element <code>#tlbtrace-fleet</code>).</footer>
<script type="application/json" id="tlbtrace-fleet">${jsonForScript(r)}</script>
</body>
</html>
`;
  return { html, warnings };
}

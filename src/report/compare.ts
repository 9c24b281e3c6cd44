// The A/B table kernel people expect (Gorman 2015, DOMAIN.md §6): one row per metric, the value in
// A and in B, and the change. Captures rarely last the same time, so rates (per second) come first
// and totals second; percentages (wasted share, fidelity, avoided shares) change in percentage
// points, not percent.
//
// change = (B - A) / A * 100, signed: -80% means B has 80% fewer. null when A is 0 (and B is not).

import type { Summary } from '../summary/schema.js';
import {
  escapeHtml,
  fmtChange,
  fmtInt,
  fmtNum,
  fmtPct,
  fmtSec,
  fmtUs,
  htmlText,
  perSecond,
  visible,
  wastedShare,
} from './format.js';
import { columns, painter } from './terminal.js';

export const COMPARE_SCHEMA = 'tlbtrace.compare/1';

export interface CompareLabels {
  a: string;
  b: string;
}

export type CompareUnit = 'count' | 'rate' | 'pct' | 'sec' | 'us';

export interface CompareRow {
  section: string;
  metric: string;
  unit: CompareUnit;
  a: number | null;
  b: number | null;
  /** (b - a) / a * 100 for counts, rates and durations; null for 'pct' rows, a missing side, or a = 0 < |b| */
  changePct: number | null;
  /** b - a in percentage points, for 'pct' rows only */
  deltaPp: number | null;
  /** which direction is an improvement, when there is one (colours the change) */
  better: 'lower' | 'higher' | null;
}

export interface CaptureInfo {
  label: string;
  files: string[];
  format: string;
  cpus: number;
  durationSec: number;
}

export interface Comparison {
  schema: typeof COMPARE_SCHEMA;
  a: CaptureInfo;
  b: CaptureInfo;
  rows: CompareRow[];
  /** caveats: durations or CPU counts differ, lost events, policies missing on one side */
  notes: string[];
}

/** Signed percent change from a to b; 0 when both are 0, null when a is 0 and b is not. */
export function percentChange(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  if (a === 0) return b === 0 ? 0 : null;
  return ((b - a) / Math.abs(a)) * 100;
}

function row(section: string, metric: string, unit: CompareUnit, a: number | null, b: number | null, better: CompareRow['better']): CompareRow {
  const isPct = unit === 'pct';
  return {
    section,
    metric,
    unit,
    a,
    b,
    changePct: isPct ? null : percentChange(a, b),
    deltaPp: isPct && a !== null && b !== null ? b - a : null,
    better,
  };
}

function lostEvents(s: Summary): number {
  return s.input.lost.perCpu.reduce((n, c) => n + c.lostEvents, 0);
}

function info(s: Summary, label: string): CaptureInfo {
  return { label, files: s.input.files, format: s.input.format, cpus: s.input.cpus, durationSec: s.input.durationSec };
}

export function compareSummaries(a: Summary, b: Summary, labels: CompareLabels): Comparison {
  const rows: CompareRow[] = [];
  const both = (section: string, metric: string, unit: CompareUnit, f: (s: Summary) => number | null, better: CompareRow['better'] = null) =>
    rows.push(row(section, metric, unit, f(a), f(b), better));
  const rate = (n: (s: Summary) => number) => (s: Summary) => perSecond(s, n(s));

  const R = 'rates (per second)';
  both(R, 'interrupts (IPIs)/s', 'rate', rate((s) => s.observed.ipis.total), 'lower');
  both(R, 'TLB IPIs/s', 'rate', rate((s) => s.observed.ipis.tlb), 'lower');
  both(R, 'remote shootdowns/s', 'rate', rate((s) => s.observed.remoteShootdowns.total), 'lower');
  both(R, 'flush requests/s', 'rate', rate((s) => s.observed.requests), null);
  both(R, 'wasted callbacks/s', 'rate', rate((s) => s.observed.wasted.total), 'lower');
  both(R, 'tlb_flush events/s', 'rate', rate((s) => s.observed.tlbFlush.total), null);

  const T = 'totals';
  both(T, 'IPIs', 'count', (s) => s.observed.ipis.total, 'lower');
  both(T, 'TLB IPIs', 'count', (s) => s.observed.ipis.tlb, 'lower');
  both(T, 'remote shootdowns', 'count', (s) => s.observed.remoteShootdowns.total, 'lower');
  both(T, 'flush requests', 'count', (s) => s.observed.requests);
  both(T, 'phantom requests', 'count', (s) => s.observed.phantomRequests);
  both(T, 'wasted callbacks', 'count', (s) => s.observed.wasted.total, 'lower');
  both(T, 'tlb_flush events', 'count', (s) => s.observed.tlbFlush.total);

  const Q = 'shares and latency';
  both(Q, 'wasted share of remote TLB callbacks', 'pct', (s) => (wastedShare(s) === null ? null : wastedShare(s)! * 100), 'lower');
  both(Q, 'request -> handler p50', 'us', (s) => s.observed.latencyUs.p50, 'lower');
  both(Q, 'request -> handler p99', 'us', (s) => s.observed.latencyUs.p99, 'lower');
  both(Q, 'model fidelity: IPI targets', 'pct', (s) => (s.model.fidelity.targets === null ? null : s.model.fidelity.targets * 100), 'higher');
  both(Q, 'model fidelity: switch-in flush', 'pct', (s) => (s.model.fidelity.switchFlush === null ? null : s.model.fidelity.switchFlush * 100), 'higher');

  const names = [...Object.keys(a.policies), ...Object.keys(b.policies).filter((k) => !(k in a.policies))];
  const notes: string[] = [];
  for (const name of names) {
    const pa = a.policies[name];
    const pb = b.policies[name];
    const P = `policy ${name}`;
    rows.push(row(P, 'avoided shootdowns', 'pct', pa?.avoidedShootdownsPct ?? null, pb?.avoidedShootdownsPct ?? null, null));
    rows.push(row(P, 'avoided IPIs', 'pct', pa?.avoidedIpisPct ?? null, pb?.avoidedIpisPct ?? null, null));
    rows.push(row(P, 'IPIs/s under the policy', 'rate', pa ? perSecond(a, pa.ipis) : null, pb ? perSecond(b, pb.ipis) : null, 'lower'));
    if (!pa || !pb) notes.push(`policy ${name} was replayed only in ${pa ? labels.a : labels.b}`);
  }

  const C = 'capture';
  both(C, 'duration', 'sec', (s) => s.input.durationSec);
  both(C, 'CPUs', 'count', (s) => s.input.cpus);
  both(C, 'events', 'count', (s) => s.input.events);
  both(C, 'lost events', 'count', lostEvents, 'lower');

  const da = a.input.durationSec;
  const db = b.input.durationSec;
  if (da > 0 && db > 0 && Math.abs(da - db) / Math.max(da, db) > 0.1) {
    notes.push(`captures last ${fmtSec(da)} (${labels.a}) and ${fmtSec(db)} (${labels.b}): compare rates, not totals`);
  }
  if (a.input.cpus !== b.input.cpus) notes.push(`CPU counts differ (${a.input.cpus} vs ${b.input.cpus}): fan-out and IPI counts scale with CPUs`);
  for (const [s, l] of [
    [a, labels.a],
    [b, labels.b],
  ] as const) {
    const cut = s.input.lost.perCpu.filter((c) => c.historyCut).map((c) => c.cpu);
    if (s.input.lost.any || cut.length) notes.push(`${l} lost events${cut.length ? ` (history cut on CPU ${cut.join(', ')})` : ''}: its counts are lower bounds`);
    if (!s.observed.remoteShootdowns.exact) notes.push(`${l}: remote shootdowns are a lower bound (${s.observed.remoteShootdowns.pairing} pairing)`);
    if (s.input.truncated) notes.push(`${l}: input was truncated`);
  }
  return { schema: COMPARE_SCHEMA, a: info(a, labels.a), b: info(b, labels.b), rows, notes };
}

// ---------------------------------------------------------------------------------------------
// Renderers

export function formatValue(v: number | null, unit: CompareUnit): string {
  if (v === null) return 'n/a';
  switch (unit) {
    case 'count':
      return fmtInt(v);
    case 'rate':
      return fmtNum(v, Math.abs(v) >= 100 ? 0 : 1);
    case 'pct':
      return fmtPct(v);
    case 'sec':
      return fmtSec(v);
    case 'us':
      return fmtUs(v);
  }
}

export function formatChange(r: CompareRow): string {
  if (r.unit === 'pct') {
    if (r.deltaPp === null) return 'n/a';
    const s = fmtNum(Math.abs(r.deltaPp), 1);
    return `${r.deltaPp > 0 ? '+' : r.deltaPp < 0 ? '-' : ''}${s} pp`;
  }
  if (r.changePct === null) return r.a === 0 && r.b !== null && r.b !== 0 ? 'new' : 'n/a';
  return fmtChange(r.changePct);
}

/** 'good' / 'bad' / null: whether the change is an improvement, for colouring. */
export function changeVerdict(r: CompareRow): 'good' | 'bad' | null {
  const d = r.unit === 'pct' ? r.deltaPp : r.changePct;
  if (r.better === null || d === null || Math.abs(d) < 0.05) return null;
  return (d < 0) === (r.better === 'lower') ? 'good' : 'bad';
}

function captureLine(c: CaptureInfo): string {
  return `${c.files.join(', ')} (${c.format}, ${c.cpus} CPUs, ${fmtSec(c.durationSec)})`;
}

/** Terminal table; labels and file names pass through visible(). */
export function renderCompareText(cmp: Comparison, opts: { color: boolean }): string {
  const c = painter(opts.color);
  const la = visible(cmp.a.label);
  const lb = visible(cmp.b.label);
  const out: string[] = [];
  out.push(`${c('bold', 'A')} = ${la}: ${visible(captureLine(cmp.a))}`);
  out.push(`${c('bold', 'B')} = ${lb}: ${visible(captureLine(cmp.b))}`);
  out.push('');
  const table: string[][] = [['metric', la, lb, 'change']];
  const kinds: ('head' | 'section' | CompareRow)[] = ['head'];
  let section = '';
  for (const r of cmp.rows) {
    if (r.section !== section) {
      section = r.section;
      table.push([visible(section), '', '', '']);
      kinds.push('section');
    }
    table.push([`  ${visible(r.metric)}`, formatValue(r.a, r.unit), formatValue(r.b, r.unit), formatChange(r)]);
    kinds.push(r);
  }
  columns(table, 'lrrr').forEach((line, i) => {
    const k = kinds[i]!;
    if (k === 'head') out.push(c('dim', line));
    else if (k === 'section') out.push(c('bold', line));
    else {
      const v = changeVerdict(k);
      const ch = formatChange(k);
      out.push(v && line.endsWith(ch) ? line.slice(0, line.length - ch.length) + c(v === 'good' ? 'green' : 'red', ch) : line);
    }
  });
  if (cmp.notes.length) {
    out.push('');
    for (const n of cmp.notes) out.push(`${c('yellow', '!')} ${visible(n)}`);
  }
  out.push(c('dim', 'change = (B - A) / A; pp = percentage points'));
  return `${out.join('\n')}\n`;
}

/** Markdown: `|` and backslashes in labels are escaped, control characters made visible. */
export function renderCompareMarkdown(cmp: Comparison): string {
  // GFM: `_` inside words is literal, so names like tlb_flush stay readable
  const md = (s: string) => visible(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/([<>*`[\]])/g, '\\$1');
  const out: string[] = [];
  out.push(`- **A** = ${md(cmp.a.label)}: ${md(captureLine(cmp.a))}`);
  out.push(`- **B** = ${md(cmp.b.label)}: ${md(captureLine(cmp.b))}`);
  out.push('');
  out.push(`| metric | ${md(cmp.a.label)} | ${md(cmp.b.label)} | change |`);
  out.push('|:---|---:|---:|---:|');
  let section = '';
  for (const r of cmp.rows) {
    if (r.section !== section) {
      section = r.section;
      out.push(`| **${md(section)}** | | | |`);
    }
    out.push(`| ${md(r.metric)} | ${formatValue(r.a, r.unit)} | ${formatValue(r.b, r.unit)} | ${formatChange(r)} |`);
  }
  if (cmp.notes.length) {
    out.push('');
    for (const n of cmp.notes) out.push(`> ${md(n)}`);
  }
  out.push('');
  out.push('change = (B - A) / A; pp = percentage points');
  return `${out.join('\n')}\n`;
}

/** A self-contained HTML page (no script, no external resource). */
export function renderCompareHtml(cmp: Comparison, opts: { title?: string } = {}): string {
  const title = opts.title ?? `tlbtrace compare: ${cmp.a.label} vs ${cmp.b.label}`;
  const rows: string[] = [];
  let section = '';
  for (const r of cmp.rows) {
    if (r.section !== section) {
      section = r.section;
      rows.push(`<tr class="section"><th colspan="4">${htmlText(section)}</th></tr>`);
    }
    const v = changeVerdict(r);
    rows.push(
      `<tr><td>${htmlText(r.metric)}</td><td class="n">${escapeHtml(formatValue(r.a, r.unit))}</td><td class="n">${escapeHtml(formatValue(r.b, r.unit))}</td><td class="n${v ? ` ${v}` : ''}">${escapeHtml(formatChange(r))}</td></tr>`,
    );
  }
  const notes = cmp.notes.length ? `<ul class="notes">${cmp.notes.map((n) => `<li>${htmlText(n)}</li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'none'; base-uri 'none'; form-action 'none'">
<title>${htmlText(title)}</title>
<style>
body { margin: 0 auto; max-width: 900px; padding: 20px 24px; color: #1d1d1f; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 20px; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; } dt { font-weight: 600; } dd { margin: 0; word-break: break-all; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e3e3e3; text-align: left; }
thead th { color: #5f6368; font-size: 12.5px; background: #f6f7f9; }
tr.section th { padding-top: 14px; font-size: 13px; border-bottom: 1px solid #bbb; }
.n { text-align: right; white-space: nowrap; }
.good { color: #2e7d32; font-weight: 600; } .bad { color: #c62828; font-weight: 600; }
.notes li { color: #8a5a00; }
.foot { color: #5f6368; font-size: 12px; }
</style>
</head>
<body>
<h1>${htmlText(title)}</h1>
<dl><dt>A = ${htmlText(cmp.a.label)}</dt><dd>${htmlText(captureLine(cmp.a))}</dd><dt>B = ${htmlText(cmp.b.label)}</dt><dd>${htmlText(captureLine(cmp.b))}</dd></dl>
${notes}
<table id="compare"><thead><tr><th>metric</th><th class="n">${htmlText(cmp.a.label)}</th><th class="n">${htmlText(cmp.b.label)}</th><th class="n">change</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<p class="foot">change = (B - A) / A; pp = percentage points. Green: an improvement for that metric; red: a regression.</p>
</body>
</html>
`;
}

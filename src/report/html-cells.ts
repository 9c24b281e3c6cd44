// The small pieces the report's tables and tiles are built from. Everything from the trace goes
// through htmlText(); an {html} cell is trusted as is and is only ever built from escaped parts.

import type { PolicyResult } from '../summary/schema.js';
import {
  escapeHtml,
  fmtInt,
  fmtPct,
  htmlText,
} from './format.js';

export type Cell = string | number | null | { html: string };

/**
 * A table cell: numbers formatted, strings escaped, {html} trusted as is (built here from escaped
 * parts), null = not applicable (blank). Numeric columns are right-aligned.
 */
export function td(c: Cell, numeric: boolean): string {
  const cls = numeric ? ' class="n"' : '';
  if (typeof c === 'number') return `<td class="n">${fmtInt(c)}</td>`;
  if (c === null) return `<td${cls}></td>`;
  if (typeof c === 'string') return `<td${cls}>${htmlText(c)}</td>`;
  return `<td${cls}>${c.html}</td>`;
}

export function num(text: string): { html: string } {
  return { html: `<span class="n-inline">${escapeHtml(text)}</span>` };
}

export function table(headers: string[], rows: Cell[][], numeric: boolean[] = [], id?: string): string {
  const th = headers.map((h, i) => `<th${numeric[i] ? ' class="n"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => td(c, numeric[i] ?? false)).join('')}</tr>`).join('\n');
  return `<div class="scroll"><table${id ? ` id="${id}"` : ''}><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`;
}

export function riskBadge(risk: PolicyResult['risk'], reason?: string): string {
  return `<span class="risk risk-${risk}"${reason ? ` title="${htmlText(reason)}"` : ''}>${escapeHtml(risk)}</span>`;
}

export function pctBar(pct: number | null, color: string, count: number): string {
  const n = `<span class="cnt">${fmtInt(count)}</span>`;
  if (pct === null) return `${n}<span class="bar"></span><span class="pct">n/a</span>`;
  const w = Math.max(0, Math.min(100, pct));
  const cls = pct < 0 ? ' bad' : '';
  return `${n}<span class="bar"><span style="width:${w.toFixed(1)}%;background:${color}"></span></span><span class="pct${cls}">${escapeHtml(fmtPct(pct))}</span>`;
}

export function fidelityClass(r: number | null): string {
  return r === null ? '' : r >= 0.95 ? 'ok' : r >= 0.8 ? 'warn' : 'bad';
}

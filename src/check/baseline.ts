// `tlbtrace check NEW --baseline OLD`: did the new kernel/workload get worse? Each threshold is an
// allowed increase of one metric (rates per second as well as totals: durations differ).

import type { Summary } from '../summary/schema.js';
import { rateMetrics } from './metrics.js';
import type { Threshold } from './thresholds.js';

export interface CheckRow {
  metric: string;
  baseline: number;
  current: number;
  /** relative change, null when the baseline is 0 */
  changePct: number | null;
  limit: string;
  regressed: boolean;
}

export function checkAgainstBaseline(current: Summary, baseline: Summary, thresholds: Threshold[]): CheckRow[] {
  const cur = rateMetrics(current);
  const base = rateMetrics(baseline);
  return thresholds.map((t) => {
    const b = base[t.metric] ?? 0;
    const c = cur[t.metric] ?? 0;
    const changePct = b !== 0 ? Math.round(((c - b) / b) * 10000) / 100 : null;
    const allowed = t.kind === 'relative' ? b * (1 + t.value) : b + t.value;
    // a rise from zero is a regression under any relative limit
    const regressed = c > allowed + 1e-9;
    return {
      metric: t.metric,
      baseline: b,
      current: c,
      changePct,
      limit: t.kind === 'relative' ? `+${Math.round(t.value * 10000) / 100}%` : `+${t.value}`,
      regressed,
    };
  });
}

export function renderCheckTable(rows: CheckRow[], labels: { baseline: string; current: string }): string {
  const header = ['metric', 'baseline', 'current', 'change', 'limit', 'result'];
  const body = rows.map((r) => [
    r.metric,
    String(r.baseline),
    String(r.current),
    r.changePct === null ? (r.current === 0 ? '0' : 'new') : `${r.changePct > 0 ? '+' : ''}${r.changePct}%`,
    r.limit,
    r.regressed ? 'REGRESSED' : 'ok',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const bad = rows.filter((r) => r.regressed).length;
  return [
    `baseline: ${labels.baseline}`,
    `current:  ${labels.current}`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    bad === 0 ? 'no regression' : `${bad} metric${bad === 1 ? '' : 's'} regressed`,
    '',
  ].join('\n');
}

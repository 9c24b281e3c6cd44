// What the harness writes: the validation table (terminal and docs/validation.md, one row per
// experiment and format), the per-policy verdicts every summary carries (src/policies/
// validation.generated.ts, a module written by `tlbtrace validate --write`, never typed in by hand),
// and the docs table spliced between markers.

import { POLICIES } from '../policies/index.js';
import type { PolicyValidation } from '../summary/schema.js';
import { NO_KERNEL, OBSERVED_CHECK, UNCHECKED_PART } from './experiments.js';
import type { Counts, ExperimentResult, FormatResult, TableSyncResult } from './run.js';

const fmt = (n: number | null, digits: number): string => (n === null || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));
/** a per-unit figure: 3 significant digits, at least 2 decimals below 10 */
const fmtPer = (n: number | null): string => (n === null ? 'n/a' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtErr = (n: number | null): string => (n === null ? 'n/a' : `${fmt(n, 2)}x`);

/**
 * One markdown table row per experiment and view; the trace formats share a row when they give the
 * same figures (as they should: one recording), else each has its own.
 */
export function markdownTable(results: readonly ExperimentResult[]): string {
  const head = ['policy', 'experiment', 'format', 'unit', 'baseline SD/unit', 'estimate SD/unit', 'real SD/unit', 'SD error', 'baseline IPIs/unit', 'estimate IPIs/unit', 'real IPIs/unit', 'IPI error'];
  const rows: string[][] = [];
  for (const r of results) {
    const ex = r.experiment;
    const what = (ex.policy === OBSERVED_CHECK ? `\`${ex.baseline}\` vs /proc/interrupts` : `\`${ex.baseline}\` -> \`${ex.real}\``) + (r.view === 'all flushes' ? '' : ` (${r.view})`) + (ex.reference ? ' (reference: not counted, see below)' : '');
    if (r.skipped !== null) {
      rows.push([`\`${ex.policy}\``, what, '-', r.unit, '', '', '', `skipped: ${r.skipped}`, '', '', '', '']);
      continue;
    }
    const b: Counts | null = r.baselinePerUnit;
    const cells = (f: FormatResult) => [
      fmtPer(b?.shootdowns ?? null),
      fmtPer(f.estimatePerUnit.shootdowns),
      fmtPer(f.realPerUnit.shootdowns),
      fmtErr(f.error.shootdowns),
      fmtPer(b?.ipis ?? null),
      fmtPer(f.estimatePerUnit.ipis),
      fmtPer(f.realPerUnit.ipis),
      fmtErr(f.error.ipis),
    ];
    const all = r.formats.map(cells);
    if (all.every((c) => c.join('|') === all[0]!.join('|'))) {
      rows.push([`\`${ex.policy}\``, what, r.formats.map((f) => f.format).join(', '), r.unit, ...all[0]!]);
    } else {
      r.formats.forEach((f, i) => rows.push([`\`${ex.policy}\``, what, f.format, r.unit, ...all[i]!]));
    }
  }
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i < 4 ? '---' : '---:'))), ...rows.map(line)].join('\n') + '\n';
}

/** The same rows for a terminal: aligned plain columns. */
export function terminalTable(results: readonly ExperimentResult[]): string {
  const head = ['policy', 'experiment', 'format', 'SD est/real per unit', 'err', 'IPIs est/real per unit', 'err'];
  const rows: string[][] = [head];
  for (const r of results) {
    const ex = r.experiment;
    const what = (ex.policy === OBSERVED_CHECK ? `${ex.baseline} vs /proc/interrupts` : `${ex.baseline} -> ${ex.real.split('/').slice(-2, -1)[0] ?? ex.real}`) + (r.view === 'all flushes' ? '' : ` [${r.view}]`) + (ex.reference ? ' (reference)' : '');
    if (r.skipped !== null) {
      rows.push([ex.policy, what, '-', '', '', '', `skipped: ${r.skipped}`]);
      continue;
    }
    for (const f of r.formats) {
      rows.push([
        ex.policy,
        what,
        f.format,
        `${fmtPer(f.estimatePerUnit.shootdowns)} / ${fmtPer(f.realPerUnit.shootdowns)} per ${r.unit}`,
        fmtErr(f.error.shootdowns),
        f.realPerUnit.ipis === null ? '' : `${fmtPer(f.estimatePerUnit.ipis)} / ${fmtPer(f.realPerUnit.ipis)}`,
        fmtErr(f.error.ipis),
      ]);
    }
  }
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((row) => row.map((c, i) => (i === 4 || i === 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

const round = (n: number | null): number | null => (n === null ? null : Math.round(n * 1000) / 1000);

function range(values: Array<number | null>): string {
  const v = values.filter((x): x is number => x !== null);
  if (v.length === 0) return 'n/a';
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return lo.toFixed(2) === hi.toFixed(2) ? `${lo.toFixed(2)}x` : `${lo.toFixed(2)}-${hi.toFixed(2)}x`;
}

/** Per policy: what its summary entry says about its checks. */
export function policyValidations(results: readonly ExperimentResult[]): Record<string, PolicyValidation> {
  const out: Record<string, PolicyValidation> = {};
  for (const def of POLICIES) {
    // a reference experiment (a kernel that is not what the policy emulates) is shown, not counted
    const mine = results.filter((r) => r.experiment.policy === def.name && r.skipped === null && r.experiment.reference === undefined);
    if (NO_KERNEL[def.name] !== undefined) {
      out[def.name] = { status: 'no-kernel', text: NO_KERNEL[def.name]!, experiments: [] };
      continue;
    }
    if (mine.length === 0) {
      out[def.name] = { status: 'not-checked', text: 'not checked against a real kernel', experiments: [] };
      continue;
    }
    const experiments = mine.map((r) => ({
      id: r.view === 'all flushes' ? r.experiment.id : `${r.experiment.id} [${r.view}]`,
      baseline: r.experiment.baseline,
      real: r.experiment.real,
      unit: r.unit,
      shootdownsError: Object.fromEntries(r.formats.map((f) => [f.format, round(f.error.shootdowns)])),
      ipisError: Object.fromEntries(r.formats.map((f) => [f.format, round(f.error.ipis)])),
    }));
    const sd = mine.flatMap((r) => r.formats.map((f) => f.error.shootdowns));
    const ipi = mine.flatMap((r) => r.formats.map((f) => f.error.ipis));
    const nExperiments = new Set(mine.map((r) => r.experiment.id)).size;
    const text =
      def.name === OBSERVED_CHECK
        ? `remote flush callbacks checked against /proc/interrupts on ${nExperiments} captures: ${range(sd)}`
        : `checked against a kernel that does it on ${nExperiments} experiment${nExperiments === 1 ? '' : 's'}: shootdowns ${range(sd)}, IPIs ${range(ipi)} of the real kernel per unit of work (estimate / real)${UNCHECKED_PART[def.name] ? `; ${UNCHECKED_PART[def.name]}` : ''}`;
    out[def.name] = { status: 'checked', text, experiments };
  }
  return out;
}

/** The TypeScript module `--write` produces (src/policies/validation.generated.ts). */
export function generatedModule(v: Record<string, PolicyValidation>): string {
  return `// Generated by \`tlbtrace validate --write\` (src/validate/) from the captures in ../shared/traces: do not
// edit by hand. What each policy's validation says in every summary (src/policies/validation.ts).

import type { PolicyValidation } from '../summary/schema.js';

export const VALIDATION: Readonly<Record<string, PolicyValidation>> = ${JSON.stringify(v, null, 2)};
`;
}

/** What the targeted table-sync rule saves per collapse, by CPU count (markdown). */
export function tableSyncTable(rows: readonly TableSyncResult[]): string {
  const head = ['capture', 'CPUs', 'collapses', 'table syncs', 'sync callbacks', 'per sync', 'dropped by the rule', 'callbacks left (upper bound)', 'saved per collapse'];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const body = rows.map((r) => {
    if (!r.visible) return line([`\`${r.capture}\``, String(r.cpus), r.collapses === null ? 'n/a' : String(r.collapses), 'not visible (no csd_* events before 6.5)', '', '', '', '', '']);
    const perSync = r.syncs > 0 ? r.syncCallbacks / r.syncs : null;
    const saved = r.syncCallbacks - r.keptCallbacksUpper;
    const per = r.collapses ?? r.syncs;
    return line([`\`${r.capture}\``, String(r.cpus), r.collapses === null ? 'n/a' : String(r.collapses), String(r.syncs), String(r.syncCallbacks), fmt(perSync, 2), String(r.dropped), String(r.keptCallbacksUpper), per > 0 ? fmt(saved / per, 2) : 'n/a']);
  });
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...body].join('\n') + '\n';
}

export const DOC_BEGIN = '<!-- validation-table:begin (generated by `tlbtrace validate --doc`; do not edit) -->';
export const DOC_END = '<!-- validation-table:end -->';
export const SYNC_BEGIN = '<!-- table-sync:begin (generated by `tlbtrace validate --doc`; do not edit) -->';
export const SYNC_END = '<!-- table-sync:end -->';

/** `doc` with the text between `begin` and `end` replaced by `table`; an error when a marker is missing. */
export function spliceDoc(doc: string, table: string, begin = DOC_BEGIN, end = DOC_END): string {
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`the document has no '${begin}' ... '${end}' markers to put the table between`);
  return `${doc.slice(0, a + begin.length)}\n${table}${doc.slice(b)}`;
}

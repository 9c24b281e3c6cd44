// Shared by every renderer (terminal, HTML, compare): number formatting, the derived figures a
// report shows (rates, wasted share), and the two escapes every string from a trace goes through
// before it is shown: `visible()` (control characters made visible, for terminals and labels) and
// `escapeHtml()` / `jsonForScript()` (markup). Comms, mm names, file names and warning messages are
// chosen by whoever ran the traced workload: treat them as hostile.

import type { PolicyResult, Summary } from '../summary/schema.js';

// ---------------------------------------------------------------------------------------------
// Escapes

/**
 * Make control characters and invisible direction overrides visible: `\x1b` -> "\\x1b",
 * U+202E -> "\\u202e". A comm is up to 15 bytes of whatever the process set with prctl(PR_SET_NAME),
 * so it can carry terminal escape sequences; printing it raw would let a traced program drive the
 * reader's terminal. Backslashes are left alone (an ambiguity a human reader resolves easily).
 */
export function visible(s: string): string {
  // C0, DEL, C1, line/paragraph separators, bidi embeddings/overrides/isolates, BOM
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML element content and (quoted) attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** `escapeHtml(visible(s))`: what every trace-derived string goes through on its way into HTML. */
export function htmlText(s: string): string {
  return escapeHtml(visible(s));
}

/**
 * JSON that is safe inside `<script>`: `<`, `>`, `&` and U+2028/2029 become `\uXXXX` escapes, so
 * `</script>` and `<!--` cannot appear and the text is also valid JavaScript. `JSON.parse` of the
 * result gives back the same value.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ---------------------------------------------------------------------------------------------
// Numbers

export function fmtInt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a';
  return Math.round(n).toLocaleString('en-US');
}

/** `digits` decimals, thousands separated. */
export function fmtNum(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A value already in percent (the schema's `...Pct` fields). */
export function fmtPct(pct: number | null | undefined, digits = 1): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return 'n/a';
  return `${fmtNum(pct, digits)}%`;
}

/** A ratio 0..1 (the schema's fidelity fields, wastedShare()). */
export function fmtShare(ratio: number | null | undefined, digits = 1): string {
  return ratio === null || ratio === undefined ? 'n/a' : fmtPct(ratio * 100, digits);
}

/** Signed percent change, `+12.3%` / `-80.0%`. */
export function fmtChange(pct: number | null | undefined, digits = 1): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return 'n/a';
  const s = fmtNum(Math.abs(pct), digits);
  return pct > 0 ? `+${s}%` : pct < 0 ? `-${s}%` : `${s}%`;
}

/** Events per second: integers from 100/s up (kernel people read "900K/s" as 900,000/s). */
export function fmtRate(perSec: number | null | undefined): string {
  if (perSec === null || perSec === undefined || !Number.isFinite(perSec)) return 'n/a';
  return `${Math.abs(perSec) >= 100 ? fmtInt(perSec) : fmtNum(perSec, 1)}/s`;
}

/** Microseconds, switching to ms / s when large. */
export function fmtUs(us: number | null | undefined): string {
  if (us === null || us === undefined || !Number.isFinite(us)) return 'n/a';
  const a = Math.abs(us);
  if (a >= 1e6) return `${fmtNum(us / 1e6, 2)} s`;
  if (a >= 1e3) return `${fmtNum(us / 1e3, 2)} ms`;
  return `${fmtNum(us, a >= 100 ? 0 : 1)} µs`;
}

export function fmtSec(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return 'n/a';
  return `${fmtNum(sec, sec >= 100 ? 1 : 3)} s`;
}

// ---------------------------------------------------------------------------------------------
// Derived figures (one definition, used by every renderer)

/** count / capture duration, or null for a zero-length capture. */
export function perSecond(s: Summary, count: number): number | null {
  return s.input.durationSec > 0 ? count / s.input.durationSec : null;
}

/**
 * Remote TLB callbacks that could have been wasted: flush_tlb_func callbacks delivered by IPI
 * (`remoteShootdowns.total`, wasted ones included) plus page-table-free sync callbacks, which are
 * counted as waste but are not flush_tlb_func runs.
 */
export function remoteTlbCallbacks(s: Summary): number {
  return s.observed.remoteShootdowns.total + s.observed.wasted.byKind.tableSync;
}

/** wasted / remote TLB callbacks (0..1), null when there were none. */
export function wastedShare(s: Summary): number | null {
  const d = remoteTlbCallbacks(s);
  return d > 0 ? s.observed.wasted.total / d : null;
}

export interface NamedPolicy extends PolicyResult {
  /** the key in `summary.policies` */
  key: string;
}

/** Policies in the order the summary lists them. */
export function policiesInOrder(s: Summary): NamedPolicy[] {
  return Object.entries(s.policies).map(([key, p]) => ({ ...p, key }));
}

/**
 * The short form of a policy's check against a real kernel (policies.<name>.validation, written by
 * `tlbtrace validate`): the range of estimate/real shootdowns per unit of work over its experiments
 * and trace formats ("0.89-1.93x"), "no kernel", "not checked", or "" for summaries from before the field.
 */
export function validationLabel(p: PolicyResult): string {
  const v = p.validation;
  if (v === undefined) return '';
  if (v.status === 'no-kernel') return 'no kernel';
  if (v.status === 'not-checked') return 'not checked';
  const errs = v.experiments.flatMap((e) => Object.values(e.shootdownsError)).filter((x): x is number => x !== null);
  if (errs.length === 0) return 'checked';
  const lo = Math.min(...errs).toFixed(2);
  const hi = Math.max(...errs).toFixed(2);
  return lo === hi ? `${lo}x` : `${lo}-${hi}x`;
}

export const RISKS = ['safe', 'arch-dependent', 'unsafe'] as const;
export type Risk = (typeof RISKS)[number];
/** One palette everywhere: green / amber / red, readable on white and distinguishable in greyscale by lightness. */
export const RISK_COLORS: Record<Risk, string> = { safe: '#2e7d32', 'arch-dependent': '#b26a00', unsafe: '#c62828' };

export const REASON_NAMES: Record<string, string> = {
  '0': 'flush on task switch',
  '1': 'remote shootdown',
  '2': 'local shootdown',
  '3': 'local MM shootdown',
  '4': 'remote IPI send',
  '5': 'remote wrong CPU',
};

export const WASTED_KIND_LABELS: Record<string, string> = {
  remoteWrongCpu: 'remote wrong CPU (reason 5: mm not loaded)',
  remoteZeroPages: 'remote reason 1, pages=0 (already caught up)',
  emptyCallback: 'empty flush_tlb_func callback',
  lazySwitchToInitMm: 'lazy CPU switched to init_mm',
  tableSync: 'tlb_remove_table_smp_sync callback',
};

/** Numeric-aware ordering of string keys ("2" before "10"). */
export function byNumericKey(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a.localeCompare(b);
}

/** A short description of the CPUs whose ring buffer lost its oldest events. */
export function historyCutNote(s: Summary): string | null {
  const cut = s.input.lost.perCpu.filter((c) => c.historyCut);
  if (cut.length === 0) return null;
  const t0 = s.input.firstTs;
  const parts = cut.map((c) => {
    const late = t0 !== null && c.firstTs !== null ? ` from +${fmtSec(c.firstTs - t0)}` : '';
    return `CPU ${c.cpu}${late}`;
  });
  return `history cut (oldest events overwritten): ${parts.join(', ')}; activity before that is unknown, not zero`;
}

// Two checks of the capture itself, rendered the same way in the terminal and in HTML:
//   - the cross-check of the model's remote flush callbacks against the kernel's TLB counter, and
//     of the traced call_function vectors against its CAL counter (summary.crossCheck, present
//     when a capture directory was analyzed), each with its reason;
//   - a trace recorded without the TLB events (input.tlbEventsMissing has tlb:tlb_flush): the
//     zeros it shows are for want of events; blindSpots[0] holds the line with the command.

import type { Summary } from '../summary/schema.js';
import { escapeHtml, fmtInt, htmlText, visible } from './format.js';
import type { Painter } from './terminal.js';

const VERDICT_TEXT: Record<NonNullable<Summary['crossCheck']>['verdict'], string> = {
  agree: 'agree',
  'lower-bound': 'agree as a lower bound',
  disagree: 'DISAGREE',
  'no-counter': 'no counter to compare with',
};

/** blindSpots' line for a trace without tlb:tlb_flush, or null */
export function missingTlbEvents(s: Summary): string | null {
  if (!(s.input.tlbEventsMissing ?? []).includes('tlb:tlb_flush')) return null;
  return s.blindSpots.find((b) => b.startsWith('No tlb:tlb_flush events')) ?? 'No tlb:tlb_flush events in this trace: every count is 0 for want of events.';
}

function headline(x: NonNullable<Summary['crossCheck']>): string {
  const counter = x.counter === null ? 'n/a' : fmtInt(x.counter);
  return `${VERDICT_TEXT[x.verdict]}${x.trivial ? ' (trivially: 0 = 0)' : ''}: remote flush callbacks ${fmtInt(x.model)} in the trace, ${counter} by /proc/interrupts TLB (${x.source})`;
}

type IpiCheck = NonNullable<NonNullable<Summary['crossCheck']>['ipis']>;

const IPI_VERDICT_TEXT: Record<IpiCheck['verdict'], string> = {
  agree: 'agree',
  disagree: 'DISAGREE',
  'not-traced': 'not traced',
  'no-counter': 'no counter to compare with',
};

function ipiHeadline(x: IpiCheck): string {
  const counter = x.counter === null ? 'n/a' : fmtInt(x.counter);
  return `${IPI_VERDICT_TEXT[x.verdict]}: call_function vectors ${x.verdict === 'not-traced' ? 'n/a' : fmtInt(x.model)} in the trace, ${counter} by /proc/interrupts CAL`;
}

const ipiStyle = (x: IpiCheck) => (x.verdict === 'disagree' ? 'red' : x.verdict === 'agree' ? 'green' : 'yellow');

type PerCpu = NonNullable<Summary['crossCheck']>['perCpu'];

const perCpuLine = (perCpu: PerCpu) => `      per CPU (trace vs counter): ${perCpu.map((p) => `CPU${p.cpu} ${fmtInt(p.model)} vs ${fmtInt(p.counter)}${p.ok ? '' : ' !'}`).join(', ')}`;

/** Terminal lines (already indented), or none when the summary has no cross-check. */
export function crossCheckLines(s: Summary, c: Painter, labelWidth: number): string[] {
  const x = s.crossCheck;
  if (x === undefined) return [];
  const style = x.verdict === 'disagree' ? 'red' : x.verdict === 'agree' && !x.trivial ? 'green' : 'yellow';
  const out = [`  ${'kernel counters'.padEnd(labelWidth)}${c(style, headline(x))}`];
  if (x.perCpu.length > 0 && x.verdict !== 'no-counter') {
    out.push(perCpuLine(x.perCpu));
  }
  if (x.reason !== null) out.push(`      ${c(style === 'green' ? 'dim' : style, 'why:')} ${visible(x.reason)}`);
  const ipis = x.ipis;
  if (ipis !== undefined) {
    const st = ipiStyle(ipis);
    out.push(`  ${'IPIs received'.padEnd(labelWidth)}${c(st, ipiHeadline(ipis))}`);
    if (ipis.perCpu.some((p) => !p.ok)) out.push(perCpuLine(ipis.perCpu));
    if (ipis.reason !== null) out.push(`      ${c(st, 'why:')} ${visible(ipis.reason)}`);
  }
  return out;
}

/** The glance card of the HTML report, or '' without a cross-check. */
export function crossCheckHtml(s: Summary): string {
  const x = s.crossCheck;
  if (x === undefined) return '';
  const cls = x.verdict === 'disagree' ? 'bad' : x.verdict === 'agree' && !x.trivial ? 'ok' : 'warn';
  const table = x.verdict === 'no-counter' ? '' : perCpuTable(x.perCpu, 'remote flush callbacks (trace)', 'TLB counter');
  return `<div class="card" id="crosscheck"><h2>Kernel counters</h2><p class="${cls}"><b>${escapeHtml(headline(x))}</b></p>${x.reason !== null ? `<p>${htmlText(x.reason)}</p>` : ''}${table}<p class="note">Counters from <code>${htmlText(x.file)}</code>; tolerance ${escapeHtml(x.tolerance)}.</p>${ipiCheckHtml(x.ipis)}</div>`;
}

function perCpuTable(perCpu: PerCpu, traceHead: string, counterHead: string): string {
  const rows = perCpu
    .map((p) => `<tr><td>CPU ${p.cpu}</td><td class="n">${fmtInt(p.model)}</td><td class="n">${fmtInt(p.counter)}</td><td class="n ${p.ok ? '' : 'bad'}">${p.diff > 0 ? '+' : ''}${fmtInt(p.diff)}</td></tr>`)
    .join('');
  return `<table><thead><tr><th>CPU</th><th class="n">${traceHead}</th><th class="n">${counterHead}</th><th class="n">diff</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function ipiCheckHtml(x: IpiCheck | undefined): string {
  if (x === undefined) return '';
  const cls = x.verdict === 'disagree' ? 'bad' : x.verdict === 'agree' ? 'ok' : 'warn';
  const table = x.perCpu.length === 0 ? '' : perCpuTable(x.perCpu, 'call_function vectors (trace)', 'CAL counter');
  return `<h3>IPIs received</h3><p class="${cls}"><b>${escapeHtml(ipiHeadline(x))}</b></p>${x.reason !== null ? `<p>${htmlText(x.reason)}</p>` : ''}${table}<p class="note">Tolerance ${escapeHtml(x.tolerance)}.</p>`;
}

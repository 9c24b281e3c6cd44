// The default human output of `tlbtrace analyze`: capture line, observed block, policy table.
// Colour only when asked (the CLI decides from isTTY / NO_COLOR). Every string from the trace goes
// through visible(): a comm can carry escape sequences that would otherwise drive the terminal.

import type { Summary } from '../summary/schema.js';
import {
  REASON_NAMES,
  WASTED_KIND_LABELS,
  byNumericKey,
  fmtInt,
  fmtPct,
  fmtRate,
  fmtSec,
  fmtShare,
  fmtUs,
  perSecond,
  policiesInOrder,
  remoteTlbCallbacks,
  validationLabel,
  visible,
  wastedShare,
  type Risk,
} from './format.js';
import { crossCheckLines, missingTlbEvents } from './checks.js';

export interface TerminalOptions {
  color: boolean;
  /** wrap width for long lists (per-CPU counts); default 100 */
  width?: number;
}

const ANSI = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', cyan: '36' } as const;
type Style = keyof typeof ANSI;

export interface Painter {
  (style: Style, s: string): string;
}

export function painter(color: boolean): Painter {
  return (style, s) => (color && s !== '' ? `\x1b[${ANSI[style]}m${s}\x1b[0m` : s);
}

const VOCABULARY_NAMES: Record<string, string> = { csd: 'csd_*', ipi: 'ipi_send_*', reason5: 'reason 5', callFunctionVectors: 'call_function vectors' };

const RISK_STYLE: Record<Risk, Style> = { safe: 'green', 'arch-dependent': 'yellow', unsafe: 'red' };

/**
 * Lay out columns; `align` has one letter per column, 'l' or 'r' (missing letters: 'r').
 * Widths count code points, which is right for the ASCII this output is made of after visible().
 */
export function columns(rows: string[][], align: string, gap = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - [...cell].length);
        return align[i] === 'l' ? cell + pad : pad + cell;
      })
      .join(gap)
      .trimEnd(),
  );
}

/** Join `items` with ", " and wrap into lines of at most `width` characters, each prefixed by `indent`. */
function wrapList(items: string[], indent: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const it of items) {
    const next = cur === '' ? it : `${cur}, ${it}`;
    if (indent.length + next.length > width && cur !== '') {
      lines.push(`${indent}${cur},`);
      cur = it;
    } else cur = next;
  }
  if (cur !== '') lines.push(`${indent}${cur}`);
  return lines;
}

function byCpuList(counts: Record<string, number>): string[] {
  return Object.keys(counts)
    .sort(byNumericKey)
    .map((k) => `CPU${k} ${fmtInt(counts[k] ?? 0)}`);
}

export function renderTerminal(s: Summary, opts: TerminalOptions): string {
  const c = painter(opts.color);
  const width = opts.width ?? 100;
  const out: string[] = [];
  const inp = s.input;
  const obs = s.observed;

  // ---- capture
  out.push(`${c('bold', `${s.tool.name} ${s.tool.version}`)}  ${inp.files.map(visible).join(', ')}`);
  const cpus = inp.declaredCpus !== null && inp.declaredCpus !== inp.cpus ? `${inp.cpus} CPUs seen (header: ${inp.declaredCpus})` : `${inp.cpus} CPUs`;
  const vocab = Object.entries(inp.vocabulary)
    .filter(([, v]) => v)
    .map(([k]) => VOCABULARY_NAMES[k] ?? k);
  out.push(
    `${c('bold', 'capture')}  ${inp.format}, ${cpus}, ${fmtSec(inp.durationSec)}, ${fmtInt(inp.events)} events; mm by ${s.model.attribution}; events: ${vocab.length ? vocab.join(', ') : 'no csd_*, ipi_send_*, reason 5'}`,
  );
  const notes: string[] = [];
  const lostCpus = inp.lost.perCpu.filter((h) => h.lostEvents > 0 || h.lostMarkers > 0);
  const w = inp.window;
  if (w !== undefined) notes.push(`only the events from ${w.from === null ? 'the start' : `${w.from} s`} to ${w.to === null ? 'the end' : `${w.to} s`} were analyzed (--from/--to)`);
  for (const h of lostCpus) notes.push(`CPU ${h.cpu}: lost ${fmtInt(h.lostEvents)} events (${fmtInt(h.lostMarkers)} marker${h.lostMarkers === 1 ? '' : 's'})`);
  for (const h of inp.lost.perCpu.filter((h) => h.historyCut)) {
    const late = h.firstTs !== null && inp.firstTs !== null ? ` at +${fmtSec(h.firstTs - inp.firstTs)}` : '';
    notes.push(`CPU ${h.cpu}: history starts${late} (ring buffer overwrote its oldest events; earlier activity is unknown, not zero)`);
  }
  if (inp.lost.entriesInBuffer !== null && inp.lost.entriesWritten !== null && inp.lost.entriesInBuffer < inp.lost.entriesWritten) {
    notes.push(`ring buffer kept ${fmtInt(inp.lost.entriesInBuffer)} of ${fmtInt(inp.lost.entriesWritten)} entries written`);
  }
  // the summary's own note, unless the per-CPU lines above already said it
  if (inp.lost.note && notes.length === 0) notes.push(visible(inp.lost.note));
  if (inp.truncated) notes.push('input is truncated: counts cover the part that was read');
  if (!inp.tgidKnown) {
    const atFork = s.model.forksSharingMm ?? 0;
    notes.push(
      atFork > 0
        ? `no TGID column: address spaces inferred from pids; ${fmtInt(atFork)} thread${atFork === 1 ? '' : 's'} and vfork children found at the fork`
        : 'no TGID column: address spaces inferred from pids (threads may be split: none was found at its fork, which takes the clone, clone3, fork and vfork syscall entries)',
    );
  }
  if (inp.warnings.total > 0) {
    const codes = Object.entries(inp.warnings.byCode)
      .map(([k, v]) => `${visible(k)} ${fmtInt(v)}`)
      .join(', ');
    notes.push(`${fmtInt(inp.warnings.total)} warning${inp.warnings.total === 1 ? '' : 's'}: ${codes}`);
    for (const ex of inp.warnings.examples.slice(0, 3)) notes.push(`  ${visible(ex.file)}:${ex.line} [${visible(ex.code)}] ${visible(ex.message)}`);
  }
  const noTlb = missingTlbEvents(s);
  if (noTlb !== null) out.push(`  ${c('red', '!')} ${c('red', visible(noTlb))}`);
  for (const n of notes) out.push(`  ${c('yellow', '!')} ${n}`);
  out.push('');

  // ---- observed
  out.push(c('bold', 'observed'));
  const rate = (n: number) => fmtRate(perSecond(s, n));
  const rk = obs.requestsByKind;
  const rs = obs.remoteShootdowns;
  const share = wastedShare(s);
  const main: string[][] = [
    ['requests', fmtInt(obs.requests), rate(obs.requests), `remote ${fmtInt(rk.remote)}, local-only ${fmtInt(rk.localOnly)}, batched ${fmtInt(rk.batched)}, phantom ${fmtInt(obs.phantomRequests)}`],
    ['remote shootdowns', fmtInt(rs.total), rate(rs.total), `${rs.exact ? 'exact' : 'lower bound'}, ${rs.pairing} pairing${rs.unansweredTargets || rs.unpairedHandlers ? `; ${fmtInt(rs.unpairedHandlers)} unpaired handlers, ${fmtInt(rs.unansweredTargets)} unanswered targets` : ''}`],
    ['IPIs', fmtInt(obs.ipis.total), rate(obs.ipis.total), `${fmtInt(obs.ipis.tlb)} carried TLB work`],
    ['wasted', fmtInt(obs.wasted.total), rate(obs.wasted.total), `${fmtShare(share)} of ${fmtInt(remoteTlbCallbacks(s))} remote TLB callbacks`],
    ['tlb_flush', fmtInt(obs.tlbFlush.total), rate(obs.tlbFlush.total), ''],
  ];
  const labelWidth = 20;
  const label = (l: string) => `  ${l.padEnd(labelWidth)}`;
  const mainLines = columns(main.map((r) => [label(r[0]!).trimEnd(), r[1]!, r[2]!, r[3]!]), 'lrrl');
  // per-CPU lists under their rows
  out.push(mainLines[0]!, mainLines[1]!);
  out.push(...wrapList(byCpuList(rs.byCpu), '      received: ', width));
  const mech = obs.mechanism;
  if (mech !== undefined && mech.kind !== 'unknown') {
    const how = mech.kind === 'hypercall' ? c('yellow', visible(mech.note)) : visible(mech.note);
    out.push(`${label('remote flushes')}${how}`);
  }
  out.push(mainLines[2]!);
  out.push(...wrapList(byCpuList(obs.ipis.byCpu), '      received: ', width));
  out.push(mainLines[3]!);
  const kinds = Object.entries(obs.wasted.byKind).sort((a, b) => b[1] - a[1]);
  out.push(...columns(kinds.map(([k, v]) => [`      ${WASTED_KIND_LABELS[k] ?? k}`, fmtInt(v)]), 'lr'));
  out.push(mainLines[4]!);
  const reasonRows = Object.keys(obs.tlbFlush.byReason)
    .sort(byNumericKey)
    .map((k) => {
      const p = obs.tlbFlush.byReasonPages[k];
      return [
        `      ${k} ${REASON_NAMES[k] ?? visible(k)}`,
        fmtInt(obs.tlbFlush.byReason[k]),
        p ? `full ${fmtInt(p.full)}, ranged ${fmtInt(p.ranged)}, zero ${fmtInt(p.zero)}` : '',
      ];
    });
  out.push(...columns(reasonRows, 'lrl'));
  if (obs.topMms.length > 0) {
    const top = [...obs.topMms].sort((x, y) => y.shootdowns - x.shootdowns).slice(0, 3);
    out.push(`${label('top mms')}${top.map((m) => `${visible(m.comm)}[${m.tgid >= 0 ? m.tgid : visible(m.mm)}] ${fmtInt(m.shootdowns)}`).join(', ')}`);
  }
  if (obs.byCause.length > 0) {
    const top = [...obs.byCause].sort((x, y) => y.shootdowns - x.shootdowns).slice(0, 3);
    out.push(`${label('top causes')}${top.map((c) => `${visible(c.cause)} ${fmtInt(c.shootdowns)}`).join(', ')}`);
  }
  const lat = obs.latencyUs;
  if (lat.count > 0) {
    out.push(`${label('request -> handler')}p50 ${fmtUs(lat.p50)}, p90 ${fmtUs(lat.p90)}, p99 ${fmtUs(lat.p99)}, max ${fmtUs(lat.max)} (${fmtInt(lat.count)} paired)`);
  }
  const f = s.model.fidelity;
  const fid = [
    f.targets === null ? 'IPI targets n/a' : `IPI targets ${fmtShare(f.targets)} of ${fmtInt(f.targetsCompared)}`,
    f.switchFlush === null ? 'switch-in flushes n/a' : `switch-in flushes ${fmtShare(f.switchFlush)} of ${fmtInt(f.switchCompared)}`,
  ].join('; ');
  const fidLow = (f.targets !== null && f.targets < 0.9) || (f.switchFlush !== null && f.switchFlush < 0.9);
  out.push(`${label('model fidelity')}${fidLow ? c('yellow', fid) : fid}${f.note ? ` (${visible(f.note)})` : ''}`);
  if (s.model.generationsAreEstimates) out.push(c('dim', '      generation counts are lower bounds of the kernel\'s tlb_gen'));
  out.push(...crossCheckLines(s, c, labelWidth));
  out.push('');

  // ---- policies
  const policies = policiesInOrder(s);
  if (policies.length > 0 && mech?.kind === 'hypercall') {
    // no flush IPIs exist on this machine: the units that do are remote flush requests and CPUs
    out.push(c('bold', 'policies') + c('dim', '  (flushed by hypercall: shootdowns and IPIs n/a; remote flush requests and the CPUs they flush instead)'));
    const head = ['  policy', 'remote requests', 'CPUs flushed', 'avoided requests', 'avoided CPUs', 'risk'];
    const pct = (a: number, base: number) => fmtPct(base > 0 ? Math.round((a / base) * 10000) / 100 : null);
    const rows = policies.map((p) => {
      const r = p.remoteFlushes;
      if (r === undefined) return [`  ${visible(p.name)}`, 'n/a', 'n/a', '', '', p.risk];
      return [`  ${visible(p.name)}`, fmtInt(r.requests), fmtInt(r.cpus), pct(r.avoidedRequests, r.requests + r.avoidedRequests), pct(r.avoidedCpus, r.cpus + r.avoidedCpus), p.risk];
    });
    out.push(...policyTable(c, [head, ['  as traced', fmtInt(mech.remoteFlushRequests), fmtInt(mech.cpusFlushed), '', '', ''], ...rows], policies));
  } else if (policies.length > 0) {
    out.push(c('bold', 'policies') + c('dim', '  (IPIs: TLB IPIs; avoided = as traced minus policy, % of as traced)'));
    const checked = policies.some((p) => p.validation !== undefined);
    const head = ['  policy', 'shootdowns', 'IPIs', 'avoided SD', 'avoided IPIs', ...(checked ? ['vs real kernel'] : []), 'risk'];
    const rows = policies.map((p) => [`  ${visible(p.name)}`, fmtInt(p.shootdowns), fmtInt(p.ipis), fmtPct(p.avoidedShootdownsPct), fmtPct(p.avoidedIpisPct), ...(checked ? [validationLabel(p)] : []), p.risk]);
    out.push(...policyTable(c, [head, ['  as traced', fmtInt(rs.total), fmtInt(obs.ipis.tlb), '', '', ...(checked ? [''] : []), ''], ...rows], policies, checked ? 'lrrrrll' : 'lrrrrl'));
    if (checked) out.push(c('dim', '  vs real kernel: estimate / real shootdowns per unit of work, replayed on a capture and compared with a kernel that does it (tlbtrace policies, docs/validation.md)'));
  } else {
    out.push(c('dim', 'no policies replayed'));
  }
  return `${out.join('\n')}\n`;
}

/** The policy table (header, the as-traced row, one row per policy) and the risk notes under it. */
function policyTable(c: Painter, rows: string[][], policies: ReturnType<typeof policiesInOrder>, align = 'lrrrrl'): string[] {
  const out: string[] = [];
  const lines = columns(rows, align);
  out.push(c('dim', lines[0]!));
  out.push(lines[1]!);
  lines.slice(2).forEach((l, i) => {
    const p = policies[i]!;
    // colour the trailing risk word only (padding is already computed on plain text)
    out.push(l.endsWith(p.risk) ? l.slice(0, l.length - p.risk.length) + c(RISK_STYLE[p.risk], p.risk) : l);
  });
  for (const p of policies) {
    if (p.risk !== 'safe') out.push(c('dim', `  ${visible(p.name)}: ${p.risk}: ${visible(p.riskReason)}`));
  }
  return out;
}

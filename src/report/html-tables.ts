// The report's tables: every number of the summary, grouped as the first screen is, and one
// block per policy with its figures, parameters and caveats.

import type { Summary } from '../summary/schema.js';
import { num, riskBadge, table, type Cell } from './html-cells.js';
import {
  REASON_NAMES,
  WASTED_KIND_LABELS,
  byNumericKey,
  escapeHtml,
  fmtInt,
  fmtNum,
  fmtPct,
  fmtRate,
  fmtSec,
  fmtShare,
  fmtUs,
  htmlText,
  perSecond,
  policiesInOrder,
  wastedShare,
  type NamedPolicy,
} from './format.js';

const OUTCOME_LABELS: Record<string, string> = {
  ranged: 'ranged flush (reason 1, N pages)',
  full: 'full flush (reason 1, pages=-1)',
  zero: 'nothing to flush (reason 1, pages=0)',
  wrongCpu: 'mm not loaded (reason 5)',
  switchToInitMm: 'lazy CPU switched to init_mm (reason 0)',
  empty: 'empty callback (no tlb_flush)',
};

function section(id: string, title: string, body: string, full = false): string {
  return `<div class="${full ? 'full' : ''}" id="${id}"><h3>${escapeHtml(title)}</h3>${body}</div>`;
}

function pctOf(n: number, d: number): string {
  return d > 0 ? fmtPct((n / d) * 100) : 'n/a';
}

function distRow(label: string, d: { count: number; min: number | null; p50: number | null; p90: number | null; p99: number | null; max: number | null; mean: number | null }): Cell[] {
  return [label, d.count, num(fmtUs(d.min)), num(fmtUs(d.p50)), num(fmtUs(d.p90)), num(fmtUs(d.p99)), num(fmtUs(d.max)), num(fmtUs(d.mean))];
}

/** estimate/real per trace format: "ftrace 0.89x, trace-cmd 0.89x, trace.dat 0.89x" */
function errList(byFormat: Record<string, number | null>): string {
  return Object.entries(byFormat)
    .map(([f, e]) => `${f} ${e === null ? 'n/a' : `${e.toFixed(2)}x`}`)
    .join(', ');
}

function policyDetails(p: NamedPolicy): string {
  const kv = (o: Record<string, unknown>) =>
    Object.keys(o).length === 0
      ? '<span class="empty">none</span>'
      : Object.entries(o)
          .map(([k, v]) => `<code>${htmlText(k)}</code>=${htmlText(v === null ? 'null' : typeof v === 'number' ? fmtNum(v, Number.isInteger(v) ? 0 : 2) : String(v))}`)
          .join(', ');
  const notes = p.notes.length ? `<ul>${p.notes.map((n) => `<li>${htmlText(n)}</li>`).join('')}</ul>` : '';
  return `<details id="policy-${htmlText(p.key)}"><summary><b>${htmlText(p.title)}</b> <code>${htmlText(p.name)}</code> ${riskBadge(p.risk)}</summary>
<dl class="kv"><dt>risk</dt><dd>${htmlText(p.riskReason)}</dd>${p.validation ? `<dt>vs real kernel</dt><dd>${htmlText(p.validation.text)}${p.validation.experiments.length ? `<ul>${p.validation.experiments.map((e) => `<li>${htmlText(e.id)}: shootdowns ${htmlText(errList(e.shootdownsError))}, IPIs ${htmlText(errList(e.ipisError))} (per ${htmlText(e.unit)})</li>`).join('')}</ul>` : ''}</dd>` : ''}<dt>figures</dt><dd>${kv(p.extra)}</dd><dt>parameters</dt><dd>${kv(p.params)}</dd></dl>${notes}</details>`;
}

export function tables(s: Summary): string {
  const obs = s.observed;
  const out: string[] = [];
  const rate = (n: number) => num(fmtRate(perSecond(s, n)));

  // tlb_flush by reason
  const reasons = Object.keys(obs.tlbFlush.byReason).sort(byNumericKey);
  out.push(
    section(
      'by-reason',
      'tlb_flush by reason',
      table(
        ['reason', 'events', 'per second', 'full (-1)', 'ranged', 'zero'],
        [
          ...reasons.map((k) => {
            const p = obs.tlbFlush.byReasonPages[k];
            return [`${k} ${REASON_NAMES[k] ?? ''}`, obs.tlbFlush.byReason[k] ?? 0, rate(obs.tlbFlush.byReason[k] ?? 0), p?.full ?? null, p?.ranged ?? null, p?.zero ?? null] as Cell[];
          }),
          [
            'total',
            obs.tlbFlush.total,
            rate(obs.tlbFlush.total),
            ...(['full', 'ranged', 'zero'] as const).map((k) => Object.values(obs.tlbFlush.byReasonPages).reduce((a, p) => a + p[k], 0)),
          ],
        ],
        [false, true, true, true, true, true],
      ),
    ),
  );

  // per CPU
  const cpuKeys = new Set<string>([...Object.keys(obs.remoteShootdowns.byCpu), ...Object.keys(obs.ipis.byCpu), ...Object.keys(s.input.eventsByCpu)]);
  for (const h of s.input.lost.perCpu) cpuKeys.add(String(h.cpu));
  const hist = new Map(s.input.lost.perCpu.map((h) => [String(h.cpu), h]));
  const t0 = s.input.firstTs;
  out.push(
    section(
      'by-cpu',
      'Per CPU',
      table(
        ['CPU', 'events', 'shootdowns received', 'IPIs received', 'lost events', 'first event'],
        [...cpuKeys].sort(byNumericKey).map((k) => {
          const h = hist.get(k);
          const first = h?.firstTs != null && t0 !== null ? `+${fmtSec(h.firstTs - t0)}` : 'n/a';
          return [
            k,
            s.input.eventsByCpu[k] ?? h?.events ?? 0,
            obs.remoteShootdowns.byCpu[k] ?? 0,
            obs.ipis.byCpu[k] ?? 0,
            h ? h.lostEvents : null,
            { html: h?.historyCut ? `<span class="warn" title="history cut: earlier activity unknown">${escapeHtml(first)} (cut)</span>` : escapeHtml(first) },
          ];
        }),
        [false, true, true, true, true, true],
      ),
    ),
  );

  // requests / outcomes / callbacks
  const rk = obs.requestsByKind;
  out.push(
    section(
      'requests',
      'Flush requests',
      table(
        ['kind', 'requests', 'per second'],
        [
          ['remote (tlb_flush 4)', rk.remote, rate(rk.remote)],
          ['local only (tlb_flush 3)', rk.localOnly, rate(rk.localOnly)],
          ['batched reclaim', rk.batched, rate(rk.batched)],
          ['phantom (every target filtered)', obs.phantomRequests, rate(obs.phantomRequests)],
          ['total', obs.requests, rate(obs.requests)],
        ],
        [false, true, true],
      ),
    ),
  );
  const w = obs.wasted;
  out.push(
    section(
      'wasted',
      'Wasted remote callbacks by kind',
      table(
        ['kind', 'callbacks', 'share of wasted'],
        [
          ...Object.entries(w.byKind)
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => [WASTED_KIND_LABELS[k] ?? k, v, num(pctOf(v, w.total))] as Cell[]),
          ['total', w.total, num(`${fmtShare(wastedShare(s))} of remote TLB callbacks`)],
        ],
        [false, true, true],
      ),
    ),
  );
  const rs = obs.remoteShootdowns;
  out.push(
    section(
      'outcomes',
      'Remote shootdowns by outcome on the target',
      table(
        ['outcome', 'shootdowns', 'share'],
        Object.entries(rs.byOutcome)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [OUTCOME_LABELS[k] ?? k, v, num(pctOf(v, rs.total))] as Cell[]),
        [false, true, true],
      ) +
        `<p class="note">${rs.exact ? 'Exact' : 'Lower bound'}; pairing by ${escapeHtml(rs.pairing)}; ${fmtInt(rs.unpairedHandlers)} unpaired handlers, ${fmtInt(rs.unansweredTargets)} queued targets never answered.</p>`,
    ),
  );
  out.push(
    section(
      'callbacks',
      'Remote callbacks by class',
      table(
        ['callback', 'runs'],
        Object.entries(obs.ipis.callbacksByClass)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [{ html: `<code>${htmlText(k)}</code>` }, v] as Cell[]),
        [false, true],
      ),
    ),
  );

  // latency
  const latencyRows: Cell[][] = [distRow('request → handler', obs.latencyUs)];
  for (const p of policiesInOrder(s)) if (p.deferralDelayUs) latencyRows.push(distRow(`${p.name}: deferral delay`, p.deferralDelayUs));
  out.push(section('latency', 'Latency and delay distributions', table(['what', 'count', 'min', 'p50', 'p90', 'p99', 'max', 'mean'], latencyRows, [false, true, true, true, true, true, true, true]), true));

  // top mms, causes
  out.push(
    section(
      'top-mms',
      'Top address spaces',
      table(
        ['comm', 'tgid', 'mm', 'requests', 'shootdowns', 'IPIs', 'wasted', 'wasted %'],
        obs.topMms.map((m) => [{ html: `<code>${htmlText(m.comm)}</code>` }, m.tgid >= 0 ? m.tgid : 'n/a', m.mm, m.requests, m.shootdowns, m.ipis, m.wasted, num(pctOf(m.wasted, m.shootdowns))]),
        [false, true, false, true, true, true, true, true],
      ),
      true,
    ),
  );
  out.push(
    section(
      'causes',
      'Causes',
      table(
        ['cause', 'requests', 'shootdowns', 'IPIs', 'wasted', 'wasted %'],
        obs.byCause.map((c) => [c.cause, c.requests, c.shootdowns, c.ipis, c.wasted, num(pctOf(c.wasted, c.shootdowns))]),
        [false, true, true, true, true, true],
      ),
      true,
    ),
  );

  // policies, full rows
  const policies = policiesInOrder(s);
  const pol = table(
    ['policy', 'risk', 'requests', 'shootdowns', 'IPIs', 'avoided shootdowns', 'avoided IPIs', 'remote flush requests', 'CPUs flushed', 'ranged → full', 'full flushes added', 'deferral p50 / p99', 'CPU time saved'],
    [
      [{ html: '<b>observed</b>' }, null, obs.requests, rs.total, obs.ipis.total, null, null, obs.mechanism?.remoteFlushRequests ?? null, obs.mechanism?.cpusFlushed ?? null, null, null, null, null],
      ...policies.map(
        (p) =>
          [
            { html: `<a href="#policy-${htmlText(p.key)}"><code>${htmlText(p.name)}</code></a>` },
            { html: riskBadge(p.risk, p.riskReason) },
            p.requests,
            p.shootdowns,
            p.ipis,
            num(p.ipiUnit === 'hypercall' ? 'n/a (hypercall)' : `${fmtInt(p.avoidedShootdowns)} (${fmtPct(p.avoidedShootdownsPct)})`),
            num(p.ipiUnit === 'hypercall' ? 'n/a (hypercall)' : `${fmtInt(p.avoidedIpis)} (${fmtPct(p.avoidedIpisPct)})`),
            p.remoteFlushes?.requests ?? null,
            p.remoteFlushes?.cpus ?? null,
            p.rangedToFull,
            p.fullFlushesAdded,
            num(p.deferralDelayUs ? `${fmtUs(p.deferralDelayUs.p50)} / ${fmtUs(p.deferralDelayUs.p99)}` : '—'),
            num(fmtUs(p.cpuTimeSavedUs)),
          ] as Cell[],
      ),
    ],
    [false, false, true, true, true, true, true, true, true, true, true, true, true],
    'policy-table',
  );
  out.push(
    section(
      'policies',
      'Policies',
      `${pol}<p class="note">Avoided = observed minus policy (negative: the policy costs more). CPU time saved uses the cost model below. Click a policy for its figures, parameters and caveats.</p>${policies.map(policyDetails).join('\n')}`,
      true,
    ),
  );

  // model fidelity: what the agreement figures on the first screen are made of
  const f = s.model.fidelity;
  const fidRows: Cell[][] = [
    ['IPI target sets: compared', f.targetsCompared, num(fmtShare(f.targets))],
    ...Object.entries(f.targetMismatches).map(([k, v]) => [`  mismatch: ${k}`, v, num(pctOf(v, f.targetsCompared))] as Cell[]),
    ...Object.entries(f.targetsSkipped ?? {}).map(([k, v]) => [`  not compared: ${k}`, v, null] as Cell[]),
    ['switch-in flushes: compared', f.switchCompared, num(fmtShare(f.switchFlush))],
    ...Object.entries(f.switchMismatches ?? {}).map(([k, v]) => [`  mismatch: ${k}`, v, num(pctOf(v, f.switchCompared))] as Cell[]),
  ];
  out.push(
    section(
      'fidelity-detail',
      'Model fidelity',
      table(['check', 'count', 'agreement / share'], fidRows, [false, true, true]) +
        `<p class="note">Events attributed by ${s.model.attribution === 'tgid' ? 'tgid' : 'pid (no TGID column)'}; ${fmtInt(s.model.mms)} address spaces.${f.note ? ` ${htmlText(f.note)}` : ''}</p>`,
    ),
  );

  // blind spots, cost model, warnings, events
  out.push(section('blind-spots', 'Blind spots', s.blindSpots.length ? `<ul>${s.blindSpots.map((b) => `<li>${htmlText(b)}</li>`).join('')}</ul>` : '<p class="empty">none listed</p>'));
  const cm = s.costModel;
  out.push(
    section(
      'cost-model',
      'Cost model',
      table(
        ['parameter', 'value', 'source'],
        (
          [
            ['ipiRoundTripNs', 'IPI round trip', cm.ipiRoundTripNs],
            ['perEntryInvalidationNs', 'per-entry invalidation', cm.perEntryInvalidationNs],
            ['fullFlushRefillNs', 'full-flush refill', cm.fullFlushRefillNs],
          ] as const
        ).map(([k, label, v]) => [label, num(`${fmtInt(v)} ns`), cm.sources[k] ?? 'default'] as Cell[]),
        [false, true, false],
      ),
    ),
  );
  const wv = s.input.warnings;
  out.push(
    section(
      'warnings',
      `Warnings (${fmtInt(wv.total)})`,
      wv.total === 0
        ? '<p class="empty">none</p>'
        : table(
            ['code', 'count'],
            Object.entries(wv.byCode).map(([k, v]) => [{ html: `<code>${htmlText(k)}</code>` }, v]),
            [false, true],
          ) +
            (wv.examples.length
              ? table(
                  ['where', 'code', 'message'],
                  wv.examples.map((e) => [{ html: `<code>${htmlText(e.file)}:${e.line}</code>` }, { html: `<code>${htmlText(e.code)}</code>` }, e.message]),
                )
              : ''),
    ),
  );
  out.push(
    section(
      'events',
      'Events by type',
      table(
        ['event', 'count'],
        Object.entries(s.input.eventsByType)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [{ html: `<code>${htmlText(k)}</code>` }, v]),
        [false, true],
      ),
    ),
  );
  return `<section id="tables"><h2>Tables</h2><div class="tables">${out.join('\n')}</div></section>`;
}

// The report's first screen: the capture and its holes, the observed rates, how remote flushes
// were delivered, model fidelity, and what each policy would avoid at what risk.

import type { Summary } from '../summary/schema.js';
import { crossCheckHtml, missingTlbEvents } from './checks.js';
import { fidelityClass, pctBar, riskBadge } from './html-cells.js';
import {
  RISK_COLORS,
  escapeHtml,
  fmtInt,
  fmtNum,
  fmtRate,
  fmtSec,
  fmtShare,
  htmlText,
  perSecond,
  policiesInOrder,
  remoteTlbCallbacks,
  validationLabel,
  wastedShare,
} from './format.js';

export function glance(s: Summary): string {
  const inp = s.input;
  const obs = s.observed;
  const files = inp.files.map((f) => `<code>${htmlText(f)}</code>`).join('<br>');
  const cpus = inp.declaredCpus !== null && inp.declaredCpus !== inp.cpus ? `${inp.cpus} seen (header declares ${inp.declaredCpus})` : `${inp.cpus}`;
  const span = inp.firstTs !== null && inp.lastTs !== null ? ` <span class="mono">(${fmtNum(inp.firstTs, 6)} → ${fmtNum(inp.lastTs, 6)})</span>` : '';
  const vocab = [
    ['csd_*', inp.vocabulary.csd],
    ['ipi_send_*', inp.vocabulary.ipi],
    ['reason 5', inp.vocabulary.reason5],
    ['call_function vectors', inp.vocabulary.callFunctionVectors],
  ]
    .map(([n, on]) => (on ? escapeHtml(n as string) : `<s class="warn" title="not in this trace">${escapeHtml(n as string)}</s>`))
    .join(', ');
  const lostCpus = inp.lost.perCpu.filter((h) => h.lostEvents > 0 || h.lostMarkers > 0);
  const cut = inp.lost.perCpu.filter((h) => h.historyCut);
  let lost: string;
  if (!inp.lost.any && cut.length === 0) lost = '<span class="ok">none</span>';
  else {
    const items = lostCpus.map((h) => `${fmtInt(h.lostEvents)} on CPU ${h.cpu} (${fmtInt(h.lostMarkers)} marker${h.lostMarkers === 1 ? '' : 's'})`);
    if (inp.lost.entriesInBuffer !== null && inp.lost.entriesWritten !== null && inp.lost.entriesInBuffer < inp.lost.entriesWritten) {
      items.push(`buffer kept ${fmtInt(inp.lost.entriesInBuffer)} of ${fmtInt(inp.lost.entriesWritten)} written`);
    }
    lost = `<span class="warn">${items.length ? escapeHtml(items.join('; ')) : 'yes'}</span>`;
    if (cut.length) {
      const t0 = inp.firstTs;
      lost += `<br><span class="warn">history cut: ${cut
        .map((h) => `CPU ${h.cpu}${t0 !== null && h.firstTs !== null ? ` starts at +${fmtSec(h.firstTs - t0)}` : ''}`)
        .join(', ')}</span> — earlier activity there is unknown, not zero`;
    }
  }
  const capture = `<div class="card" id="capture"><h2>Capture</h2><dl class="kv">
<dt>files</dt><dd>${files}</dd>
<dt>format</dt><dd>${escapeHtml(inp.format)}</dd>
<dt>CPUs</dt><dd>${escapeHtml(cpus)}</dd>
<dt>duration</dt><dd>${escapeHtml(fmtSec(inp.durationSec))}${span}</dd>
<dt>events</dt><dd>${fmtInt(inp.events)}</dd>
<dt>kernel events</dt><dd>${vocab}</dd>
<dt>mm attribution</dt><dd>${s.model.attribution === 'tgid' ? 'by tgid' : `<span class="warn">inferred from pid (no TGID column)</span>${(s.model.forksSharingMm ?? 0) > 0 ? `; ${fmtInt(s.model.forksSharingMm!)} threads and vfork children found at the fork` : ''}`}</dd>
<dt>lost events</dt><dd>${lost}</dd>
${inp.truncated ? '<dt>truncated</dt><dd class="bad">yes: the input ended early; counts cover what was read</dd>' : ''}
<dt>warnings</dt><dd>${inp.warnings.total ? `<span class="warn">${fmtInt(inp.warnings.total)}</span> (<a href="#warnings">details</a>)` : '<span class="ok">none</span>'}</dd>
</dl></div>`;

  const rs = obs.remoteShootdowns;
  const share = wastedShare(s);
  const f = s.model.fidelity;
  const mech = obs.mechanism;
  const tile = (label: string, value: string, detail: string, cls = '', id = '') =>
    `<div class="tile"${id ? ` id="${id}"` : ''}><div class="l">${escapeHtml(label)}</div><div class="v ${cls}">${escapeHtml(value)}</div><div class="d">${detail}</div></div>`;
  const tiles = [
    tile('remote shootdowns', fmtRate(perSecond(s, rs.total)), `${fmtInt(rs.total)} total${rs.exact ? '' : ' <span class="warn">(lower bound)</span>'}`, '', 'tile-shootdowns'),
    tile('IPIs', fmtRate(perSecond(s, obs.ipis.total)), `${fmtInt(obs.ipis.total)} total, ${fmtInt(obs.ipis.tlb)} with TLB work`, '', 'tile-ipis'),
    tile('flush requests', fmtRate(perSecond(s, obs.requests)), `${fmtInt(obs.requests)} total, ${fmtInt(obs.phantomRequests)} phantom`, '', 'tile-requests'),
    mech !== undefined && mech.kind !== 'unknown'
      ? tile('remote flushes', mech.kind === 'hypercall' ? 'by hypercall' : mech.kind === 'ipi' ? 'by IPI' : 'none', `${fmtInt(mech.remoteFlushRequests)} requests, ${fmtInt(mech.cpusFlushed)} CPUs`, mech.kind === 'hypercall' ? 'warn' : '', 'tile-mechanism')
      : '',
    tile('wasted', fmtShare(share), `${fmtInt(obs.wasted.total)} of ${fmtInt(remoteTlbCallbacks(s))} remote TLB callbacks`, share !== null && share > 0.2 ? 'warn' : '', 'tile-wasted'),
    tile(
      'model fidelity: IPI targets',
      fmtShare(f.targets),
      `of ${fmtInt(f.targetsCompared)} requests`,
      fidelityClass(f.targets),
      'tile-fidelity',
    ),
    tile('model fidelity: switch-in flush', fmtShare(f.switchFlush), `of ${fmtInt(f.switchCompared)} switch-ins`, fidelityClass(f.switchFlush), 'tile-fidelity-switch'),
  ].join('');
  const observed = `<div class="card" id="observed"><h2>Observed</h2><div class="tiles">${tiles}</div></div>${crossCheckHtml(s)}`;

  const notes: { html: string; info?: boolean }[] = [];
  const noTlb = missingTlbEvents(s);
  if (noTlb !== null) notes.push({ html: `<b class="bad">${htmlText(noTlb)}</b>` });
  if (mech?.kind === 'hypercall') notes.push({ html: `${htmlText(mech.note[0]!.toUpperCase() + mech.note.slice(1))}. Shootdown and IPI figures are n/a here; the policies are compared in remote flush requests and CPUs flushed.` });
  else if (mech !== undefined && (mech.requests.partial > 0 || mech.kind === 'unknown')) notes.push({ html: htmlText(mech.note), info: true });
  if (inp.lost.note) notes.push({ html: htmlText(inp.lost.note) });
  if (!rs.exact) notes.push({ html: `Remote shootdowns are a lower bound: this kernel's events only allow ${escapeHtml(rs.pairing)} pairing.` });
  if (f.note) notes.push({ html: `Model: ${htmlText(f.note)}`, info: true });
  if (s.model.generationsAreEstimates) notes.push({ html: "Generation counts are lower bounds of the kernel's tlb_gen (some increments emit no event).", info: true });
  const noteList = notes.length ? `<ul class="notes">${notes.map((n) => `<li${n.info ? ' class="info"' : ''}>${n.html}</li>`).join('')}</ul>` : '';
  return `<section id="glance"><div class="glance">${capture}<div>${observed}${noteList}</div></div>${policyGlance(s)}</section>`;
}

function policyGlance(s: Summary): string {
  const policies = policiesInOrder(s);
  if (policies.length === 0) return '<div class="card" id="policy-card"><h2>What each policy would avoid</h2><p class="empty">No policy was replayed.</p></div>';
  if (s.observed.mechanism?.kind === 'hypercall') {
    // no flush IPIs on this machine: the units that exist are remote flush requests and CPUs
    const pct = (a: number, n: number) => (a + n > 0 ? Math.round((a / (a + n)) * 10000) / 100 : null);
    const hrows = policies.map((p) => {
      const r = p.remoteFlushes;
      const cells = r === undefined ? '<td class="n">n/a</td><td class="n">n/a</td>' : `<td class="n">${pctBar(pct(r.avoidedRequests, r.requests), RISK_COLORS[p.risk], r.avoidedRequests)}</td><td class="n">${pctBar(pct(r.avoidedCpus, r.cpus), RISK_COLORS[p.risk], r.avoidedCpus)}</td>`;
      return `<tr><td><b>${htmlText(p.title)}</b> <code>${htmlText(p.name)}</code></td>${cells}<td>${riskBadge(p.risk)}</td><td class="why">${htmlText(p.riskReason)}</td></tr>`;
    });
    return `<div class="card" id="policy-card"><h2>What each policy would avoid</h2><table id="policy-glance"><thead><tr><th>policy</th><th class="n">remote flush requests avoided</th><th class="n">CPUs flushed avoided</th><th>risk</th><th>why</th></tr></thead><tbody>${hrows.join('\n')}</tbody></table><p class="note">This machine flushed other CPUs by hypercall: there are no flush IPIs or shootdowns to avoid (n/a), so each policy is compared in remote flush requests and the CPUs they flush (should_flush_tlb()'s CPUs stand for the hypervisor's). Details: <a href="#policies">Policies</a>.</p></div>`;
  }
  const checked = policies.some((p) => p.validation !== undefined);
  const rows = policies.map(
    (p) =>
      `<tr><td><b>${htmlText(p.title)}</b> <code>${htmlText(p.name)}</code></td><td class="n">${pctBar(p.avoidedShootdownsPct, RISK_COLORS[p.risk], p.avoidedShootdowns)}</td><td class="n">${pctBar(p.avoidedIpisPct, RISK_COLORS[p.risk], p.avoidedIpis)}</td>${checked ? `<td class="checked" title="${htmlText(p.validation?.text ?? '')}">${htmlText(validationLabel(p))}</td>` : ''}<td>${riskBadge(p.risk)}</td><td class="why">${htmlText(p.riskReason)}</td></tr>`,
  );
  const checkedHead = checked ? '<th title="estimate / real shootdowns per unit of work, against a kernel that does what the policy emulates">vs real kernel</th>' : '';
  const checkedNote = checked ? ' <b>vs real kernel</b>: the policy replayed on a capture against a kernel that really does it, estimate / real shootdowns per unit of work (docs/validation.md; hover for the experiments).' : '';
  return `<div class="card" id="policy-card"><h2>What each policy would avoid</h2><table id="policy-glance"><thead><tr><th>policy</th><th class="n">shootdowns avoided</th><th class="n">IPIs avoided</th>${checkedHead}<th>risk</th><th>why</th></tr></thead><tbody>${rows.join('\n')}</tbody></table><p class="note">Avoided = observed minus the same trace replayed under the policy, per request and per CPU; % of observed.${checkedNote} Details and caveats: <a href="#policies">Policies</a>.</p></div>`;
}

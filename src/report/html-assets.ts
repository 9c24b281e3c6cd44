// What every report page is made of besides its content: the stylesheet, charts as inline SVG or
// live vega views, and the script that boots the live ones. The fleet report (src/fleet/render.ts)
// shares the stylesheet and the SVG rendering.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { collectingLogger, type Chart } from './charts.js';
import {
  RISK_COLORS,
  escapeHtml,
  htmlText,
} from './format.js';

// ---------------------------------------------------------------------------------------------
// Charts

export function chartTitle(chart: Chart): string {
  const t = (chart.spec as { title?: { text?: string } }).title;
  return t?.text ?? chart.name;
}

export function figure(chart: Chart, body: string): string {
  const empty = chart.empty ? `<p class="empty"><b>${escapeHtml(chartTitle(chart))}</b>: no data (${htmlText(chart.empty)}).</p>` : '';
  return `<figure class="chart${chart.wide ? ' wide' : ''}" id="fig-${chart.name}" data-chart="${chart.name}">${body}${empty}<figcaption>${htmlText(chart.caption)}</figcaption></figure>`;
}

export async function renderSvg(name: string, spec: unknown, warnings: string[]): Promise<string> {
  const vega = await import('vega');
  const w: string[] = [];
  const view = new vega.View(vega.parse(spec as never), { renderer: 'none', logger: collectingLogger(w) as never, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    warnings.push(...w.map((m) => `${name}: ${m}`));
    return inlineSvg(svg, name);
  } finally {
    view.finalize();
  }
}

/**
 * Make a standalone SVG document fit inline in HTML: drop the namespace declarations (HTML's parser
 * supplies them; this keeps the page free of any URL) and prefix element ids with the chart name,
 * since vega numbers clip paths and gradients per process and several SVGs share one document.
 */
export function inlineSvg(svg: string, prefix: string): string {
  // renumber in order of appearance: vega's counters are process-global, so the raw ids depend on
  // what was rendered before; renumbered, the same summary always gives the same page
  const ids = new Map<string, string>();
  const idFor = (id: string) => {
    let v = ids.get(id);
    if (v === undefined) ids.set(id, (v = `${prefix}-d${ids.size + 1}`));
    return v;
  };
  return svg
    .replace(/^<svg([^>]*?) xmlns="[^"]*"/, '<svg$1')
    .replace(/^<svg([^>]*?) xmlns:xlink="[^"]*"/, '<svg$1')
    .replace(/ id="([^"]+)"|url\(#([^)]+)\)|href="#([^"]+)"/g, (m, id?: string, url?: string, href?: string) =>
      id !== undefined ? ` id="${idFor(id)}"` : url !== undefined ? `url(#${idFor(url)})` : `href="#${idFor(href!)}"`,
    )
    .replace(/^<svg/, `<svg role="img" aria-label="${escapeHtml(prefix)}"`);
}

let runtimeCache: string | null = null;

/** vega.min.js from node_modules, made safe to inline in a <script> element. */
export async function vegaRuntime(): Promise<string> {
  if (runtimeCache !== null) return runtimeCache;
  const require = createRequire(import.meta.url);
  const entry = require.resolve('vega'); // .../vega/build/vega.module.js
  const js = await readFile(join(dirname(entry), 'vega.min.js'), 'utf8');
  // Neither sequence occurs in vega 6's build; if a future build has one (inside a string or a
  // regex, where `\/` and `\!` mean the same), escape it so it cannot end the script element.
  runtimeCache = js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
  return runtimeCache;
}

/**
 * Renders the embedded Vega specs with vega's SVG renderer. The tooltip handler builds its content
 * with textContent only (values come from the trace). body[data-charts] turns 'rendered' or
 * 'error' when every view has run, for tests and for anyone scripting the page.
 */
export const BOOT_SCRIPT = `
(function () {
  'use strict';
  var specs = JSON.parse(document.getElementById('tlbtrace-vega').textContent);
  var tip = document.createElement('div');
  tip.className = 'vg-tip';
  tip.setAttribute('role', 'tooltip');
  document.body.appendChild(tip);
  function show(value) {
    if (value === null || value === undefined || value === '') return false;
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    if (typeof value === 'object') {
      var keys = Object.keys(value);
      for (var i = 0; i < keys.length; i++) {
        var row = document.createElement('div');
        var k = document.createElement('span');
        k.className = 'k';
        k.textContent = keys[i];
        var v = document.createElement('span');
        v.textContent = String(value[keys[i]]);
        row.appendChild(k);
        row.appendChild(v);
        tip.appendChild(row);
      }
    } else {
      tip.textContent = String(value);
    }
    return true;
  }
  function tooltip(handler, event, item, value) {
    if (!event || !show(value)) { tip.style.display = 'none'; return; }
    tip.style.display = 'block';
    var x = event.clientX + 14, y = event.clientY + 14;
    var r = tip.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 8) x = event.clientX - r.width - 14;
    if (y + r.height > window.innerHeight - 8) y = event.clientY - r.height - 14;
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }
  var names = Object.keys(specs), settled = 0, failed = 0;
  function settle(ok, name, err) {
    if (!ok) { failed++; console.error('tlbtrace: chart ' + name + ' failed: ' + (err && err.message ? err.message : err)); }
    if (++settled === names.length) document.body.setAttribute('data-charts', failed ? 'error' : 'rendered');
  }
  if (names.length === 0) document.body.setAttribute('data-charts', 'rendered');
  names.forEach(function (name) {
    var el = document.getElementById('chart-' + name);
    try {
      var view = new vega.View(vega.parse(specs[name]), { renderer: 'svg', container: el, hover: true, tooltip: tooltip });
      el.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
      view.runAsync().then(function () { settle(true, name); }, function (e) { settle(false, name, e); });
    } catch (e) {
      settle(false, name, e);
    }
  });
})();
`;

/** The report's stylesheet (also the fleet report's, src/fleet/render.ts). */
export const CSS = `
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #e3e3e3; --bg2: #f6f7f9; --ok: #2e7d32; --warn: #b26a00; --bad: #c62828;
  --safe: ${RISK_COLORS.safe}; --arch: ${RISK_COLORS['arch-dependent']}; --unsafe: ${RISK_COLORS.unsafe}; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; }
h1 { font-size: 22px; margin: 0 0 2px; word-break: break-all; }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 8px; word-break: break-all; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.glance { display: grid; grid-template-columns: minmax(320px, 1fr) 1.6fr; gap: 16px; margin-top: 14px; }
.card { background: var(--bg2); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card h2 { margin-top: 0; font-size: 14px; border: 0; padding: 0; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 3px 12px; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; word-break: break-word; }
.tiles { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.tile .v { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile .l { color: var(--muted); font-size: 12px; }
.tile .d { color: var(--muted); font-size: 12px; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.notes { margin: 12px 0 0; padding: 0; list-style: none; }
.notes li { padding: 5px 10px; margin: 4px 0; border-left: 3px solid var(--warn); background: #fff8e6; }
.notes li.info { border-left-color: #8aa4c8; background: #f1f5fb; }
.risk { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; white-space: nowrap; }
.risk-safe { background: var(--safe); } .risk-arch-dependent { background: var(--arch); } .risk-unsafe { background: var(--unsafe); }
.cnt { color: var(--muted); margin-right: 8px; font-size: 12.5px; }
.pct { display: inline-block; min-width: 48px; text-align: right; font-weight: 600; }
#policy-card { margin-top: 16px; }
#crosscheck { margin-top: 12px; }
#policy-glance td { vertical-align: middle; }
#policy-glance code, #policy-table code { white-space: nowrap; }
.note { color: var(--muted); font-size: 12.5px; margin: 4px 0 0; }
.scroll { overflow-x: auto; }
.bar { display: inline-block; width: 90px; height: 9px; background: #ececec; border-radius: 2px; vertical-align: middle; margin-right: 6px; overflow: hidden; }
.bar > span { display: block; height: 100%; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12.5px; background: var(--bg2); }
td.n, th.n { text-align: right; white-space: nowrap; }
tbody tr:hover { background: #fafbfc; }
.tables { display: grid; grid-template-columns: 1fr 1fr; gap: 0 28px; }
.tables > .full { grid-column: 1 / -1; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
figure.chart { margin: 0; padding: 10px; border: 1px solid var(--line); border-radius: 8px; overflow-x: auto; }
figure.chart.wide { grid-column: 1 / -1; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 6px; }
.empty { color: var(--muted); font-style: italic; }
details { margin: 6px 0; } summary { cursor: pointer; }
footer { color: var(--muted); font-size: 12px; margin-top: 30px; padding-bottom: 30px; border-top: 1px solid var(--line); padding-top: 10px; }
.vg-tip { position: fixed; display: none; z-index: 10; pointer-events: none; background: rgba(255,255,255,.97); border: 1px solid #bbb; border-radius: 4px; padding: 5px 8px; font-size: 12px; box-shadow: 0 2px 6px rgba(0,0,0,.15); max-width: 420px; word-break: break-word; }
.vg-tip .k { color: var(--muted); margin-right: 8px; }
@media (max-width: 900px) { .glance, .charts, .tables { grid-template-columns: 1fr; } }
`;

import { describe, expect, it } from 'vitest';
import { inlineSvg } from '../../src/report/html-assets.js';
import { renderHtml, renderHtmlWithWarnings } from '../../src/report/html.js';
import { CHART_NAMES } from '../../src/report/charts.js';
import { escapeHtml, jsonForScript, visible } from '../../src/report/format.js';
import { CONTROL_COMM, HOSTILE_COMM, sampleSummary } from './sample-summary.js';

/** The text of `<script ... id="ID">...</script>`. */
function scriptText(html: string, id: string): string {
  const m = new RegExp(`<script type="application/json" id="${id}">([\\s\\S]*?)</script>`).exec(html);
  if (!m) throw new Error(`no #${id}`);
  return m[1]!;
}

/** Attribute names of every start tag (quoted values skipped, so escaped text cannot fake one). */
function attributeNames(html: string): string[] {
  const names: string[] = [];
  const body = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '<script>');
  for (const tag of body.matchAll(/<[a-zA-Z][\w:-]*((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)\s*\/?>/g)) {
    for (const a of tag[1]!.matchAll(/\s+([^\s=>/]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?/g)) names.push(a[1]!);
  }
  return names;
}

const modes = [
  { name: 'static', interactive: false },
  { name: 'interactive', interactive: true },
] as const;

describe.each(modes)('renderHtml ($name)', ({ interactive }) => {
  const s = sampleSummary();
  const pending = renderHtmlWithWarnings(s, { interactive });

  it('renders without vega/vega-lite warnings', async () => {
    const { warnings } = await pending;
    expect(warnings).toEqual([]);
  });

  it('never contains the hostile comm, or any trace string, unescaped', async () => {
    const { html } = await pending;
    expect(html).not.toContain(HOSTILE_COMM);
    expect(html).not.toContain('<img');
    // no element carries an event handler attribute (the comm's text mentions one, escaped)
    expect(attributeNames(html).filter((n) => /^on/i.test(n))).toEqual([]);
    // the escaped form is there (tables), so the comm is shown, as text
    expect(html).toContain(escapeHtml(HOSTILE_COMM));
    // the hostile warning message cannot open a script
    expect(html).not.toContain('<script>alert(2)');
    // no raw control characters anywhere (ESC, BEL from the comm and the warning message)
    expect(html).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/);
    expect(html).toContain(escapeHtml(visible(CONTROL_COMM)));
  });

  it('closes every <script> it opens, and embedded JSON cannot break out', async () => {
    const { html } = await pending;
    const opens = html.match(/<script\b/gi)?.length ?? 0;
    const closes = html.match(/<\/script/gi)?.length ?? 0;
    expect(closes).toBe(opens);
    const json = scriptText(html, 'tlbtrace-summary');
    expect(json).not.toMatch(/[<>\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(s)));
  });

  it('names no external resource and forbids fetching any', async () => {
    const { html } = await pending;
    expect(html).toContain('http-equiv="Content-Security-Policy"');
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b|@import|url\(\s*["']?https?:/i);
    if (!interactive) expect(html).not.toMatch(/https?:\/\//); // static pages carry no URL at all
  });

  it('has one figure per chart, the first screen, and every table', async () => {
    const { html } = await pending;
    for (const name of CHART_NAMES) expect(html).toContain(`id="fig-${name}"`);
    for (const id of ['capture', 'observed', 'policy-glance', 'by-reason', 'by-cpu', 'wasted', 'top-mms', 'causes', 'policy-table', 'blind-spots', 'cost-model', 'warnings']) {
      expect(html).toContain(`id="${id}"`);
    }
    // first screen figures: rates, wasted share, fidelity, avoided shares and risks
    expect(html).toContain('312/s'); // 3,900 shootdowns / 12.5 s
    expect(html).toContain('344/s'); // 4,300 IPIs / 12.5 s
    expect(html).toContain('40.3%'); // 1,620 / (3,900 + 120)
    expect(html).toContain('98.2%');
    expect(html).toMatch(/risk-unsafe">unsafe</);
    expect(html).toMatch(/history cut: CPU 1 starts at \+0\.600 s/);
    // capture comes before the charts, charts before the tables
    expect(html.indexOf('id="capture"')).toBeLessThan(html.indexOf('id="charts"'));
    expect(html.indexOf('id="charts"')).toBeLessThan(html.indexOf('id="tables"'));
  });

  if (interactive) {
    it('inlines the vega runtime and the compiled specs, no vega-lite', async () => {
      const { html } = await pending;
      const specs = JSON.parse(scriptText(html, 'tlbtrace-vega'));
      expect(Object.keys(specs)).toEqual([...CHART_NAMES]);
      for (const spec of Object.values(specs)) expect((spec as { $schema?: string }).$schema).toBeUndefined();
      expect(html).toContain('globalThis');
      expect(html).not.toContain('vegaLite');
      expect(html.length).toBeGreaterThan(500_000);
      expect(html.length).toBeLessThan(900_000);
    });
  } else {
    it('pre-renders every chart as inline SVG with data marks, no script', async () => {
      const { html } = await pending;
      expect(html).not.toMatch(/<script(?! type="application\/json")/);
      for (const name of CHART_NAMES) {
        const fig = new RegExp(`id="fig-${name}"[^>]*>(<svg[\\s\\S]*?</svg>)`).exec(html);
        expect(fig, name).not.toBeNull();
        expect(fig![1]).toMatch(/class="mark-[a-z]+ role-mark/);
      }
      expect(html.length).toBeLessThan(400_000);
    });
  }
});

describe('html helpers', () => {
  it('is deterministic', async () => {
    expect(await renderHtml(sampleSummary(), {})).toBe(await renderHtml(sampleSummary(), {}));
  });

  it('jsonForScript escapes what could end a script or a JS string', () => {
    const v = { a: '</script><!-- & \u2028\u2029 >' };
    const out = jsonForScript(v);
    expect(out).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(out)).toEqual(v);
  });

  it('escapes a hostile title', async () => {
    const html = await renderHtml(sampleSummary(), { title: '</title><script>alert(3)</script>' });
    expect(html).not.toContain('<script>alert(3)');
    expect(html).toContain('&lt;/title&gt;');
  });

  it('inlineSvg prefixes ids and references, drops namespace URLs', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="1"><defs><clipPath id="clip1"/></defs><g clip-path="url(#clip1)"/></svg>';
    const out = inlineSvg(svg, 'c');
    expect(out).not.toContain('http');
    expect(out).toContain('id="c-d1"');
    expect(out).toContain('url(#c-d1)');
  });

  it('renders a summary with nothing in it', async () => {
    const s = sampleSummary();
    s.policies = {};
    s.series = { bucketSec: 1, observed: [], perCpu: [], policies: [] };
    s.observed.topMms = [];
    s.observed.byCause = [];
    s.observed.wasted = { total: 0, byKind: { remoteWrongCpu: 0, remoteZeroPages: 0, emptyCallback: 0, lazySwitchToInitMm: 0, tableSync: 0 } };
    s.observed.fanout = [];
    s.observed.latencyUs = { count: 0, min: null, p50: null, p90: null, p99: null, max: null, mean: null, histogram: [] };
    s.model.fidelity = { targets: null, targetsCompared: 0, targetMismatches: {}, switchFlush: null, switchCompared: 0, note: null };
    const { html, warnings } = await renderHtmlWithWarnings(s, {});
    expect(warnings).toEqual([]);
    expect(html).toContain('No policy was replayed');
    expect(html).toContain('no data (no time series in the summary)');
    expect(html).not.toContain('<svg');
  });
});

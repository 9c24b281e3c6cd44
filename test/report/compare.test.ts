import { describe, expect, it } from 'vitest';
import {
  compareSummaries,
  formatChange,
  percentChange,
  renderCompareHtml,
  renderCompareMarkdown,
  renderCompareText,
  type CompareRow,
} from '../../src/report/compare.js';
import { HOSTILE_COMM, sampleSummary } from './sample-summary.js';

/** B: same workload traced twice as long with a fifth of the IPIs per second (Gorman-style win). */
function patched() {
  const s = sampleSummary();
  s.input.durationSec = 25; // twice as long
  s.observed.ipis.total = 1720; // 68.8/s vs 344/s: -80%
  s.observed.remoteShootdowns.total = 3900; // same count, half the rate: -50%
  s.observed.wasted.total = 0;
  s.policies['p2-targeted-ipi']!.avoidedIpisPct = 12.5; // 28.0 -> 12.5: -15.5 pp
  delete s.policies['p4b-defer-running'];
  return s;
}

function find(rows: CompareRow[], section: string, metric: string): CompareRow {
  const r = rows.find((x) => x.section === section && x.metric === metric);
  if (!r) throw new Error(`no row ${section} / ${metric}`);
  return r;
}

describe('percentChange', () => {
  it('is (b - a) / a, signed, with the zero cases defined', () => {
    expect(percentChange(900_000, 180_000)).toBeCloseTo(-80, 10); // Gorman 2015: ~900K/s -> ~180K/s
    expect(percentChange(159.62, 120.68)).toBeCloseTo(-24.395, 3); // elapsed 159.62 -> 120.68 (24.40% better)
    expect(percentChange(50, 75)).toBe(50);
    expect(percentChange(0, 0)).toBe(0);
    expect(percentChange(0, 5)).toBeNull();
    expect(percentChange(null, 5)).toBeNull();
  });
});

describe('compareSummaries', () => {
  const a = sampleSummary();
  const b = patched();
  const cmp = compareSummaries(a, b, { a: 'vanilla', b: 'patched' });

  it('compares per-second rates, since durations differ', () => {
    const ipis = find(cmp.rows, 'rates (per second)', 'interrupts (IPIs)/s');
    expect(ipis.a).toBeCloseTo(4300 / 12.5, 10);
    expect(ipis.b).toBeCloseTo(1720 / 25, 10);
    expect(ipis.changePct).toBeCloseTo(-80, 10);
    const sd = find(cmp.rows, 'rates (per second)', 'remote shootdowns/s');
    expect(sd.a).toBeCloseTo(312, 10);
    expect(sd.b).toBeCloseTo(156, 10);
    expect(sd.changePct).toBeCloseTo(-50, 10);
    const req = find(cmp.rows, 'rates (per second)', 'flush requests/s');
    expect(req.changePct).toBeCloseTo(-50, 10);
    const wasted = find(cmp.rows, 'rates (per second)', 'wasted callbacks/s');
    expect(wasted.changePct).toBe(-100);
  });

  it('keeps totals, and their change', () => {
    const sd = find(cmp.rows, 'totals', 'remote shootdowns');
    expect([sd.a, sd.b, sd.changePct]).toEqual([3900, 3900, 0]);
    const ipis = find(cmp.rows, 'totals', 'IPIs');
    expect(ipis.changePct).toBeCloseTo(-60, 10);
    const dur = find(cmp.rows, 'capture', 'duration');
    expect(dur.changePct).toBe(100);
  });

  it('changes percentages in percentage points', () => {
    const r = find(cmp.rows, 'policy p2-targeted-ipi', 'avoided IPIs');
    expect(r.a).toBe(28);
    expect(r.b).toBe(12.5);
    expect(r.changePct).toBeNull();
    expect(r.deltaPp).toBeCloseTo(-15.5, 10);
    expect(formatChange(r)).toBe('-15.5 pp');
    const w = find(cmp.rows, 'shares and latency', 'wasted share of remote TLB callbacks');
    expect(w.a).toBeCloseTo((1620 / 4020) * 100, 10);
    expect(w.b).toBe(0);
  });

  it('keeps a policy replayed on one side only, with n/a, and says so', () => {
    const r = find(cmp.rows, 'policy p4b-defer-running', 'avoided shootdowns');
    expect(r.a).toBe(72);
    expect(r.b).toBeNull();
    expect(formatChange(r)).toBe('n/a');
    expect(cmp.notes).toContain('policy p4b-defer-running was replayed only in vanilla');
    expect(cmp.notes.some((n) => n.includes('compare rates, not totals'))).toBe(true);
  });

  it('renders text with the numbers and colour only when asked', () => {
    const plain = renderCompareText(cmp, { color: false });
    expect(plain).not.toContain('\x1b');
    expect(plain).toMatch(/^ {2}interrupts \(IPIs\)\/s +344 +68\.8 +-80\.0%$/m);
    expect(plain).toMatch(/^ {2}remote shootdowns\/s +312 +156 +-50\.0%$/m);
    expect(plain).toMatch(/^ {2}avoided IPIs +28\.0% +12\.5% +-15\.5 pp$/m);
    const coloured = renderCompareText(cmp, { color: true });
    expect(coloured).toContain('\x1b[32m-80.0%\x1b[0m'); // fewer IPIs: an improvement
    expect(coloured.replace(/\x1b\[\d+m/g, '')).toBe(plain);
  });

  it('renders markdown: a pipe table with escaped labels', () => {
    const md = renderCompareMarkdown(compareSummaries(a, b, { a: 'a|b', b: HOSTILE_COMM }));
    expect(md).toContain('| metric | a\\|b | \\<img src=x onerror=alert(1)\\> | change |');
    expect(md).toMatch(/^\| interrupts \(IPIs\)\/s \| 344 \| 68\.8 \| -80\.0% \|$/m);
    const rows = md.split('\n').filter((l) => l.startsWith('|'));
    expect(rows.every((l) => l.replace(/\\\|/g, '').split('|').length === 6)).toBe(true);
  });

  it('renders HTML with labels escaped and no script or URL', () => {
    const html = renderCompareHtml(compareSummaries(a, b, { a: HOSTILE_COMM, b: 'patched' }));
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toMatch(/<script|https?:\/\//);
    expect(html).toMatch(/<td class="n good">-80\.0%<\/td>/);
  });
});

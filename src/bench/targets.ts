// The targets of issue #7 (speed against trace-cmd report, peak RSS, memory flatness) and the
// ratios of events/s they are judged by.

import { isReference, FLOORS, type CaptureResult, type Key, type Measurement } from './capture.js';
import { fmtMB, fmtX, pct, short } from './format.js';
import type { Options, Ratio } from './options.js';

export const TARGET_TEXT = 6;
export const TARGET_DAT = 12;
export const TARGET_RSS = 200e6;
export const TARGET_FLAT = 0.15;
/** start-up below this share of a run's time: its events/s need no start-up subtracted (issue #7) */
export const STARTUP_NEGLIGIBLE = 0.05;

export interface Target {
  name: string;
  pass: boolean | null;
  detail: string;
  /** speed targets: which measurement the ratio comes from */
  basis?: string;
  /** speed targets: the ratio used per capture, and its basis */
  captures?: Array<{ capture: string; ratio: number | null; basis: string }>;
}


export type SpeedBasis = 'copies' | 'copies-minus-startup' | '1x-minus-startup' | 'none';

export const BASIS_SUMMARY: Record<SpeedBasis, (n: number) => string> = {
  copies: (n) => `steady state: ${n}x copies, start-up under 5% of the run and not subtracted`,
  'copies-minus-startup': (n) => `steady state: ${n}x copies minus start-up (start-up not under 5% of the run)`,
  '1x-minus-startup': () => '1x minus start-up (no copies rows)',
  none: () => 'not measured',
};

/**
 * The ratio a speed target uses for one capture. Issue #7: compare events/s on inputs big enough
 * that start-up is under 5% of the time, or subtract the measured start-up. So: the N-copy rows,
 * raw when start-up is under 5% of the run, else minus start-up; without them, 1x minus start-up.
 */
export function speedRatio(o: Options, c: CaptureResult, which: 'text' | 'dat'): { value?: number; basis: string; kind: SpeedBasis; oneX?: number } {
  const r = c.ratios;
  const finite = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
  const oneX = (which === 'text' ? r.textVsTraceCmd : r.datVsTraceCmd)?.[o.metric];
  const raw = (which === 'text' ? r.textCopiesVsTraceCmdRaw : r.datCopiesVsTraceCmdRaw)?.[o.metric];
  const net = (which === 'text' ? r.textCopiesVsTraceCmd : r.datCopiesVsTraceCmd)?.[o.metric];
  const share = (which === 'text' ? r.startupShareTextCopies : r.startupShareDatCopies)?.[o.metric];
  const one = finite(oneX) ? oneX : undefined;
  if (c.copies && finite(share)) {
    const n = c.copies.copies;
    if (share < STARTUP_NEGLIGIBLE && finite(raw)) return { value: raw, basis: `${n}x copies, start-up ${pct(share)} of the run, not subtracted`, kind: 'copies', oneX: one };
    if (finite(net)) return { value: net, basis: `${n}x copies minus start-up, which is ${pct(share)} of the run`, kind: 'copies-minus-startup', oneX: one };
  }
  if (one !== undefined) return { value: one, basis: c.copies ? '1x minus start-up; the copies rows were not measured' : '1x minus start-up', kind: '1x-minus-startup' };
  return { basis: 'not measured', kind: 'none' };
}

export function targets(o: Options, results: CaptureResult[]): Target[] {
  const out: Target[] = [];
  const noTc = (c: CaptureResult) => (c.measurements.tracecmd === undefined ? 'not measured (no trace-cmd)' : reason(c, 'tracecmd'));
  const reason = (c: CaptureResult, k: Key) => (c.measurements[k]?.error ? `not measured (${k} failed)` : 'not measured');
  const speedTarget = (name: string, goal: number, which: 'text' | 'dat') => {
    const parts: string[] = [];
    const per: NonNullable<Target['captures']> = [];
    const kinds = new Set<SpeedBasis>();
    let pass: boolean | null = results.length ? true : null;
    for (const c of results) {
      const p = speedRatio(o, c, which);
      kinds.add(p.kind);
      per.push({ capture: c.capture, ratio: p.value ?? null, basis: p.basis });
      if (p.value === undefined) {
        parts.push(`${short(c.capture)} ${c.measurements[which]?.error ? reason(c, which) : noTc(c)}`);
        pass = null;
        continue;
      }
      parts.push(`${short(c.capture)} ${fmtX(p.value)} (${p.basis}${p.kind.startsWith('copies') ? `; 1x minus start-up: ${fmtX(p.oneX)}` : ''})`);
      if (pass !== null && p.value < goal) pass = false;
    }
    const n = results.find((c) => c.copies)?.copies?.copies ?? o.copies;
    const only = kinds.size === 1 ? [...kinds][0]! : undefined;
    const basis = only === 'none' ? undefined : only ? BASIS_SUMMARY[only](n) : 'per capture, see the detail';
    out.push({ name, pass, detail: parts.join(', '), basis, captures: per });
  };
  speedTarget(`text analysis >= ${TARGET_TEXT}x the events/s of trace-cmd report (${o.metric})`, TARGET_TEXT, 'text');
  speedTarget(`trace.dat analysis >= ${TARGET_DAT}x the events/s of trace-cmd report (${o.metric})`, TARGET_DAT, 'dat');

  // peak RSS of every tlbtrace analyze run
  let worst: { rss: number; where: string } | undefined;
  for (const c of results) {
    for (const x of Object.values(c.measurements)) {
      if (isReference(x.key) || FLOORS[x.key] !== undefined || x.maxRss === undefined) continue;
      if (worst === undefined || x.maxRss > worst.rss) worst = { rss: x.maxRss, where: `${short(c.capture)}, ${x.what}` };
    }
  }
  out.push({
    name: `peak RSS <= ${TARGET_RSS / 1e6} MB (every tlbtrace analyze run)`,
    pass: worst === undefined ? null : worst.rss <= TARGET_RSS,
    detail: worst === undefined ? 'not measured' : `max ${fmtMB(worst.rss)} (${worst.where})`,
  });

  if (o.stream) {
    const parts: string[] = [];
    let pass: boolean | null = results.length ? true : null;
    for (const c of results) {
      const a = c.measurements.stream1?.maxRss;
      const b = c.measurements.streamN?.maxRss;
      if (a === undefined || b === undefined) {
        parts.push(`${short(c.capture)} not measured`);
        pass = null;
        continue;
      }
      const d = b / a - 1;
      parts.push(`${short(c.capture)} ${fmtMB(a)} -> ${fmtMB(b)} (${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)}%)`);
      if (pass !== null && Math.abs(d) > TARGET_FLAT) pass = false;
    }
    out.push({ name: `peak RSS of ${o.scale}x within ${TARGET_FLAT * 100}% of 1x`, pass, detail: parts.join(', ') });
  }
  return out;
}

export function computeRatios(results: CaptureResult[], startup: Measurement): void {
  /** events/s of a run by metric: start-up subtracted, or raw (start-up included) */
  const rates = (m: Measurement | undefined, raw: boolean): Partial<Ratio> | undefined =>
    m === undefined ? undefined : raw ? { wall: m.rawRateWall, cpu: m.rawRateCpu, main: m.rawRateMain } : { wall: m.rateWall, cpu: m.rateCpu, main: m.rateMain };
  const quotient = (a: Partial<Ratio> | undefined, b: Partial<Ratio> | undefined): Ratio | undefined =>
    a?.wall !== undefined && b?.wall !== undefined
      ? {
          wall: a.wall / b.wall,
          cpu: a.cpu !== undefined && b.cpu !== undefined ? a.cpu / b.cpu : NaN,
          main: a.main !== undefined && b.main !== undefined ? a.main / b.main : NaN,
        }
      : undefined;
  const ratio = (a: Measurement | undefined, b: Measurement | undefined) => quotient(rates(a, false), rates(b, false));
  const rawRatio = (a: Measurement | undefined, b: Measurement | undefined) => quotient(rates(a, true), rates(b, true));
  const share = (x: Measurement | undefined): Ratio | undefined =>
    x?.wallS !== undefined && startup.wallS !== undefined
      ? {
          wall: startup.wallS / x.wallS,
          cpu: x.cpuS !== undefined && startup.cpuS !== undefined ? startup.cpuS / x.cpuS : NaN,
          main: x.mainCpuS !== undefined && startup.mainCpuS !== undefined ? startup.mainCpuS / x.mainCpuS : NaN,
        }
      : undefined;
  for (const c of results) {
    const m = c.measurements;
    c.ratios.textVsTraceCmd = ratio(m.text, m.tracecmd);
    c.ratios.datVsTraceCmd = ratio(m.dat, m.tracecmd);
    c.ratios.datVsText = ratio(m.dat, m.text);
    c.ratios.datOtherVsDat = ratio(m.datOther, m.dat);
    if (c.copies) {
      c.ratios.textCopiesVsTraceCmd = ratio(m.textCopies, m.tracecmdCopies);
      c.ratios.datCopiesVsTraceCmd = ratio(m.datCopies, m.tracecmdCopies);
      c.ratios.textCopiesVsTraceCmdRaw = rawRatio(m.textCopies, m.tracecmdCopies);
      c.ratios.datCopiesVsTraceCmdRaw = rawRatio(m.datCopies, m.tracecmdCopies);
      c.ratios.startupShareTextCopies = share(m.textCopies);
      c.ratios.startupShareDatCopies = share(m.datCopies);
      c.ratios.floorsVsTraceCmdRaw = {};
      c.ratios.floorsVsTraceCmd = {};
      for (const k of Object.keys(FLOORS) as Key[]) {
        c.ratios.floorsVsTraceCmdRaw[k] = rawRatio(m[k], m.tracecmdCopies);
        c.ratios.floorsVsTraceCmd[k] = ratio(m[k], m.tracecmdCopies);
      }
    }
    const a = m.stream1?.maxRss;
    const b = m.streamN?.maxRss;
    if (a !== undefined && b !== undefined) c.ratios.rssNxVs1x = b / a - 1;
  }
}

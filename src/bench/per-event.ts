// Issue #18's targets, from the bench's rows of the N-copy inputs (run.ts measures them; this
// turns them into the figures the issue asks for and judges them):
//
//   per event, main thread, medians of the runs, N x the capture's events:
//     text ingest      (floor: ingest Nx.txt - start-up) / events          target <= 300 ns
//     model+policies   (analyze Nx.txt - floor: ingest Nx.txt) / events    target <= 200 ns
//                      (analyze Nx.dat - floor: ingest Nx.dat) / events    (the same, trace.dat)
//   ratios, CPU time (user + system of the whole process: V8's compiler and GC threads count),
//   raw (start-up included), as the issue compares:
//     text analyze >= 4x trace-cmd report; trace.dat analyze >= 6x; trace.dat analyze within 2x
//     of its own read floor (decompress + record walk)
//   peak RSS <= 200 MB in every run of every tlbtrace row (not the medians: single runs spiked).
// The main thread is where ingest, model and policies run; the floor rows run the same ingest
// without the model, so the difference is what the model and the policies cost there.

import type { Sample } from './measure.js';

/** what per-event.ts reads of a row of run.ts (its Measurement) */
interface Row {
  what: string;
  cpuS?: number;
  mainCpuS?: number;
  samples: Sample[];
}

/** what per-event.ts reads of a capture's results (run.ts CaptureResult) */
interface Capture {
  capture: string;
  events: number;
  copies?: { copies: number };
  measurements: Partial<Record<string, Row>>;
}

export const ISSUE18 = { textVsTraceCmd: 4, datVsTraceCmd: 6, datVsReadFloor: 2, modelNsPerEvent: 200, textIngestNsPerEvent: 300, maxRssBytes: 200e6 };

export interface PerEventFigures {
  capture: string;
  copies: number;
  events: number;
  /** ns per event, main thread */
  textIngestNs: number | null;
  textModelNs: number | null;
  datModelNs: number | null;
  /** CPU time ratios, raw */
  textVsTraceCmd: number | null;
  datVsTraceCmd: number | null;
  /** analyze Nx.dat / floor: read Nx.dat, CPU time */
  datVsReadFloor: number | null;
}

const nsPer = (a: number | undefined, b: number | undefined, events: number): number | null =>
  a === undefined || b === undefined || events <= 0 ? null : ((a - b) * 1e9) / events;
const ratio = (a: number | undefined, b: number | undefined): number | null => (a === undefined || b === undefined || b <= 0 ? null : a / b);

export function perEventFigures(c: Capture, startup: Row): PerEventFigures | null {
  if (c.copies === undefined) return null;
  const m = c.measurements;
  const events = c.events * c.copies.copies;
  return {
    capture: c.capture,
    copies: c.copies.copies,
    events,
    textIngestNs: nsPer(m.textIngestCopies?.mainCpuS, startup.mainCpuS, events),
    textModelNs: nsPer(m.textCopies?.mainCpuS, m.textIngestCopies?.mainCpuS, events),
    datModelNs: nsPer(m.datCopies?.mainCpuS, m.datIngestCopies?.mainCpuS, events),
    textVsTraceCmd: ratio(m.tracecmdCopies?.cpuS, m.textCopies?.cpuS),
    datVsTraceCmd: ratio(m.tracecmdCopies?.cpuS, m.datCopies?.cpuS),
    datVsReadFloor: ratio(m.datCopies?.cpuS, m.datReadCopies?.cpuS),
  };
}

const ns = (v: number | null) => (v === null ? '-' : `${Math.round(v)} ns`);
const x = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}x`);

/** The per-event line of a capture, printed after its table. */
export function perEventLine(f: PerEventFigures): string {
  return (
    `per event on ${f.copies}x copies (main thread, medians): text ingest ${ns(f.textIngestNs)} (start-up subtracted; issue #18 target <= ${ISSUE18.textIngestNsPerEvent}), ` +
    `model + all policies ${ns(f.textModelNs)} on text, ${ns(f.datModelNs)} on trace.dat (target <= ${ISSUE18.modelNsPerEvent}); ` +
    `trace.dat analyze = ${x(f.datVsReadFloor)} its read floor (cpu; target <= ${ISSUE18.datVsReadFloor}x)`
  );
}

/** The PASS/FAIL lines of issue #18's targets, over every capture measured. */
export function issue18Lines(figures: PerEventFigures[], captures: Capture[]): string[] {
  if (figures.length === 0) return ['N/A   issue #18 targets: no N-copy rows (--copies 0, or no trace-cmd)'];
  const short = (s: string) => s.split('/').pop()!;
  const judge = (name: string, pick: (f: PerEventFigures) => number | null, ok: (v: number) => boolean, fmt: (v: number | null) => string): string => {
    const vals = figures.map((f) => [short(f.capture), pick(f)] as const);
    const known = vals.filter(([, v]) => v !== null);
    const pass = known.length === 0 ? null : known.every(([, v]) => ok(v!));
    return `${pass === null ? 'N/A ' : pass ? 'PASS' : 'FAIL'}  ${name}: ${vals.map(([c, v]) => `${c} ${fmt(v)}`).join(', ')}`;
  };
  let worst: { rss: number; where: string } | undefined;
  for (const c of captures) {
    for (const row of Object.values(c.measurements)) {
      if (row === undefined || !row.what.startsWith('tlbtrace analyze')) continue;
      for (const s of row.samples) if (s.maxRss !== undefined && (worst === undefined || s.maxRss > worst.rss)) worst = { rss: s.maxRss, where: `${short(c.capture)}, ${row.what}` };
    }
  }
  return [
    judge(`text analysis >= ${ISSUE18.textVsTraceCmd}x trace-cmd report (issue #18; cpu, ${figures[0]!.copies}x copies, raw)`, (f) => f.textVsTraceCmd, (v) => v >= ISSUE18.textVsTraceCmd, x),
    judge(`trace.dat analysis >= ${ISSUE18.datVsTraceCmd}x trace-cmd report (issue #18; cpu, raw)`, (f) => f.datVsTraceCmd, (v) => v >= ISSUE18.datVsTraceCmd, x),
    judge(`trace.dat analysis within ${ISSUE18.datVsReadFloor}x of its read floor (issue #18; cpu)`, (f) => f.datVsReadFloor, (v) => v <= ISSUE18.datVsReadFloor, x),
    judge(`model + all policies <= ${ISSUE18.modelNsPerEvent} ns per event, text (issue #18; main thread)`, (f) => f.textModelNs, (v) => v <= ISSUE18.modelNsPerEvent, ns),
    judge(`model + all policies <= ${ISSUE18.modelNsPerEvent} ns per event, trace.dat (issue #18; main thread)`, (f) => f.datModelNs, (v) => v <= ISSUE18.modelNsPerEvent, ns),
    judge(`text ingest <= ${ISSUE18.textIngestNsPerEvent} ns per event (issue #18; main thread)`, (f) => f.textIngestNs, (v) => v <= ISSUE18.textIngestNsPerEvent, ns),
    `${worst === undefined ? 'N/A ' : worst.rss <= ISSUE18.maxRssBytes ? 'PASS' : 'FAIL'}  peak RSS <= ${ISSUE18.maxRssBytes / 1e6} MB in every single run (issue #18): ${worst === undefined ? 'not measured' : `max ${(worst.rss / 1e6).toFixed(1)} MB (${worst.where})`}`,
  ];
}

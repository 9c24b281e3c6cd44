// One capture's measurements: its inputs (the text, the N-copy inputs), every child process run
// `--runs` times in an interleaved order, and the medians. Ratios are taken in targets.ts.

import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { indexText, writeCopies, type TextIndex } from './concat.js';
import { makeCopyInputs, type CopyInputs } from './copyinputs.js';
import { autoPrefersWorker } from '../ingest/worker/source.js';
import type { FloorCount, FloorStage } from './floor.js';
import { fmtInt, fmtMB, fmtS, log } from './format.js';
import { median, runShell, runTlbtrace, type Sample } from './measure.js';
import type { Options, Ratio } from './options.js';
import type { Runtime } from './runtimes.js';

/** where --ingest-thread auto parses a big input on this machine, and the other choice (also measured) */
export const AUTO_THREAD = autoPrefersWorker() ? 'worker' : 'main';
export const OTHER_THREAD = AUTO_THREAD === 'worker' ? 'main' : 'worker';

export type Key =
  | 'startup'
  | 'tracecmd'
  | 'text'
  | 'dat'
  | 'datOther'
  | 'stream1'
  | 'streamN'
  | 'tracecmdCopies'
  | 'textCopies'
  | 'datCopies'
  | 'textReadCopies'
  | 'textIngestCopies'
  | 'datReadCopies'
  | 'datIngestCopies';

/** the floor rows (src/bench/floor.ts) of the N-copy inputs: input, stage */
export const FLOORS: Partial<Record<Key, { input: 'text' | 'dat'; stage: FloorStage }>> = {
  textReadCopies: { input: 'text', stage: 'read' },
  textIngestCopies: { input: 'text', stage: 'ingest' },
  datReadCopies: { input: 'dat', stage: 'read' },
  datIngestCopies: { input: 'dat', stage: 'ingest' },
};

/** trace-cmd rows: the reference, no tlbtrace start-up to subtract */
export const isReference = (k: Key): boolean => k === 'tracecmd' || k === 'tracecmdCopies';

export interface Measurement {
  key: Key;
  what: string;
  /** events in the input (the stream Nx: N times the capture) */
  events: number;
  samples: Sample[];
  error?: string;
  wallS?: number;
  cpuS?: number;
  mainCpuS?: number;
  maxRss?: number;
  /** time with the tlbtrace start-up subtracted (tlbtrace runs), else the time */
  netWallS?: number;
  netCpuS?: number;
  netMainCpuS?: number;
  rateWall?: number;
  rateCpu?: number;
  rateMain?: number;
  /** events / time with nothing subtracted */
  rawRateWall?: number;
  rawRateCpu?: number;
  rawRateMain?: number;
  /** events counted by tlbtrace (its summary's input.events) */
  counted?: number;
  warnings?: number;
  /** the runtime and zstd decoder a tlbtrace child reported (src/bench/child.ts) */
  node?: string;
  zstd?: string;
}

/** the trace.dat rows measured again on another runtime or zstd path (runtimes.ts) */
export type RuntimeKey = 'dat' | 'datCopies' | 'datReadCopies';

export interface RuntimeRows {
  runtime: Runtime;
  /** start-up on that runtime: the rows below are compared raw, start-up included */
  startup: Measurement;
  measurements: Partial<Record<RuntimeKey, Measurement>>;
}

export interface CaptureResult {
  capture: string;
  dir: string;
  events: number;
  textBytes: number;
  datBytes: number;
  scale: number;
  measurements: Partial<Record<Key, Measurement>>;
  ratios: {
    textVsTraceCmd?: Ratio;
    datVsTraceCmd?: Ratio;
    datVsText?: Ratio;
    /** trace.dat with the ingest on the other thread than --ingest-thread auto chose, vs auto */
    datOtherVsDat?: Ratio;
    rssNxVs1x?: number;
    /** on the N-copy inputs, tlbtrace's start-up subtracted */
    textCopiesVsTraceCmd?: Ratio;
    datCopiesVsTraceCmd?: Ratio;
    /** on the N-copy inputs, nothing subtracted */
    textCopiesVsTraceCmdRaw?: Ratio;
    datCopiesVsTraceCmdRaw?: Ratio;
    /** tlbtrace's start-up as a share of the N-copy runs' time, per metric */
    startupShareTextCopies?: Ratio;
    startupShareDatCopies?: Ratio;
    /** each floor row of the N-copy inputs (key: textReadCopies, ...) against trace-cmd report of
     * them, nothing subtracted, and tlbtrace's start-up subtracted */
    floorsVsTraceCmdRaw?: Partial<Record<Key, Ratio>>;
    floorsVsTraceCmd?: Partial<Record<Key, Ratio>>;
  };
  /** the steady-state inputs (absent when not made) */
  copies?: CopiesInfo;
  /** the trace.dat rows on the other runtimes / zstd paths */
  runtimes: RuntimeRows[];
  notes: string[];
}

export interface CopiesInfo {
  copies: number;
  textBytes: number;
  datBytes: number;
  /** the form of the N-copy trace.dat (that of the capture) */
  datVersion: number;
  datCompression: string;
  /** nanoseconds between copies */
  shiftNs: number;
  /** input.events of the N-copy text and trace.dat runs, and N times the 1x count */
  eventsText: number | null;
  eventsDat: number | null;
  eventsExpected: number;
  eventsMatch: boolean;
}

/** The summary's input.events / input.warnings.total of an `analyze --json` run. */
export function summaryCounts(stdout: string): { events?: number; warnings?: number } {
  try {
    const s = JSON.parse(stdout) as { input?: { events?: number; warnings?: { total?: number } } };
    return { events: s.input?.events, warnings: s.input?.warnings?.total };
  } catch {
    return {};
  }
}

export function describeFailure(s: Sample): string {
  const tail = s.stderr.trim().split('\n').slice(-2).join(' | ');
  return `exit code ${s.exitCode}${tail ? `: ${tail}` : ''}`;
}

export async function benchCapture(
  o: Options,
  captureDir: string,
  capture: string,
  tmp: string,
  startup: Measurement,
  traceCmd: string | null,
  runtimes: Runtime[],
): Promise<CaptureResult> {
  const dat = path.join(captureDir, 'trace.dat');
  const gz = path.join(captureDir, 'trace-cmd-report.txt.gz');
  const notes: string[] = [];

  // the text trace-cmd report prints for this recording, uncompressed, on disk and in memory
  log(`${capture}: decompressing trace-cmd-report.txt.gz`);
  const text = gunzipSync(readFileSync(gz));
  const textFile = path.join(tmp, `${capture.replace(/\W+/g, '_')}.report.txt`);
  writeFileSync(textFile, text);
  let index: TextIndex | undefined;
  if (o.stream) index = indexText(text);

  // the steady-state inputs: N copies as trace.dat and as text (untimed, once)
  let nx: CopyInputs | undefined;
  if (o.copies > 0) {
    if (traceCmd === null) {
      notes.push(`${o.copies}-copy rows skipped: making the N-copy trace.dat and its text needs trace-cmd (apt-get install -y trace-cmd)`);
    } else {
      log(`${capture}: making the ${o.copies}-copy inputs`);
      try {
        nx = await makeCopyInputs(dat, o.copies, tmp, capture.replace(/\W+/g, '_'), (msg) => log(`${capture}: ${msg}`));
      } catch (e) {
        notes.push(`${o.copies}-copy rows skipped: ${(e as Error).message}`);
        log(`${capture}: ${o.copies}-copy inputs failed: ${(e as Error).message}`);
      }
    }
  }

  const m: Partial<Record<Key, Measurement>> = {};
  const mk = (key: Key, what: string): Measurement => (m[key] = { key, what, events: 0, samples: [] });
  if (traceCmd !== null) {
    mk('tracecmd', `trace-cmd report trace.dat > /dev/null (reference)`);
    if (traceCmd !== '3.1.6') notes.push(`the shipped text was printed by trace-cmd 3.1.6; the reference timed here is trace-cmd ${traceCmd}`);
  }
  else notes.push('trace-cmd is not installed (apt-get install -y trace-cmd): the ratios against trace-cmd report cannot be measured; absolute rates only');
  mk('text', 'tlbtrace analyze report.txt (text)');
  mk('dat', `tlbtrace analyze trace.dat (ingest: ${AUTO_THREAD})`);
  mk('datOther', `tlbtrace analyze trace.dat --ingest-thread ${OTHER_THREAD}`);
  if (o.stream) {
    mk('stream1', 'tlbtrace analyze - (1x on stdin)');
    mk('streamN', `tlbtrace analyze - (${o.scale}x on stdin)`);
  }
  if (nx) {
    mk('tracecmdCopies', `trace-cmd report ${nx.copies}x.dat > /dev/null (reference)`);
    mk('textCopies', `tlbtrace analyze ${nx.copies}x.txt (text)`);
    mk('datCopies', `tlbtrace analyze ${nx.copies}x.dat (ingest: ${AUTO_THREAD})`);
    mk('textReadCopies', `floor: read ${nx.copies}x.txt (lines counted)`);
    mk('textIngestCopies', `floor: ingest ${nx.copies}x.txt (typed events, no model)`);
    mk('datReadCopies', `floor: read ${nx.copies}x.dat (decompress + record walk)`);
    mk('datIngestCopies', `floor: ingest ${nx.copies}x.dat (typed events, no model)`);
  }

  // the trace.dat rows again on each other runtime
  const rt: RuntimeRows[] = runtimes.map((runtime) => {
    const rows: RuntimeRows = { runtime, startup: { key: 'startup', what: `start-up, ${runtime.label}`, events: 0, samples: [] }, measurements: {} };
    const keys: RuntimeKey[] = nx ? ['dat', 'datCopies', 'datReadCopies'] : ['dat'];
    for (const k of keys) rows.measurements[k] = { ...m[k]!, what: `${m[k]!.what}, ${runtime.label}`, samples: [] };
    return rows;
  });

  const analyzeArgs = ['analyze', '--json', '--no-progress'];
  const runOne = async (key: Key, x: Measurement | undefined = m[key], runtime?: Runtime): Promise<void> => {
    if (x === undefined || x.error !== undefined) return;
    // another runtime: its node binary, and its environment (TLBTRACE_ZSTD)
    const on = runtime ? { node: runtime.node, env: { ...process.env, ...runtime.env } } : {};
    let s: Sample;
    switch (key) {
      case 'tracecmd':
        s = await runShell('trace-cmd report -i "$1"', [dat]);
        break;
      case 'text':
        s = await runTlbtrace([...analyzeArgs, textFile], { keepStdout: true });
        break;
      case 'dat':
        s = await runTlbtrace([...analyzeArgs, dat], { keepStdout: true, ...on });
        break;
      case 'datOther':
        s = await runTlbtrace([...analyzeArgs, '--ingest-thread', OTHER_THREAD, dat], { keepStdout: true });
        break;
      case 'stream1':
      case 'streamN': {
        const copies = key === 'stream1' ? 1 : o.scale;
        s = await runTlbtrace([...analyzeArgs, '-'], { keepStdout: true, feed: (sink) => writeCopies(index!, copies, sink) });
        break;
      }
      case 'tracecmdCopies':
        s = await runShell('trace-cmd report -i "$1"', [nx!.dat]);
        break;
      case 'textCopies':
        s = await runTlbtrace([...analyzeArgs, nx!.text], { keepStdout: true });
        break;
      case 'datCopies':
        s = await runTlbtrace([...analyzeArgs, nx!.dat], { keepStdout: true, ...on });
        break;
      case 'textReadCopies':
      case 'textIngestCopies':
      case 'datReadCopies':
      case 'datIngestCopies': {
        const f = FLOORS[key]!;
        s = await runTlbtrace(['--floor', f.stage, f.input === 'text' ? nx!.text : nx!.dat], { keepStdout: true, ...on });
        break;
      }
      default:
        return;
    }
    if (s.exitCode !== 0) {
      x.error = describeFailure(s);
      log(`${capture}: ${x.what}: FAILED (${x.error})`);
      return;
    }
    if (FLOORS[key] !== undefined) {
      // an ingest floor counts the events (checked like the analyze runs); a read floor counts
      // records or lines, which need not be events
      const f = JSON.parse(s.stdout) as FloorCount;
      if (f.unit === 'events') x.counted = f.count;
    } else if (!isReference(key)) {
      const c = summaryCounts(s.stdout);
      x.counted = c.events;
      x.warnings = c.warnings;
    }
    s.stdout = '';
    x.node ??= s.node;
    x.zstd ??= s.zstd;
    x.samples.push(s);
    log(`${capture}: ${x.what}: ${fmtS(s.wallS)} s wall, ${fmtS(s.cpuS)} s cpu${s.maxRss ? `, ${fmtMB(s.maxRss)}` : ''}`);
  };

  const order: Key[] = ['tracecmd', 'text', 'dat', 'datOther', 'stream1', 'streamN', 'tracecmdCopies', 'textCopies', 'datCopies', 'textReadCopies', 'textIngestCopies', 'datReadCopies', 'datIngestCopies'];
  try {
    for (let r = 0; r < o.runs; r++) {
      log(`${capture}: run ${r + 1}/${o.runs}`);
      await runStartup(startup);
      for (const k of order) await runOne(k);
      for (const r of rt) {
        await runStartup(r.startup, r.runtime);
        for (const [k, x] of Object.entries(r.measurements)) await runOne(k as RuntimeKey, x, r.runtime);
      }
    }
  } finally {
    if (!o.keepTmp) {
      rmSync(textFile, { force: true });
      for (const f of nx?.files ?? []) rmSync(f, { force: true });
    }
  }

  // event counts: what tlbtrace counted on the text (the capture's events)
  const events = m.text?.counted ?? m.dat?.counted ?? 0;
  const times = (k: Key): number => (k === 'streamN' ? o.scale : k.endsWith('Copies') ? nx!.copies : 1);
  for (const x of [...Object.values(m), ...rt.flatMap((r) => Object.values(r.measurements))]) {
    x.events = events * times(x.key);
    if (x.counted !== undefined && x.counted !== x.events) {
      notes.push(`${x.what}: tlbtrace counted ${fmtInt(x.counted)} events, expected ${fmtInt(x.events)}`);
    }
  }
  if (m.dat?.counted !== undefined && m.text?.counted !== undefined && m.dat.counted !== m.text.counted) {
    notes.push(`trace.dat and text give different event counts (${fmtInt(m.dat.counted)} vs ${fmtInt(m.text.counted)})`);
  }
  if (m.streamN?.warnings !== undefined && m.stream1?.warnings !== undefined && m.streamN.warnings > o.scale * m.stream1.warnings) {
    notes.push(`the ${o.scale}x stream raised ${m.streamN.warnings} warnings (1x: ${m.stream1.warnings}): the concatenation is not clean`);
  }
  let copies: CopiesInfo | undefined;
  if (nx) {
    const eventsText = m.textCopies?.counted ?? null;
    const eventsDat = m.datCopies?.counted ?? null;
    const expected = events * nx.copies;
    copies = {
      copies: nx.copies,
      textBytes: nx.textBytes,
      datBytes: nx.datBytes,
      datVersion: nx.version,
      datCompression: nx.compression,
      shiftNs: nx.written.shift,
      eventsText,
      eventsDat,
      eventsExpected: expected,
      eventsMatch: events > 0 && eventsText === expected && eventsDat === expected,
    };
    if (!copies.eventsMatch) {
      const cnt = (v: number | null) => (v === null ? 'nothing (failed)' : fmtInt(v));
      notes.push(
        `the ${nx.copies}x inputs do not count ${nx.copies} x the 1x events (${fmtInt(expected)}): text ${cnt(eventsText)}, trace.dat ${cnt(eventsDat)}; their rates use ${nx.copies} x the 1x count`,
      );
    }
    const pairs: Array<[Measurement | undefined, Measurement | undefined]> = [
      [m.textCopies, m.text],
      [m.datCopies, m.dat],
    ];
    for (const [x, one] of pairs) {
      if (x?.warnings !== undefined && one?.warnings !== undefined && x.warnings > nx.copies * one.warnings) {
        notes.push(`${x.what} raised ${x.warnings} warnings (1x: ${one.warnings}): the copies are not clean`);
      }
    }
  }

  return {
    capture,
    dir: captureDir,
    events,
    textBytes: text.length,
    datBytes: statSync(dat).size,
    scale: o.scale,
    measurements: m,
    ratios: {},
    copies,
    runtimes: rt,
    notes,
  };
}

export async function runStartup(startup: Measurement, runtime?: Runtime): Promise<void> {
  const s = await runTlbtrace(['--version'], runtime ? { node: runtime.node, env: { ...process.env, ...runtime.env } } : {});
  if (s.exitCode !== 0) {
    startup.error = describeFailure(s);
    return;
  }
  s.stdout = '';
  startup.samples.push(s);
}

export function reduce(x: Measurement, startup: Measurement | undefined): void {
  if (x.samples.length === 0) return;
  x.wallS = median(x.samples.map((s) => s.wallS));
  const cpu = x.samples.map((s) => s.cpuS).filter((v): v is number => v !== undefined);
  x.cpuS = cpu.length ? median(cpu) : undefined;
  const main = x.samples.map((s) => s.mainCpuS).filter((v): v is number => v !== undefined);
  x.mainCpuS = main.length ? median(main) : undefined;
  const rss = x.samples.map((s) => s.maxRss).filter((v): v is number => v !== undefined);
  x.maxRss = rss.length ? median(rss) : undefined;
  if (x.key === 'startup') return;
  x.netWallS = x.wallS - (startup?.wallS ?? 0);
  x.netCpuS = x.cpuS === undefined ? undefined : x.cpuS - (startup?.cpuS ?? 0);
  x.netMainCpuS = x.mainCpuS === undefined ? undefined : x.mainCpuS - (startup?.mainCpuS ?? 0);
  if (x.events > 0) {
    if (x.wallS > 0) x.rawRateWall = x.events / x.wallS;
    if (x.cpuS !== undefined && x.cpuS > 0) x.rawRateCpu = x.events / x.cpuS;
    if (x.mainCpuS !== undefined && x.mainCpuS > 0) x.rawRateMain = x.events / x.mainCpuS;
    if (x.netWallS > 0) x.rateWall = x.events / x.netWallS;
    if (x.netCpuS !== undefined && x.netCpuS > 0) x.rateCpu = x.events / x.netCpuS;
    if (x.netMainCpuS !== undefined && x.netMainCpuS > 0) x.rateMain = x.events / x.netMainCpuS;
  }
}

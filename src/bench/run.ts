// `npm run bench`: throughput and memory of `tlbtrace analyze` on the large real captures, in one
// run, against `trace-cmd report` of the same recording.
//
//   npm run bench                          both captures, 3 runs each, 10x stream for memory, 5x copies
//   npm run bench -- --json                machine-readable (tlbtrace.bench/1)
//   npm run bench -- --capture sng-madvise --runs 1 --scale 4 --copies 2
//
// Per capture (native-6.18-2cpu/sng-madvise and sng-munmap from ../shared/traces), every
// measurement is a child process, run `--runs` times (interleaved) and reduced to the median:
//   start-up     node dist/bench/child.js --version (node + loading the CLI; subtracted below)
//   trace-cmd    trace-cmd report trace.dat > /dev/null              (the reference)
//   text         tlbtrace analyze report.txt --json   (the trace-cmd report text, uncompressed)
//   trace.dat    tlbtrace analyze trace.dat --json     (--ingest-thread auto: see src/ingest/worker/)
//   trace.dat, other thread   the same with the ingest on the thread auto did not choose
//   1x / Nx      tlbtrace analyze - --json, stdin fed on the fly with 1 and N copies of the
//                text, timestamps shifted per copy (src/bench/concat.ts): peak RSS must stay flat
//   copies       steady state (`--copies N`, default 5): trace-cmd report Nx.dat > /dev/null, and
//                tlbtrace analyze on Nx.txt and on Nx.dat, where Nx.dat is N time-shifted copies
//                of the recording in the capture's own trace.dat form (src/bench/copyinputs.ts)
//                and Nx.txt its `trace-cmd report`. On 1x, JIT warm-up is a big part of tlbtrace's
//                time; on Nx it is spread over N times the events, as on a 10^8-event trace.
// Events/s of tlbtrace runs use (time - start-up); trace-cmd's own start-up is milliseconds. The
// copies rows also give the raw ratio (start-up included). The speed PASS/FAIL lines use the
// copies rows when measured: raw where start-up is under 5% of the run (the comparison issue #7
// asks for), else minus start-up; without them, the 1x rows minus start-up.
// Both wall-clock and CPU time (user + system) are measured; `--metric` picks the one the
// PASS/FAIL lines use. Default `auto`: wall-clock, unless the machine is already busy when the
// benchmark starts (1-minute load average above half the CPUs), where wall times measure the
// other processes as much as ours; then CPU time. CPU time is the stricter figure for tlbtrace:
// node's GC threads add CPU time that wall time hides, while trace-cmd is single-threaded.
// Also measured: the CPU time of tlbtrace's main thread alone (/proc/self/task/PID/stat), where
// ingest, model and policies run: the critical path, and the one time that other load on a
// shared machine hardly moves (`--metric main`).
//
// A benchmark, not a test: it always exits 0 unless its own arguments are wrong (2).

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { indexText, writeCopies, type TextIndex } from './concat.js';
import { makeCopyInputs, type CopyInputs } from './copyinputs.js';
import { autoPrefersWorker } from '../ingest/worker/source.js';
import { machineInfo, type MachineInfo } from './machine.js';
import type { FloorCount, FloorStage } from './floor.js';
import { median, runShell, runTlbtrace, type Sample } from './measure.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_TRACES = path.resolve(ROOT, '..', 'shared', 'traces');
const DEFAULT_CAPTURES = ['native-6.18-2cpu/sng-madvise', 'native-6.18-2cpu/sng-munmap'];

/** where --ingest-thread auto parses a big input on this machine, and the other choice (also measured) */
const AUTO_THREAD = autoPrefersWorker() ? 'worker' : 'main';
const OTHER_THREAD = AUTO_THREAD === 'worker' ? 'main' : 'worker';

const TARGET_TEXT = 6;
const TARGET_DAT = 12;
const TARGET_RSS = 200e6;
const TARGET_FLAT = 0.15;
/** start-up below this share of a run's time: its events/s need no start-up subtracted (issue #7) */
const STARTUP_NEGLIGIBLE = 0.05;

type Metric = 'wall' | 'cpu' | 'main';

/** a ratio of events/s by wall-clock time, by CPU time of the whole process, and of its main thread */
type Ratio = Record<Metric, number>;

interface Options {
  json: boolean;
  jsonOut?: string;
  traces: string;
  captures: string[];
  runs: number;
  scale: number;
  metric: Metric;
  /** why that metric (auto choice) */
  metricWhy: string;
  /** --metric auto: chosen from the load when the benchmark starts */
  metricAuto: boolean;
  stream: boolean;
  /** copies of the recording for the steady-state rows; 0: none */
  copies: number;
  keepTmp: boolean;
}

const USAGE = `usage: npm run bench -- [options]
  --json               machine-readable output (tlbtrace.bench/1) on stdout
  --json-out FILE      also write that JSON to FILE (the table still goes to stdout)
  --traces DIR         directory of the captures (default ../shared/traces; env TLBTRACE_TRACES)
  --capture A,B        captures under DIR (default ${DEFAULT_CAPTURES.join(',')}; a bare name means native-6.18-2cpu/NAME)
  --runs N             runs per measurement, median taken (default 3)
  --scale N            copies for the memory run (default 10)
  --metric auto|wall|cpu|main  time the PASS/FAIL lines use (default auto: wall, or cpu when
                       the machine is busy at start; main: CPU time of tlbtrace's main thread,
                       where the model runs, which other load on the machine does not inflate)
  --no-stream          skip the 1x/Nx stdin runs (no memory-flatness check)
  --copies N           steady-state rows on N copies of the recording, as trace.dat and as its
                       trace-cmd report text (default 5; needs trace-cmd; 0 skips them)
  --no-copies          the same as --copies 0
  --keep-tmp           keep the temporary files (uncompressed text, the N-copy inputs)
`;

class ArgError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    json: false,
    traces: process.env.TLBTRACE_TRACES ?? DEFAULT_TRACES,
    captures: DEFAULT_CAPTURES,
    runs: 3,
    scale: 10,
    metric: 'wall',
    metricWhy: '',
    metricAuto: true,
    stream: true,
    copies: 5,
    keepTmp: false,
  };
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new ArgError(`${name} wants an integer >= ${min} (got ${v ?? 'nothing'})`);
    return n;
  };
  let metricGiven = 'auto';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--json':
        o.json = true;
        break;
      case '--json-out':
        o.jsonOut = path.resolve(value() ?? '');
        break;
      case '--traces':
        o.traces = path.resolve(value() ?? '');
        break;
      case '--capture':
      case '--captures':
        o.captures = (value() ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map((s) => (s.includes('/') ? s : `native-6.18-2cpu/${s}`));
        if (o.captures.length === 0) throw new ArgError('--capture wants a name');
        break;
      case '--runs':
        o.runs = int('--runs', value(), 1);
        break;
      case '--scale':
        o.scale = int('--scale', value(), 2);
        break;
      case '--metric': {
        const m = value();
        if (m !== 'wall' && m !== 'cpu' && m !== 'main' && m !== 'auto') throw new ArgError(`--metric wants auto, wall, cpu or main (got ${m ?? 'nothing'})`);
        metricGiven = m;
        break;
      }
      case '--no-stream':
        o.stream = false;
        break;
      case '--copies':
        o.copies = int('--copies', value(), 0);
        break;
      case '--no-copies':
        o.copies = 0;
        break;
      case '--keep-tmp':
        o.keepTmp = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
      default:
        throw new ArgError(`unknown argument ${a}`);
    }
  }
  o.metricAuto = metricGiven === 'auto';
  if (!o.metricAuto) {
    o.metric = metricGiven as Metric;
    o.metricWhy = 'given with --metric';
  }
  return o;
}

// ---------------------------------------------------------------------------------------------

type Key =
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
const FLOORS: Partial<Record<Key, { input: 'text' | 'dat'; stage: FloorStage }>> = {
  textReadCopies: { input: 'text', stage: 'read' },
  textIngestCopies: { input: 'text', stage: 'ingest' },
  datReadCopies: { input: 'dat', stage: 'read' },
  datIngestCopies: { input: 'dat', stage: 'ingest' },
};

/** trace-cmd rows: the reference, no tlbtrace start-up to subtract */
const isReference = (k: Key): boolean => k === 'tracecmd' || k === 'tracecmdCopies';

interface Measurement {
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
}

interface CaptureResult {
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
  notes: string[];
}

interface CopiesInfo {
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

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

function fmtS(s: number | undefined): string {
  return s === undefined || !Number.isFinite(s) ? '-' : s.toFixed(s < 10 ? 3 : 2);
}
function fmtRate(r: number | undefined): string {
  return r === undefined || !Number.isFinite(r) ? '-' : (r / 1e6).toFixed(r < 1e6 ? 3 : 2);
}
function fmtMB(b: number | undefined): string {
  return b === undefined ? '-' : `${(b / 1e6).toFixed(1)} MB`;
}
function fmtX(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '-' : `${x.toFixed(x < 10 ? 2 : 1)}x`;
}
function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

/** The summary's input.events / input.warnings.total of an `analyze --json` run. */
function summaryCounts(stdout: string): { events?: number; warnings?: number } {
  try {
    const s = JSON.parse(stdout) as { input?: { events?: number; warnings?: { total?: number } } };
    return { events: s.input?.events, warnings: s.input?.warnings?.total };
  } catch {
    return {};
  }
}

function describeFailure(s: Sample): string {
  const tail = s.stderr.trim().split('\n').slice(-2).join(' | ');
  return `exit code ${s.exitCode}${tail ? `: ${tail}` : ''}`;
}

async function benchCapture(o: Options, captureDir: string, capture: string, tmp: string, startup: Measurement, traceCmd: string | null): Promise<CaptureResult> {
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

  const analyzeArgs = ['analyze', '--json', '--no-progress'];
  const runOne = async (key: Key): Promise<void> => {
    const x = m[key];
    if (x === undefined || x.error !== undefined) return;
    let s: Sample;
    switch (key) {
      case 'tracecmd':
        s = await runShell('trace-cmd report -i "$1"', [dat]);
        break;
      case 'text':
        s = await runTlbtrace([...analyzeArgs, textFile], { keepStdout: true });
        break;
      case 'dat':
        s = await runTlbtrace([...analyzeArgs, dat], { keepStdout: true });
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
        s = await runTlbtrace([...analyzeArgs, nx!.dat], { keepStdout: true });
        break;
      case 'textReadCopies':
      case 'textIngestCopies':
      case 'datReadCopies':
      case 'datIngestCopies': {
        const f = FLOORS[key]!;
        s = await runTlbtrace(['--floor', f.stage, f.input === 'text' ? nx!.text : nx!.dat], { keepStdout: true });
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
    x.samples.push(s);
    log(`${capture}: ${x.what}: ${fmtS(s.wallS)} s wall, ${fmtS(s.cpuS)} s cpu${s.maxRss ? `, ${fmtMB(s.maxRss)}` : ''}`);
  };

  const order: Key[] = ['tracecmd', 'text', 'dat', 'datOther', 'stream1', 'streamN', 'tracecmdCopies', 'textCopies', 'datCopies', 'textReadCopies', 'textIngestCopies', 'datReadCopies', 'datIngestCopies'];
  try {
    for (let r = 0; r < o.runs; r++) {
      log(`${capture}: run ${r + 1}/${o.runs}`);
      await runStartup(startup);
      for (const k of order) await runOne(k);
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
  for (const x of Object.values(m)) {
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
    notes,
  };
}

async function runStartup(startup: Measurement): Promise<void> {
  const s = await runTlbtrace(['--version']);
  if (s.exitCode !== 0) {
    startup.error = describeFailure(s);
    return;
  }
  s.stdout = '';
  startup.samples.push(s);
}

function reduce(x: Measurement, startup: Measurement | undefined): void {
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

// ---------------------------------------------------------------------------------------------

interface Target {
  name: string;
  pass: boolean | null;
  detail: string;
  /** speed targets: which measurement the ratio comes from */
  basis?: string;
  /** speed targets: the ratio used per capture, and its basis */
  captures?: Array<{ capture: string; ratio: number | null; basis: string }>;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

type SpeedBasis = 'copies' | 'copies-minus-startup' | '1x-minus-startup' | 'none';

const BASIS_SUMMARY: Record<SpeedBasis, (n: number) => string> = {
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
function speedRatio(o: Options, c: CaptureResult, which: 'text' | 'dat'): { value?: number; basis: string; kind: SpeedBasis; oneX?: number } {
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

function targets(o: Options, results: CaptureResult[]): Target[] {
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

const short = (capture: string) => capture.split('/').pop()!;

/** the Measurement field of each metric's time */
const metricTime = { wall: 'wallS', cpu: 'cpuS', main: 'mainCpuS' } as const;

/**
 * The share of a target's time budget (trace-cmd's time / goal) that a run whose events/s are
 * `ratio` x trace-cmd's takes: goal / ratio. Over 100%, that run alone misses the target.
 */
function share(ratio: number | undefined, goal: number): string {
  return ratio === undefined || !Number.isFinite(ratio) || ratio <= 0 ? '-' : `${((goal / ratio) * 100).toFixed(0)}%`;
}

/** budget shares of a run, raw (as the speed targets compare) and with the start-up subtracted */
const budgetShare = (raw: number | undefined, net: number | undefined, goal: number): string => `${share(raw, goal)} (${share(net, goal)} minus start-up)`;

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function renderTable(rows: string[][], rightCols: Set<number>): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => pad(c, w[i]!, rightCols.has(i))).join('  ').trimEnd()).join('\n') + '\n';
}

function render(o: Options, machine: MachineInfo, startup: Measurement, results: CaptureResult[], tgs: Target[], globalNotes: string[]): string {
  let s = '';
  s += `tlbtrace benchmark (median of ${o.runs} run${o.runs > 1 ? 's' : ''} per measurement; ratios of events/s)\n`;
  s += `machine: ${machine.nproc} CPUs (nproc), ${machine.cpuModel}, ${fmtInt(machine.memTotalMB)} MB RAM, node ${machine.node}, linux ${machine.kernel}, trace-cmd ${machine.traceCmd ?? 'not installed'}\n`;
  s += `load average (1 min): ${machine.loadStart.toFixed(2)} at start, ${machine.loadEnd?.toFixed(2) ?? '-'} at end\n`;
  if (machine.loadStart > machine.nproc * 0.5) {
    s += `  note: the machine was busy at start (other processes): wall-clock times are inflated and noisy; the cpu-time ratios are the steadier figure\n`;
  }
  s += `PASS/FAIL metric: ${o.metric} (${o.metricWhy})\n`;
  s += `tlbtrace start-up (node + CLI load, \`tlbtrace --version\` via the child entry): ${fmtS(startup.wallS)} s wall, ${fmtS(startup.cpuS)} s cpu; subtracted from every tlbtrace time below before computing events/s (M ev/s columns); ${o.copies > 0 ? `the ${o.copies}x copies rows' ratio column gives both, raw and minus start-up` : 'no copies rows (--copies 0)'}\n`;
  s += `peak RSS: VmHWM of each tlbtrace child (its own peak resident set; process.resourceUsage().maxRSS, also in --json, adds the bench parent's RSS at fork)\n`;
  for (const c of results) {
    const m = c.measurements;
    s += `\n== ${c.capture}: ${fmtInt(c.events)} events; text ${(c.textBytes / 1e6).toFixed(1)} MB, trace.dat ${(c.datBytes / 1e6).toFixed(1)} MB`;
    if (c.copies) s += `; ${c.copies.copies}x copies: text ${(c.copies.textBytes / 1e6).toFixed(1)} MB, trace.dat ${(c.copies.datBytes / 1e6).toFixed(1)} MB (v${c.copies.datVersion}, ${c.copies.datCompression})`;
    s += '\n';
    const rows: string[][] = [['what', 'events', 'wall s', 'cpu s', 'main-thread s', 'M ev/s wall', 'M ev/s cpu', `ratio (${o.metric})`, 'peak RSS']];
    const ratioCell = (x: Measurement): string => {
      const pick = (r: Ratio | undefined) => (r ? r[o.metric] : undefined);
      switch (x.key) {
        case 'tracecmd':
          return '1x (reference)';
        case 'text':
          return m.tracecmd ? `${fmtX(pick(c.ratios.textVsTraceCmd))} trace-cmd` : '-';
        case 'dat': {
          const parts: string[] = [];
          if (m.tracecmd) parts.push(`${fmtX(pick(c.ratios.datVsTraceCmd))} trace-cmd`);
          parts.push(`${fmtX(pick(c.ratios.datVsText))} text`);
          return parts.join(', ');
        }
        case 'datOther':
          return `${fmtX(pick(c.ratios.datOtherVsDat))} ingest on ${AUTO_THREAD}`;
        case 'streamN':
          return c.ratios.rssNxVs1x === undefined ? '-' : `RSS ${c.ratios.rssNxVs1x >= 0 ? '+' : ''}${(c.ratios.rssNxVs1x * 100).toFixed(1)}% vs 1x`;
        case 'tracecmdCopies':
          return `1x (reference for ${c.copies?.copies}x)`;
        case 'textCopies':
          return `${fmtX(pick(c.ratios.textCopiesVsTraceCmdRaw))} raw, ${fmtX(pick(c.ratios.textCopiesVsTraceCmd))} minus start-up`;
        case 'datCopies':
          return `${fmtX(pick(c.ratios.datCopiesVsTraceCmdRaw))} raw, ${fmtX(pick(c.ratios.datCopiesVsTraceCmd))} minus start-up`;
        case 'textReadCopies':
        case 'textIngestCopies':
        case 'datReadCopies':
        case 'datIngestCopies': {
          const f = FLOORS[x.key]!;
          const goal = f.input === 'text' ? TARGET_TEXT : TARGET_DAT;
          const raw = pick(c.ratios.floorsVsTraceCmdRaw?.[x.key]);
          return `${fmtX(raw)} raw: ${share(raw, goal)} of the ${goal}x budget`;
        }
        default:
          return '-';
      }
    };
    for (const x of Object.values(m)) {
      if (x.error !== undefined && x.samples.length === 0) {
        rows.push([x.what, fmtInt(x.events), 'FAILED', '', '', '', '', '', '']);
        continue;
      }
      rows.push([
        x.what,
        fmtInt(x.events),
        fmtS(x.wallS),
        fmtS(x.cpuS),
        fmtS(x.mainCpuS),
        fmtRate(x.rateWall),
        fmtRate(x.rateCpu),
        ratioCell(x),
        fmtMB(x.maxRss),
      ]);
    }
    s += renderTable(rows, new Set([1, 2, 3, 4, 5, 6]));
    const r = c.ratios;
    const both = (x: Ratio | undefined) => (x ? `${fmtX(x.wall)} wall, ${fmtX(x.cpu)} cpu, ${fmtX(x.main)} main-thread` : 'not measured');
    s += `ratios: text/trace-cmd ${both(r.textVsTraceCmd)}; trace.dat/trace-cmd ${both(r.datVsTraceCmd)}; trace.dat/text ${both(r.datVsText)}; ingest on ${OTHER_THREAD}/${AUTO_THREAD} ${both(r.datOtherVsDat)}\n`;
    if (c.copies) {
      const n = c.copies.copies;
      const sh = (x: Ratio | undefined) => (x ? `${pct(x.wall)} wall, ${pct(x.cpu)} cpu, ${pct(x.main)} main-thread` : 'not measured');
      s += `ratios on ${n}x copies, raw (start-up included): text/trace-cmd ${both(r.textCopiesVsTraceCmdRaw)}; trace.dat/trace-cmd ${both(r.datCopiesVsTraceCmdRaw)}\n`;
      s += `ratios on ${n}x copies, minus start-up: text/trace-cmd ${both(r.textCopiesVsTraceCmd)}; trace.dat/trace-cmd ${both(r.datCopiesVsTraceCmd)}\n`;
      s += `start-up share of the ${n}x runs: text ${sh(r.startupShareTextCopies)}; trace.dat ${sh(r.startupShareDatCopies)} (under ${pct(STARTUP_NEGLIGIBLE)}: the raw ratio is the steady state issue #7 asks for)\n`;
      const cp = c.copies;
      const cnt = (v: number | null) => (v === null ? 'not counted' : fmtInt(v));
      const b = (input: 'text' | 'dat', goal: number, analyzeRaw: Ratio | undefined, analyzeNet: Ratio | undefined): string => {
        const ref = m.tracecmdCopies?.[metricTime[o.metric]];
        const floors = (Object.keys(FLOORS) as Key[]).filter((k) => FLOORS[k]!.input === input);
        const cells = [
          ...floors.map((k) => `${FLOORS[k]!.stage} alone ${budgetShare(r.floorsVsTraceCmdRaw?.[k]?.[o.metric], r.floorsVsTraceCmd?.[k]?.[o.metric], goal)}`),
          `analyze ${budgetShare(analyzeRaw?.[o.metric], analyzeNet?.[o.metric], goal)}`,
        ];
        return `${input === 'text' ? 'text' : 'trace.dat'} at ${goal}x: ${ref === undefined ? '-' : fmtS(ref / goal)} s, ${cells.join(', ')}`;
      };
      s += `time budget of the targets on ${n}x copies (${o.metric}; trace-cmd's time / target; the floors: src/bench/floor.ts): ${b('text', TARGET_TEXT, r.textCopiesVsTraceCmdRaw, r.textCopiesVsTraceCmd)}; ${b('dat', TARGET_DAT, r.datCopiesVsTraceCmdRaw, r.datCopiesVsTraceCmd)}\n`;
      s += `${n}x event counts: text ${cnt(cp.eventsText)}, trace.dat ${cnt(cp.eventsDat)}; ${n} x ${fmtInt(c.events)} = ${fmtInt(cp.eventsExpected)}: ${cp.eventsMatch ? 'match' : 'MISMATCH'} (copies ${(cp.shiftNs / 1e9).toFixed(6)} s apart)\n`;
    }
    for (const x of Object.values(m)) if (x.error) s += `  ${x.what}: failed: ${x.error}\n`;
    for (const n of c.notes) s += `  note: ${n}\n`;
  }
  for (const n of globalNotes) s += `note: ${n}\n`;
  s += '\n';
  for (const t of tgs) s += `${t.pass === null ? 'N/A ' : t.pass ? 'PASS' : 'FAIL'}  ${t.name}${t.basis ? `, ${t.basis}` : ''}: ${t.detail}\n`;
  return s;
}

function jsonOut(o: Options, machine: MachineInfo, startup: Measurement, results: CaptureResult[], tgs: Target[], globalNotes: string[], skipped?: string): unknown {
  const meas = (x: Measurement) => ({
    what: x.what,
    events: x.events,
    runs: x.samples.length,
    wallS: x.wallS ?? null,
    cpuS: x.cpuS ?? null,
    netWallS: x.netWallS ?? null,
    netCpuS: x.netCpuS ?? null,
    eventsPerSecWall: x.rateWall ?? null,
    eventsPerSecCpu: x.rateCpu ?? null,
    mainThreadCpuS: x.mainCpuS ?? null,
    netMainThreadCpuS: x.netMainCpuS ?? null,
    eventsPerSecMainThread: x.rateMain ?? null,
    eventsPerSecWallRaw: x.rawRateWall ?? null,
    eventsPerSecCpuRaw: x.rawRateCpu ?? null,
    eventsPerSecMainThreadRaw: x.rawRateMain ?? null,
    maxRssBytes: x.maxRss ?? null,
    samples: x.samples.map((s) => ({ wallS: s.wallS, cpuS: s.cpuS ?? null, mainThreadCpuS: s.mainCpuS ?? null, maxRssBytes: s.maxRss ?? null, rusageMaxRssBytes: s.maxRssRusage ?? null, cliS: s.cliS ?? null })),
    error: x.error ?? null,
  });
  return {
    schema: 'tlbtrace.bench/1',
    date: new Date().toISOString(),
    skipped: skipped ?? null,
    machine,
    options: { runs: o.runs, scale: o.scale, metric: o.metric, metricWhy: o.metricWhy, captures: o.captures, traces: o.traces, copies: o.copies },
    targets: {
      textVsTraceCmd: TARGET_TEXT,
      datVsTraceCmd: TARGET_DAT,
      maxRssBytes: TARGET_RSS,
      rssFlatWithin: TARGET_FLAT,
      startupNegligibleBelow: STARTUP_NEGLIGIBLE,
    },
    startup: startup.samples.length ? meas(startup) : null,
    captures: results.map((c) => ({
      capture: c.capture,
      events: c.events,
      textBytes: c.textBytes,
      datBytes: c.datBytes,
      scale: c.scale,
      measurements: Object.fromEntries(Object.entries(c.measurements).map(([k, x]) => [k, meas(x)])),
      ratios: c.ratios,
      copies: c.copies ?? null,
      notes: c.notes,
    })),
    results: tgs,
    notes: globalNotes,
  };
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof ArgError) {
      process.stderr.write(`bench: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const machine = machineInfo();
  if (o.metricAuto) {
    const busy = machine.loadStart > machine.nproc / 2;
    o.metric = busy ? 'cpu' : 'wall';
    o.metricWhy = `auto: 1-min load ${machine.loadStart.toFixed(2)} on ${machine.nproc} CPUs at start${busy ? ', busy' : ''}; --metric wall|cpu|main to force`;
  }
  const startup: Measurement = { key: 'startup', what: 'start-up (tlbtrace --version)', events: 0, samples: [] };

  const present: Array<{ capture: string; dir: string }> = [];
  const globalNotes: string[] = [];
  for (const c of o.captures) {
    const dir = path.join(o.traces, c);
    const need = ['trace.dat', 'trace-cmd-report.txt.gz'].filter((f) => !existsSync(path.join(dir, f)));
    if (need.length) globalNotes.push(`${c}: skipped, ${need.join(' and ')} not found in ${dir}`);
    else present.push({ capture: c, dir });
  }
  if (present.length === 0) {
    const msg = `no benchmark capture found under ${o.traces} (looked for ${o.captures.join(', ')}); nothing measured`;
    if (o.json) process.stdout.write(JSON.stringify(jsonOut(o, machine, startup, [], [], globalNotes, msg), null, 2) + '\n');
    else process.stdout.write(`bench: skipped: ${msg}\n`);
    return 0;
  }
  if (!existsSync(new URL('../cli/main.js', import.meta.url))) {
    process.stderr.write('bench: dist/cli/main.js is missing: run `npm run build` first (npm run bench does)\n');
    return 2;
  }

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tlbtrace-bench-'));
  const cleanup = () => {
    if (!o.keepTmp) rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: CaptureResult[] = [];
  try {
    if (machine.traceCmd === null) {
      log('trace-cmd is not installed: the ratio against `trace-cmd report` cannot be measured (apt-get install -y trace-cmd); absolute rates are still measured');
    }
    for (const { capture, dir } of present) {
      results.push(await benchCapture(o, dir, capture, tmp, startup, machine.traceCmd));
    }
    // one start-up figure (median over every capture's runs) for all tlbtrace times
    reduce(startup, undefined);
    for (const c of results) for (const x of Object.values(c.measurements)) reduce(x, isReference(x.key) ? undefined : startup);
    computeRatios(results, startup);
  } finally {
    cleanup();
    if (o.keepTmp) log(`kept ${tmp}`);
  }
  machine.loadEnd = os.loadavg()[0];
  if (startup.wallS !== undefined) {
    const shortest = Math.min(
      ...results.flatMap((c) =>
        Object.values(c.measurements)
          .filter((x) => !isReference(x.key) && FLOORS[x.key] === undefined && x.wallS !== undefined)
          .map((x) => x.wallS!),
      ),
    );
    if (Number.isFinite(shortest)) {
      const share = startup.wallS / shortest;
      globalNotes.push(
        `tlbtrace start-up is ${(share * 100).toFixed(1)}% of the shortest tlbtrace run${share >= 0.05 ? ' (>= 5%: the subtraction matters)' : ''}; it is subtracted from every tlbtrace time, trace-cmd times are taken as they are`,
      );
    }
  }
  const tgs = targets(o, results);
  const json = JSON.stringify(jsonOut(o, machine, startup, results, tgs, globalNotes), null, 2) + '\n';
  if (o.jsonOut) writeFileSync(o.jsonOut, json);
  if (o.json) process.stdout.write(json);
  else process.stdout.write(render(o, machine, startup, results, tgs, globalNotes));
  return 0;
}

function computeRatios(results: CaptureResult[], startup: Measurement): void {
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

process.exitCode = await main();

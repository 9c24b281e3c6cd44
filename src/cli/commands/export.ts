// `tlbtrace export [FILE...] --perfetto out.json --parquet DIR`: the model's facts for other tools,
// a timeline for Perfetto / chrome://tracing and typed tables for analytical engines (src/export/).

import type { Command } from 'commander';
import { TRACE_FORMATS } from '../../ingest/source.js';
import { INGEST_THREADS } from '../../ingest/worker/source.js';
import type { EventSink } from '../../pipeline/sink.js';
import { UsageError, type SetExitCode } from '../errors.js';
import { parseTimeWindow } from '../time-window.js';
import { captureFlags, runAnalyze, type AnalyzeFlags } from './analyze.js';

interface ExportFlags extends AnalyzeFlags {
  perfetto?: string;
  slowest?: string;
  context: string;
  rateBucket: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/**
 * export's --from/--to choose what goes on the timeline; the model still reads the whole trace (the
 * requests at the window's start have their history), so they are not analyze's window.
 */
function wholeTrace(flags: ExportFlags): AnalyzeFlags {
  return { ...flags, from: undefined, to: undefined };
}

function number(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new UsageError(`${flag} must be a number >= ${min} (got '${v}')`);
  return n;
}

export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('export')
    .description('write the analysis as a Perfetto / chrome://tracing timeline (--perfetto) and/or Parquet tables (--parquet)')
    .argument('[files...]', "trace files; '-' or none reads stdin (several files are read as one stream, in order)")
    .option('--perfetto <file>', 'Trace Event Format JSON: per-CPU tasks, flush requests and callbacks, flows request -> callback, rate counters')
    .option('--parquet <dir>', 'dataset directory: <table>/host=H/kernel=K/capture=C/data.parquet for requests, callbacks, switches, series, policies, summary')
    .option('--host <name>', 'host partition (default unknown)')
    .option('--kernel <release>', "kernel partition (default: truth.json beside the trace, a trace.dat's uname, else unknown)")
    .option('--capture <name>', "capture partition (default: the trace's file name, or its directory's for trace.dat, ftrace.txt...)")
    .option('--workload <name>', 'workload (default: truth.json, else the capture name)')
    .option('--from <sec>', 'perfetto: only from this trace-clock time (seconds, as the trace prints them)')
    .option('--to <sec>', 'perfetto: only up to this trace-clock time')
    .option('--slowest <n>', 'perfetto: only the N slowest requests (request -> last callback) and what happened around them; reads the input twice')
    .option('--context <ms>', 'perfetto: with --slowest, milliseconds kept before and after each', '10')
    .option('--rate-bucket <ms>', 'perfetto: bucket of the shootdowns/s and IPIs/s counters', '100')
    .option('--format <format>', `force the input format: ${TRACE_FORMATS.join(', ')}`)
    .option('--strict', 'treat the first warning as an error')
    .option('--policy <names>', 'comma-separated policies to replay (default: all)')
    .option('--param <key=value>', 'policy parameter (repeatable)', collect, [])
    .option('--cost <key=value>', 'cost model parameter (repeatable)', collect, [])
    .option('--max-line-length <bytes>', 'skip (with a warning) text lines longer than this', '1048576')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--ingest-thread <where>', `where the input is parsed: ${INGEST_THREADS.join(', ')}`, 'auto')
    .addHelpText(
      'after',
      `
Examples:
  tlbtrace export trace.dat --perfetto shootdowns.json          # open in ui.perfetto.dev
  tlbtrace export trace.dat --perfetto slow.json --slowest 20   # the 20 slowest, with 10 ms around each
  tlbtrace export ftrace.txt.gz --perfetto w.json --from 223.5 --to 223.7
  tlbtrace export trace.dat --parquet fleet/ --host db-17       # then: tlbtrace fleet fleet/`,
    )
    .action(async (files: string[], flags: ExportFlags) => {
      await runExport(files, flags);
      setExitCode(0);
    });
}

async function runExport(files: string[], flags: ExportFlags): Promise<void> {
  const inputs = files.length === 0 ? ['-'] : files;
  if (flags.perfetto === undefined && flags.parquet === undefined) throw new UsageError('nothing to export: give --perfetto FILE and/or --parquet DIR');
  const window = parseTimeWindow(flags.from, flags.to);
  const from = window?.from === undefined ? -Infinity : window.from * 1e9;
  const to = window?.to === undefined ? Infinity : window.to * 1e9;
  const slowest = flags.slowest === undefined ? undefined : number('--slowest', flags.slowest, 1);
  if (slowest !== undefined && !Number.isInteger(slowest)) throw new UsageError('--slowest must be a whole number');
  const contextNs = number('--context', flags.context, 0) * 1e6;
  const rateBucketNs = number('--rate-bucket', flags.rateBucket, 0.001) * 1e6;
  const filtered = flags.from !== undefined || flags.to !== undefined || slowest !== undefined;
  if (filtered && flags.perfetto === undefined) throw new UsageError('--from, --to and --slowest select what goes into --perfetto; the Parquet tables always hold everything');
  if (slowest !== undefined && inputs.includes('-')) throw new UsageError('--slowest reads the input twice: give a file, not stdin');

  const { assertNotSameFile, assertDistinctOutputs } = await import('../../report/write.js');
  if (flags.perfetto !== undefined) assertNotSameFile(inputs, flags.perfetto);
  assertDistinctOutputs([{ flag: '--perfetto', path: flags.perfetto ?? '' }].filter((o) => o.path !== ''));
  const id = captureFlags(flags);

  let windows: Array<readonly [number, number]> | undefined = filtered ? [[from, to]] : undefined;
  if (slowest !== undefined) {
    // first pass: which requests are the slowest
    const { SlowestRequests, clipWindows } = await import('../../export/windows.js');
    const finder = new SlowestRequests(slowest);
    await runAnalyze(files, wholeTrace(flags), [finder]);
    windows = clipWindows(finder.windows(contextNs), from, to);
    const top = finder.slowest();
    process.stderr.write(`tlbtrace: the ${top.length} slowest requests take ${top.length ? `${(top[top.length - 1]!.latency / 1e6).toFixed(3)}-${(top[0]!.latency / 1e6).toFixed(3)} ms` : 'nothing'} to their last callback; writing ${windows.length} time windows\n`);
  }

  const sinks: EventSink[] = [];
  let perfetto: import('../../export/perfetto.js').PerfettoSink | undefined;
  let parquet: import('../../export/parquet-sink.js').ParquetSink | undefined;
  if (flags.parquet !== undefined) {
    const { checkParquetTarget, createParquetSink } = await import('../../export/parquet-sink.js');
    const opts = { dir: flags.parquet, inputs, id };
    checkParquetTarget(opts);
    parquet = await createParquetSink(opts);
    sinks.push(parquet);
  }
  if (flags.perfetto !== undefined) {
    const { PerfettoSink } = await import('../../export/perfetto.js');
    perfetto = new PerfettoSink({ path: flags.perfetto, windows, rateBucketNs });
    sinks.push(perfetto);
  }
  try {
    await runAnalyze(files, wholeTrace(flags), sinks);
  } catch (err) {
    // a usage error found before the analysis started leaves no temporary file either
    for (const sink of sinks) await sink.abort?.();
    throw err;
  }
  if (perfetto !== undefined) {
    const s = perfetto.stats;
    process.stderr.write(
      `tlbtrace: wrote ${flags.perfetto} (${(s.bytes / 1048576).toFixed(1)} MiB): ${s.requests} requests, ${s.callbacks} callbacks, ${s.flows} flows, ${s.taskSlices} task slices, ${s.counterSamples} counter samples\n`,
    );
  }
  if (parquet !== undefined && parquet.id !== null) {
    const rows = Object.entries(parquet.rows).map(([t, n]) => `${t} ${n}`).join(', ');
    process.stderr.write(`tlbtrace: wrote host=${parquet.id.host} kernel=${parquet.id.kernel} capture=${parquet.id.capture} to ${flags.parquet}: ${rows} rows\n`);
  }
}

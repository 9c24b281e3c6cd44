// `tlbtrace analyze [FILE...]`: the main job. Reads traces (or stdin), rebuilds the kernel's TLB
// state, replays the policies, prints a readable summary (or --json), and optionally writes an
// HTML report and Vega-Lite specs.

import type { Command } from 'commander';
import { TRACE_FORMATS, type TraceFormat } from '../../ingest/source.js';
import { INGEST_THREADS, WORKER_MIN_BYTES, WORKER_MIN_CPUS, type IngestThread } from '../../ingest/worker/source.js';
import { analyzeTrace, UnknownPolicyError } from '../../pipeline/analyze.js';
import { parseCostOverrides } from '../../policies/cost.js';
import type { ParamValue } from '../../policies/policy.js';
import type { EventSink } from '../../pipeline/sink.js';
import type { Summary } from '../../summary/schema.js';
import { OutputError, UsageError, type SetExitCode } from '../errors.js';
import { progressReporter } from '../progress.js';
import { parseTimeWindow } from '../time-window.js';

export interface AnalyzeFlags {
  json?: boolean;
  format?: string;
  strict?: boolean;
  policy?: string;
  param: string[];
  cost: string[];
  html?: string;
  interactive?: boolean;
  vega?: string;
  output?: string;
  maxLineLength?: string;
  ingestThread?: string;
  progress?: boolean;
  parquet?: string;
  host?: string;
  kernel?: string;
  capture?: string;
  workload?: string;
  from?: string;
  to?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('analyze')
    .description('analyze trace files (raw ftrace, trace-cmd report, perf script, trace.dat; .gz/.zst ok) or stdin')
    .argument('[files...]', "trace files; '-' or none reads stdin (several files are read as one stream, in order)")
    .option('--json', 'print the JSON summary (tlbtrace.summary/1) instead of the table')
    .option('-o, --output <file>', 'also write the JSON summary to this file (atomically)')
    .option('--format <format>', `force the input format: ${TRACE_FORMATS.join(', ')}`)
    .option('--strict', 'treat the first warning (malformed line, unknown payload, ...) as an error')
    .option('--policy <names>', "comma-separated policies to replay (default: all; see 'tlbtrace policies')")
    .option('--param <key=value>', 'policy parameter, e.g. batched.batchPages=32 (repeatable)', collect, [])
    .option('--cost <key=value>', 'cost model: ipiRoundTripNs, perEntryInvalidationNs, fullFlushRefillNs (repeatable)', collect, [])
    .option('--html <file>', 'write a self-contained HTML report')
    .option('--interactive', 'with --html: inline the Vega runtime for tooltips and zoom')
    .option('--vega <dir>', 'write each chart as a Vega-Lite spec into this directory')
    .option('--parquet <dir>', "also write the capture's tables as Parquet into this dataset directory (see 'tlbtrace export')")
    .option('--host <name>', 'with --parquet: host partition (default unknown)')
    .option('--kernel <release>', "with --parquet: kernel partition (default: truth.json beside the trace, a trace.dat's uname, else unknown)")
    .option('--capture <name>', "with --parquet: capture partition (default: the trace's file or directory name)")
    .option('--workload <name>', 'with --parquet: workload (default: truth.json, else the capture name)')
    .option('--from <sec>', 'analyze only from this trace-clock time on (seconds, as the trace prints them): the model starts from what it sees there')
    .option('--to <sec>', 'analyze only up to this trace-clock time (e.g. before a workload tears down)')
    .option('--max-line-length <bytes>', 'skip (with a warning) text lines longer than this', '1048576')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--ingest-thread <where>', `where the input is parsed: ${INGEST_THREADS.join(', ')} (auto: on ${WORKER_MIN_CPUS}+ CPUs a worker thread parses stdin and inputs of ${WORKER_MIN_BYTES >> 20} MiB or more while the analysis runs; else main)`, 'auto')
    .addHelpText(
      'after',
      `
Examples:
  trace-cmd report trace.dat | tlbtrace analyze
  tlbtrace analyze trace.dat --html report.html
  zcat ftrace.txt.gz | tlbtrace analyze --json > summary.json
  perf script | tlbtrace analyze --policy generation,targeted`,
    )
    .action(async (files: string[], flags: AnalyzeFlags) => {
      await checkOutputs(flags, files);
      const sinks: EventSink[] = [];
      if (flags.parquet !== undefined) {
        const { checkParquetTarget, createParquetSink } = await import('../../export/parquet-sink.js');
        const opts = { dir: flags.parquet, inputs: files.length === 0 ? ['-'] : files, id: captureFlags(flags) };
        checkParquetTarget(opts);
        sinks.push(await createParquetSink(opts));
      }
      const summary = await runAnalyze(files, flags, sinks);
      if (flags.parquet !== undefined) process.stderr.write(`tlbtrace: wrote the capture's tables to ${flags.parquet}\n`);
      await writeOutputs(summary, flags, files);
      if (flags.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else {
        const { renderTerminal } = await import('../../report/terminal.js');
        process.stdout.write(renderTerminal(summary, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }));
      }
      setExitCode(0);
    });
}

/** --host/--kernel/--capture/--workload as a partial capture identity */
export function captureFlags(flags: Pick<AnalyzeFlags, 'host' | 'kernel' | 'capture' | 'workload'>): Record<string, string> {
  const id: Record<string, string> = {};
  for (const k of ['host', 'kernel', 'capture', 'workload'] as const) {
    const v = flags[k];
    if (v === undefined) continue;
    if (v.trim() === '') throw new UsageError(`--${k} must not be empty`);
    id[k] = v;
  }
  return id;
}

export async function runAnalyze(files: string[], flags: AnalyzeFlags, sinks: EventSink[] = []): Promise<Summary> {
  const paths = files.length === 0 ? ['-'] : files;
  if (paths.includes('-') && process.stdin.isTTY) {
    throw new UsageError("no input: pass a trace file, or pipe one in (e.g. 'trace-cmd report | tlbtrace analyze')");
  }
  if (flags.format !== undefined && !TRACE_FORMATS.includes(flags.format as TraceFormat)) {
    throw new UsageError(`--format must be one of ${TRACE_FORMATS.join(', ')} (got '${flags.format}')`);
  }
  const ingestThread = (flags.ingestThread ?? 'auto') as IngestThread;
  if (!INGEST_THREADS.includes(ingestThread)) throw new UsageError(`--ingest-thread must be one of ${INGEST_THREADS.join(', ')} (got '${flags.ingestThread}')`);
  const maxLineLength = Number(flags.maxLineLength ?? 1048576);
  if (!Number.isInteger(maxLineLength) || maxLineLength < 256) throw new UsageError('--max-line-length must be an integer >= 256');
  const params: Record<string, ParamValue> = {};
  for (const p of flags.param ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`--param '${p}': expected key=value (e.g. batched.batchPages=32)`);
    params[p.slice(0, i)] = p.slice(i + 1);
  }
  let cost;
  try {
    cost = parseCostOverrides(flags.cost ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const window = parseTimeWindow(flags.from, flags.to);
  const progress = flags.progress === false ? undefined : progressReporter();
  try {
    return await analyzeTrace(paths, {
      ingest: { format: flags.format as TraceFormat | undefined, maxLineLength, onProgress: progress?.update },
      strict: flags.strict,
      ingestThread,
      policies: flags.policy?.split(',').map((s) => s.trim()).filter(Boolean),
      params,
      cost,
      sinks,
      ...(window === undefined ? {} : { window }),
    });
  } catch (err) {
    if (err instanceof UnknownPolicyError) throw new UsageError(err.message);
    throw err;
  } finally {
    progress?.done();
  }
}

/**
 * Before reading anything: no output may be an input (`analyze x --html x`, `-o` onto the
 * trace, a Vega spec onto it), and `-o` and `--html` must be two files.
 */
export async function checkOutputs(flags: Pick<AnalyzeFlags, 'output' | 'html' | 'vega'>, inputs: string[]): Promise<void> {
  const { assertNotSameFile, assertDistinctOutputs } = await import('../../report/write.js');
  const outputs: Array<{ flag: string; path: string }> = [];
  if (flags.output !== undefined) outputs.push({ flag: '-o', path: flags.output });
  if (flags.html !== undefined) outputs.push({ flag: '--html', path: flags.html });
  if (flags.vega !== undefined) {
    const { join } = await import('node:path');
    const { CHART_NAMES } = await import('../../report/charts.js');
    for (const name of CHART_NAMES) outputs.push({ flag: '--vega', path: join(flags.vega, `${name}.vl.json`) });
  }
  // a capture directory's files are inputs too (`analyze run1/ --html run1/trace.dat`)
  const { inputFiles } = await import('../../pipeline/capture-dir.js');
  const files = inputFiles(inputs);
  for (const out of outputs) assertNotSameFile(files, out.path);
  assertDistinctOutputs(outputs);
}

async function writeOutputs(summary: Summary, flags: AnalyzeFlags, inputs: string[]): Promise<void> {
  const { writeFileAtomic, assertNotSameFile } = await import('../../report/write.js');
  // checked again: an input could have been linked to an output path while we were reading
  const { inputFiles } = await import('../../pipeline/capture-dir.js');
  const files = inputFiles(inputs);
  for (const out of [flags.output, flags.html]) if (out !== undefined) assertNotSameFile(files, out);
  if (flags.output) await writeFileAtomic(flags.output, JSON.stringify(summary, null, 2) + '\n');
  if (flags.html) {
    const { renderHtml } = await import('../../report/html.js');
    await writeFileAtomic(flags.html, await renderHtml(summary, { interactive: flags.interactive }));
    process.stderr.write(`tlbtrace: wrote ${flags.html}\n`);
  }
  if (flags.vega) {
    const { writeVegaSpecs } = await import('../../report/charts.js');
    await writeVegaSpecs(summary, flags.vega).catch((err: unknown) => {
      if (err instanceof UsageError) throw err;
      throw new OutputError(`cannot write Vega specs to ${flags.vega}: ${(err as Error).message}`);
    });
  }
}

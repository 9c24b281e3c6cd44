// What `tlbtrace fleet DIR...` reads. A DIR is either a dataset `export --parquet` wrote (it has a
// summary/ table), used in place, or a tree of captures (directories holding traces, as
// ../shared/traces), which are analyzed once into a dataset first: into --dataset DIR when given
// (kept, and captures already there are not analyzed again), else into a temporary directory.
//
// A capture found in a tree is named by its path under DIR: the first directory is the host (the
// machine it came from, e.g. qemu-6.12-8cpu), the rest the capture (e.g. nobatch/migrate); the
// kernel comes from truth.json beside the trace or the trace.dat header, the workload likewise.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { analyzeTrace } from '../pipeline/analyze.js';
import { escapePartition } from '../export/dataset.js';
import { createParquetSink } from '../export/parquet-sink.js';
import { UsageError } from '../cli/errors.js';

/** Inputs in order of preference when a capture directory holds several (perf script is a second run). */
const TRACE_FILES = ['trace.dat', 'ftrace.txt.gz', 'ftrace.txt.zst', 'ftrace.txt', 'trace-cmd-report.txt.gz', 'trace-cmd-report.txt', 'trace.txt.gz', 'trace.txt', 'perf-script.txt.gz', 'perf-script.txt'];

export interface FoundCapture {
  host: string;
  capture: string;
  trace: string;
}

export function isDataset(dir: string): boolean {
  return existsSync(join(dir, 'summary')) && statSync(join(dir, 'summary')).isDirectory();
}

/** Capture directories under `root` (a directory with one of TRACE_FILES), in path order. */
export function findCaptures(root: string): FoundCapture[] {
  const out: FoundCapture[] = [];
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true });
    const files = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    const trace = TRACE_FILES.find((f) => files.has(f));
    if (trace !== undefined) {
      const parts = relative(root, dir).split(sep).filter(Boolean);
      const host = parts.length >= 2 ? parts[0]! : parts.length === 1 ? parts[0]! : 'unknown';
      const capture = parts.length >= 2 ? parts.slice(1).join('/') : parts.length === 1 ? parts[0]! : 'capture';
      out.push({ host, capture, trace: join(dir, trace) });
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory() && !e.name.startsWith('.')) walk(join(dir, e.name));
    }
  };
  walk(root);
  return out;
}

/** Whether `dataset` already holds this capture (any kernel). */
function hasCapture(dataset: string, c: FoundCapture): boolean {
  const hostDir = join(dataset, 'summary', `host=${escapePartition(c.host)}`);
  if (!existsSync(hostDir)) return false;
  for (const k of readdirSync(hostDir)) {
    if (existsSync(join(hostDir, k, `capture=${escapePartition(c.capture)}`, 'data.parquet'))) return true;
  }
  return false;
}

export interface BuildReport {
  analyzed: number;
  reused: number;
  failed: Array<{ trace: string; error: string }>;
}

/**
 * Analyze each capture into `dataset` (skipping those already there). A capture that cannot be
 * read is reported and skipped: one bad trace does not stop a fleet.
 */
export async function buildDataset(captures: FoundCapture[], dataset: string, progress: (msg: string) => void): Promise<BuildReport> {
  const report: BuildReport = { analyzed: 0, reused: 0, failed: [] };
  for (const [i, c] of captures.entries()) {
    if (hasCapture(dataset, c)) {
      report.reused++;
      continue;
    }
    progress(`[${i + 1}/${captures.length}] ${c.host}/${c.capture} (${relative(process.cwd(), c.trace)})`);
    try {
      const sink = await createParquetSink({ dir: dataset, inputs: [c.trace], id: { host: c.host, capture: c.capture } });
      await analyzeTrace([c.trace], { sinks: [sink], ingestThread: 'main' });
      report.analyzed++;
    } catch (err) {
      if (err instanceof UsageError && /already in/.test(err.message)) throw err;
      report.failed.push({ trace: c.trace, error: (err as Error).message });
    }
  }
  return report;
}

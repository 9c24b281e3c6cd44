// Where a capture's tables go in a dataset directory, hive-style, so DuckDB, Spark and Trino find
// the partitions from the paths alone:
//
//   DIR/<table>/host=<host>/kernel=<kernel>/capture=<capture>/data.parquet
//
// Partition values are escaped as Hive and Spark escape them (ExternalCatalogUtils.escapePathName:
// '/', '=', '%', ':', quotes, control characters... become %XX), which DuckDB decodes too.
// The identity of a capture comes from, first to last: the command line (--host, --kernel,
// --capture, --workload), the `truth.json` our capture scripts leave beside a trace (kernel,
// workload), the trace itself (a trace.dat's uname), and the paths.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export interface CaptureId {
  host: string;
  kernel: string;
  capture: string;
  workload: string;
}

export const PARTITION_KEYS = ['host', 'kernel', 'capture'] as const;

/** A file name that says nothing about the capture: the directory names it instead. */
const GENERIC_NAMES = /^(trace\.dat|trace|trace\.txt|ftrace\.txt|trace-cmd-report\.txt|perf-script\.txt|report\.txt)(\.gz|\.zst)?$/;

const HIVE_ESCAPE = /[\x00-\x1f"#%'*/:=?\\\x7f{[\]^]/g;

export function escapePartition(value: string): string {
  return value.replace(HIVE_ESCAPE, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function partitionDir(root: string, table: string, id: CaptureId): string {
  return join(root, table, `host=${escapePartition(id.host)}`, `kernel=${escapePartition(id.kernel)}`, `capture=${escapePartition(id.capture)}`);
}

/** What truth.json (../shared/capture scripts) says about the capture of `input`, if it is there. */
export function sidecar(input: string): { kernel?: string; workload?: string } {
  if (input === '-') return {};
  const path = join(dirname(resolve(input)), 'truth.json');
  if (!existsSync(path)) return {};
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    return {
      kernel: typeof j.kernel === 'string' && j.kernel !== '' ? j.kernel : undefined,
      workload: typeof j.workload === 'string' && j.workload !== '' ? j.workload : undefined,
    };
  } catch {
    return {}; // not ours, or damaged: the identity falls back to the trace and the paths
  }
}

/** The capture's default name: the trace file's name, or its directory's for a generic file name. */
export function defaultCaptureName(input: string): string {
  if (input === '-') return 'stdin';
  const base = basename(input);
  if (GENERIC_NAMES.test(base)) return basename(dirname(resolve(input)));
  return base.replace(/(\.gz|\.zst)$/, '').replace(/\.(dat|txt|trace)$/, '') || base;
}

export function captureIdentity(inputs: readonly string[], given: Partial<CaptureId>, traceKernel: string | undefined): CaptureId {
  const first = inputs[0] ?? '-';
  const side = sidecar(first);
  const capture = given.capture ?? defaultCaptureName(first);
  return {
    host: given.host ?? 'unknown',
    kernel: given.kernel ?? side.kernel ?? traceKernel ?? 'unknown',
    capture,
    workload: given.workload ?? side.workload ?? capture,
  };
}

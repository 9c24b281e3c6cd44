// A capture directory as an input: `tlbtrace analyze DIR` for a directory `tlbtrace record` wrote
// (trace.dat, saved_tgids, capture.json) or one of ../shared/traces (ftrace.txt.gz, ..., truth.json).
// It resolves to the trace file to read, the ingest options the directory implies (the saved
// pid -> tgid map of a recording), and the kernel counters the summary's cross-check compares the
// model with (crosscheck.ts).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { IngestOptions } from '../ingest/source.js';
import { CAPTURE_FILE, TGIDS_FILE, TRUTH_FILE, readCounters, type KernelCounters } from '../record/capture.js';
import { parseSavedTgids } from '../record/tasks.js';

export interface CaptureDir {
  dir: string;
  /** the trace file analyzed */
  trace: string;
  counters: KernelCounters;
  /** what the directory adds to the ingest options */
  ingest: Pick<IngestOptions, 'tgids'>;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** null when `path` is not a directory (a trace file, or '-'); an InputError when it is one but not a capture. */
export function openCaptureDir(path: string): CaptureDir | null {
  if (path === '-' || !isDirectory(path)) return null;
  const kind = existsSync(join(path, CAPTURE_FILE)) ? CAPTURE_FILE : existsSync(join(path, TRUTH_FILE)) ? TRUTH_FILE : null;
  if (kind === null) {
    throw new InputError(path, 0, `a directory, but not a capture: it has no ${CAPTURE_FILE} (written by tlbtrace record) or ${TRUTH_FILE}; pass a trace file instead`);
  }
  const file = join(path, kind);
  let counters: KernelCounters;
  try {
    counters = readCounters(readFileSync(file, 'utf8'), file, kind);
  } catch (err) {
    throw new InputError(file, 0, (err as Error).message);
  }
  const name = counters.traceFiles.find((f) => existsSync(join(path, f)));
  if (name === undefined) {
    const spools = readdirSync(path).filter((f) => /^trace\.dat\.cpu\d+$/.test(f));
    const why = spools.length ? ` (${spools.join(', ')} are there: the recording was killed before it could write its trace)` : '';
    throw new InputError(path, 0, `none of the trace files ${kind} names is there: ${counters.traceFiles.join(', ')}${why}`);
  }
  const ingest: CaptureDir['ingest'] = {};
  const tgidsPath = join(path, TGIDS_FILE);
  if (name.endsWith('.dat') && existsSync(tgidsPath)) ingest.tgids = parseSavedTgids(readFileSync(tgidsPath, 'utf8'));
  return { dir: path, trace: join(path, name), counters, ingest };
}

/**
 * The files an input list reads, capture directories expanded: what an output must not overwrite
 * (`analyze run1/ --html run1/trace.dat`).
 */
export function inputFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (p === '-' || !isDirectory(p)) {
      out.push(p);
      continue;
    }
    for (const f of [CAPTURE_FILE, TRUTH_FILE, TGIDS_FILE]) out.push(join(p, f));
    try {
      for (const f of readdirSync(p)) if (/\.(dat|gz|zst|txt)$/.test(f)) out.push(join(p, f));
    } catch {
      // unreadable: openCaptureDir will say so
    }
  }
  return out;
}

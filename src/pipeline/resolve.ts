// A path given to `compare` or `check` may be a saved summary JSON, a trace, or a capture
// directory (capture-dir.ts: `tlbtrace record`'s, or one of ../shared/traces): sniff the first
// bytes (a summary is a JSON object; traces are text lines, gzip/zstd or trace.dat) and return a
// summary either way.

import { open, stat } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { loadSummary } from '../report/load.js';
import type { Summary } from '../summary/schema.js';
import { analyzeTrace, type AnalyzeOptions } from './analyze.js';

export async function isSummaryFile(path: string): Promise<boolean> {
  if (path === '-') return false;
  if ((await stat(path).catch(() => null))?.isDirectory()) return false; // a capture directory
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new InputError(path, 0, `cannot open: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await fh.read(buf, 0, 64, 0);
    const head = buf.subarray(0, bytesRead).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
    return head.startsWith('{');
  } finally {
    await fh.close();
  }
}

export async function resolveSummary(path: string, opts: AnalyzeOptions = {}): Promise<Summary> {
  return (await isSummaryFile(path)) ? loadSummary(path) : analyzeTrace([path], opts);
}

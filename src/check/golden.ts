// Golden expectations for saved traces: `tlbtrace check fixtures/` re-analyzes every trace file in
// every capture directory that has an `expected.json`, and compares its key numbers exactly with
// the stored ones. `--update` rewrites expectations (atomically) and prints what changed.
//
// expected.json: { "schema": "tlbtrace.expect/1", "summarySchema": "tlbtrace.summary/1",
//                  "files": { "ftrace.txt.gz": { "observed.requests": 123, ... }, ... } }

import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { analyzeTrace } from '../pipeline/analyze.js';
import { SUMMARY_SCHEMA } from '../summary/schema.js';
import { writeFileAtomic } from '../report/write.js';
import { goldenMetrics, type Metrics } from './metrics.js';

export const EXPECT_SCHEMA = 'tlbtrace.expect/1';
export const EXPECT_FILE = 'expected.json';
const TRACE_FILES = ['ftrace.txt.gz', 'trace-cmd-report.txt.gz', 'perf-script.txt.gz', 'trace.dat'];

const ExpectFile = z.object({
  schema: z.literal(EXPECT_SCHEMA),
  summarySchema: z.literal(SUMMARY_SCHEMA),
  files: z.record(z.string(), z.record(z.string(), z.number())),
});
type ExpectFile = z.infer<typeof ExpectFile>;

export interface GoldenDiff {
  capture: string;
  file: string;
  metric: string;
  expected: number | undefined;
  actual: number | undefined;
}

export interface GoldenResult {
  captures: number;
  files: number;
  diffs: GoldenDiff[];
  /** captures with trace files but no expected.json (a failure unless --update) */
  missing: string[];
  updated: string[];
}

/** Capture directories below `root` (a directory holding any of the known trace files). */
async function findCaptures(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number) => {
    const entries = await readdir(dir, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && TRACE_FILES.includes(e.name))) out.push(dir);
    if (depth > 4) return;
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await walk(join(dir, e.name), depth + 1);
  };
  await walk(root, 0);
  return out.sort();
}

async function readExpect(path: string): Promise<ExpectFile | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InputError(path, 0, `cannot read expectation: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(path, 0, `corrupt expectation (not JSON: ${(err as Error).message}); regenerate it with 'tlbtrace check --update'`);
  }
  const r = ExpectFile.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new InputError(
      path,
      0,
      `expectation is not ${EXPECT_SCHEMA} for ${SUMMARY_SCHEMA} (${i.path.join('.') || 'top level'}: ${i.message}); it is old, foreign or corrupt — regenerate it with 'tlbtrace check --update'`,
    );
  }
  return r.data;
}

export async function checkGolden(root: string, opts: { update?: boolean; log?: (s: string) => void } = {}): Promise<GoldenResult> {
  const st = await stat(root).catch(() => null);
  if (st === null || !st.isDirectory()) throw new InputError(root, 0, 'expected a directory of captures (e.g. fixtures/)');
  const captures = await findCaptures(root);
  const result: GoldenResult = { captures: captures.length, files: 0, diffs: [], missing: [], updated: [] };
  for (const dir of captures) {
    const name = relative(root, dir) || '.';
    const expectPath = join(dir, EXPECT_FILE);
    const expected = await readExpect(expectPath);
    if (expected === null && !opts.update) {
      result.missing.push(name);
      continue;
    }
    const present = (await readdir(dir)).filter((f) => TRACE_FILES.includes(f)).sort();
    const actual: Record<string, Metrics> = {};
    for (const f of present) {
      const summary = await analyzeTrace([join(dir, f)]);
      actual[f] = goldenMetrics(summary);
      result.files++;
    }
    const diffs: GoldenDiff[] = [];
    const files = new Set([...Object.keys(actual), ...Object.keys(expected?.files ?? {})]);
    for (const f of files) {
      const a = actual[f] ?? {};
      const e = expected?.files[f] ?? {};
      for (const k of new Set([...Object.keys(a), ...Object.keys(e)])) {
        if (a[k] !== e[k]) diffs.push({ capture: name, file: f, metric: k, expected: e[k], actual: a[k] });
      }
    }
    if (opts.update) {
      if (diffs.length > 0 || expected === null) {
        const body: ExpectFile = { schema: EXPECT_SCHEMA, summarySchema: SUMMARY_SCHEMA, files: actual };
        await writeFileAtomic(expectPath, JSON.stringify(body, null, 1) + '\n');
        result.updated.push(name);
        if (expected === null) opts.log?.(`${name}: created ${EXPECT_FILE} for ${Object.keys(actual).length} trace files`);
        else for (const d of diffs) opts.log?.(`${name}/${d.file}: ${d.metric} ${d.expected ?? '(none)'} -> ${d.actual ?? '(none)'}`);
      }
    } else {
      result.diffs.push(...diffs);
    }
  }
  return result;
}

export function renderGolden(r: GoldenResult, update: boolean): string {
  const lines: string[] = [];
  if (update) {
    lines.push(`checked ${r.files} trace files in ${r.captures} captures; ${r.updated.length ? `updated: ${r.updated.join(', ')}` : 'all expectations already current'}`);
    return lines.join('\n') + '\n';
  }
  for (const m of r.missing) lines.push(`${m}: no ${EXPECT_FILE}; create it with 'tlbtrace check --update'`);
  const byFile = new Map<string, GoldenDiff[]>();
  for (const d of r.diffs) {
    const k = `${d.capture}/${d.file}`;
    byFile.set(k, [...(byFile.get(k) ?? []), d]);
  }
  for (const [k, ds] of byFile) {
    lines.push(`${k}: ${ds.length === 1 ? '1 metric differs' : `${ds.length} metrics differ`}`);
    for (const d of ds.slice(0, 20)) {
      const delta = d.expected !== undefined && d.actual !== undefined ? ` (${d.actual - d.expected > 0 ? '+' : ''}${Math.round((d.actual - d.expected) * 1000) / 1000})` : '';
      lines.push(`  ${d.metric}: expected ${d.expected ?? '(none)'}, got ${d.actual ?? '(none)'}${delta}`);
    }
    if (ds.length > 20) lines.push(`  ... and ${ds.length - 20} more`);
  }
  const ok = r.diffs.length === 0 && r.missing.length === 0;
  lines.push(ok ? `ok: ${r.files} trace files in ${r.captures} captures match their expectations` : 'FAILED: expectations differ (run with --update if the change is intended)');
  return lines.join('\n') + '\n';
}

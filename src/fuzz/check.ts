// One fuzz case, end to end, and the properties it must satisfy:
//
//   1. analyzeTrace() either returns a summary or throws InputError (exit 2, the message names the
//      input); anything else is a bug (an uncaught exception in the CLI);
//   2. every line is accounted for: lines = events + lost-event markers + line warnings
//      (malformed-line, malformed-payload, line-too-long, cpu-out-of-range) + lines the grammar
//      may skip silently (blank, comments, header lines) — so no line vanishes without a warning;
//   3. event counts of kinds no mutation touched are unchanged (same format, header intact);
//   4. the summary is valid `tlbtrace.summary/1` (finite numbers) after a JSON round trip,
//      warning examples stay bounded, per-CPU arrays are sized from what the trace shows;
//   5. (every `cliEvery`-th case) `tlbtrace analyze FILE` through main(): exit code 0 or 2, JSON
//      output parses, terminal output holds no control character a comm could have smuggled in;
//      (every `htmlEvery`-th case) the HTML report carries no hostile comm unescaped.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MAX_CPUS } from '../events/cpumask.js';
import { InputError } from '../errors.js';
import { decodeUtf8Escaped } from '../ingest/lines.js';
import { analyzeTrace } from '../pipeline/analyze.js';
import { Summary as SummarySchema, type Summary } from '../summary/schema.js';
import type { Excerpt, TextFormatName } from './corpus.js';
import { applyMutations, type FuzzCase, type Mutated } from './mutate.js';

export const LINE_WARNINGS = ['malformed-line', 'malformed-payload', 'line-too-long', 'cpu-out-of-range'];

/** The lines a grammar may skip without a warning (independent of the grammar code). */
export function silentLine(format: TextFormatName, line: string): boolean {
  if (line.length === 0) return true;
  if (format === 'ftrace') return line.startsWith('#');
  if (format === 'trace-cmd') {
    return /^cpus=\d+\s*$/.test(line) || /^CPU \d+ is empty\s*$/.test(line) || /^[a-z_]+ ?= ?\S+$/.test(line);
  }
  if (line.startsWith('#') || line.trim().length === 0) return true;
  // perf script -g call-chain lines (indented hex address), unless a `[CPU] ts:` makes it an event
  return /^[\t ]+[0-9a-f]{4,}( |$)/.test(line) && !/\[\d+\] +\d+(?:\.\d+)?: /.test(line);
}

/** lines of `bytes` as the line splitter numbers them, and how many a grammar may skip silently */
export function lineCensus(bytes: Buffer, format: TextFormatName, maxLineLength: number): { lines: number; silent: number } {
  const text = decodeUtf8Escaped(bytes);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let silent = 0;
  for (const raw of lines) {
    if (raw.length > maxLineLength || raw.includes('\0')) continue;
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (silentLine(format, l)) silent++;
  }
  return { lines: lines.length, silent };
}

export interface CaseResult {
  outcome: 'ok' | 'input-error';
  /** property violations (empty: the case passed) */
  failures: string[];
  summary?: Summary;
  error?: string;
}

const baselines = new Map<number, Promise<Summary>>();

/** the unmutated excerpt's summary (cached per excerpt) */
export function baseline(excerpts: readonly Excerpt[], i: number): Promise<Summary> {
  let p = baselines.get(i);
  if (p === undefined) {
    const ex = excerpts[i]!;
    const bytes = Buffer.from([...ex.header, ...ex.body].join('\n') + '\n');
    p = analyzeTrace(['-'], { ingest: { stdin: bytes }, policies: ['observed'] });
    baselines.set(i, p);
  }
  return p;
}

function sum(o: Record<string, number>, keys: readonly string[]): number {
  let n = 0;
  for (const k of keys) n += o[k] ?? 0;
  return n;
}

/**
 * Run one case in process and check properties 1-4. `schema`: also validate the summary against
 * the zod schema after a JSON round trip (the slowest check: the fuzzer does it every few cases).
 */
export async function checkCase(excerpts: readonly Excerpt[], c: FuzzCase, schema = true): Promise<CaseResult & { mutated: Mutated }> {
  const ex = excerpts[c.excerpt]!;
  const mutated = applyMutations(ex, excerpts, c);
  const failures: string[] = [];
  let summary: Summary;
  try {
    summary = await analyzeTrace(['-'], {
      ingest: { stdin: mutated.bytes, maxLineLength: c.maxLineLength },
      policies: c.policy === null ? undefined : [c.policy],
    });
  } catch (err) {
    if (err instanceof InputError) {
      if (!err.message.startsWith('<stdin>')) failures.push(`InputError does not name the input: ${err.message}`);
      return { outcome: 'input-error', failures, error: err.message, mutated };
    }
    failures.push(`uncaught ${(err as Error)?.name}: ${(err as Error)?.stack ?? String(err)}`);
    return { outcome: 'input-error', failures, error: String(err), mutated };
  }
  const inp = summary.input;
  const w = inp.warnings;

  // 4. schema, bounds
  if (schema) {
    const parsed = SummarySchema.safeParse(JSON.parse(JSON.stringify(summary)));
    if (!parsed.success) failures.push(`summary fails the schema: ${parsed.error.message.slice(0, 500)}`);
  }
  for (const [code, n] of Object.entries(w.byCode)) {
    const shown = w.examples.filter((e) => e.code === code).length;
    if (shown > 3 || shown > n) failures.push(`${shown} warning examples kept for ${code} (${n} warnings)`);
  }
  if (inp.cpus > MAX_CPUS) failures.push(`summary has ${inp.cpus} CPUs (more than ${MAX_CPUS})`);
  if (inp.lost.perCpu.length !== inp.cpus) failures.push(`perCpu has ${inp.lost.perCpu.length} rows for ${inp.cpus} CPUs`);
  if (mutated.gzipCut && !inp.truncated && w.byCode['corrupt-input'] === undefined) {
    // a cut that happens to fall after the last deflate block still decodes everything: fine
    if ((w.byCode['truncated-input'] ?? 0) > 0) failures.push('truncated-input warning without truncated: true');
  }
  if ((w.byCode['truncated-input'] ?? 0) + (w.byCode['corrupt-input'] ?? 0) > 0 && !inp.truncated) {
    failures.push('a truncated/corrupt-input warning but input.truncated is false');
  }

  // 2. line accounting (the bytes the splitter saw: not knowable when a gzip stream was cut)
  if (!mutated.gzipCut && !inp.truncated) {
    const census = lineCensus(c.gzip ? decompress(mutated.bytes) : mutated.bytes, inp.format as TextFormatName, c.maxLineLength);
    const lost = inp.lost.perCpu.reduce((n, x) => n + x.lostMarkers, 0);
    const accounted = inp.events + lost + sum(w.byCode, LINE_WARNINGS) + census.silent;
    if (accounted !== census.lines) {
      failures.push(
        `line accounting: ${census.lines} lines but ${inp.events} events + ${lost} lost markers + ${sum(w.byCode, LINE_WARNINGS)} line warnings + ${census.silent} silent = ${accounted}`,
      );
    }
  }

  // 3. untouched kinds keep their counts
  if (!mutated.gzipCut && !mutated.headerTouched) {
    const base = await baseline(excerpts, c.excerpt);
    if (base.input.format === inp.format) {
      for (const [kind, n] of Object.entries(base.input.eventsByType)) {
        if (mutated.touchedKinds.has(kind)) continue;
        const got = inp.eventsByType[kind] ?? 0;
        if (got !== n) failures.push(`count of untouched kind ${kind} changed: ${n} -> ${got}`);
      }
      if (!mutated.anyTouched) {
        for (const kind of Object.keys(inp.eventsByType)) {
          if (base.input.eventsByType[kind] === undefined) failures.push(`new kind ${kind} without any line touched`);
        }
      }
    }
  }
  return { outcome: 'ok', failures, summary, mutated };
}

/** a gzip case without a cut: the whole text (for the line census) */
function decompress(b: Buffer): Buffer {
  return gunzipSync(b);
}

/** control characters that must never reach a terminal from trace data (ESC, BEL, C1, bidi overrides) */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let tmpDir: string | undefined;

/** main() with stdout/stderr captured */
async function runMain(args: string[]): Promise<{ code: number; out: string; err: string; failures: string[] }> {
  const { main } = await import('../cli/main.js');
  let out = '';
  let err = '';
  const ow = process.stdout.write;
  const ew = process.stderr.write;
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  const failures: string[] = [];
  let code: number;
  try {
    code = await main(args);
  } catch (e) {
    code = -1;
    failures.push(`main(${args.slice(2, 3).join(' ')}) threw ${(e as Error)?.stack ?? String(e)}`);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  return { code, out, err, failures };
}

/**
 * Property 5: the CLI on the case written to a file. Returns failures. `html` also renders the
 * HTML report (slow: Vega) and checks hostile comms come out escaped; `baseline` (the unmutated
 * excerpt) also runs `tlbtrace check FILE --baseline BASE`, whose exit code must be 0, 1 or 2.
 */
export async function checkCli(
  bytes: Buffer,
  comms: readonly string[],
  opts: { json: boolean; html: boolean; baseline?: Buffer },
): Promise<string[]> {
  tmpDir ??= mkdtempSync(join(tmpdir(), 'tlbtrace-fuzz-'));
  const file = join(tmpDir, `case-${process.pid}.txt`);
  const html = join(tmpDir, `case-${process.pid}.html`);
  writeFileSync(file, bytes);
  rmSync(html, { force: true });
  const args = ['node', 'tlbtrace', 'analyze', file, '--no-progress'];
  if (opts.json) args.push('--json');
  if (opts.html) args.push('--html', html);
  const { code, out, err, failures } = await runMain(args);
  if (code !== 0 && code !== 2 && code !== -1) failures.push(`analyze: exit code ${code}${code === 70 ? `: ${err.slice(0, 1500)}` : ''}`);
  if (code === 2 && !err.includes(file)) failures.push(`exit 2 without naming the file: ${err.slice(0, 300)}`);
  if (code === 0 && opts.json) {
    try {
      JSON.parse(out);
    } catch {
      failures.push('--json output does not parse');
    }
  }
  if (code === 0 && !opts.json) {
    const m = RAW_CONTROL.exec(out);
    if (m !== null) failures.push(`terminal output holds raw control character U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (opts.baseline !== undefined) {
    const base = join(tmpDir, `base-${process.pid}.txt`);
    writeFileSync(base, opts.baseline);
    const r = await runMain(['node', 'tlbtrace', 'check', file, '--baseline', base, '--json']);
    failures.push(...r.failures);
    if (![0, 1, 2].includes(r.code)) failures.push(`check: exit code ${r.code}${r.code === 70 ? `: ${r.err.slice(0, 1500)}` : ''}`);
    if (r.code === 2 && code === 0) failures.push(`check refused a trace analyze accepted: ${r.err.slice(0, 300)}`);
    if (r.code !== 2) {
      try {
        JSON.parse(r.out);
      } catch {
        failures.push('check --json output does not parse');
      }
    }
  }
  if (code === 0 && opts.html) {
    const { readFileSync } = await import('node:fs');
    const page = readFileSync(html, 'utf8');
    for (const comm of comms) {
      if (/[<>&"]/.test(comm) && page.includes(comm)) failures.push(`HTML holds the comm ${JSON.stringify(comm)} unescaped`);
    }
    if (/<img/i.test(page)) failures.push('HTML holds an <img> element');
    const m = RAW_CONTROL.exec(page.replace(/[\t\n\r]/g, ''));
    if (m !== null) failures.push(`HTML holds raw control character U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  return failures;
}

export function cleanupTmp(): void {
  if (tmpDir !== undefined) rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = undefined;
}

// A fuzz worker (forked by run.ts, or run alone): generates cases with fast-check, checks each one
// in process (check.ts; with --binary, trace.dat cases of datcase.ts), reports progress to the
// parent, and at the end the failures (the first text one shrunk to a minimal case) and its peak
// RSS. Binary cases announce themselves before they run, for the parent's watchdog (fork.ts).
//
//   node dist/fuzz/worker.js --cases 1000 --seed 42          (standalone)
//   node dist/fuzz/worker.js --binary --cases 100 --seed 42

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { loadCorpus, type Excerpt } from './corpus.js';
import { caseArb, type FuzzCase } from './mutate.js';
import { checkCase, checkCli, cleanupTmp } from './check.js';
import { runDatCases } from './datcase.js';

export interface WorkerOptions {
  cases: number;
  seed: number;
  /** every Nth case also runs the CLI (alternating --json and the terminal table); 0: never */
  cliEvery: number;
  /** every Nth case also writes the HTML report; 0: never */
  htmlEvery: number;
  /** every Nth case validates the summary against the schema (JSON round trip) */
  schemaEvery: number;
  fixtures: string;
  excerptsPerFile: number;
  excerptLines: number;
}

export interface WorkerStats {
  done: number;
  ok: number;
  inputErrors: number;
  cliRuns: number;
  htmlRuns: number;
  failures: Array<{ case: FuzzCase; excerpt: string; failures: string[] }>;
  failureCount: number;
  shrunk?: { case: FuzzCase; excerpt: string; failures: string[] };
  maxRssMb: number;
  ms: number;
}

export const DEFAULT_FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');

export async function runCases(
  opts: WorkerOptions,
  onProgress?: (s: WorkerStats) => void,
  excerpts: Excerpt[] = loadCorpus(opts.fixtures, { perFile: opts.excerptsPerFile, lines: opts.excerptLines }),
): Promise<WorkerStats> {
  const t0 = Date.now();
  const stats: WorkerStats = { done: 0, ok: 0, inputErrors: 0, cliRuns: 0, htmlRuns: 0, failures: [], failureCount: 0, maxRssMb: 0, ms: 0 };
  const runOne = async (c: FuzzCase): Promise<string[]> => {
    const n = stats.done + 1;
    const r = await checkCase(excerpts, c, opts.schemaEvery > 0 && n % opts.schemaEvery === 0);
    const failures = [...r.failures];
    if (opts.cliEvery > 0 && n % opts.cliEvery === 0) {
      const html = opts.htmlEvery > 0 && n % opts.htmlEvery === 0;
      const ex = excerpts[c.excerpt]!;
      // every fifth CLI run also `check`s the case against its unmutated excerpt
      const baseline = (n / opts.cliEvery) % 5 === 0 ? Buffer.from([...ex.header, ...ex.body].join('\n') + '\n') : undefined;
      failures.push(...(await checkCli(r.mutated.bytes, r.mutated.comms, { json: (n / opts.cliEvery) % 2 === 0, html, baseline })));
      stats.cliRuns++;
      if (html) stats.htmlRuns++;
    }
    if (r.outcome === 'ok') stats.ok++;
    else stats.inputErrors++;
    return failures;
  };
  const property = fc.asyncProperty(caseArb(excerpts.length), async (c) => {
    const failures = await runOne(c);
    stats.done++;
    if (failures.length > 0) {
      stats.failureCount++;
      if (stats.failures.length < 20) stats.failures.push({ case: c, excerpt: excerpts[c.excerpt]!.name, failures });
    }
    if (stats.done % 500 === 0) {
      stats.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      onProgress?.(stats);
    }
    return true;
  });
  await fc.check(property, { numRuns: opts.cases, seed: opts.seed, endOnFailure: true });

  // shrink the first failure to a minimal case
  const first = stats.failures[0];
  if (first !== undefined) {
    const failing = fc.asyncProperty(caseArb(excerpts.length), async (c) => (await checkCase(excerpts, c)).failures.length === 0);
    const r = await fc.check(failing, { examples: [[first.case]], numRuns: 1, seed: opts.seed });
    if (r.failed && r.counterexample !== null) {
      const c = r.counterexample[0];
      stats.shrunk = { case: c, excerpt: excerpts[c.excerpt]!.name, failures: (await checkCase(excerpts, c)).failures };
    }
  }
  cleanupTmp();
  stats.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  stats.ms = Date.now() - t0;
  return stats;
}

function arg(argv: string[], name: string, def: number): number {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : def;
}

export function workerOptions(argv: string[]): WorkerOptions {
  const fixtures = argv.indexOf('--fixtures') >= 0 ? argv[argv.indexOf('--fixtures') + 1]! : DEFAULT_FIXTURES;
  return {
    cases: arg(argv, '--cases', 1000),
    seed: arg(argv, '--seed', Date.now() % 2 ** 31),
    cliEvery: arg(argv, '--cli-every', 50),
    htmlEvery: arg(argv, '--html-every', 5000),
    schemaEvery: arg(argv, '--schema-every', 10),
    fixtures,
    excerptsPerFile: arg(argv, '--excerpts-per-file', 6),
    excerptLines: arg(argv, '--excerpt-lines', 200),
  };
}

// run as a process: forked by run.ts (progress over IPC) or alone (progress on stderr)
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--binary')) {
  const opts = workerOptions(process.argv.slice(2));
  const send = process.send?.bind(process);
  const tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-fuzz-dat-'));
  try {
    const stats = await runDatCases(
      { cases: opts.cases, seed: opts.seed, fixtures: opts.fixtures, tmp },
      (c, file) => send?.({ type: 'case', case: c, file }),
      (s) => (send ? send({ type: 'progress', stats: s }) : process.stderr.write(`\r${s.done}/${opts.cases} binary cases, ${s.failureCount} failures`)),
    );
    if (send) send({ type: 'done', stats }, undefined, undefined, () => process.disconnect());
    else process.stdout.write(`\n${JSON.stringify(stats, null, 2)}\n`);
    process.exitCode = stats.failureCount > 0 ? 1 : 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
} else if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const opts = workerOptions(process.argv.slice(2));
  const send = process.send?.bind(process);
  const stats = await runCases(opts, (s) => {
    if (send) send({ type: 'progress', stats: s });
    else process.stderr.write(`\r${s.done}/${opts.cases} cases, ${s.failureCount} failures, peak RSS ${s.maxRssMb} MB`);
  });
  if (send) send({ type: 'done', stats }, undefined, undefined, () => process.disconnect());
  else process.stdout.write(`\n${JSON.stringify(stats, null, 2)}\n`);
  process.exitCode = stats.failureCount > 0 ? 1 : 0;
}

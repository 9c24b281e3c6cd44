// `npm run fuzz`: mutated real traces through the whole pipeline, in parallel worker processes:
// text excerpts (mutate.ts, check.ts), then whole trace.dat files (datcase.ts).
//
//   node dist/fuzz/run.js [--cases 100000] [--dat-cases 10000] [--workers 2] [--seed N] [--cli-every 50]
//                         [--html-every 5000] [--schema-every 10] [--excerpts-per-file 6] [--excerpt-lines 200]
//                         [--max-heap-mb 512] [--case-timeout 60]
//   node dist/fuzz/run.js --replay '<case JSON>'        re-run one text case and print what it checks
//   node dist/fuzz/run.js --replay-dat '<case JSON>'    the same for a trace.dat case
//
// Prints progress every few seconds, then the total cases, failures (the first text one shrunk to a
// minimal mutation list, with a command to replay it), the share of inputs refused as bad input
// (exit 2), and the peak RSS of each worker. A worker silent for --case-timeout seconds is killed
// and its case reported as a hang (fork.ts). Exit code 1 when any case failed or hung.

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCorpus } from './corpus.js';
import { applyMutations, type FuzzCase } from './mutate.js';
import { checkCase, checkCli } from './check.js';
import { replayDatCase, type DatCase, type DatStats } from './datcase.js';
import { forkWorker, type Hang } from './fork.js';
import type { WorkerStats } from './worker.js';
import { DEFAULT_FIXTURES, workerOptions } from './worker.js';

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function replay(json: string, argv: string[]): Promise<number> {
  const opts = workerOptions(argv);
  const c = JSON.parse(json) as FuzzCase;
  const excerpts = loadCorpus(opts.fixtures, { perFile: opts.excerptsPerFile, lines: opts.excerptLines });
  const m = applyMutations(excerpts[c.excerpt]!, excerpts, c);
  process.stdout.write(`excerpt ${excerpts[c.excerpt]!.name}, ${m.bytes.length} bytes\n`);
  const r = await checkCase(excerpts, c);
  const cli = await checkCli(m.bytes, m.comms, { json: true, html: false });
  const failures = [...r.failures, ...cli];
  process.stdout.write(`${r.outcome}${r.error ? `: ${r.error}` : ''}\n${failures.length ? failures.join('\n') : 'no failures'}\n`);
  if (r.summary) process.stdout.write(`warnings: ${JSON.stringify(r.summary.input.warnings.byCode)}\n`);
  return failures.length > 0 ? 1 : 0;
}

async function replayDat(json: string, argv: string[]): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-fuzz-dat-'));
  try {
    const { file, result } = await replayDatCase(JSON.parse(json) as DatCase, workerOptions(argv).fixtures, tmp);
    process.stdout.write(`${file}: ${result.outcome}${result.error ? `: ${result.error}` : ''}\n${result.failures.length ? result.failures.join('\n') : 'no failures'}\n`);
    return result.failures.length > 0 ? 1 : 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `--dat-cases` trace.dat cases over the workers; failures and hangs printed, their count returned */
async function runBinary(total: number, workers: number, seed: number, timeoutMs: number, passOn: string[]): Promise<number> {
  const t0 = Date.now();
  const outcomes = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const cases = Math.floor(total / workers) + (w < total % workers ? 1 : 0);
      return forkWorker<DatStats>(['--binary', '--cases', String(cases), '--seed', String(seed + 1000 + w), ...passOn], { timeoutMs });
    }),
  );
  let bad = 0;
  const stats = outcomes.flatMap((o) => ('stats' in o ? [o.stats] : []));
  const done = stats.reduce((n, s) => n + s.done, 0);
  const inputErrors = stats.reduce((n, s) => n + s.inputErrors, 0);
  const secs = (Date.now() - t0) / 1000;
  process.stdout.write(
    [
      `fuzz: ${done} trace.dat cases in ${secs.toFixed(0)} s, seeds ${seed + 1000}..${seed + 999 + workers}`,
      `  read ${done - inputErrors}, refused as bad input (exit 2) ${inputErrors}; slowest case ${Math.max(0, ...stats.map((s) => s.slowestMs))} ms`,
      `  failures ${stats.reduce((n, s) => n + s.failureCount, 0)}; peak RSS per worker: ${stats.map((s) => `${s.maxRssMb} MB`).join(', ')}`,
    ].join('\n') + '\n',
  );
  for (const [w, o] of outcomes.entries()) {
    if ('hang' in o) {
      bad++;
      const h: Hang = o.hang;
      process.stdout.write(`\nHANG (binary worker ${w}) ${h.file ?? ''}: silent for ${h.ms} ms\n  replay: node dist/fuzz/run.js --replay-dat '${JSON.stringify(h.case)}'\n`);
    } else if ('died' in o) {
      bad++;
      process.stdout.write(`\nbinary worker ${w} died: ${o.died}\n`);
    } else {
      bad += o.stats.failureCount;
      for (const f of o.stats.failures.slice(0, 5)) {
        process.stdout.write(`\nFAILED (binary worker ${w}) ${f.file}\n  ${f.failures.join('\n  ')}\n  replay: node dist/fuzz/run.js --replay-dat '${JSON.stringify(f.case)}'\n`);
      }
    }
  }
  return bad;
}

async function main(argv: string[]): Promise<number> {
  const replayCase = arg(argv, '--replay');
  if (replayCase !== undefined) return replay(replayCase, argv);
  const replayDatJson = arg(argv, '--replay-dat');
  if (replayDatJson !== undefined) return replayDat(replayDatJson, argv);
  const total = Number(arg(argv, '--cases') ?? 100_000);
  const workers = Math.max(1, Number(arg(argv, '--workers') ?? Math.min(2, availableParallelism())));
  const seed = Number(arg(argv, '--seed') ?? Date.now() % 2 ** 31);
  const passOn = ['--cli-every', '--html-every', '--schema-every', '--excerpts-per-file', '--excerpt-lines', '--fixtures'].flatMap((k) =>
    arg(argv, k) !== undefined ? [k, arg(argv, k)!] : [],
  );
  process.stdout.write(`fuzz: ${total} cases, ${workers} workers, seed ${seed}, fixtures ${arg(argv, '--fixtures') ?? DEFAULT_FIXTURES}\n`);

  const t0 = Date.now();
  const progress: WorkerStats[] = [];
  const timer = setInterval(() => {
    const done = progress.reduce((n, s) => n + (s?.done ?? 0), 0);
    const fails = progress.reduce((n, s) => n + (s?.failureCount ?? 0), 0);
    const rate = done / ((Date.now() - t0) / 1000);
    const rss = progress.map((s, i) => `w${i} ${s?.maxRssMb ?? 0} MB`).join(', ');
    process.stdout.write(`fuzz: ${done}/${total} cases (${rate.toFixed(0)}/s), ${fails} failures, peak RSS ${rss}\n`);
  }, 5000);
  const timeoutMs = Number(arg(argv, '--case-timeout') ?? 60) * 1000;
  const outcomes = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const cases = Math.floor(total / workers) + (w < total % workers ? 1 : 0);
      return forkWorker<WorkerStats>(['--cases', String(cases), '--seed', String(seed + w), ...passOn], {
        timeoutMs,
        // a leak shows up as a worker dying of OOM, not as a slowly swapping machine
        execArgv: [`--max-old-space-size=${arg(argv, '--max-heap-mb') ?? 512}`],
        onProgress: (s) => (progress[w] = s),
      });
    }),
  ).finally(() => clearInterval(timer));
  for (const [w, o] of outcomes.entries()) {
    if (!('stats' in o)) {
      const why = 'hang' in o ? `silent for ${o.hang.ms} ms (killed)` : o.died;
      throw new Error(`worker ${w} (seed ${seed + w}) ${why} after ${progress[w]?.done ?? 0} cases`);
    }
  }
  const results = outcomes.map((o) => (o as { stats: WorkerStats }).stats);

  const done = results.reduce((n, s) => n + s.done, 0);
  const failureCount = results.reduce((n, s) => n + s.failureCount, 0);
  const inputErrors = results.reduce((n, s) => n + s.inputErrors, 0);
  const cli = results.reduce((n, s) => n + s.cliRuns, 0);
  const html = results.reduce((n, s) => n + s.htmlRuns, 0);
  const peak = Math.max(...results.map((s) => s.maxRssMb));
  const secs = (Date.now() - t0) / 1000;
  process.stdout.write(
    [
      `fuzz: ${done} cases in ${secs.toFixed(0)} s (${(done / secs).toFixed(0)}/s), seed ${seed}`,
      `  analyzed ${done - inputErrors}, refused as bad input (exit 2) ${inputErrors} (${((100 * inputErrors) / Math.max(1, done)).toFixed(1)}%)`,
      `  CLI runs ${cli} (HTML ${html})`,
      `  failures ${failureCount}`,
      `  peak RSS per worker: ${results.map((s, i) => `w${i} ${s.maxRssMb} MB`).join(', ')}; max ${peak} MB; runner ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`,
    ].join('\n') + '\n',
  );
  for (const [w, s] of results.entries()) {
    for (const f of s.failures.slice(0, 5)) {
      process.stdout.write(`\nFAILED (worker ${w}) ${f.excerpt}\n  ${f.failures.join('\n  ')}\n  replay: node dist/fuzz/run.js --replay '${JSON.stringify(f.case)}'\n`);
    }
    if (s.shrunk) {
      process.stdout.write(`\nSHRUNK (worker ${w}) ${s.shrunk.excerpt}\n  ${s.shrunk.failures.join('\n  ')}\n  replay: node dist/fuzz/run.js --replay '${JSON.stringify(s.shrunk.case)}'\n`);
    }
  }
  const datCases = Number(arg(argv, '--dat-cases') ?? 10_000);
  const fixtures = arg(argv, '--fixtures');
  const binaryBad = datCases > 0 ? await runBinary(datCases, workers, seed, timeoutMs, fixtures !== undefined ? ['--fixtures', fixtures] : []) : 0;
  return failureCount > 0 || done < total || binaryBad > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));

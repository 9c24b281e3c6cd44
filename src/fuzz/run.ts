// `npm run fuzz`: mutated real traces through the whole pipeline, in parallel worker processes.
//
//   node dist/fuzz/run.js [--cases 100000] [--workers 2] [--seed N] [--cli-every 50] [--html-every 5000]
//                         [--schema-every 10] [--excerpts-per-file 6] [--excerpt-lines 200] [--max-heap-mb 512]
//   node dist/fuzz/run.js --replay '<case JSON>'        re-run one case and print what it checks
//
// Prints progress every few seconds, then the total cases, failures (the first one shrunk to a
// minimal mutation list, with a command to replay it), the share of inputs refused as "not a
// trace" (exit 2), and the peak RSS of each worker. Exit code 1 when any case failed.

import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadCorpus } from './corpus.js';
import { applyMutations, type FuzzCase } from './mutate.js';
import { checkCase, checkCli } from './check.js';
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

async function main(argv: string[]): Promise<number> {
  const replayCase = arg(argv, '--replay');
  if (replayCase !== undefined) return replay(replayCase, argv);
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
  const results = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const cases = Math.floor(total / workers) + (w < total % workers ? 1 : 0);
      const child = fork(fileURLToPath(new URL('./worker.js', import.meta.url)), ['--cases', String(cases), '--seed', String(seed + w), ...passOn], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        // a leak shows up as a worker dying of OOM, not as a slowly swapping machine
        execArgv: [`--max-old-space-size=${arg(argv, '--max-heap-mb') ?? 512}`],
      });
      return new Promise<WorkerStats>((resolve, reject) => {
        let final: WorkerStats | undefined;
        child.on('message', (m: { type: string; stats: WorkerStats }) => {
          if (m.type === 'progress') progress[w] = m.stats;
          else if (m.type === 'done') final = m.stats;
        });
        child.on('exit', (code, signal) => {
          if (final !== undefined) resolve(final);
          else reject(new Error(`worker ${w} (seed ${seed + w}) died: exit ${code} ${signal ?? ''} after ${progress[w]?.done ?? 0} cases`));
        });
      });
    }),
  ).finally(() => clearInterval(timer));

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
  return failureCount > 0 || done < total ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));

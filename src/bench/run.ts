// `npm run bench`: throughput and memory of `tlbtrace analyze` on the large real captures, in one
// run, against `trace-cmd report` of the same recording.
//
//   npm run bench                          both captures, 3 runs each, 10x stream for memory, 5x copies
//   npm run bench -- --json                machine-readable (tlbtrace.bench/1)
//   npm run bench -- --capture sng-madvise --runs 1 --scale 4 --copies 2
//
// Per capture (native-6.18-2cpu/sng-madvise and sng-munmap from ../shared/traces), every
// measurement is a child process, run `--runs` times (interleaved) and reduced to the median:
//   start-up     node dist/bench/child.js --version (node + loading the CLI; subtracted below)
//   trace-cmd    trace-cmd report trace.dat > /dev/null              (the reference)
//   text         tlbtrace analyze report.txt --json   (the trace-cmd report text, uncompressed)
//   trace.dat    tlbtrace analyze trace.dat --json     (--ingest-thread auto: see src/ingest/worker/)
//   trace.dat, other thread   the same with the ingest on the thread auto did not choose
//   1x / Nx      tlbtrace analyze - --json, stdin fed on the fly with 1 and N copies of the
//                text, timestamps shifted per copy (src/bench/concat.ts): peak RSS must stay flat
//   copies       steady state (`--copies N`, default 5): trace-cmd report Nx.dat > /dev/null, and
//                tlbtrace analyze on Nx.txt and on Nx.dat, where Nx.dat is N time-shifted copies
//                of the recording in the capture's own trace.dat form (src/bench/copyinputs.ts)
//                and Nx.txt its `trace-cmd report`. On 1x, JIT warm-up is a big part of tlbtrace's
//                time; on Nx it is spread over N times the events, as on a 10^8-event trace.
//   runtimes     the trace.dat rows (1x, Nx, floor: read Nx) again on the current LTS from the npm
//                registry's `node` package, with its node:zlib zstd and with the WebAssembly zstd
//                forced, side by side with this node's (src/bench/runtimes.ts); every row names the
//                runtime and the zstd path its child reported
// Events/s of tlbtrace runs use (time - start-up); trace-cmd's own start-up is milliseconds. The
// copies rows also give the raw ratio (start-up included). The speed PASS/FAIL lines use the
// copies rows when measured: raw where start-up is under 5% of the run (the comparison issue #7
// asks for), else minus start-up; without them, the 1x rows minus start-up.
// Both wall-clock and CPU time (user + system) are measured; `--metric` picks the one the
// PASS/FAIL lines use. Default `auto`: wall-clock, unless the machine is already busy when the
// benchmark starts (1-minute load average above half the CPUs), where wall times measure the
// other processes as much as ours; then CPU time. CPU time is the stricter figure for tlbtrace:
// node's GC threads add CPU time that wall time hides, while trace-cmd is single-threaded.
// Also measured: the CPU time of tlbtrace's main thread alone (/proc/self/task/PID/stat), where
// ingest, model and policies run: the critical path, and the one time that other load on a
// shared machine hardly moves (`--metric main`).
//
// A benchmark, not a test: it always exits 0 unless its own arguments are wrong (2).

import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchCapture, isReference, FLOORS, reduce, type CaptureResult, type Measurement } from './capture.js';
import { log } from './format.js';
import { machineInfo } from './machine.js';
import { ArgError, parseArgs, USAGE, type Options } from './options.js';
import { jsonOut, render } from './report.js';
import { ltsNode, otherRuntimes, type Runtime } from './runtimes.js';
import { computeRatios, targets } from './targets.js';

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof ArgError) {
      process.stderr.write(`bench: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const machine = machineInfo();
  if (o.metricAuto) {
    const busy = machine.loadStart > machine.nproc / 2;
    o.metric = busy ? 'cpu' : 'wall';
    o.metricWhy = `auto: 1-min load ${machine.loadStart.toFixed(2)} on ${machine.nproc} CPUs at start${busy ? ', busy' : ''}; --metric wall|cpu|main to force`;
  }
  const startup: Measurement = { key: 'startup', what: 'start-up (tlbtrace --version)', events: 0, samples: [] };

  const present: Array<{ capture: string; dir: string }> = [];
  const globalNotes: string[] = [];
  for (const c of o.captures) {
    const dir = path.join(o.traces, c);
    const need = ['trace.dat', 'trace-cmd-report.txt.gz'].filter((f) => !existsSync(path.join(dir, f)));
    if (need.length) globalNotes.push(`${c}: skipped, ${need.join(' and ')} not found in ${dir}`);
    else present.push({ capture: c, dir });
  }
  if (present.length === 0) {
    const msg = `no benchmark capture found under ${o.traces} (looked for ${o.captures.join(', ')}); nothing measured`;
    if (o.json) process.stdout.write(JSON.stringify(jsonOut(o, machine, startup, [], [], globalNotes, msg), null, 2) + '\n');
    else process.stdout.write(`bench: skipped: ${msg}\n`);
    return 0;
  }
  if (!existsSync(new URL('../cli/main.js', import.meta.url))) {
    process.stderr.write('bench: dist/cli/main.js is missing: run `npm run build` first (npm run bench does)\n');
    return 2;
  }

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tlbtrace-bench-'));
  const cleanup = () => {
    if (!o.keepTmp) rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: CaptureResult[] = [];
  try {
    if (machine.traceCmd === null) {
      log('trace-cmd is not installed: the ratio against `trace-cmd report` cannot be measured (apt-get install -y trace-cmd); absolute rates are still measured');
    }
    // the trace.dat rows on the other runtime (the current LTS from the npm registry) and zstd path
    let runtimes: Runtime[] = [];
    if (o.lts) {
      const lts = ltsNode(o.ltsNode, log);
      if ('why' in lts) globalNotes.push(`the trace.dat rows were measured on this machine's node only: ${lts.why}`);
      runtimes = otherRuntimes('why' in lts ? null : lts);
    }
    for (const { capture, dir } of present) {
      results.push(await benchCapture(o, dir, capture, tmp, startup, machine.traceCmd, runtimes));
    }
    // one start-up figure (median over every capture's runs) for all tlbtrace times
    reduce(startup, undefined);
    for (const c of results) for (const x of Object.values(c.measurements)) reduce(x, isReference(x.key) ? undefined : startup);
    // the runtime rows are compared raw (start-up included): each runtime starts up differently
    for (const c of results) {
      for (const r of c.runtimes) {
        reduce(r.startup, undefined);
        for (const x of Object.values(r.measurements)) reduce(x, undefined);
      }
    }
    computeRatios(results, startup);
  } finally {
    cleanup();
    if (o.keepTmp) log(`kept ${tmp}`);
  }
  machine.loadEnd = os.loadavg()[0];
  if (startup.wallS !== undefined) {
    const shortest = Math.min(
      ...results.flatMap((c) =>
        Object.values(c.measurements)
          .filter((x) => !isReference(x.key) && FLOORS[x.key] === undefined && x.wallS !== undefined)
          .map((x) => x.wallS!),
      ),
    );
    if (Number.isFinite(shortest)) {
      const share = startup.wallS / shortest;
      globalNotes.push(
        `tlbtrace start-up is ${(share * 100).toFixed(1)}% of the shortest tlbtrace run${share >= 0.05 ? ' (>= 5%: the subtraction matters)' : ''}; it is subtracted from every tlbtrace time, trace-cmd times are taken as they are`,
      );
    }
  }
  const tgs = targets(o, results);
  const json = JSON.stringify(jsonOut(o, machine, startup, results, tgs, globalNotes), null, 2) + '\n';
  if (o.jsonOut) writeFileSync(o.jsonOut, json);
  if (o.json) process.stdout.write(json);
  else process.stdout.write(render(o, machine, startup, results, tgs, globalNotes));
  return 0;
}

process.exitCode = await main();

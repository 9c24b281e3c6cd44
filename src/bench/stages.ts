// Cost per pipeline stage, without a profiler's overhead: each stage is a fresh child process
// timed by its own CPU time (process.cpuUsage) from the moment the trace is opened.
//
//   node dist/bench/stages.js FILE [--runs N] [--json]
//
// Stages (each includes the ones before it):
//   read              the bytes alone: trace.dat decompressed and its records walked, text lines
//                     counted (src/bench/floor.ts); the floor under the stages after it
//   ingest            openTrace() + iterating every event batch (bytes -> lines -> typed events)
//   observed          analyzeTrace() with the `observed` policy only: + input stats, kernel model,
//                     observed accounting, summary
//   observed+X        analyzeTrace() with `observed` and policy X: the difference is X's own cost
//   all               analyzeTrace() with every policy (what `tlbtrace analyze` does)
// Uses the public entry points (openTrace, analyzeTrace, POLICIES) and, for `read`, the trace.dat
// stream readers.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { analyzeTrace } from '../pipeline/analyze.js';
import { POLICIES } from '../policies/index.js';
import { runFloor } from './floor.js';
import { median } from './measure.js';

interface OneResult {
  stage: string;
  events: number;
  cpuMs: number;
  wallMs: number;
  hwmKB: number | null;
}

async function runStage(stage: string, file: string): Promise<OneResult> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let events = 0;
  if (stage === 'read' || stage === 'ingest') {
    events = (await runFloor(stage, file)).count;
  } else {
    const policies = stage === 'all' ? undefined : stage.split('+');
    const s = await analyzeTrace([file], { policies });
    events = s.input.events;
  }
  const c = process.cpuUsage(c0);
  let hwmKB: number | null = null;
  try {
    const { readFileSync } = await import('node:fs');
    const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) hwmKB = Number(m[1]);
  } catch {
    // not Linux
  }
  return { stage, events, cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0, hwmKB };
}

function child(stage: string, file: string): Promise<OneResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--one', stage, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (s: string) => (out += s));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`stage ${stage}: exit code ${code}`));
      else resolve(JSON.parse(out) as OneResult);
    });
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--one') {
    process.stdout.write(JSON.stringify(await runStage(argv[1]!, argv[2]!)) + '\n');
    return 0;
  }
  let runs = 1;
  let json = false;
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--json') json = true;
    else file = argv[i];
  }
  if (file === undefined || !(runs >= 1)) {
    process.stderr.write('usage: node dist/bench/stages.js FILE [--runs N] [--json]\n');
    return 2;
  }
  const stages = ['read', 'ingest', 'observed', ...POLICIES.filter((p) => p.name !== 'observed').map((p) => `observed+${p.name}`), 'all'];
  const samples = new Map<string, OneResult[]>();
  for (let r = 0; r < runs; r++) {
    for (const st of stages) {
      const x = await child(st, file);
      (samples.get(st) ?? samples.set(st, []).get(st)!).push(x);
      process.stderr.write(`stages: ${st}: ${x.cpuMs.toFixed(0)} ms cpu, ${x.wallMs.toFixed(0)} ms wall, ${x.events} events\n`);
    }
  }
  const med = (st: string) => {
    const xs = samples.get(st)!;
    return { cpuMs: median(xs.map((x) => x.cpuMs)), wallMs: median(xs.map((x) => x.wallMs)), events: xs[0]!.events, hwmKB: median(xs.map((x) => x.hwmKB ?? NaN)) };
  };
  const ingest = med('ingest');
  const base = med('observed');
  const rows = stages.map((st) => {
    const m = med(st);
    const prev = st === 'read' || st === 'ingest' ? 0 : st === 'observed' ? ingest.cpuMs : base.cpuMs;
    const own = st === 'all' ? m.cpuMs - ingest.cpuMs : m.cpuMs - prev;
    return { stage: st, ...m, ownCpuMs: own, nsPerEvent: (own * 1e6) / Math.max(1, m.events) };
  });
  if (json) {
    process.stdout.write(JSON.stringify({ file, runs, rows }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`${file}: ${ingest.events.toLocaleString('en-US')} events, median of ${runs} run(s), CPU time from openTrace() on\n`);
  process.stdout.write(`${'stage'.padEnd(34)} ${'cpu ms'.padStart(8)} ${'own ms'.padStart(8)} ${'own ns/event'.padStart(13)} ${'M ev/s'.padStart(7)} ${'peak RSS'.padStart(9)}\n`);
  for (const r of rows) {
    const label = r.stage === 'read' ? 'read (bytes only; records/lines)' : r.stage === 'observed' ? 'observed (stats+model+accounting)' : r.stage === 'all' ? 'all (model+policies, w/o ingest)' : r.stage;
    process.stdout.write(
      `${label.padEnd(34)} ${r.cpuMs.toFixed(0).padStart(8)} ${r.ownCpuMs.toFixed(0).padStart(8)} ${r.nsPerEvent.toFixed(0).padStart(13)} ${((r.events / r.cpuMs) / 1e3).toFixed(2).padStart(7)} ${Number.isFinite(r.hwmKB) ? `${(r.hwmKB / 1024).toFixed(0)} MiB`.padStart(9) : '-'.padStart(9)}\n`,
    );
  }
  process.stdout.write('own: read, ingest = themselves (ingest includes reading); observed = minus ingest; observed+X = minus observed (X alone); all = minus ingest\n');
  process.stdout.write('(CPU time varies by 10-20% between runs on a shared VM: use --runs 3 or more; an own cost smaller than that is noise)\n');
  return 0;
}

process.exitCode = await main(process.argv.slice(2));

// Where `tlbtrace analyze` spends its time: runs it under `node --cpu-prof` (or reads a
// .cpuprofile) and prints self and inclusive time per pipeline stage (the file under dist/) and
// the hottest functions.
//
//   node dist/bench/profile.js --run analyze /path/report.txt [--top 40]
//   node dist/bench/profile.js CPU.cpuprofile [--top 40] [--json]
//
// "self": samples whose innermost frame is in the function/stage; "incl": samples with the
// function/stage anywhere on the stack (counted once per sample).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const DIST = fileURLToPath(new URL('../', import.meta.url));

/** dist/ingest/lines.js -> ingest/lines; node internals and V8 pseudo-frames by name */
export function stageOf(cf: CallFrame): string {
  const u = cf.url;
  if (u === '') {
    if (cf.functionName.startsWith('(')) return cf.functionName; // (garbage collector), (program), (idle)
    return '(native)';
  }
  if (u.startsWith('node:')) return 'node:' + u.slice(5).split('/').slice(0, 2).join('/');
  let p = u.startsWith('file://') ? fileURLToPath(u) : u;
  if (p.startsWith(DIST)) {
    p = p.slice(DIST.length).replace(/\.js$/, '');
    return p;
  }
  const nm = p.lastIndexOf('node_modules/');
  if (nm >= 0) return 'npm:' + p.slice(nm + 13).split('/')[0];
  return p;
}

export interface Row {
  name: string;
  selfMs: number;
  inclMs: number;
}

export interface ProfileSummary {
  totalMs: number;
  stages: Row[];
  functions: Row[];
}

export function summarize(prof: CpuProfile): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const fnKey = (n: ProfileNode) => {
    const cf = n.callFrame;
    const st = stageOf(cf);
    return `${cf.functionName || '(anonymous)'}  ${st}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
  };
  const stageSelf = new Map<string, number>();
  const stageIncl = new Map<string, number>();
  const fnSelf = new Map<string, number>();
  const fnIncl = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  let total = 0;
  // per sample: the leaf is "self", every distinct frame on the stack is "incl"
  const stackCache = new Map<number, { stages: string[]; fns: string[] }>();
  const stackOf = (id: number) => {
    let s = stackCache.get(id);
    if (s) return s;
    const stages = new Set<string>();
    const fns = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (n.callFrame.functionName === '(root)') continue;
      stages.add(stageOf(n.callFrame));
      fns.add(fnKey(n));
    }
    s = { stages: [...stages], fns: [...fns] };
    stackCache.set(id, s);
    return s;
  };
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    const dt = (prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0) / 1000;
    const n = byId.get(id);
    if (n === undefined) continue;
    total += dt;
    add(stageSelf, stageOf(n.callFrame), dt);
    add(fnSelf, fnKey(n), dt);
    const s = stackOf(id);
    for (const k of s.stages) add(stageIncl, k, dt);
    for (const k of s.fns) add(fnIncl, k, dt);
  }
  const rows = (self: Map<string, number>, incl: Map<string, number>): Row[] =>
    [...new Set([...self.keys(), ...incl.keys()])]
      .map((name) => ({ name, selfMs: self.get(name) ?? 0, inclMs: incl.get(name) ?? 0 }))
      .sort((a, b) => b.selfMs - a.selfMs || b.inclMs - a.inclMs);
  return { totalMs: total, stages: rows(stageSelf, stageIncl), functions: rows(fnSelf, fnIncl) };
}

export function renderSummary(s: ProfileSummary, top: number): string {
  const pct = (ms: number) => `${((ms / s.totalMs) * 100).toFixed(1).padStart(5)}%`;
  let out = `sampled ${(s.totalMs / 1000).toFixed(2)} s\n\nby stage (file)                              self            incl\n`;
  for (const r of s.stages.filter((r) => r.selfMs >= s.totalMs * 0.001 || r.inclMs >= s.totalMs * 0.01)) {
    out += `${r.name.padEnd(40).slice(0, 40)} ${(r.selfMs / 1000).toFixed(2).padStart(7)} s ${pct(r.selfMs)}  ${(r.inclMs / 1000).toFixed(2).padStart(7)} s ${pct(r.inclMs)}\n`;
  }
  out += `\ntop ${top} functions by self time                                                   self            incl\n`;
  for (const r of s.functions.slice(0, top)) {
    out += `${r.name.padEnd(80).slice(0, 80)} ${(r.selfMs / 1000).toFixed(2).padStart(6)} s ${pct(r.selfMs)}  ${(r.inclMs / 1000).toFixed(2).padStart(6)} s ${pct(r.inclMs)}\n`;
  }
  return out;
}

function main(argv: string[]): number {
  let top = 40;
  let json = false;
  let file: string | undefined;
  let run: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--top') top = Number(argv[++i]);
    else if (a === '--json') json = true;
    else if (a === '--run') {
      run = argv.slice(i + 1);
      break;
    } else file = a;
  }
  let prof: CpuProfile;
  if (run !== undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tlbtrace-prof-'));
    try {
      const child = fileURLToPath(new URL('./child.js', import.meta.url));
      const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, child, ...run], { stdio: ['inherit', 'ignore', 'inherit'] });
      if (r.status !== 0) {
        process.stderr.write(`profile: tlbtrace exited ${r.status}\n`);
        return 1;
      }
      const f = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'));
      if (f === undefined) throw new Error('no .cpuprofile written');
      prof = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (file !== undefined) {
    prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  } else {
    process.stderr.write('usage: node dist/bench/profile.js (FILE.cpuprofile | --run analyze FILE ...) [--top N] [--json]\n');
    return 2;
  }
  const s = summarize(prof);
  process.stdout.write(json ? JSON.stringify(s, null, 2) + '\n' : renderSummary(s, top));
  return 0;
}

process.exitCode = main(process.argv.slice(2));

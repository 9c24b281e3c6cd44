// Measuring one child process: wall time (parent clock, spawn to exit), CPU time and peak RSS.
//
// tlbtrace runs through src/bench/child.ts, which reports its own process.resourceUsage() on fd 3.
// Other commands (trace-cmd) run under `sh -c 'CMD; times'`: the POSIX `times` builtin prints the
// user and system CPU time of the shell's finished children.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import type { ChunkSink } from './concat.js';

export const CHILD_JS = fileURLToPath(new URL('./child.js', import.meta.url));

export interface Sample {
  /** spawn to exit, seconds */
  wallS: number;
  /** user + system CPU, seconds (undefined when it could not be read) */
  cpuS?: number;
  /** user + system CPU of the main thread alone, seconds (10 ms resolution; a single-threaded
   * command's is its cpuS) */
  mainCpuS?: number;
  /** peak resident set of the process image, bytes (VmHWM; undefined when unknown) */
  maxRss?: number;
  /** process.resourceUsage().maxRSS, bytes (includes the parent's RSS when it was bigger) */
  maxRssRusage?: number;
  /** main() of the CLI only, seconds (tlbtrace children) */
  cliS?: number;
  /** the runtime (process.version) and zstd decoder (src/ingest/zstd.ts) of a tlbtrace child */
  node?: string;
  zstd?: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

interface SpawnOptions {
  /** writes the child's stdin (then it is closed); stdin is /dev/null without it */
  feed?: (sink: ChunkSink) => Promise<void>;
  /** keep stdout (else it is read and dropped) */
  keepStdout?: boolean;
  env?: NodeJS.ProcessEnv;
  /** the node binary of a tlbtrace child (default: the one running the benchmark) */
  node?: string;
}

/** Keeps the last `limit` characters of a stream. */
function tailCollector(limit: number): { add: (s: string) => void; get: () => string } {
  let s = '';
  return {
    add: (x) => {
      s += x;
      if (s.length > 2 * limit) s = s.slice(-limit);
    },
    get: () => (s.length > limit ? s.slice(-limit) : s),
  };
}

/** A sink writing to a child's stdin with back-pressure; rejects once the pipe is broken. */
function stdinSink(w: Writable): ChunkSink {
  let broken: Error | undefined;
  w.on('error', (e) => (broken = e));
  return (chunk) => {
    if (broken) return Promise.reject(broken);
    if (w.write(chunk)) return;
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        w.off('drain', done);
        w.off('error', done);
        w.off('close', done);
        if (err) reject(err);
        else if (broken) reject(broken);
        else resolve();
      };
      w.on('drain', done);
      w.on('error', done);
      w.on('close', done);
    });
  };
}

function runProcess(cmd: string, args: string[], opts: SpawnOptions, reportFd: boolean): Promise<{ sample: Sample; report: string }> {
  return new Promise((resolve, reject) => {
    const stdio: Array<'pipe' | 'ignore'> = [opts.feed ? 'pipe' : 'ignore', 'pipe', 'pipe'];
    if (reportFd) stdio.push('pipe');
    const t0 = process.hrtime.bigint();
    const env = { ...(opts.env ?? process.env) };
    if (reportFd) env.TLBTRACE_BENCH_FD = '3';
    const child = spawn(cmd, args, { stdio, env });
    let tExit = 0n;
    let exitCode = -1;
    const out: string[] = [];
    const err = tailCollector(4000);
    let report = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => {
      if (opts.keepStdout) out.push(s);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => err.add(s));
    if (reportFd) {
      const r = child.stdio[3] as NodeJS.ReadableStream;
      r.setEncoding('utf8');
      r.on('data', (s: string) => (report += s));
    }
    let feedError: Error | undefined;
    if (opts.feed) {
      const stdin = child.stdin!;
      opts
        .feed(stdinSink(stdin))
        .catch((e: Error) => {
          feedError = e;
        })
        .finally(() => stdin.end());
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      tExit = process.hrtime.bigint();
      exitCode = code ?? (signal ? 128 : -1);
    });
    child.on('close', () => {
      const wallS = Number(tExit - t0) / 1e9;
      const sample: Sample = { wallS, exitCode, stdout: out.join(''), stderr: err.get() };
      if (feedError && exitCode === 0) {
        sample.exitCode = 1;
        sample.stderr += `\n(bench) writing the input failed: ${feedError.message}`;
      }
      resolve({ sample, report });
    });
  });
}

/** Run `node dist/bench/child.js ARGS` (the tlbtrace CLI) and read its usage report. */
export async function runTlbtrace(args: string[], opts: SpawnOptions = {}): Promise<Sample> {
  const { sample, report } = await runProcess(opts.node ?? process.execPath, [CHILD_JS, ...args], opts, true);
  const line = report.trim().split('\n').pop();
  if (line) {
    try {
      const r = JSON.parse(line) as { maxRssKB: number; hwmKB: number | null; userUs: number; systemUs: number; mainThreadUs: number | null; cliMs: number; node?: string; zstd?: string };
      // VmHWM when known: maxRSS also counts the parent's RSS at fork time (see child.ts)
      sample.maxRss = (r.hwmKB ?? r.maxRssKB) * 1024;
      sample.maxRssRusage = r.maxRssKB * 1024;
      sample.cpuS = (r.userUs + r.systemUs) / 1e6;
      if (r.mainThreadUs !== null) sample.mainCpuS = r.mainThreadUs / 1e6;
      if (r.cliMs >= 0) sample.cliS = r.cliMs / 1000;
      sample.node = r.node;
      sample.zstd = r.zstd;
    } catch {
      // no report: the child crashed; exitCode says so
    }
  }
  return sample;
}

/** `m:s` pairs of the POSIX `times` output: line 1 the shell, line 2 its children. */
export function parseTimes(text: string): number | undefined {
  const lines = text.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(last);
  if (!m) return undefined;
  return Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
}

/** Run a shell command line with its stdout discarded; CPU time of its processes via `times`. */
export async function runShell(script: string, args: string[]): Promise<Sample> {
  const { sample } = await runProcess('/bin/sh', ['-c', `${script} >/dev/null || exit $?; times`, 'sh', ...args], { keepStdout: true }, false);
  sample.cpuS = parseTimes(sample.stdout);
  sample.mainCpuS = sample.cpuS; // (the reference, trace-cmd report, is single-threaded)
  return sample;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

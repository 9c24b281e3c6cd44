// The machine a benchmark ran on: CPUs, CPU model, memory, node and its zstd decoder, kernel, load.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { zstdPath, type ZstdPath } from '../ingest/zstd.js';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalMB: number;
  node: string;
  /** the zstd decoder this node uses (src/ingest/zstd.ts) */
  zstd: ZstdPath;
  kernel: string;
  platform: string;
  /** 1-minute load average when the benchmark started and ended */
  loadStart: number;
  loadEnd?: number;
  traceCmd: string | null;
}

function nproc(): number {
  try {
    const n = Number(execFileSync('nproc', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // no coreutils nproc
  }
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/** `trace-cmd version 3.1.6 (...)` -> '3.1.6'; null when trace-cmd cannot be run */
export function traceCmdVersion(): string | null {
  try {
    const out = execFileSync('trace-cmd', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const m = /version\s+(\S+)/.exec(out);
    return m ? m[1]! : out.trim().split('\n')[0] ?? 'unknown';
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string };
    if (err.code === 'ENOENT') return null;
    // some versions exit non-zero on --version but print it
    const m = /version\s+(\S+)/.exec(String(err.stdout ?? ''));
    return m ? m[1]! : null;
  }
}

export function machineInfo(): MachineInfo {
  return {
    nproc: nproc(),
    cpuModel: cpuModel(),
    memTotalMB: Math.round(os.totalmem() / 1e6),
    node: process.version,
    zstd: zstdPath(),
    kernel: os.release(),
    platform: `${process.platform}-${process.arch}`,
    loadStart: os.loadavg()[0]!,
    traceCmd: traceCmdVersion(),
  };
}

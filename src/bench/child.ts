// Child entry of the benchmark: runs the tlbtrace CLI in this process exactly as `bin/tlbtrace`
// does (same main(), same argv), then reports what the process used.
//
//   node dist/bench/child.js analyze FILE --json --no-progress
//   node dist/bench/child.js --version            (start-up cost: node + loading the CLI)
//   node dist/bench/child.js --floor read|ingest FILE   (a floor of src/bench/floor.ts instead of
//                                                  the CLI; its FloorCount as JSON on stdout)
//
// On exit it writes one JSON line to the fd named by TLBTRACE_BENCH_FD (the parent opens a pipe
// as fd 3), else to stderr:
//   {"exitCode":0,"maxRssKB":151234,"hwmKB":150112,"userUs":...,"systemUs":...,"mainThreadUs":...,"cliMs":...,
//    "node":"v20.20.2","zstd":"wasm"}
// maxRssKB is process.resourceUsage().maxRSS (KiB); hwmKB is VmHWM of /proc/self/status (KiB),
// the peak RSS of this process image alone. They differ when the parent is big: Linux carries
// the RSS high-water mark of the forked copy of the parent across exec into ru_maxrss (and so
// into maxRSS), while VmHWM belongs to the exec'd image only. cliMs is the time from the start of
// main() to its end (no node start-up, no module loading). node and zstd name the runtime and the
// zstd decoder it used (src/ingest/zstd.ts: node:zlib where the runtime has it, else wasm).

import { readFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { main } from '../cli/main.js';
import { zstdPath } from '../ingest/zstd.js';
import { FLOOR_STAGES, runFloor, type FloorStage } from './floor.js';

function reportFd(): number {
  const fd = Number(process.env.TLBTRACE_BENCH_FD);
  return Number.isInteger(fd) && fd > 2 ? fd : 2;
}

/**
 * CPU time of the main thread alone (utime + stime of task `pid` in /proc, in USER_HZ = 100 ticks
 * a second), microseconds, or null off Linux. The model and the policies run there: it is the
 * critical path, and unlike wall time it does not grow when other processes share the machine.
 */
function mainThreadUs(): number | null {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return null;
  }
}

/** VmHWM (peak RSS of this process image) in KiB, or null off Linux */
function vmHwmKB(): number | null {
  try {
    const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function floor(stage: string | undefined, file: string | undefined): Promise<number> {
  if (!FLOOR_STAGES.includes(stage as FloorStage) || file === undefined) {
    process.stderr.write(`usage: child.js --floor ${FLOOR_STAGES.join('|')} FILE\n`);
    return 2;
  }
  try {
    process.stdout.write(JSON.stringify(await runFloor(stage as FloorStage, file)) + '\n');
    return 0;
  } catch (e) {
    process.stderr.write(`floor ${stage}: ${(e as Error).message}\n`);
    return 1;
  }
}

let cliMs = -1;
let exitCode = -1;

process.on('exit', (code) => {
  const ru = process.resourceUsage();
  const line = JSON.stringify({
    exitCode: exitCode >= 0 ? exitCode : code,
    maxRssKB: ru.maxRSS,
    hwmKB: vmHwmKB(),
    userUs: ru.userCPUTime,
    systemUs: ru.systemCPUTime,
    mainThreadUs: mainThreadUs(),
    cliMs,
    uptimeMs: Math.round(process.uptime() * 1000),
    node: process.version,
    zstd: zstdPath(),
  });
  try {
    writeSync(reportFd(), line + '\n');
  } catch {
    // the parent went away: nothing to report to
  }
});

const argv = process.argv.slice(2);
const t0 = performance.now();
if (argv[0] === '--floor') exitCode = await floor(argv[1], argv[2]);
else exitCode = await main([process.argv[0]!, 'tlbtrace', ...argv]);
cliMs = performance.now() - t0;
process.exitCode = exitCode;

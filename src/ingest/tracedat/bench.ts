// Decode rate of the trace.dat reader:
//   npm run build && node dist/ingest/tracedat/bench.js [trace.dat] [repetitions]
// Default input: ../shared/traces/native-6.18-2cpu/sng-madvise/trace.dat (1.35 M events, zstd).
// Prints, per repetition, the events/s of the whole pipeline (open excluded: it reads metadata
// only; kallsyms is parsed lazily during the read) and of decompression alone (the same per-CPU
// page streams, no record decoding), so decode = whole - decompression can be read off.

import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Diagnostics } from '../diagnostics.js';
import { RandomAccessFile } from './file.js';
import { readTraceDatInfo } from './header.js';
import { openTraceDat } from './index.js';
import { CpuStream } from './ringbuf.js';

export interface BenchResult {
  events: number;
  wallMs: number;
  cpuMs: number;
  decompressWallMs: number;
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export async function benchTraceDat(path: string): Promise<BenchResult> {
  const src = await openTraceDat(path, {}, new Diagnostics());
  const w0 = performance.now();
  const c0 = cpuNow();
  let events = 0;
  for await (const batch of src.events()) events += batch.length;
  const wallMs = performance.now() - w0;
  const cpuMs = cpuNow() - c0;

  // decompression (or page reads) alone
  const file = await RandomAccessFile.open(path);
  const info = await readTraceDatInfo(file);
  const d0 = performance.now();
  for (const ref of info.cpuData) {
    if (ref.size <= 0) continue;
    const s = new CpuStream(file, ref, info.pageSize, info.compression, info.cpuDataCompressed, info.littleEndian, () => {});
    while (await s.next()) {
      // pages only
    }
  }
  const decompressWallMs = performance.now() - d0;
  await file.close();
  return { events, wallMs, cpuMs, decompressWallMs };
}

async function main(): Promise<void> {
  const def = fileURLToPath(new URL('../../../../shared/traces/native-6.18-2cpu/sng-madvise/trace.dat', import.meta.url));
  const path = process.argv[2] ?? def;
  const reps = Number(process.argv[3] ?? 3);
  if (!existsSync(path)) {
    console.error(`no such file: ${path}`);
    process.exitCode = 2;
    return;
  }
  for (let i = 0; i < reps; i++) {
    const r = await benchTraceDat(path);
    const decodeMs = Math.max(1, r.wallMs - r.decompressWallMs);
    console.log(
      `${r.events} events: ${(r.events / r.wallMs / 1000).toFixed(2)} M events/s end to end (${r.wallMs.toFixed(0)} ms wall, ${r.cpuMs.toFixed(0)} ms CPU); ` +
        `pages/decompression ${r.decompressWallMs.toFixed(0)} ms; decode ${(r.events / decodeMs / 1000).toFixed(2)} M events/s`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();

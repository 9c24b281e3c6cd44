// Reading what a cut trace.dat still holds. trace-cmd writes a v7 file as metadata sections, the
// first options section, the flyrecord section (each CPU's data, page-aligned), then a last
// options section whose BUFFER option names where each CPU's data is: a file cut inside the data
// (a full disk) has lost that option, so the data is found by walking it (trace-output.c
// out_write_cpu_data(): CPUs in order, each padded to a page boundary).

import type { CompressionName } from './compress.js';
import { RandomAccessFile, SequentialReader } from './file.js';
import { u64, viewOf } from './bytes.js';
import { fail, Opt, SEC_FL_COMPRESS, type CpuDataRef } from './sections.js';

/**
 * Best effort for v7 files cut inside the trace data: the flyrecord section header (id 3) follows
 * the last metadata section; each CPU's data starts at the next page boundary (trace-output.c pads
 * to pages). Compressed data is self-delimiting (chunk count, then sized chunks); uncompressed data
 * is split where page timestamps go backwards (the next CPU's ring buffer starts earlier).
 */
export async function recoverFlyrecord(
  file: RandomAccessFile,
  le: boolean,
  pageSize: number,
  after: number,
  cpuCount: number | undefined,
  compression: CompressionName,
): Promise<{ cpus: CpuDataRef[]; compressed: boolean }> {
  const h = await file.read(after, 16);
  if (h.length < 16 || viewOf(h).getUint16(0, le) !== Opt.Buffer) {
    fail(`truncated file: no flyrecord section after the metadata (offset ${after}) and the options describing it are cut off`);
  }
  const compressed = (viewOf(h).getUint16(2, le) & SEC_FL_COMPRESS) !== 0 && compression !== 'none';
  const align = (x: number): number => Math.ceil(x / pageSize) * pageSize;
  let pos = align(after + 16);
  const cpus: CpuDataRef[] = [];
  if (compressed) {
    while (pos + 4 <= file.size && (cpuCount === undefined || cpus.length < cpuCount)) {
      const r = new SequentialReader(file, pos, file.size, 1 << 16);
      const cnt = await r.take(4);
      if (cnt.length < 4) break;
      const n = viewOf(cnt).getUint32(0, le);
      let end = pos + 4;
      for (let i = 0; i < n; i++) {
        const ch = await r.take(8);
        if (ch.length < 8) {
          end = file.size;
          break;
        }
        const csize = viewOf(ch).getUint32(0, le);
        end = r.position + csize;
        if (end >= file.size) {
          end = file.size;
          break;
        }
        await r.take(csize);
      }
      cpus.push({ cpu: cpus.length, offset: pos, size: end - pos });
      if (end >= file.size) break;
      pos = align(end);
    }
  } else {
    let start = pos;
    let lastTs = -1;
    const step = 256;
    while (pos + 16 <= file.size) {
      const block = await file.read(pos, step * pageSize);
      const bv = viewOf(block);
      let i = 0;
      for (; i + 8 <= block.length; i += pageSize) {
        const ts = u64(bv, i, le);
        if (ts < lastTs && (cpuCount === undefined || cpus.length + 1 < cpuCount)) {
          cpus.push({ cpu: cpus.length, offset: start, size: pos + i - start });
          start = pos + i;
        }
        lastTs = ts;
      }
      pos += block.length;
      if (block.length < step * pageSize) break;
    }
    cpus.push({ cpu: cpus.length, offset: start, size: file.size - start });
  }
  return { cpus, compressed };
}

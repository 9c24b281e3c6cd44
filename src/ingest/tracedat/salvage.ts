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
  /** where the data ends at the latest: the end of the file, or a damaged options section after it */
  limit = file.size,
): Promise<{ cpus: CpuDataRef[]; compressed: boolean }> {
  const h = await file.read(after, 16);
  if (h.length < 16) fail(`truncated file: it ends at byte ${file.size}, before or inside the flyrecord section header (offset ${after}), before the trace data: no events to read`);
  if (viewOf(h).getUint16(0, le) !== Opt.Buffer) {
    fail(`no flyrecord section after the metadata (offset ${after}: section id ${viewOf(h).getUint16(0, le)}), and the options that say where the trace data is are cut off or damaged: no events to read`);
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
      let complete = true;
      for (let i = 0; i < n; i++) {
        const ch = await r.take(8);
        if (ch.length < 8) {
          end = file.size;
          complete = false;
          break;
        }
        const csize = viewOf(ch).getUint32(0, le);
        end = r.position + csize;
        if (end > file.size) {
          end = file.size;
          complete = false;
          break;
        }
        r.skip(csize);
      }
      cpus.push({ cpu: cpus.length, offset: pos, size: end - pos, ...(complete ? {} : { cutShort: true }) });
      if (!complete || end >= file.size) break;
      pos = align(end);
    }
  } else {
    let start = pos;
    let lastTs = -1;
    const step = 256;
    while (pos + 16 <= limit) {
      const block = await file.read(pos, Math.min(step * pageSize, limit - pos));
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
    cpus.push({ cpu: cpus.length, offset: start, size: limit - start, ...(limit >= file.size ? { cutShort: true } : {}) });
  }
  return { cpus, compressed };
}

/**
 * Whether a truncated file holds at least one complete page of trace data (uncompressed) or one
 * complete compressed chunk; without one there is nothing to read.
 */
export async function holdsCompletePage(file: RandomAccessFile, cpus: CpuDataRef[], pageSize: number, compressed: boolean, le: boolean): Promise<boolean> {
  for (const c of cpus) {
    if (c.size <= 0 || c.offset >= file.size) continue;
    if (!compressed) {
      if (Math.min(c.size, file.size - c.offset) >= pageSize) return true;
      continue;
    }
    // chunk count, then the first chunk's compressed and uncompressed sizes
    const h = await file.read(c.offset, 12);
    if (h.length < 12) continue;
    const v = viewOf(h);
    if (v.getUint32(0, le) > 0 && c.offset + 12 + v.getUint32(4, le) <= file.size) return true;
  }
  return false;
}

/** what each CPU's stream read (ringbuf.ts CpuStream) */
interface StreamAccount {
  readonly ref: CpuDataRef;
  readonly truncated: boolean;
  readonly pages: number;
  account(): string;
}

/**
 * The truncated-input warning of a file cut inside its trace data, or in the options section after
 * it: where it ends, and per CPU what was read and what was lost. CPUs with nothing in the file are
 * listed together.
 */
export function cutReport(fileSize: number, streams: StreamAccount[], recovered: { blocks: number; cpuCount?: number } | null): string {
  const parts: string[] = [];
  const absent: number[] = [];
  for (const s of streams) {
    if (s.truncated && s.pages === 0 && s.ref.offset >= fileSize) absent.push(s.ref.cpu);
    else parts.push(s.account());
  }
  // a recovered layout numbers the CPU blocks it found; the CPUCOUNT option says how many there were
  if (recovered?.cpuCount !== undefined) for (let c = recovered.blocks; c < recovered.cpuCount; c++) absent.push(c);
  if (absent.length) parts.push(`${absent.length === 1 ? `CPU ${absent[0]}` : `CPUs ${cpuList(absent)}`}: no data in the file (past its end)`);
  const lost = absent.length > 0 || streams.some((s) => s.truncated);
  const where = lost ? 'inside its trace data' : 'after its trace data, in the options section that follows it';
  const how = recovered ? "; the options that say where each CPU's data is are lost, so the CPU blocks were found and numbered in file order" : '';
  const what = lost ? 'Every complete page before the end was read' : 'No trace data is missing';
  return `the file ends at byte ${fileSize}, ${where}${how}. ${what}: ${parts.join('; ')}`;
}

const SECTION_NAMES: Record<number, string> = {
  [Opt.Done]: 'options',
  [Opt.Buffer]: 'flyrecord',
  [Opt.HeaderInfo]: 'header info',
  [Opt.FtraceEvents]: 'ftrace events',
  [Opt.EventFormats]: 'event formats',
  [Opt.Kallsyms]: 'kallsyms',
  [Opt.Printk]: 'printk',
  [Opt.Cmdlines]: 'saved cmdlines',
};

/**
 * Where a v7 file whose first options section is missing ends: trace-cmd writes the sections one
 * after another from the end of the file header (header info, ftrace and event formats, kallsyms,
 * printk, saved cmdlines, then the first options section), each a 16-byte header (id, flags,
 * string id, size) and its body. `cut`: "inside the kallsyms section (offset 124459, 1012621
 * bytes)"; `options`: the walk found a whole options section, so the file is not cut there but the
 * header's offset is wrong; null when the walk finds neither.
 */
export async function metadataCut(file: RandomAccessFile, le: boolean, start: number): Promise<{ cut: string } | { options: number } | null> {
  let off = start;
  for (let i = 0; i < 64 && off < file.size; i++) {
    const h = await file.read(off, 16);
    if (h.length < 16) return { cut: `inside the header of the section at offset ${off}` };
    const v = viewOf(h);
    const id = v.getUint16(0, le);
    const name = SECTION_NAMES[id];
    const size = u64(v, 8, le);
    if (name === undefined || !Number.isSafeInteger(size)) return null;
    if (off + 16 + size > file.size) return { cut: `inside the ${name} section (offset ${off}, ${16 + size} bytes)` };
    if (id === Opt.Done) return { options: off };
    off += 16 + size;
  }
  return null;
}

/** 1,2,3,5 -> "1-3, 5" */
function cpuList(cpus: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    out.push(j > i ? `${cpus[i]}-${cpus[j]}` : `${cpus[i]}`);
    i = j + 1;
  }
  return out.join(', ');
}

// Writes the recording as a trace.dat, file version 6 (trace-cmd Documentation/trace-cmd/
// trace-cmd.dat.v6.5.txt): initial format, header_page/header_event, the ftrace and event formats,
// kallsyms, printk formats, saved cmdlines, then options (TRACECLOCK, UNAME, CPUSTAT per CPU, as
// trace-cmd record's add_options()/record_stats() write them) and the flyrecord: per CPU the
// offset and size of its data, each CPU's data page-aligned, copied from its spool unchanged.
//
// Version 6 because it is the plain one: no compression (Node 20 has no zstd encoder, and v7's
// zlib sections would save less than kallsyms weighs), sequential metadata our reader
// (src/ingest/tracedat/header.ts readV6()) and every trace-cmd since 2.x read. The v6 layout puts
// the cmdlines before the data, so the file is written once the recording has ended, from the
// spools, as trace-cmd record does with its per-CPU temp files.

import { createReadStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const TRACE_DAT_V6_MAGIC = Buffer.from([0x17, 0x08, 0x44, ...Buffer.from('tracing6\0', 'latin1')]);

/** enum TRACECMD_OPTION_* (trace-cmd lib/trace-cmd/include/private/trace-cmd-private.h) */
const OPTION = { done: 0, cpuStat: 2, traceClock: 4, uname: 5 } as const;

export interface TraceDatParts {
  /** ring-buffer page (sub-buffer) size: what each trace_pipe_raw read returned */
  pageSize: number;
  /** events/header_page and events/header_event */
  headerPage: string;
  headerEvent: string;
  /** events/ftrace/NAME/format texts */
  ftraceFormats: string[];
  /** system -> events/SYSTEM/NAME/format texts of the events recorded */
  eventFormats: Map<string, string[]>;
  kallsyms: Buffer;
  printkFormats: Buffer;
  /** `pid comm` lines */
  cmdlines: string;
  /** contents of trace_clock (`[local] global ...`) */
  traceClock: string;
  /** `sysname nodename release machine` */
  uname: string;
  /** per CPU index: per_cpu/cpuN/stats text, or '' */
  cpuStats: string[];
  /** per CPU index: its spool file, or null (no data) */
  cpuData: Array<string | null>;
  /** per CPU index: bytes in its spool */
  cpuDataSize: number[];
}

/** Little-endian appender (x86: the file's endianness is the machine's). */
class Out {
  readonly parts: Buffer[] = [];
  size = 0;
  bytes(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }
  str(s: string): void {
    this.bytes(Buffer.from(s, 'utf8'));
  }
  cstr(s: string): void {
    this.bytes(Buffer.from(`${s}\0`, 'utf8'));
  }
  u16(v: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    this.bytes(b);
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.bytes(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.bytes(b);
  }
  /** size-prefixed text (u64 size for formats and cmdlines, u32 for kallsyms and printk) */
  sized(data: Buffer | string, width: 4 | 8): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (width === 4) this.u32(b.length);
    else this.u64(b.length);
    this.bytes(b);
  }
  option(id: number, data: string): void {
    const b = Buffer.from(`${data}\0`, 'utf8');
    this.u16(id);
    this.u32(b.length);
    this.bytes(b);
  }
}

/** Everything before the per-CPU offset table. */
function metadata(p: TraceDatParts): Out {
  if (p.cpuData.length !== p.cpuDataSize.length) throw new Error('trace.dat writer: one data size per CPU expected');
  const o = new Out();
  o.bytes(TRACE_DAT_V6_MAGIC);
  o.bytes(Buffer.from([0, 8])); // little endian, 8-byte user-space long (x86_64)
  o.u32(p.pageSize);
  o.bytes(Buffer.from('header_page\0', 'latin1'));
  o.sized(p.headerPage, 8);
  o.bytes(Buffer.from('header_event\0', 'latin1'));
  o.sized(p.headerEvent, 8);
  o.u32(p.ftraceFormats.length);
  for (const f of p.ftraceFormats) o.sized(f, 8);
  o.u32(p.eventFormats.size);
  for (const [system, formats] of p.eventFormats) {
    o.cstr(system);
    o.u32(formats.length);
    for (const f of formats) o.sized(f, 8);
  }
  o.sized(p.kallsyms, 4);
  o.sized(p.printkFormats, 4);
  o.sized(p.cmdlines, 8);
  o.u32(p.cpuData.length);
  o.bytes(Buffer.from('options  \0', 'latin1'));
  o.option(OPTION.traceClock, p.traceClock);
  o.option(OPTION.uname, p.uname);
  p.cpuStats.forEach((stats, cpu) => o.option(OPTION.cpuStat, `CPU: ${cpu}\n${stats}`));
  o.u16(OPTION.done);
  o.bytes(Buffer.from('flyrecord\0', 'latin1'));
  return o;
}

/**
 * Write `path` (through a temp file in the same directory, renamed at the end: a reader never sees
 * half a trace.dat). Returns the file's size.
 */
export async function writeTraceDat(path: string, p: TraceDatParts): Promise<number> {
  const head = metadata(p);
  const cpus = p.cpuData.length;
  const tableEnd = head.size + 16 * cpus;
  // each CPU's data starts on a page boundary (the spools hold whole pages, so all of them do)
  let offset = Math.ceil(tableEnd / p.pageSize) * p.pageSize;
  const table = new Out();
  const starts: number[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    const size = p.cpuData[cpu] === null ? 0 : p.cpuDataSize[cpu]!;
    starts.push(offset);
    table.u64(size === 0 ? 0 : offset);
    table.u64(size);
    offset += size;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'wx');
  try {
    let pos = 0;
    for (const b of [...head.parts, ...table.parts]) {
      await fh.write(b, 0, b.length, pos);
      pos += b.length;
    }
    for (let cpu = 0; cpu < cpus; cpu++) {
      const src = p.cpuData[cpu];
      if (src === null || p.cpuDataSize[cpu] === 0) continue;
      pos = starts[cpu]!;
      for await (const chunk of createReadStream(src, { highWaterMark: 1 << 20 })) {
        const b = chunk as Buffer;
        await fh.write(b, 0, b.length, pos);
        pos += b.length;
      }
      if (pos !== starts[cpu]! + p.cpuDataSize[cpu]!) throw new Error(`${src} changed size while it was copied into ${path}`);
    }
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  // with no data at all nothing was written past the table
  return p.cpuData.some((src, cpu) => src !== null && p.cpuDataSize[cpu]! > 0) ? offset : tableEnd;
}

// trace.dat version 7: a compression header, then options sections that point at every other
// section (trace-cmd.dat.v7.5.txt; trace-input.c read_section_header(), init_buffer_cpu_data()).
// A file cut short loses its last options section, which names each CPU's data: salvage.ts finds
// the data without it.

import { decodeUtf8Escaped } from '../lines.js';
import { decompressBlock, isSupportedCompression, prepareZstd, zstdUnavailable } from './compress.js';
import { RandomAccessFile } from './file.js';
import type { EventFormat } from './format.js';
import { u64, viewOf } from './bytes.js';
import { metadataCut, recoverFlyrecord } from './salvage.js';
import {
  Cur,
  fail,
  finish,
  HeaderError,
  Opt,
  parseEventFormats,
  parseFtraceFormats,
  parseHeaderInfo,
  parseOptions,
  SEC_FL_COMPRESS,
  type Base,
  type CpuDataRef,
  type OptionState,
  type TraceDatInfo,
} from './sections.js';

export async function readV7(file: RandomAccessFile, head: Buffer, p: number, base: Base): Promise<TraceDatInfo> {
  const le = base.littleEndian;
  const c = new Cur(head, le, 'file header');
  c.p = p;
  let compName: string;
  let firstOptions: number;
  try {
    compName = c.cstr('compression name');
    c.cstr('compression version');
    firstOptions = c.u64('first options offset');
  } catch (e) {
    // `head` is the whole file when it is this short: it ends inside its own header
    if (e instanceof HeaderError && head.length === file.size) fail(`truncated file: it ends at byte ${file.size}, inside the file header (${e.message})`);
    throw e;
  }
  if (!isSupportedCompression(compName)) fail(`unsupported compression "${compName}" (supported: none, zlib, zstd)`);
  const compression = compName;
  if (compression === 'zstd') {
    await prepareZstd();
    const why = zstdUnavailable();
    if (why !== null) fail(`this file is zstd-compressed: ${why}`);
  }

  const st: OptionState = { info: { notes: [], tsOffset: 0 }, sections: new Map(), nextOptions: [firstOptions] };
  const sectionEnds: number[] = [];

  /** Section header (id 2, flags 2, description string id 4, size 8), then the body. */
  const readSection = async (offset: number, expectId: number, what: string): Promise<Buffer | null> => {
    const lazy = await readSectionLazy(offset, expectId, what);
    return lazy ? lazy() : null;
  };
  /** the section body, decompressed when the returned function is first called */
  const readSectionLazy = async (offset: number, expectId: number, what: string): Promise<(() => Buffer) | null> => {
    const h = await file.read(offset, 16);
    if (h.length < 16) return null;
    const hv = viewOf(h);
    const id = hv.getUint16(0, le);
    const flags = hv.getUint16(2, le);
    const size = u64(hv, 8, le);
    if (id !== expectId) fail(`corrupt ${what} section at offset ${offset}: section id ${id}, expected ${expectId}`);
    if (!Number.isSafeInteger(size) || size > file.size) fail(`corrupt ${what} section at offset ${offset}: size ${size}`);
    const body = await file.read(offset + 16, size);
    if (body.length < size) return null;
    sectionEnds.push(offset + 16 + size);
    if (!(flags & SEC_FL_COMPRESS)) return () => body;
    if (size < 8) fail(`corrupt ${what} section at offset ${offset}: compressed section smaller than its size header`);
    const bv = viewOf(body);
    const csize = bv.getUint32(0, le);
    const usize = bv.getUint32(4, le);
    if (csize + 8 > size) fail(`corrupt ${what} section at offset ${offset}: compressed size ${csize} exceeds the section`);
    let out: Buffer | null = null;
    return () => {
      if (out) return out;
      try {
        const d = decompressBlock(compression, body.subarray(8, 8 + csize), usize);
        out = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
        return out;
      } catch (e) {
        fail(`corrupt ${what} section at offset ${offset}: ${(e as Error).message}`);
      }
    };
  };

  let optionsCut = false;
  let cutOptionsAt = 0;
  const seen = new Set<number>();
  while (st.nextOptions.length) {
    const off = st.nextOptions.shift()!;
    if (seen.has(off)) fail(`corrupt options: options section at offset ${off} is referenced twice`);
    seen.add(off);
    const body = await readSection(off, Opt.Done, 'options');
    if (!body) {
      if (off === firstOptions) {
        // trace-cmd writes the metadata sections, then this options section, then the trace data
        const found = await metadataCut(file, le, c.p);
        if (found !== null && 'options' in found) {
          fail(`corrupt file header: the first options section is said to be at offset ${off}, past the end of the file (${file.size} bytes), but the file holds whole metadata sections and an options section at offset ${found.options}`);
        }
        const where = found === null ? '' : `, ${found.cut}`;
        fail(`truncated file: it ends at byte ${file.size}${where}, before the first options section (offset ${off}) and the trace data after it: no events to read`);
      }
      optionsCut = true;
      cutOptionsAt = off;
      break;
    }
    parseOptions(new Cur(body, le, `options section at offset ${off}`), true, st);
  }

  const formats: EventFormat[] = [];
  const need = async (id: number, what: string): Promise<Cur> => {
    const off = st.sections.get(id);
    if (off === undefined) {
      // `trace-cmd convert` writes the options naming the metadata sections in a second options
      // section, right before the trace data
      if (optionsCut) fail(`truncated file: it ends at byte ${file.size}, inside the options section at offset ${cutOptionsAt}, before the option that names the ${what} section and before the trace data: no events to read`);
      fail(`missing ${what} section (no option points at it)`);
    }
    const body = await readSection(off, id, what);
    if (!body) fail(`truncated file: the ${what} section at offset ${off} goes past the end of the file (${file.size} bytes)`);
    return new Cur(body, le, `${what} section`);
  };
  parseHeaderInfo(await need(Opt.HeaderInfo, 'header info'), st);
  if (st.sections.has(Opt.FtraceEvents)) parseFtraceFormats(await need(Opt.FtraceEvents, 'ftrace events'), formats);
  parseEventFormats(await need(Opt.EventFormats, 'event formats'), formats);
  let kallsyms: () => Buffer | null = () => null;
  const kOff = st.sections.get(Opt.Kallsyms);
  if (kOff !== undefined) {
    const body = await readSectionLazy(kOff, Opt.Kallsyms, 'kallsyms');
    if (!body) fail(`truncated file: the kallsyms section at offset ${kOff} goes past the end of the file (${file.size} bytes)`);
    kallsyms = () => {
      const k = new Cur(body(), le, 'kallsyms section');
      const size = k.u32('kallsyms size');
      return size ? k.bytes(size, 'kallsyms') : null;
    };
  }
  if (st.sections.has(Opt.Printk)) await need(Opt.Printk, 'printk');
  let cmdlines = '';
  if (st.sections.has(Opt.Cmdlines)) {
    const k = await need(Opt.Cmdlines, 'saved cmdlines');
    cmdlines = decodeUtf8Escaped(k.bytes(k.u64('cmdlines size'), 'saved cmdlines'));
  }

  let cpuData: CpuDataRef[] = [];
  let cpuDataCompressed = false;
  let recovered = false;
  let truncated = false;
  let pageSize = base.pageSize;
  if (st.buffer) {
    if (st.buffer.latency) fail('latency (text) trace.dat files are not supported: no binary event data');
    const h = await file.read(st.buffer.offset, 16);
    if (h.length < 16) {
      truncated = true;
    } else {
      const hv = viewOf(h);
      if (hv.getUint16(0, le) !== Opt.Buffer) fail(`corrupt flyrecord section at offset ${st.buffer.offset}: section id ${hv.getUint16(0, le)}, expected ${Opt.Buffer}`);
      cpuDataCompressed = (hv.getUint16(2, le) & SEC_FL_COMPRESS) !== 0;
    }
    cpuData = st.buffer.cpus;
    if (st.buffer.pageSize) pageSize = st.buffer.pageSize;
    truncated ||= cpuData.some((cd) => cd.size > 0 && cd.offset + cd.size > file.size);
  } else if (optionsCut) {
    // The options section holding the BUFFER option is written after the trace data, so a file
    // cut inside the data loses it. Find the flyrecord section after the last metadata section.
    const r = await recoverFlyrecord(file, le, pageSize, Math.max(0, ...sectionEnds), st.info.cpuCount, compression);
    cpuData = r.cpus;
    cpuDataCompressed = r.compressed;
    recovered = true;
    truncated = true;
    st.info.notes.push(
      `the options naming the per-CPU data were cut off; found ${cpuData.length} CPU data block(s) after offset ${Math.max(0, ...sectionEnds)} and numbered them in file order`,
    );
  } else {
    fail('no flyrecord buffer for the top instance (no BUFFER option)');
  }

  return finish({ ...base, pageSize }, st, formats, {
    compression,
    kallsyms,
    cmdlines,
    cpuData,
    cpuDataCompressed,
    recovered,
    truncated,
  });
}


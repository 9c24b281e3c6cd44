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

  // an options section after the first that is cut off or damaged: the options it held are lost
  // (for trace-cmd record, the last one names each CPU's data: salvage.ts finds it without them)
  let optionsLost: { at: number; damage: string | null } | null = null;
  const problems: string[] = [];
  const seen = new Set<number>();
  while (st.nextOptions.length) {
    const off = st.nextOptions.shift()!;
    if (seen.has(off)) fail(`corrupt options: options section at offset ${off} is referenced twice`);
    seen.add(off);
    let body: Buffer | null;
    const ends = sectionEnds.length;
    try {
      body = await readSection(off, Opt.Done, 'options');
      if (body) parseOptions(new Cur(body, le, `options section at offset ${off}`), true, st);
    } catch (e) {
      if (!(e instanceof HeaderError) || off === firstOptions) throw e;
      problems.push(`${e.message}; the options after it are lost`);
      optionsLost = { at: off, damage: e.message };
      sectionEnds.length = ends; // (where the trace data starts is looked for after the others)
      break;
    }
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
      optionsLost = { at: off, damage: null };
      break;
    }
  }

  const formats: EventFormat[] = [];
  const need = async (id: number, what: string): Promise<Cur> => {
    const off = st.sections.get(id);
    if (off === undefined) {
      // `trace-cmd convert` writes the options naming the metadata sections in a second options
      // section, right before the trace data
      if (optionsLost?.damage === null) {
        fail(`truncated file: it ends at byte ${file.size}, inside the options section at offset ${optionsLost.at}, before the option that names the ${what} section and before the trace data: no events to read`);
      }
      if (optionsLost) fail(`the ${what} section cannot be found: ${optionsLost.damage}`);
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
  let kBody: (() => Buffer) | null = null;
  if (kOff !== undefined) {
    let damaged = false;
    try {
      kBody = await readSectionLazy(kOff, Opt.Kallsyms, 'kallsyms');
    } catch (e) {
      // only function names in payloads come from it (kallsyms.ts): warn and print addresses
      if (!(e instanceof HeaderError)) throw e;
      problems.push(`${e.message}; addresses are printed as hex`);
      damaged = true;
    }
    if (kBody === null && !damaged) fail(`truncated file: the kallsyms section at offset ${kOff} goes past the end of the file (${file.size} bytes)`);
  }
  if (kBody !== null) {
    const body = kBody;
    kallsyms = () => {
      const k = new Cur(body(), le, 'kallsyms section');
      const size = k.u32('kallsyms size');
      return size ? k.bytes(size, 'kallsyms') : null;
    };
  }
  // (the printk section holds trace_printk() formats, for bprint events: not read)
  // The saved cmdlines name the pids of the record headers (comms.ts; sched_switch records name
  // their own tasks too): damaged, they are a warning, tasks known only there print as <...>.
  let cmdlines = '';
  if (st.sections.has(Opt.Cmdlines)) {
    try {
      const k = await need(Opt.Cmdlines, 'saved cmdlines');
      cmdlines = decodeUtf8Escaped(k.bytes(k.u64('cmdlines size'), 'saved cmdlines'));
    } catch (e) {
      if (!(e instanceof HeaderError)) throw e;
      problems.push(`${e.message}; tasks the sched events do not name print as <...>`);
    }
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
      if (hv.getUint16(0, le) === Opt.Buffer) {
        cpuDataCompressed = (hv.getUint16(2, le) & SEC_FL_COMPRESS) !== 0;
      } else {
        // the BUFFER option says where each CPU's data is; this header only whether it is compressed
        cpuDataCompressed = compression !== 'none';
        problems.push(`corrupt flyrecord section at offset ${st.buffer.offset}: section id ${hv.getUint16(0, le)}, expected ${Opt.Buffer}; the trace data is read as ${cpuDataCompressed ? compression + ' chunks' : 'uncompressed pages'}`);
      }
    }
    cpuData = st.buffer.cpus;
    if (st.buffer.pageSize) pageSize = st.buffer.pageSize;
    truncated ||= cpuData.some((cd) => cd.size > 0 && cd.offset + cd.size > file.size);
  } else if (optionsLost) {
    // The options section holding the BUFFER option is written after the trace data, so a file
    // cut inside the data loses it. Find the flyrecord section after the last metadata section;
    // a damaged options section after it ends the data.
    const after = Math.max(0, ...sectionEnds);
    const limit = optionsLost.damage !== null && optionsLost.at > after ? optionsLost.at : file.size;
    const r = await recoverFlyrecord(file, le, pageSize, after, st.info.cpuCount, compression, limit);
    cpuData = r.cpus;
    cpuDataCompressed = r.compressed;
    recovered = true;
    truncated = optionsLost.damage === null;
    st.info.notes.push(`the options naming the per-CPU data are lost; found ${cpuData.length} CPU data block(s) after offset ${after} and numbered them in file order`);
  } else {
    fail('no flyrecord buffer for the top instance (no BUFFER option)');
  }

  return finish({ ...base, pageSize }, st, formats, {
    compression,
    kallsyms,
    cmdlines,
    problems,
    cpuData,
    cpuDataCompressed,
    recovered,
    truncated,
  });
}


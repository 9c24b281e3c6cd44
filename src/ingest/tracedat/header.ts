// trace.dat metadata: the initial header, then either the v6 sequential layout or the v7 options
// and sections. References: trace-cmd Documentation/trace-cmd/trace-cmd.dat.v6.5.txt and
// trace-cmd.dat.v7.5.txt, lib/trace-cmd/trace-input.c (read_headers_v6(), handle_options(),
// handle_buffer_option(), read_section_header(), init_buffer_cpu_data(), read_cpu_data()).

import { decodeUtf8Escaped } from '../lines.js';
import { decompressBlock, isSupportedCompression, prepareZstd, zstdUnavailable, type CompressionName } from './compress.js';
import { RandomAccessFile, SequentialReader } from './file.js';
import { isCurrentHeaderEvent, parseEventFormat, parseHeaderPage, type EventFormat, type HeaderPage } from './format.js';
import { u64, viewOf } from './bytes.js';

export const TRACE_DAT_MAGIC = Buffer.from([0x17, 0x08, 0x44, ...Buffer.from('tracing', 'latin1')]);

/** Option ids (trace-cmd lib/trace-cmd/include/private/trace-cmd-private.h, enum TRACECMD_OPTION_*). */
export const enum Opt {
  Done = 0,
  Date = 1,
  CpuStat = 2,
  Buffer = 3,
  TraceClock = 4,
  Uname = 5,
  Hook = 6,
  Offset = 7,
  CpuCount = 8,
  Version = 9,
  ProcMaps = 10,
  TraceId = 11,
  TimeShift = 12,
  Guest = 13,
  Tsc2Nsec = 14,
  Strings = 15,
  HeaderInfo = 16,
  FtraceEvents = 17,
  EventFormats = 18,
  Kallsyms = 19,
  Printk = 20,
  Cmdlines = 21,
  BufferText = 22,
}

/** TRACECMD_SEC_FL_COMPRESS */
const SEC_FL_COMPRESS = 1;

export interface CpuDataRef {
  cpu: number;
  /** file offset of the CPU's data (pages, or a chunk list when compressed) */
  offset: number;
  /** bytes in the file (compressed size when compressed) */
  size: number;
}

export interface TraceDatInfo {
  version: number;
  littleEndian: boolean;
  /** `long` size of the recording's user space (the kernel's is headerPage.commitSize) */
  userLongSize: number;
  pageSize: number;
  compression: CompressionName;
  headerPage: HeaderPage;
  formats: EventFormat[];
  /** the kallsyms text, decompressed on first call (megabytes, and unused by many traces) */
  kallsyms: () => Buffer | null;
  cmdlines: string;
  /** top-instance flyrecord data per CPU, in file order */
  cpuData: CpuDataRef[];
  cpuDataCompressed: boolean;
  clock?: string;
  uname?: string;
  /** CPUCOUNT option (v7) or the header's CPU count (v6) */
  cpuCount?: number;
  /** nanoseconds added to every timestamp (DATE and OFFSET options, as trace-cmd report does) */
  tsOffset: number;
  tsc2nsec?: { mult: number; shift: number };
  /** the per-CPU layout was reconstructed because the options naming it were cut off */
  recovered: boolean;
  /**
   * v6 only: file offset of the flyrecord's per-CPU offset/size table (everything before it is
   * metadata that does not point into the data), and the ids of the options, in file order. For
   * rewriting the data (src/bench/datcopies.ts), not for reading it.
   */
  v6Layout?: { cpuTableOffset: number; optionIds: number[] };
  /** metadata says the data goes past the end of the file */
  truncated: boolean;
  notes: string[];
}

/** What was wrong with the header, for an InputError. */
export class HeaderError extends Error {}

function fail(msg: string): never {
  throw new HeaderError(msg);
}

/** In-memory parsing with bounds checks; every short read is a HeaderError naming `what`. */
class Cur {
  readonly dv: DataView;
  p = 0;
  constructor(
    readonly buf: Buffer,
    readonly le: boolean,
    readonly what: string,
  ) {
    this.dv = viewOf(buf);
  }
  need(n: number, field: string): void {
    if (this.p + n > this.buf.length) fail(`${this.what}: cut short reading ${field} (need ${n} bytes at ${this.p} of ${this.buf.length})`);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.dv.getUint16(this.p, this.le);
    this.p += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.dv.getUint32(this.p, this.le);
    this.p += 4;
    return v;
  }
  u64(field: string): number {
    this.need(8, field);
    const v = u64(this.dv, this.p, this.le);
    this.p += 8;
    return v;
  }
  bytes(n: number, field: string): Buffer {
    if (n < 0 || !Number.isSafeInteger(n)) fail(`${this.what}: bad size ${n} for ${field}`);
    this.need(n, field);
    const b = this.buf.subarray(this.p, this.p + n);
    this.p += n;
    return b;
  }
  cstr(field: string): string {
    const nul = this.buf.indexOf(0, this.p);
    if (nul < 0) fail(`${this.what}: unterminated string for ${field}`);
    const s = this.buf.toString('utf8', this.p, nul);
    this.p = nul + 1;
    return s;
  }
  get done(): boolean {
    return this.p >= this.buf.length;
  }
}

/** strtoll(buf, NULL, 0): decimal, 0x hex or 0 octal, optional sign; 0 when nothing parses. */
export function strtoll0(s: string): number {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)/.exec(s);
  if (!m) return 0;
  const body = m[2]!;
  let v: number;
  if (/^0[xX]/.test(body)) v = Number.parseInt(body.slice(2), 16);
  else if (body.length > 1 && body[0] === '0') v = Number.parseInt(body, 8);
  else v = Number.parseInt(body, 10);
  return m[1] === '-' ? -v : v;
}

interface OptionState {
  info: Partial<TraceDatInfo> & { notes: string[]; tsOffset: number };
  sections: Map<number, number>; // section id -> file offset
  buffer?: { offset: number; cpus: CpuDataRef[]; pageSize?: number; latency: boolean };
  nextOptions: number[];
}

function parseOptions(body: Cur, v7: boolean, st: OptionState): void {
  for (;;) {
    if (body.done) {
      if (v7) return;
      fail(`${body.what}: option list has no end marker`);
    }
    const id = body.u16('option id');
    if (!v7 && id === Opt.Done) return;
    const size = body.u32('option size');
    const data = new Cur(body.bytes(size, `option ${id}`), body.le, `${body.what}, option ${id}`);
    if (applyOption(id, data, v7, st)) return;
  }
}

/** One option; true when it ends the options section (v7 DONE). */
function applyOption(id: number, data: Cur, v7: boolean, st: OptionState): boolean {
  const size = data.buf.length;
  const str = (): string => {
    const nul = data.buf.indexOf(0);
    return data.buf.toString('utf8', 0, nul < 0 ? data.buf.length : nul);
  };
  switch (id) {
    case Opt.Done:
      // v7: the offset of the next options section, 0 for none
      if (size >= 8) {
        const next = data.u64('next options offset');
        if (next) st.nextOptions.push(next);
      }
      return true;
    case Opt.Date:
      // trace-input.c: "offset = strtoll(buf, NULL, 0); offset *= 1000; ts_offset += offset"
      st.info.tsOffset += strtoll0(str()) * 1000;
      break;
    case Opt.Offset:
      st.info.tsOffset += strtoll0(str());
      break;
    case Opt.TraceClock: {
      const m = /\[([^\]]+)\]/.exec(str());
      if (m) st.info.clock = m[1];
      break;
    }
    case Opt.Uname:
      st.info.uname = str();
      break;
    case Opt.CpuCount:
      if (size >= 4) st.info.cpuCount = data.u32('cpu count');
      break;
    case Opt.Tsc2Nsec:
      if (size >= 16) {
        const mult = data.u32('tsc2nsec mult');
        const shift = data.u32('tsc2nsec shift');
        st.info.tsc2nsec = { mult, shift };
      }
      break;
    case Opt.HeaderInfo:
    case Opt.FtraceEvents:
    case Opt.EventFormats:
    case Opt.Kallsyms:
    case Opt.Printk:
    case Opt.Cmdlines:
      if (size >= 8) st.sections.set(id, data.u64('section offset'));
      break;
    case Opt.Buffer:
    case Opt.BufferText: {
      const offset = data.u64('buffer offset');
      const name = data.cstr('buffer name');
      if (!v7) {
        if (name === '') st.info.notes.push('v6 BUFFER option for the top instance ignored');
        break; // v6: other instances live at `offset`; only the top instance is read
      }
      const clock = data.cstr('buffer clock');
      if (name !== '') {
        st.info.notes.push(`instance "${name}" ignored (only the top instance is read)`);
        break;
      }
      if (clock) st.info.clock ??= clock;
      if (id === Opt.BufferText) {
        st.buffer = { offset, cpus: [], latency: true };
        break;
      }
      const pageSize = data.u32('buffer page size');
      const n = data.u32('buffer cpu count');
      const cpus: CpuDataRef[] = [];
      for (let i = 0; i < n; i++) {
        const cpu = data.u32('cpu id');
        const off = data.u64('cpu data offset');
        const sz = data.u64('cpu data size');
        cpus.push({ cpu, offset: off, size: sz });
      }
      st.buffer = { offset, cpus, pageSize, latency: false };
      break;
    }
    default:
      break;
  }
  return false;
}

function parseHeaderInfo(c: Cur, st: OptionState): void {
  const hp = c.bytes(12, 'header_page tag');
  if (hp.toString('latin1') !== 'header_page\0') fail(`${c.what}: expected "header_page"`);
  const hpText = c.bytes(c.u64('header_page size'), 'header_page').toString('utf8');
  const he = c.bytes(13, 'header_event tag');
  if (he.toString('latin1') !== 'header_event\0') fail(`${c.what}: expected "header_event"`);
  const heText = c.bytes(c.u64('header_event size'), 'header_event').toString('utf8');
  applyHeaderTexts(hpText, heText, c.what, st);
}

function applyHeaderTexts(hpText: string, heText: string, what: string, st: OptionState): void {
  const page = parseHeaderPage(hpText);
  if (!page) fail(`${what}: header_page does not describe timestamp/commit/data fields`);
  if (!isCurrentHeaderEvent(heText)) fail(`${what}: header_event is not the 5-bit type_len / 27-bit time_delta layout (pre-2.6.31 ring buffer)`);
  st.info.headerPage = page;
}

function parseFtraceFormats(c: Cur, formats: EventFormat[]): void {
  const n = c.u32('ftrace format count');
  for (let i = 0; i < n; i++) {
    const f = parseEventFormat(c.bytes(c.u64('format size'), 'ftrace format').toString('utf8'), 'ftrace');
    if (f) formats.push(f);
  }
}

function parseEventFormats(c: Cur, formats: EventFormat[]): void {
  const systems = c.u32('event system count');
  for (let s = 0; s < systems; s++) {
    const system = c.cstr('system name');
    const n = c.u32('event count');
    for (let i = 0; i < n; i++) {
      const f = parseEventFormat(c.bytes(c.u64('format size'), `${system} format`).toString('utf8'), system);
      if (f) formats.push(f);
    }
  }
}

/** Read the initial format shared by v6 and v7 and dispatch. */
export async function readTraceDatInfo(file: RandomAccessFile): Promise<TraceDatInfo> {
  const head = await file.read(0, 4096);
  if (head.length < TRACE_DAT_MAGIC.length || !head.subarray(0, TRACE_DAT_MAGIC.length).equals(TRACE_DAT_MAGIC)) {
    fail('not a trace.dat file: expected the magic bytes 17 08 44 "tracing" at offset 0');
  }
  let p = TRACE_DAT_MAGIC.length;
  const nul = head.indexOf(0, p);
  if (nul < 0 || nul - p > 8) fail('truncated or corrupt header: expected a NUL-terminated file version after the magic');
  const versionStr = head.toString('latin1', p, nul);
  const version = Number.parseInt(versionStr, 10);
  if (!/^\d+$/.test(versionStr) || (version !== 6 && version !== 7)) {
    fail(`unsupported trace.dat file version "${versionStr}" (expected 6 or 7)`);
  }
  p = nul + 1;
  if (head.length < p + 6) fail('truncated header: expected endianness, long size and page size after the version');
  const endianByte = head[p]!;
  if (endianByte > 1) fail(`corrupt header: endianness byte is ${endianByte}, expected 0 (little) or 1 (big)`);
  const le = endianByte === 0;
  const userLongSize = head[p + 1]!;
  if (userLongSize !== 4 && userLongSize !== 8) fail(`corrupt header: long size is ${userLongSize}, expected 4 or 8`);
  const dv = viewOf(head);
  const pageSize = dv.getUint32(p + 2, le);
  if (pageSize < 1024 || pageSize > 1 << 24 || (pageSize & (pageSize - 1)) !== 0) {
    fail(`corrupt header: page size ${pageSize} is not a power of two between 1 KiB and 16 MiB`);
  }
  p += 6;
  const base = { version, littleEndian: le, userLongSize, pageSize };
  return version === 6 ? readV6(file, p, base) : readV7(file, head, p, base);
}

type Base = { version: number; littleEndian: boolean; userLongSize: number; pageSize: number };

function finish(base: Base, st: OptionState, formats: EventFormat[], extra: Partial<TraceDatInfo>): TraceDatInfo {
  const info = st.info;
  if (!info.headerPage) fail('missing header_page/header_event information');
  return {
    ...base,
    compression: 'none',
    headerPage: info.headerPage,
    formats,
    kallsyms: () => null,
    cmdlines: '',
    cpuData: [],
    cpuDataCompressed: false,
    clock: info.clock,
    uname: info.uname,
    cpuCount: info.cpuCount,
    tsOffset: info.tsOffset,
    tsc2nsec: info.tsc2nsec,
    recovered: false,
    truncated: false,
    notes: info.notes,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// v6: everything after the initial format is sequential (trace-cmd.dat.v6.5.txt).

async function readV6(file: RandomAccessFile, start: number, base: Base): Promise<TraceDatInfo> {
  const r = new SequentialReader(file, start);
  const le = base.littleEndian;
  const take = async (n: number, what: string): Promise<Buffer> => {
    if (!Number.isSafeInteger(n) || n < 0) fail(`corrupt header: bad size ${n} for ${what}`);
    const b = await r.take(n);
    if (b.length < n) fail(`truncated header: expected ${n} bytes of ${what} at offset ${r.position - b.length}, the file ends first`);
    return b;
  };
  const num = async (n: 4 | 8 | 2, what: string): Promise<number> => {
    const b = await take(n, what);
    const d = viewOf(b);
    return n === 2 ? d.getUint16(0, le) : n === 4 ? d.getUint32(0, le) : u64(d, 0, le);
  };
  const st: OptionState = { info: { notes: [], tsOffset: 0 }, sections: new Map(), nextOptions: [] };
  const formats: EventFormat[] = [];

  // header_page / header_event
  if ((await take(12, '"header_page" tag')).toString('latin1') !== 'header_page\0') fail('corrupt header: expected "header_page" after the initial format');
  const hpText = (await take(await num(8, 'header_page size'), 'header_page')).toString('utf8');
  if ((await take(13, '"header_event" tag')).toString('latin1') !== 'header_event\0') fail('corrupt header: expected "header_event" after header_page');
  const heText = (await take(await num(8, 'header_event size'), 'header_event')).toString('utf8');
  applyHeaderTexts(hpText, heText, 'header info', st);

  // ftrace formats
  const nFtrace = await num(4, 'ftrace format count');
  for (let i = 0; i < nFtrace; i++) {
    const f = parseEventFormat((await take(await num(8, 'format size'), 'ftrace format')).toString('utf8'), 'ftrace');
    if (f) formats.push(f);
  }
  // event formats
  const nSys = await num(4, 'event system count');
  for (let s = 0; s < nSys; s++) {
    const system = await r.cstring();
    if (system === null) fail(`truncated header: expected an event system name at offset ${r.position}`);
    const n = await num(4, 'event count');
    for (let i = 0; i < n; i++) {
      const f = parseEventFormat((await take(await num(8, 'format size'), `${system} format`)).toString('utf8'), system);
      if (f) formats.push(f);
    }
  }
  const kallsyms = await take(await num(4, 'kallsyms size'), 'kallsyms');
  await take(await num(4, 'printk formats size'), 'printk formats');
  const cmdlines = decodeUtf8Escaped(await take(await num(8, 'saved cmdlines size'), 'saved cmdlines'));
  const cpus = await num(4, 'cpu count');
  let tag = (await take(10, '"options"/"flyrecord" tag')).toString('latin1');
  const optionIds: number[] = [];
  if (tag.startsWith('options')) {
    // options: id (2), size (4), data; id 0 ends the list
    for (;;) {
      const id = await num(2, 'option id');
      if (id === Opt.Done) break;
      optionIds.push(id);
      const size = await num(4, 'option size');
      const data = await take(size, `option ${id}`);
      applyOption(id, new Cur(Buffer.from(data), le, `option ${id}`), false, st);
    }
    tag = (await take(10, '"latency"/"flyrecord" tag')).toString('latin1');
  }
  if (tag.startsWith('latency')) fail('latency (text) trace.dat files are not supported: no binary event data');
  if (!tag.startsWith('flyrecord')) fail(`corrupt header: expected "flyrecord" at offset ${r.position - 10}, found ${JSON.stringify(tag)}`);
  const cpuTableOffset = r.position;
  const cpuData: CpuDataRef[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    const offset = await num(8, 'cpu data offset');
    const size = await num(8, 'cpu data size');
    cpuData.push({ cpu, offset, size });
  }
  const truncated = cpuData.some((c) => c.size > 0 && c.offset + c.size > file.size);
  return finish(base, st, formats, {
    kallsyms: kallsyms.length ? ((k) => () => k)(Buffer.from(kallsyms)) : () => null,
    cmdlines,
    cpuData,
    cpuCount: st.info.cpuCount ?? cpus,
    truncated,
    v6Layout: { cpuTableOffset, optionIds },
  });
}

// ---------------------------------------------------------------------------------------------
// v7: compression header, then options sections that point at every other section.

async function readV7(file: RandomAccessFile, head: Buffer, p: number, base: Base): Promise<TraceDatInfo> {
  const le = base.littleEndian;
  const c = new Cur(head, le, 'file header');
  c.p = p;
  const compName = c.cstr('compression name');
  c.cstr('compression version');
  if (!isSupportedCompression(compName)) fail(`unsupported compression "${compName}" (supported: none, zlib, zstd)`);
  const compression = compName;
  if (compression === 'zstd') {
    await prepareZstd();
    const why = zstdUnavailable();
    if (why !== null) fail(`this file is zstd-compressed: ${why}`);
  }
  const firstOptions = c.u64('first options offset');

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
  const seen = new Set<number>();
  while (st.nextOptions.length) {
    const off = st.nextOptions.shift()!;
    if (seen.has(off)) fail(`corrupt options: options section at offset ${off} is referenced twice`);
    seen.add(off);
    const body = await readSection(off, Opt.Done, 'options');
    if (!body) {
      if (off === firstOptions) fail(`truncated file: the first options section (offset ${off}) is past the end of the file (${file.size} bytes)`);
      optionsCut = true;
      break;
    }
    parseOptions(new Cur(body, le, `options section at offset ${off}`), true, st);
  }

  const formats: EventFormat[] = [];
  const need = async (id: number, what: string): Promise<Cur> => {
    const off = st.sections.get(id);
    if (off === undefined) fail(`missing ${what} section (no option points at it)`);
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

/**
 * Best effort for v7 files cut inside the trace data: the flyrecord section header (id 3) follows
 * the last metadata section; each CPU's data starts at the next page boundary (trace-output.c pads
 * to pages). Compressed data is self-delimiting (chunk count, then sized chunks); uncompressed data
 * is split where page timestamps go backwards (the next CPU's ring buffer starts earlier).
 */
async function recoverFlyrecord(
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

// trace.dat metadata shared by both file versions: the types the reader hands on, bounds-checked
// parsing of a metadata block (Cur), the options (v6: one list; v7: options sections) and the
// header_page / event format blocks. References: trace-cmd Documentation/trace-cmd/
// trace-cmd.dat.v6.5.txt and trace-cmd.dat.v7.5.txt, lib/trace-cmd/trace-input.c
// (handle_options(), handle_buffer_option()).

import type { CompressionName } from './compress.js';
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
export const SEC_FL_COMPRESS = 1;

export interface CpuDataRef {
  cpu: number;
  /** file offset of the CPU's data (pages, or a chunk list when compressed) */
  offset: number;
  /** bytes in the file (compressed size when compressed) */
  size: number;
  /**
   * found by salvage.ts in a file cut inside this CPU's data: `size` is what the file holds, not
   * what was written
   */
  cutShort?: boolean;
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
  /** damage the metadata could be read around (corrupt-data warnings) */
  problems: string[];
}

/** What was wrong with the header, for an InputError. */
export class HeaderError extends Error {}

export function fail(msg: string): never {
  throw new HeaderError(msg);
}

/** In-memory parsing with bounds checks; every short read is a HeaderError naming `what`. */
export class Cur {
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

export interface OptionState {
  info: Partial<TraceDatInfo> & { notes: string[]; tsOffset: number };
  sections: Map<number, number>; // section id -> file offset
  buffer?: { offset: number; cpus: CpuDataRef[]; pageSize?: number; latency: boolean };
  nextOptions: number[];
}

export function parseOptions(body: Cur, v7: boolean, st: OptionState): void {
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
export function applyOption(id: number, data: Cur, v7: boolean, st: OptionState): boolean {
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

export function parseHeaderInfo(c: Cur, st: OptionState): void {
  const hp = c.bytes(12, 'header_page tag');
  if (hp.toString('latin1') !== 'header_page\0') fail(`${c.what}: expected "header_page"`);
  const hpText = c.bytes(c.u64('header_page size'), 'header_page').toString('utf8');
  const he = c.bytes(13, 'header_event tag');
  if (he.toString('latin1') !== 'header_event\0') fail(`${c.what}: expected "header_event"`);
  const heText = c.bytes(c.u64('header_event size'), 'header_event').toString('utf8');
  applyHeaderTexts(hpText, heText, c.what, st);
}

export function applyHeaderTexts(hpText: string, heText: string, what: string, st: OptionState): void {
  const page = parseHeaderPage(hpText);
  if (!page) fail(`${what}: header_page does not describe timestamp/commit/data fields`);
  if (!isCurrentHeaderEvent(heText)) fail(`${what}: header_event is not the 5-bit type_len / 27-bit time_delta layout (pre-2.6.31 ring buffer)`);
  st.info.headerPage = page;
}

export function parseFtraceFormats(c: Cur, formats: EventFormat[]): void {
  const n = c.u32('ftrace format count');
  for (let i = 0; i < n; i++) {
    const f = parseEventFormat(c.bytes(c.u64('format size'), 'ftrace format').toString('utf8'), 'ftrace');
    if (f) formats.push(f);
  }
}

export function parseEventFormats(c: Cur, formats: EventFormat[]): void {
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

export type Base = { version: number; littleEndian: boolean; userLongSize: number; pageSize: number };

export function finish(base: Base, st: OptionState, formats: EventFormat[], extra: Partial<TraceDatInfo>): TraceDatInfo {
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
    problems: [],
    ...extra,
  };
}

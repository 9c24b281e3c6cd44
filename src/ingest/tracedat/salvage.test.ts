// A trace.dat cut short (a full disk, an interrupted copy) gives what its complete pages hold.
// Real files of fixtures/ are cut at every section boundary, every page or chunk boundary and
// either side of it, and at spread offsets; each cut must give exactly the records of the pages
// that lie wholly before the cut, per CPU, with input.truncated and a truncated-input warning,
// or, when no complete page is left, an InputError that says so.
//
// The expected counts are trace-cmd's, not ours: fixtures/tracedat-variants/page-events.txt
// (made by page-events.sh there) lists the records trace-cmd reads from every page of every CPU.
// A page counts as complete when its bytes end at or before the cut (uncompressed data), or when
// the compressed chunk holding it does (trace-cmd writes 10 pages per chunk).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../errors.js';
import { Diagnostics } from '../diagnostics.js';
import { RandomAccessFile } from './file.js';
import { readTraceDatInfo, type TraceDatInfo } from './header.js';
import { openTraceDat } from './index.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

/** page-events.txt: file -> cpu -> [page offset, records] */
function pageTable(): Map<string, Map<number, Array<[number, number]>>> {
  const out = new Map<string, Map<number, Array<[number, number]>>>();
  for (const line of readFileSync(join(FIXTURES, 'tracedat-variants/page-events.txt'), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [file, cpu, off, n] = line.split(' ');
    const byCpu = out.get(file!) ?? new Map<number, Array<[number, number]>>();
    out.set(file!, byCpu);
    const pages = byCpu.get(Number(cpu)) ?? [];
    byCpu.set(Number(cpu), pages);
    pages.push([Number.parseInt(off!, 16), Number(n)]);
  }
  return out;
}

interface Layout {
  info: TraceDatInfo;
  size: number;
  /** file offset where each complete page of each CPU ends: cut at or after it, the page is read */
  pageEnds: Map<number, Array<{ end: number; records: number }>>;
  /** every offset where something starts or ends: sections, pages, chunks */
  boundaries: number[];
}

/**
 * Where each page of trace-cmd's table ends in the file. Uncompressed: its file offset plus the
 * page size. Compressed: trace-cmd numbers pages in a space where CPU k's decompressed data starts
 * at a page boundary after CPU k-1's, the first at one page (trace-input.c init_cpu_zpage(),
 * next_offset); a page is read once its whole chunk is in the file (the chunk list:
 * trace-cmd.dat.v7.5.txt, "COMPRESSION FORMAT OF THE TRACE DATA").
 */
async function layout(name: string, buf: Buffer, path: string, table: Map<number, Array<[number, number]>>): Promise<Layout> {
  const file = await RandomAccessFile.open(path);
  const info = await readTraceDatInfo(file);
  await file.close();
  const ps = info.pageSize;
  const pageEnds = new Map<number, Array<{ end: number; records: number }>>();
  const boundaries: number[] = [];
  if (!info.cpuDataCompressed) {
    for (const [cpu, pages] of table) pageEnds.set(cpu, pages.map(([off, records]) => ({ end: off + ps, records })));
    for (const c of info.cpuData) for (let p = c.offset; p <= c.offset + c.size; p += ps) boundaries.push(p);
  } else {
    let base = ps;
    for (const c of info.cpuData) {
      // chunk list: u32 count, then per chunk u32 compressed size, u32 decompressed size, bytes
      const n = buf.readUInt32LE(c.offset);
      let p = c.offset + 4;
      let u = 0;
      const chunks: Array<{ from: number; to: number; end: number }> = [];
      for (let i = 0; i < n; i++) {
        const csize = buf.readUInt32LE(p);
        const usize = buf.readUInt32LE(p + 4);
        boundaries.push(p, p + 8);
        p += 8 + csize;
        chunks.push({ from: base + u, to: base + u + usize, end: p });
        u += usize;
      }
      boundaries.push(p);
      const pages = table.get(c.cpu) ?? [];
      pageEnds.set(
        c.cpu,
        pages
          .filter(([off]) => off >= base && off < base + u)
          .map(([off, records]) => ({ end: chunks.find((ch) => off >= ch.from && off < ch.to)!.end, records })),
      );
      base += Math.ceil(u / ps) * ps;
    }
  }
  // every page of the table is placed in one CPU's data
  for (const [cpu, pages] of table) expect(pageEnds.get(cpu)?.length, `${name} CPU ${cpu}`).toBe(pages.length);
  return { info, size: buf.length, pageEnds, boundaries };
}

/** the records of the pages wholly before `cut`, per CPU (CPUs with none left out) */
function expected(l: Layout, cut: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cpu, pages] of l.pageEnds) {
    const n = pages.filter((p) => p.end <= cut).reduce((s, p) => s + p.records, 0);
    if (n > 0) out[String(cpu)] = n;
  }
  return out;
}

async function decode(path: string): Promise<{ byCpu: Record<string, number>; diag: Diagnostics; truncated: boolean } | InputError> {
  const diag = new Diagnostics();
  let src;
  try {
    src = await openTraceDat(path, {}, diag);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  const byCpu: Record<string, number> = {};
  for await (const batch of src.events()) {
    for (const e of batch) if (e.kind !== 'lost_events') byCpu[String(e.cpu)] = (byCpu[String(e.cpu)] ?? 0) + 1;
  }
  return { byCpu, diag, truncated: src.meta.truncated };
}

/**
 * Section boundaries of a v7 file: the metadata sections walked from the file header (16-byte
 * section headers, trace-cmd.dat.v7.5.txt), and the options sections chained by the offset their
 * DONE option holds. `strings`: where the STRINGS section (id 15, section names only, written last)
 * starts; a cut in it loses nothing the reader uses.
 */
function v7Sections(buf: Buffer): { cuts: number[]; strings: number } {
  let p = buf.indexOf(0, 10) + 1 + 6; // magic, "7\0", endianness, long size, page size
  p = buf.indexOf(0, p) + 1;
  p = buf.indexOf(0, p) + 1; // compression name and version
  let next = Number(buf.readBigUInt64LE(p));
  const cuts = [p, p + 8];
  p += 8;
  while (p + 16 <= buf.length) {
    const id = buf.readUInt16LE(p);
    if (id !== 0 && (id < 16 || id > 21)) break;
    cuts.push(p, p + 16);
    p += 16 + Number(buf.readBigUInt64LE(p + 8));
    cuts.push(p);
  }
  let end = buf.length;
  while (next !== 0) {
    const size = Number(buf.readBigUInt64LE(next + 8));
    cuts.push(next, next + 16, next + 16 + size);
    end = next + 16 + size;
    next = Number(buf.readBigUInt64LE(end - 8)); // the DONE option closes the section
  }
  const strings = end + 16 <= buf.length && buf.readUInt16LE(end) === 15 ? end : buf.length;
  return { cuts, strings };
}

const CASES: Array<{ name: string; load: () => Buffer }> = [
  { name: 'native-6.18-2cpu/mt-mixed/trace.dat', load: () => readFileSync(join(FIXTURES, 'native-6.18-2cpu/mt-mixed/trace.dat')) },
  { name: 'qemu-6.1-8cpu/mt-munmap/trace.dat', load: () => readFileSync(join(FIXTURES, 'qemu-6.1-8cpu/mt-munmap/trace.dat')) },
  { name: 'tracedat-variants/mt-munmap.v6.dat', load: () => gunzipSync(readFileSync(join(FIXTURES, 'tracedat-variants/mt-munmap.v6.dat.gz'))) },
  { name: 'tracedat-variants/mt-munmap.v7-none.dat', load: () => gunzipSync(readFileSync(join(FIXTURES, 'tracedat-variants/mt-munmap.v7-none.dat.gz'))) },
];

let tmp = '';
let table: ReturnType<typeof pageTable>;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-salvage-'));
  table = pageTable();
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.each(CASES)('$name cut short', ({ name, load }) => {
  it('gives exactly the records of the complete pages before the cut, or says there are none', async () => {
    const buf = load();
    const whole = join(tmp, name.replace(/\W+/g, '_'));
    writeFileSync(whole, buf);
    const l = await layout(name, buf, whole, table.get(name)!);
    // the uncut file: every page, as trace-cmd reads it
    const full = await decode(whole);
    expect(full).not.toBeInstanceOf(InputError);
    expect((full as { byCpu: Record<string, number> }).byCpu).toEqual(expected(l, buf.length));

    const dataStart = Math.min(...l.info.cpuData.map((c) => c.offset));
    const firstPageEnd = Math.min(...[...l.pageEnds.values()].flatMap((p) => p.map((x) => x.end)));
    // boundaries of sections, pages and chunks, each +-1, and 24 spread offsets over the data
    const v7 = l.info.version === 7 ? v7Sections(buf) : { cuts: [], strings: buf.length };
    let cuts = [...v7.cuts, ...l.boundaries].flatMap((b) => [b - 1, b, b + 1]);
    for (let i = 1; i <= 24; i++) cuts.push(dataStart + Math.floor(((buf.length - dataStart) * i) / 25) + (i % 7));
    cuts.push(dataStart - 4097, dataStart - 1, buf.length - 1);
    cuts = [...new Set(cuts)].filter((c) => c > 0 && c < buf.length).sort((a, b) => a - b);
    // at most 90 of them, spread
    if (cuts.length > 90) cuts = cuts.filter((_, i) => i % Math.ceil(cuts.length / 90) === 0);

    let salvaged = 0;
    for (const cut of cuts) {
      const p = join(tmp, 'cut.dat');
      writeFileSync(p, buf.subarray(0, cut));
      const r = await decode(p);
      const want = expected(l, cut);
      if (r instanceof InputError) {
        // nothing to read: only when no complete page is before the cut
        expect(want, `cut at ${cut}: ${r.message}`).toEqual({});
        expect(r.file).toBe(p);
        expect(r.message).toMatch(cut < dataStart ? /truncated|cut short|ends/ : /before the first complete page of trace data.*: no events to read/);
        continue;
      }
      expect(cut, `cut at ${cut} gave events although it is before the first complete page (${firstPageEnd})`).toBeGreaterThanOrEqual(firstPageEnd);
      expect(r.byCpu, `cut at ${cut}`).toEqual(want);
      if (cut >= v7.strings) continue; // only the STRINGS section is cut: nothing the reader uses
      expect(r.truncated, `cut at ${cut}`).toBe(true);
      expect(r.diag.byCode()['truncated-input'], `cut at ${cut}`).toBe(1);
      expect(r.diag.examples.find((x) => x.code === 'truncated-input')!.message).toMatch(new RegExp(`^the file ends at byte ${cut}, `));
      salvaged++;
    }
    // the cuts reach into the data (not all rejected)
    expect(salvaged).toBeGreaterThan(20);
  });
});

// Every trace.dat layout decodes to the same events, and damaged files fail or degrade the way
// they should. The reference is fixtures/qemu-6.1-8cpu/mt-munmap/trace.dat (v7, zstd), whose
// events tracedat.test.ts checks against `trace-cmd report`; fixtures/tracedat-variants/ holds the
// same recording rewritten by `trace-cmd convert` (v6; v7 uncompressed). A zlib file and the
// damaged files are made here from those.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../events/types.js';
import { Diagnostics } from '../diagnostics.js';
import { InputError } from '../../errors.js';
import type { TraceMeta } from '../source.js';
import { openTraceDat } from './index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const ORIGINAL = join(ROOT, 'fixtures/qemu-6.1-8cpu/mt-munmap/trace.dat');
const VARIANTS = join(ROOT, 'fixtures/tracedat-variants');

let tmp = '';
let original: TraceEvent[] = [];
let v6: Buffer;
let v7none: Buffer;

async function decodeAll(path: string): Promise<{ events: TraceEvent[]; diag: Diagnostics; meta: TraceMeta }> {
  const diag = new Diagnostics();
  const src = await openTraceDat(path, {}, diag);
  const events: TraceEvent[] = [];
  for await (const batch of src.events()) for (const e of batch) events.push(e);
  return { events, diag, meta: src.meta };
}

function write(name: string, data: Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-tracedat-'));
  v6 = gunzipSync(readFileSync(join(VARIANTS, 'mt-munmap.v6.dat.gz')));
  v7none = gunzipSync(readFileSync(join(VARIANTS, 'mt-munmap.v7-none.dat.gz')));
  original = (await decodeAll(ORIGINAL)).events;
  expect(original.length).toBe(5706);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// A v7 file's layout (trace-cmd.dat.v7.5.txt), little-endian only (the fixtures are).

interface CpuRef {
  cpu: number;
  offset: number;
  size: number;
  /** where the size is stored in the BUFFER option */
  sizePos: number;
}
interface V7Layout {
  pageSize: number;
  /** offset of the compression name in the initial header */
  compressionPos: number;
  optionSections: number[];
  sections: Map<number, number>;
  flyrecord: number;
  cpus: CpuRef[];
}

function v7Layout(b: Buffer): V7Layout {
  let p = b.indexOf(0, 10) + 1; // after magic + "7\0"
  expect(b[p]).toBe(0); // little endian
  p += 2;
  const pageSize = b.readUInt32LE(p);
  p += 4;
  const compressionPos = p;
  p = b.indexOf(0, b.indexOf(0, p) + 1) + 1; // name\0 version\0
  let next = Number(b.readBigUInt64LE(p));
  const optionSections: number[] = [];
  const sections = new Map<number, number>();
  let flyrecord = -1;
  const cpus: CpuRef[] = [];
  while (next) {
    const off = next;
    next = 0;
    optionSections.push(off);
    expect(b.readUInt16LE(off)).toBe(0);
    expect(b.readUInt16LE(off + 2) & 1).toBe(0);
    const end = off + 16 + Number(b.readBigUInt64LE(off + 8));
    for (let q = off + 16; q < end; ) {
      const id = b.readUInt16LE(q);
      const size = b.readUInt32LE(q + 2);
      const d = q + 6;
      if (id >= 16 && id <= 21) sections.set(id, Number(b.readBigUInt64LE(d)));
      if (id === 0) next = Number(b.readBigUInt64LE(d));
      if (id === 3) {
        flyrecord = Number(b.readBigUInt64LE(d));
        let r = b.indexOf(0, b.indexOf(0, d + 8) + 1) + 1; // name\0 clock\0
        r += 4; // page size
        const n = b.readUInt32LE(r);
        r += 4;
        for (let i = 0; i < n; i++, r += 20) {
          cpus.push({ cpu: b.readUInt32LE(r), offset: Number(b.readBigUInt64LE(r + 4)), size: Number(b.readBigUInt64LE(r + 12)), sizePos: r + 12 });
        }
      }
      q = d + size;
    }
  }
  return { pageSize, compressionPos, optionSections, sections, flyrecord, cpus };
}

/**
 * The uncompressed v7 file turned into a zlib one in place: every offset stays valid because
 * compressed data is smaller than what it replaces (the rest of the old bytes is never read).
 * Sections get flags |= 1 and `<u32 compressed size><u32 size>`; trace data becomes
 * `<u32 chunk count>` + chunks of 10 pages (`<u32 csize><u32 size><data>`), as trace-cmd writes.
 */
function zlibVariant(none: Buffer): Buffer {
  const b = Buffer.from(none);
  const lay = v7Layout(b);
  expect(b.toString('latin1', lay.compressionPos, lay.compressionPos + 5)).toBe('none\0');
  b.write('zlib', lay.compressionPos, 'latin1');
  // trace data first (its sizes live in an options section compressed below)
  b.writeUInt16LE(b.readUInt16LE(lay.flyrecord + 2) | 1, lay.flyrecord + 2);
  for (const c of lay.cpus) {
    const pages = Buffer.from(b.subarray(c.offset, c.offset + c.size));
    const chunks: Buffer[] = [];
    const step = 10 * lay.pageSize;
    for (let i = 0; i < pages.length; i += step) {
      const raw = pages.subarray(i, Math.min(i + step, pages.length));
      const z = deflateSync(raw);
      const h = Buffer.alloc(8);
      h.writeUInt32LE(z.length, 0);
      h.writeUInt32LE(raw.length, 4);
      chunks.push(h, z);
    }
    const count = Buffer.alloc(4);
    count.writeUInt32LE(chunks.length / 2, 0);
    const data = Buffer.concat([count, ...chunks]);
    expect(data.length).toBeLessThan(c.size);
    data.copy(b, c.offset);
    b.writeBigUInt64LE(BigInt(data.length - 4), c.sizePos);
  }
  const compressSection = (off: number): void => {
    const size = Number(b.readBigUInt64LE(off + 8));
    const body = Buffer.from(b.subarray(off + 16, off + 16 + size));
    const z = deflateSync(body);
    if (8 + z.length > size) return; // would not fit: stays uncompressed (flags 0), also valid
    b.writeUInt16LE(b.readUInt16LE(off + 2) | 1, off + 2);
    b.writeBigUInt64LE(BigInt(8 + z.length), off + 8);
    b.writeUInt32LE(z.length, off + 16);
    b.writeUInt32LE(body.length, off + 20);
    z.copy(b, off + 24);
  };
  for (const off of lay.sections.values()) compressSection(off);
  for (const off of lay.optionSections) compressSection(off);
  return b;
}

/** events of one CPU, as comparable tuples */
const perCpu = (events: TraceEvent[], cpu: number): string[] =>
  events.filter((e) => e.cpu === cpu && e.kind !== 'lost_events').map((e) => `${e.ts} ${e.kind} ${e.pid}`);

/** every CPU's decoded events are a prefix of that CPU's original events */
function expectPerCpuPrefixes(events: TraceEvent[], ref: TraceEvent[]): void {
  const cpus = new Set(ref.map((e) => e.cpu));
  for (const cpu of cpus) {
    const got = perCpu(events, cpu);
    expect(got, `CPU ${cpu}`).toEqual(perCpu(ref, cpu).slice(0, got.length));
  }
}

// ---------------------------------------------------------------------------------------------

describe('every layout of one recording gives the same events', () => {
  it('v6 (trace-cmd convert --file-version 6)', async () => {
    const { events, diag, meta } = await decodeAll(write('v6.dat', v6));
    expect(diag.total).toBe(0);
    expect(meta).toMatchObject({ declaredCpus: 8, truncated: false, kernel: '6.1.0-50-amd64' });
    expect(events).toEqual(original);
  });

  it('v7 uncompressed (trace-cmd convert --compression none)', async () => {
    const { events, diag } = await decodeAll(write('v7-none.dat', v7none));
    expect(diag.total).toBe(0);
    expect(events).toEqual(original);
  });

  it('v7 zlib: compressed sections, options and trace-data chunks', async () => {
    const z = zlibVariant(v7none);
    const lay = v7Layout(Buffer.from(v7none));
    // the sections really are compressed now
    expect(z.readUInt16LE(lay.sections.get(19)!) & 1).toBe(1); // kallsyms
    expect(z.readUInt16LE(lay.flyrecord + 2) & 1).toBe(1);
    const { events, diag } = await decodeAll(write('v7-zlib.dat', z));
    expect(diag.total).toBe(0);
    expect(events).toEqual(original);
  });
});

describe('truncated files', () => {
  it('v7 zstd cut inside the trace data: events up to the cut, meta.truncated, a truncated-input warning', async () => {
    const full = readFileSync(ORIGINAL);
    const lay = v7Layout(full);
    const dataStart = Math.min(...lay.cpus.map((c) => c.offset));
    const cut = dataStart + Math.floor((full.length - dataStart) * 0.6);
    const { events, diag, meta } = await decodeAll(write('cut-zstd.dat', full.subarray(0, cut)));
    expect(meta.truncated).toBe(true);
    expect(diag.counts.get('truncated-input')).toBeGreaterThan(0);
    expect(diag.examples.some((x) => x.file.endsWith('cut-zstd.dat') && x.code === 'truncated-input')).toBe(true);
    expect(events.length).toBeGreaterThan(original.length * 0.3);
    expect(events.length).toBeLessThan(original.length);
    expectPerCpuPrefixes(events, original);
  });

  it('v6 cut inside the trace data', async () => {
    const cut = Math.floor(v6.length * 0.97);
    const { events, diag, meta } = await decodeAll(write('cut-v6.dat', v6.subarray(0, cut)));
    expect(meta.truncated).toBe(true);
    expect(diag.counts.get('truncated-input')).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThan(original.length);
    expectPerCpuPrefixes(events, original);
  });

  it('v7 uncompressed cut inside the trace data (CPU blocks found without the cut-off options)', async () => {
    const lay = v7Layout(Buffer.from(v7none));
    const last = lay.cpus.reduce((a, b) => (b.offset > a.offset ? b : a));
    const cut = last.offset + Math.floor(last.size / 2);
    const { events, meta, diag } = await decodeAll(write('cut-v7none.dat', v7none.subarray(0, cut)));
    expect(meta.truncated).toBe(true);
    expect(diag.counts.get('truncated-input')).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(original.length * 0.5);
    expectPerCpuPrefixes(events, original);
  });

  it('cut inside the metadata: an InputError naming the file and what was missing', async () => {
    const full = readFileSync(ORIGINAL);
    for (const cut of [12, 40, 3000]) {
      const p = write(`cut-head-${cut}.dat`, full.subarray(0, cut));
      await expect(openTraceDat(p, {}, new Diagnostics())).rejects.toThrow(InputError);
      await expect(openTraceDat(p, {}, new Diagnostics())).rejects.toThrow(new RegExp(`cut-head-${cut}\\.dat: .*(truncated|cut short|past the end)`));
    }
    const p = write('cut-v6-head.dat', v6.subarray(0, 200_000));
    await expect(openTraceDat(p, {}, new Diagnostics())).rejects.toThrow(/cut-v6-head\.dat: truncated header: expected \d+ bytes of /);
  });
});

describe('corrupt and garbage input', () => {
  const head = (): Buffer => Buffer.from(readFileSync(ORIGINAL));

  it.each([
    ['empty file', (): Buffer => Buffer.alloc(0), /not a trace\.dat file: expected the magic bytes/],
    ['random bytes', (): Buffer => Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 2654435761) >>> 24)), /not a trace\.dat file/],
    ['text', (): Buffer => Buffer.from('cpus=2\n  bash-1 [000] 1.000000: tlb_flush: pages=-1 reason= (4)\n'), /not a trace\.dat file/],
    ['version 9', (): Buffer => { const b = head(); b[10] = 0x39; return b; }, /unsupported trace\.dat file version "9"/],
    ['endianness byte 7', (): Buffer => { const b = head(); b[12] = 7; return b; }, /endianness byte is 7/],
    ['long size 3', (): Buffer => { const b = head(); b[13] = 3; return b; }, /long size is 3/],
    ['page size 1000', (): Buffer => { const b = head(); b.writeUInt32LE(1000, 14); return b; }, /page size 1000/],
    ['unknown compression', (): Buffer => { const b = head(); b.write('lz4x', 18, 'latin1'); return b; }, /unsupported compression "lz4x"/],
    ['options offset into the event formats', (): Buffer => { const b = head(); b.writeBigUInt64LE(20000n, 29); return b; }, /corrupt options section at offset 20000: section id/],
    ['options offset past the end', (): Buffer => { const b = head(); b.writeBigUInt64LE(1n << 40n, 29); return b; }, /corrupt file header: the first options section is said to be at offset 1099511627776, past the end of the file \(1002967 bytes\)/],
  ])('%s: InputError naming the file', async (name, make, message) => {
    const p = write(`bad-${name.replace(/\W+/g, '-')}.dat`, make());
    const err = await openTraceDat(p, {}, new Diagnostics()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe(p);
    expect((err as Error).message).toMatch(message);
  });

  it('a zstd chunk that does not decompress is skipped with a corrupt-data warning', async () => {
    const b = head();
    const lay = v7Layout(b);
    const c = lay.cpus.reduce((a, x) => (x.size > a.size ? x : a));
    expect(b.readUInt32LE(c.offset)).toBeGreaterThanOrEqual(2); // chunks
    // second chunk of that CPU: scribble over its compressed bytes
    const first = b.readUInt32LE(c.offset + 4);
    const second = c.offset + 4 + 8 + first;
    b.fill(0xa5, second + 8 + 4, second + 8 + 60);
    const { events, diag, meta } = await decodeAll(write('bad-chunk.dat', b));
    expect(diag.counts.get('corrupt-data')).toBe(1);
    expect(meta.truncated).toBe(false);
    expect(events.length).toBeLessThan(original.length);
    expect(events.length).toBeGreaterThan(original.length * 0.8);
  });

  it('garbage over trace data pages never throws and keeps the other events', async () => {
    const b = Buffer.from(v7none);
    const lay = v7Layout(b);
    const c = lay.cpus.find((x) => x.size >= 8 * lay.pageSize)!;
    for (let i = c.offset + 2 * lay.pageSize; i < c.offset + 5 * lay.pageSize; i++) b[i] = (i * 2654435761) >>> 24;
    const { events } = await decodeAll(write('garbage-pages.dat', b));
    expect(events.length).toBeGreaterThan(original.length * 0.8);
    // the other CPUs are untouched
    for (const cpu of new Set(original.map((e) => e.cpu))) {
      if (cpu !== c.cpu) expect(perCpu(events, cpu)).toEqual(perCpu(original, cpu));
    }
  });
});

describe('random damage', () => {
  it('bytes overwritten anywhere: an InputError or a clean read, never a crash or a hang', async () => {
    let seed = 20240611;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const sources = [readFileSync(ORIGINAL), v6, v7none];
    let inputErrors = 0;
    let reads = 0;
    for (let it = 0; it < 45; it++) {
      const b = Buffer.from(sources[it % 3]!);
      const where = rnd(3); // the header page, anywhere, the options/metadata at the end
      for (let k = 1 + rnd(20); k > 0; k--) {
        const at = where === 0 ? rnd(4096) : where === 1 ? rnd(b.length) : b.length - 1 - rnd(Math.min(b.length, 300_000));
        b[at] = rnd(256);
      }
      const p = write(`fuzz-${it}.dat`, b);
      try {
        const { events } = await decodeAll(p);
        expect(events.length).toBeLessThan(original.length * 2);
        reads++;
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        inputErrors++;
      }
    }
    expect(reads + inputErrors).toBe(45);
  }, 120_000);
});

describe('lost events flagged on a ring-buffer page', () => {
  // kbuffer-parse.c: commit bit 31 = events missing before this page, bit 30 = their count is
  // stored as a long right after the page's data
  async function flagPage(stored: boolean): Promise<{ events: TraceEvent[]; cpu: number; pageTs: number }> {
    const b = Buffer.from(v7none);
    const lay = v7Layout(b);
    const c = lay.cpus.find((x) => x.size >= 4 * lay.pageSize)!;
    const page = c.offset + 2 * lay.pageSize;
    const commit = b.readUInt32LE(page + 8);
    const size = commit & ((1 << 27) - 1);
    expect(16 + size + 8).toBeLessThanOrEqual(lay.pageSize);
    b.writeUInt32LE((commit | 0x80000000 | (stored ? 0x40000000 : 0)) >>> 0, page + 8);
    if (stored) b.writeBigUInt64LE(1234n, page + 16 + size);
    const { events, diag } = await decodeAll(write(`lost-${stored}.dat`, b));
    expect(diag.total).toBe(0);
    return { events, cpu: c.cpu, pageTs: Number(b.readBigUInt64LE(page)) };
  }

  it.each([
    [true, 1234],
    [false, -1],
  ])('stored=%s: one lost_events event (count %d) before the first record of that page', async (stored, count) => {
    const { events, cpu, pageTs } = await flagPage(stored);
    const lost = events.filter((e) => e.kind === 'lost_events');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ kind: 'lost_events', cpu, count, pid: -1, tgid: -1, comm: '', line: 0 });
    const at = events.indexOf(lost[0]!);
    expect(lost[0]!.ts).toBe(events[at - 1]!.ts); // the previous event's time, as the text parsers do
    const nextSame = events.slice(at + 1).find((e) => e.cpu === cpu)!;
    const prevSame = events.slice(0, at).reverse().find((e) => e.cpu === cpu)!;
    expect(nextSame.ts).toBeGreaterThanOrEqual(pageTs);
    expect(prevSame.ts).toBeLessThanOrEqual(pageTs);
    expect(events.filter((e) => e.kind !== 'lost_events')).toEqual(original);
  });
});

// Where things are in a real trace.dat, for the binary fuzzer: the named regions (file header,
// header_page/header_event, formats, kallsyms, printk, cmdlines, options, page headers, chunk
// headers, compressed chunks...), the numeric fields a reader trusts (sizes, counts, offsets), and
// the boundaries between them (where a cut is most telling). Walked from the documented layouts
// (trace-cmd Documentation/trace-cmd/trace-cmd.dat.v6.5.txt and trace-cmd.dat.v7.5.txt), apart
// from the reader in src/ingest/tracedat/ except for the per-CPU data offsets, which its
// readTraceDatInfo() gives for the intact file.

import type { TraceDatInfo } from '../ingest/tracedat/header.js';

export interface Region {
  kind: string;
  start: number;
  end: number;
}

/** a little-endian number of `width` bytes the reader believes */
export interface Field {
  kind: string;
  at: number;
  width: 2 | 4 | 8;
}

export interface DatLayout {
  size: number;
  version: number;
  regions: Region[];
  fields: Field[];
  /** region kinds in a fixed order, and the regions of each (mutations pick a kind, then one) */
  kinds: string[];
  byKind: Map<string, Region[]>;
  fieldKinds: string[];
  fieldsByKind: Map<string, Field[]>;
  /** starts and ends of regions, sorted, unique */
  boundaries: number[];
  /** where the first CPU's data starts */
  dataStart: number;
  /** past this offset only the STRINGS section (v7: section names) is left: a cut there loses nothing read */
  neededEnd: number;
}

const V7_SECTIONS: Record<number, string> = {
  0: 'options',
  15: 'strings',
  16: 'header_page/header_event',
  17: 'ftrace formats',
  18: 'event formats',
  19: 'kallsyms',
  20: 'printk',
  21: 'cmdlines',
};

/** The layout of a little-endian trace.dat whose per-CPU data `info` (of the intact file) describes. */
export function datLayout(buf: Buffer, info: TraceDatInfo): DatLayout {
  const regions: Region[] = [];
  const fields: Field[] = [];
  const region = (kind: string, start: number, end: number): void => {
    if (end > start && start >= 0 && end <= buf.length) regions.push({ kind, start, end });
  };
  const field = (kind: string, at: number, width: 2 | 4 | 8): void => {
    if (at >= 0 && at + width <= buf.length) fields.push({ kind, at, width });
  };
  const u32 = (p: number): number => (p + 4 <= buf.length ? buf.readUInt32LE(p) : 0);
  const u64 = (p: number): number => (p + 8 <= buf.length ? Number(buf.readBigUInt64LE(p)) : 0);
  let p = buf.indexOf(0, 10) + 1; // magic, version string
  field('page size', p + 2, 4);
  p += 6;
  let neededEnd = buf.length;

  if (info.version === 7) {
    p = buf.indexOf(0, buf.indexOf(0, p) + 1) + 1; // compression name, version
    field('first options offset', p, 8);
    region('file header', 0, p + 8);
    let next = u64(p);
    p += 8;
    // the metadata sections, one after another from the file header
    const seen = new Set<number>();
    const section = (at: number): number => {
      const name = V7_SECTIONS[buf.readUInt16LE(at)] ?? 'unknown section';
      const size = u64(at + 8);
      if (seen.has(at)) return at + 16 + size;
      seen.add(at);
      region('section header', at, at + 16);
      field('section size', at + 8, 8);
      field('section id', at, 2);
      const body = at + 16;
      if ((buf.readUInt16LE(at + 2) & 1) !== 0) {
        field('compressed section sizes', body, 4);
        field('compressed section sizes', body + 4, 4);
      }
      region(name, body, Math.min(body + size, buf.length));
      return body + size;
    };
    while (p + 16 <= buf.length && V7_SECTIONS[buf.readUInt16LE(p)] !== undefined && buf.readUInt16LE(p) !== 15) p = section(p);
    // the options sections, chained by their DONE option
    for (let i = 0; next !== 0 && next + 16 <= buf.length && i < 16; i++) {
      const end = section(next);
      for (let q = next + 16; q + 6 <= end; ) {
        const id = buf.readUInt16LE(q);
        const size = u32(q + 2);
        field('option size', q + 2, 4);
        if (id === 3) {
          // BUFFER: offset, name, clock, page size, cpu count, then cpu id, offset, size per CPU
          field('buffer offset', q + 6, 8);
          region('flyrecord section header', u64(q + 6), u64(q + 6) + 16);
          const afterNames = buf.indexOf(0, buf.indexOf(0, q + 14) + 1) + 1;
          field('buffer cpu count', afterNames + 4, 4);
          for (let c = 0; c < u32(afterNames + 4); c++) {
            field('cpu data offset', afterNames + 8 + c * 20 + 4, 8);
            field('cpu data size', afterNames + 8 + c * 20 + 12, 8);
          }
        } else if (id >= 16 && id <= 21) {
          field('section offset', q + 6, 8);
        }
        q += 6 + size;
      }
      neededEnd = end;
      next = u64(end - 8);
    }
    if (neededEnd + 16 <= buf.length && buf.readUInt16LE(neededEnd) === 15) section(neededEnd);
    else neededEnd = buf.length;
  } else {
    region('file header', 0, p);
    // v6: header_page, header_event, formats, kallsyms, printk, cmdlines, cpus, options, flyrecord
    const sized = (name: string, tag: number, width: 4 | 8): void => {
      region(`${name} tag`, p, p + tag);
      p += tag;
      const size = width === 8 ? u64(p) : u32(p);
      field(`${name} size`, p, width);
      region(name, p + width, p + width + size);
      p += width + size;
    };
    sized('header_page', 12, 8);
    sized('header_event', 13, 8);
    const formats = (name: string, systems: boolean): void => {
      const start = p;
      const count = u32(p);
      field(`${name} count`, p, 4);
      p += 4;
      for (let s = 0; s < (systems ? count : 1) && p < buf.length; s++) {
        if (systems) p = buf.indexOf(0, p) + 1;
        const n = systems ? u32(p) : count;
        if (systems) p += 4;
        for (let i = 0; i < n && p < buf.length; i++) {
          field('format size', p, 8);
          p += 8 + u64(p);
        }
      }
      region(name, start, p);
    };
    formats('ftrace formats', false);
    formats('event formats', true);
    sized('kallsyms', 0, 4);
    sized('printk', 0, 4);
    sized('cmdlines', 0, 8);
    field('cpu count', p, 4);
    p += 4;
    if (buf.toString('latin1', p, p + 7) === 'options') {
      const start = p;
      p += 10;
      while (p + 2 <= buf.length && buf.readUInt16LE(p) !== 0) {
        field('option size', p + 2, 4);
        p += 6 + u32(p + 2);
      }
      p += 2;
      region('options', start, p);
    }
    region('flyrecord tag', p, p + 10);
    p += 10;
    for (let c = 0; c < info.cpuData.length; c++) {
      field('cpu data offset', p + c * 16, 8);
      field('cpu data size', p + c * 16 + 8, 8);
    }
    region('cpu table', p, p + info.cpuData.length * 16);
  }

  // the per-CPU data
  const ps = info.pageSize;
  for (const c of info.cpuData) {
    if (c.size <= 0) continue;
    if (info.cpuDataCompressed) {
      field('chunk count', c.offset, 4);
      let q = c.offset + 4;
      for (let i = 0; i < u32(c.offset) && q + 8 <= buf.length; i++) {
        region('chunk header', q, q + 8);
        field('chunk compressed size', q, 4);
        field('chunk size', q + 4, 4);
        region('compressed chunk', q + 8, q + 8 + u32(q));
        q += 8 + u32(q);
      }
    } else {
      for (let q = c.offset; q + ps <= c.offset + c.size; q += ps) {
        region('page header', q, q + 16);
        field('page commit', q + 8, 4);
        field('page timestamp', q, 8);
        region('page data', q + 16, q + ps);
      }
    }
  }

  const byKind = new Map<string, Region[]>();
  for (const r of regions) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r]);
  const fieldsByKind = new Map<string, Field[]>();
  for (const f of fields) fieldsByKind.set(f.kind, [...(fieldsByKind.get(f.kind) ?? []), f]);
  const boundaries = [...new Set(regions.flatMap((r) => [r.start, r.end]))].sort((a, b) => a - b);
  const dataStart = Math.min(buf.length, ...info.cpuData.filter((c) => c.size > 0).map((c) => c.offset));
  return { size: buf.length, version: info.version, regions, fields, kinds: [...byKind.keys()], byKind, fieldKinds: [...fieldsByKind.keys()], fieldsByKind, boundaries, dataStart, neededEnd };
}

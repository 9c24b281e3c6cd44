// N copies of a recording as one trace.dat, for measuring steady-state throughput on inputs big
// enough that process start-up and JIT warm-up are a small part of the time (issue #7). The text
// counterpart is concat.ts; the bench makes the N-copy text from this file with `trace-cmd report`.
//
// Input: a trace.dat of file version 6, uncompressed (`trace-cmd convert --file-version 6
// --compression none`): a sequential header, then the flyrecord table of per-CPU data offsets and
// sizes, then each CPU's data as a run of ring-buffer pages (trace-cmd.dat.v6.5.txt). The output
// keeps the header bytes up to that table as they are, writes a new table, and gives each CPU N
// copies of its pages, page-aligned, copy k with every timestamp + k * shift, where shift = (last -
// first record time over all CPUs) + 1 s: every CPU stays in time order, and copy k starts a
// second after copy k-1 ends, so the whole reads as one recording N times as long.
//
// Within a page only two things carry absolute time, so only they are rewritten: the page header's
// u64 timestamp, and TIME_STAMP entries (type_len 31). Record deltas, TIME_EXTEND (30, relative)
// and padding (29) stay byte for byte, and so does the commit word with its missed-events flags:
// each copy loses events where the original did. Pages are walked the way ringbuf.ts and
// libtraceevent's kbuffer-parse.c walk them; that reader has no way to edit in place, hence the
// walk here.
//
// Refused, with a DatCopiesError: anything but v6 flyrecord files (latency files fail in the
// header reader), BUFFER options (other instances' data lies after the top instance's and would
// be dropped), TIME_SHIFT and TSC2NSEC (timestamps that are not a plain clock a constant can move),
// data that is not whole pages, bytes after the data, and timestamps past 2^53 (not exact here).

import { open, rename, rm } from 'node:fs/promises';
import { viewOf, u64, TWO32 } from '../ingest/tracedat/bytes.js';
import { RandomAccessFile } from '../ingest/tracedat/file.js';
import { HeaderError, Opt, readTraceDatInfo, type TraceDatInfo } from '../ingest/tracedat/header.js';

export class DatCopiesError extends Error {}

export interface DatCopiesResult {
  copies: number;
  /** event records per copy, as the ring buffer holds them (lost-event markers are not records) */
  records: number;
  /** first and last record time of the input, in ring-buffer clock units (ns here: TSC is refused) */
  firstTs: number;
  lastTs: number;
  /** copy k's timestamps are the input's + k * shift */
  shift: number;
  /** size of the file written */
  bytes: number;
}

const COMMIT_MASK = (1 << 27) - 1;
const TS_SHIFT = 134217728; // 2^27
const ONE_SECOND = 1e9;
/** pages read and written at a time */
const WINDOW_PAGES = 256;

/** where the page header's fields are, from the file's header_page */
interface Geometry {
  le: boolean;
  pageSize: number;
  tsOff: number;
  commitLoOff: number;
  dataOff: number;
}

interface PageStats {
  records: number;
  firstTs: number;
  lastTs: number;
  /** largest timestamp value seen anywhere (page headers, running time, TIME_STAMP values) */
  maxAny: number;
}

/**
 * Walk the entries of the page at `off`, as CpuCursor.advance() does: counts records into `st`
 * and calls `onStamp` with the offset of each TIME_STAMP entry. Returns whether it saw one.
 */
function walkPage(g: Geometry, dv: DataView, off: number, st: PageStats, onStamp?: (pos: number) => void): boolean {
  const le = g.le;
  let ts = u64(dv, off + g.tsOff, le);
  if (ts > st.maxAny) st.maxAny = ts;
  const size = dv.getUint32(off + g.commitLoOff, le) & COMMIT_MASK;
  const start = off + g.dataOff;
  // a page claiming more data than it holds is skipped by the readers: nothing in it is a time
  if (start + size > off + g.pageSize) return false;
  const end = start + size;
  let stamps = false;
  const record = (): void => {
    st.records++;
    if (ts < st.firstTs) st.firstTs = ts;
    if (ts > st.lastTs) st.lastTs = ts;
  };
  let pos = start;
  while (pos + 4 <= end) {
    const v = dv.getUint32(pos, le);
    const typeLen = le ? v & 31 : v >>> 27;
    const delta = le ? v >>> 5 : v & 0x7ffffff;
    if (typeLen !== 0 && typeLen <= 28) {
      const next = pos + 4 + typeLen * 4;
      if (next > end) break;
      ts += delta;
      record();
      pos = next;
      continue;
    }
    if (pos + 8 > end) break;
    const arg = dv.getUint32(pos + 4, le);
    if (typeLen === 0) {
      const len = ((arg - 4 + 3) & ~3) >>> 0;
      if (arg < 4 || pos + 8 + len > end) break;
      ts += delta;
      record();
      pos += 8 + len;
    } else if (typeLen === 29) {
      ts += delta;
      pos += 4 + arg;
    } else if (typeLen === 30) {
      ts += arg * TS_SHIFT + delta;
      pos += 8;
    } else {
      // the reader keeps the bits above 59 from the running time; below 2^53 (checked) there are none
      ts = arg * TS_SHIFT + delta;
      stamps = true;
      onStamp?.(pos);
      pos += 8;
    }
    if (ts > st.maxAny) st.maxAny = ts;
  }
  return stamps;
}

function writeU64(dv: DataView, p: number, v: number, le: boolean): void {
  const hi = Math.floor(v / TWO32);
  const lo = v - hi * TWO32;
  dv.setUint32(le ? p + 4 : p, hi, le);
  dv.setUint32(le ? p : p + 4, lo, le);
}

/** TIME_STAMP entry at `pos` moved by `add` */
function shiftStamp(dv: DataView, pos: number, add: number, le: boolean): void {
  const v = dv.getUint32(pos, le);
  const delta = le ? v >>> 5 : v & 0x7ffffff;
  const t = dv.getUint32(pos + 4, le) * TS_SHIFT + delta + add;
  const arg = Math.floor(t / TS_SHIFT);
  const d = t - arg * TS_SHIFT;
  dv.setUint32(pos, (le ? (d << 5) | 31 : (31 << 27) | d) >>> 0, le);
  dv.setUint32(pos + 4, arg, le);
}

function check(info: TraceDatInfo, fileSize: number): { cpuTableOffset: number } {
  if (info.version !== 6 || !info.v6Layout) {
    throw new DatCopiesError(`needs a trace.dat of file version 6 (this one is version ${info.version}): trace-cmd convert --file-version 6 --compression none`);
  }
  const ids = info.v6Layout.optionIds;
  if (ids.includes(Opt.Buffer) || ids.includes(Opt.BufferText)) {
    throw new DatCopiesError('the file has a BUFFER option: other instances\' data follows the top instance\'s, and copying only the top one would drop it');
  }
  if (ids.includes(Opt.TimeShift)) throw new DatCopiesError('the file has a TIME_SHIFT option (host-guest clock sync): its timestamps cannot be moved by a constant');
  if (info.tsc2nsec) throw new DatCopiesError('the file has a TSC2NSEC option: timestamps in TSC units are not supported');
  if (info.truncated) throw new DatCopiesError('the per-CPU data goes past the end of the file (truncated)');
  let end = info.v6Layout.cpuTableOffset + 16 * info.cpuData.length;
  for (const c of info.cpuData) {
    if (c.size % info.pageSize !== 0) throw new DatCopiesError(`CPU ${c.cpu}: ${c.size} bytes of data is not a whole number of ${info.pageSize}-byte pages`);
    if (c.size > 0) end = Math.max(end, c.offset + c.size);
  }
  if (end < fileSize) throw new DatCopiesError(`${fileSize - end} bytes follow the per-CPU data (unknown content, which would be dropped)`);
  return { cpuTableOffset: info.v6Layout.cpuTableOffset };
}

/**
 * Write `copies` copies of the v6 trace.dat `input` to `output` (through a temporary file renamed
 * into place). Throws DatCopiesError for inputs it cannot shift correctly.
 */
export async function writeDatCopies(input: string, output: string, copies: number): Promise<DatCopiesResult> {
  if (!Number.isInteger(copies) || copies < 1) throw new DatCopiesError(`copies must be an integer >= 1 (got ${copies})`);
  const file = await RandomAccessFile.open(input);
  try {
    let info: TraceDatInfo;
    try {
      info = await readTraceDatInfo(file);
    } catch (e) {
      if (e instanceof HeaderError) throw new DatCopiesError(e.message);
      throw e;
    }
    const { cpuTableOffset } = check(info, file.size);
    const hp = info.headerPage;
    const le = info.littleEndian;
    const pageSize = info.pageSize;
    const g: Geometry = {
      le,
      pageSize,
      tsOff: hp.tsOffset,
      // the size and flag bits are the low 32 bits of the commit word (a long)
      commitLoOff: hp.commitOffset + (le || hp.commitSize === 4 ? 0 : 4),
      dataOff: hp.dataOffset,
    };
    const windows = async function* (cpu: { offset: number; size: number }): AsyncGenerator<{ buf: Buffer; firstPage: number }> {
      for (let p = 0; p * pageSize < cpu.size; p += WINDOW_PAGES) {
        const len = Math.min(WINDOW_PAGES * pageSize, cpu.size - p * pageSize);
        const buf = await file.read(cpu.offset + p * pageSize, len);
        if (buf.length < len) throw new DatCopiesError(`the file ended while reading CPU data at offset ${cpu.offset + p * pageSize}`);
        yield { buf, firstPage: p };
      }
    };

    // pass 1: the time span, and the pages holding TIME_STAMP entries
    const st: PageStats = { records: 0, firstTs: Infinity, lastTs: -Infinity, maxAny: 0 };
    const stampPages = info.cpuData.map(() => new Set<number>());
    for (const [i, cpu] of info.cpuData.entries()) {
      for await (const { buf, firstPage } of windows(cpu)) {
        const dv = viewOf(buf);
        for (let off = 0; off < buf.length; off += pageSize) {
          if (walkPage(g, dv, off, st)) stampPages[i]!.add(firstPage + off / pageSize);
        }
      }
    }
    if (st.records === 0) throw new DatCopiesError('the file holds no event records: nothing to copy');
    const shift = st.lastTs - st.firstTs + ONE_SECOND;
    if (st.maxAny + (copies - 1) * shift > Number.MAX_SAFE_INTEGER) {
      throw new DatCopiesError(`timestamps of ${copies} copies would pass 2^53 (largest input timestamp ${st.maxAny}, shift ${shift})`);
    }

    // pass 2: header, new table, then per CPU its pages `copies` times
    const tableEnd = cpuTableOffset + 16 * info.cpuData.length;
    const dataStart = Math.ceil(tableEnd / pageSize) * pageSize;
    const head = Buffer.alloc(dataStart);
    (await file.read(0, cpuTableOffset)).copy(head, 0);
    const hv = viewOf(head);
    let pos = dataStart;
    for (const [i, cpu] of info.cpuData.entries()) {
      writeU64(hv, cpuTableOffset + 16 * i, pos, le);
      writeU64(hv, cpuTableOffset + 16 * i + 8, cpu.size * copies, le);
      pos += cpu.size * copies;
    }

    const tmp = `${output}.tmp-${process.pid}`;
    const out = await open(tmp, 'w');
    try {
      let at = 0;
      const put = async (b: Buffer): Promise<void> => {
        let done = 0;
        while (done < b.length) {
          const { bytesWritten } = await out.write(b, done, b.length - done, at + done);
          done += bytesWritten;
        }
        at += b.length;
      };
      await put(head);
      for (const [i, cpu] of info.cpuData.entries()) {
        for (let k = 0; k < copies; k++) {
          const add = k * shift;
          for await (const { buf, firstPage } of windows(cpu)) {
            if (add > 0) {
              const dv = viewOf(buf);
              for (let off = 0; off < buf.length; off += pageSize) {
                writeU64(dv, off + g.tsOff, u64(dv, off + g.tsOff, le) + add, le);
                if (stampPages[i]!.has(firstPage + off / pageSize)) {
                  // walk the unshifted entries (TIME_STAMP values are absolute, deltas do not move)
                  walkPage(g, dv, off, { records: 0, firstTs: 0, lastTs: 0, maxAny: 0 }, (p) => shiftStamp(dv, p, add, le));
                }
              }
            }
            await put(buf);
          }
        }
      }
      await out.close();
      await rename(tmp, output);
      return { copies, records: st.records, firstTs: st.firstTs, lastTs: st.lastTs, shift, bytes: at };
    } catch (e) {
      await out.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw e;
    }
  } finally {
    await file.close();
  }
}

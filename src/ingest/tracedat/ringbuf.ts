// Per-CPU ring-buffer data: a stream of whole pages (read in windows, or decompressed chunk by
// chunk), and a cursor that walks the entries of each page the way libtraceevent's
// src/kbuffer-parse.c does:
//   page header (events/header_page): u64 timestamp, local_t commit, then data;
//   commit & ((1 << 27) - 1) = bytes of data; bit 31 = events were lost before this page
//   (MISSING_EVENTS), bit 30 = their count is stored as a long right after the data
//   (MISSING_STORED);
//   entry header, one u32: type_len (5 bits) and time_delta (27 bits) -- low bits first on a
//   little-endian file, high bits first on a big-endian one (type4host()/ts4host());
//   type_len 1..28: data of type_len*4 bytes follows; 0: a u32 length (+4) then the data;
//   29 padding: u32 length follows, skip it; 30 time extend: delta += u32 << 27;
//   31 absolute time stamp: ts = (u32 << 27 | delta) with the 5 top bits kept from the old ts.
// Every entry (padding included) adds its delta to the running timestamp.

import { decompressBlock, type CompressionName } from './compress.js';
import { RandomAccessFile, SequentialReader } from './file.js';
import type { CpuDataRef } from './header.js';
import type { HeaderPage } from './format.js';
import { u64, viewOf } from './bytes.js';

const COMMIT_MASK = (1 << 27) - 1;
const MISSING_EVENTS = 0x80000000;
const MISSING_STORED = 0x40000000;
const TS_SHIFT = 134217728; // 2^27
const TS_MSB_UNIT = 2 ** 59; // absolute time stamps carry 59 bits

/**
 * Read sizes per CPU: all CPUs together hold about WINDOW_BUDGET bytes of uncompressed windows (at
 * most 256 pages each) or READ_BUDGET bytes of compressed read-ahead, however many CPUs there are.
 */
const WINDOW_BUDGET = 64 << 20;
const READ_BUDGET = 16 << 20;
/** trace-cmd compresses 10 pages per chunk; anything near this is not a chunk */
const MAX_CHUNK = 64 << 20;

export interface StreamProblem {
  code: 'truncated-input' | 'corrupt-data';
  message: string;
}

/**
 * Whole pages of one CPU, in file order. When the file ends inside the data (a full disk), the
 * stream ends with the last complete page (uncompressed) or chunk (compressed) and says so in
 * `truncated` and account(): a page the cut runs through is not read, so every record handed out
 * is one the kernel committed to a page that is all there.
 */
export class CpuStream {
  /** the file ends inside this CPU's data */
  truncated = false;
  /** file bytes consumed so far */
  consumed = 0;
  /** complete pages handed out */
  pages = 0;
  /** compressed: the chunk count of the chunk list (-1 before it is read), chunks decompressed, chunks that did not */
  chunks = -1;
  chunksRead = 0;
  chunksBad = 0;
  /** where the data ends early (set with `truncated`) */
  private cutAt = '';
  private pos: number;
  private readonly end: number;
  private reader: SequentialReader | null = null;
  private chunksLeft = -1;
  private readonly windowPages: number;
  private readonly readAhead: number;
  /** decompressed chunks go here (see nextChunk) */
  private out: Buffer = Buffer.alloc(0);

  constructor(
    private readonly file: RandomAccessFile,
    readonly ref: CpuDataRef,
    private readonly pageSize: number,
    private readonly compression: CompressionName,
    private readonly compressed: boolean,
    private readonly le: boolean,
    private readonly onProblem: (p: StreamProblem) => void,
    cpus = 1,
  ) {
    this.pos = ref.offset;
    this.end = ref.offset + ref.size;
    this.windowPages = Math.max(4, Math.min(256, Math.floor(WINDOW_BUDGET / Math.max(1, cpus) / pageSize)));
    this.readAhead = Math.max(64 << 10, Math.min(256 << 10, Math.floor(READ_BUDGET / Math.max(1, cpus))));
  }

  /** the next window of pages, or null at the end */
  async next(): Promise<Buffer | null> {
    return this.compressed ? this.nextChunk() : this.nextPages();
  }

  /** The file ends inside this CPU's data: stop there (index.ts reports it, see account()). */
  private cut(where: string): null {
    if (!this.truncated) {
      this.truncated = true;
      this.cutAt = where;
    }
    return null;
  }

  /** What this CPU's stream read and, when the file ends inside it, what it lost. */
  account(): string {
    const cpu = `CPU ${this.ref.cpu}`;
    const pages = `${this.pages} page${this.pages === 1 ? '' : 's'}`;
    if (this.compressed) {
      const bad = this.chunksBad ? `, ${this.chunksBad} corrupt` : '';
      if (this.chunks < 0) return `${cpu}: nothing read (${this.cutAt})`;
      return `${cpu}: ${this.chunksRead} of ${this.chunks} compressed chunks read (${pages})${bad}${this.truncated ? `, ${this.cutAt}` : ''}`;
    }
    const declared = this.ref.cutShort ? null : Math.floor(this.ref.size / this.pageSize);
    return `${cpu}: ${declared === null ? pages : `${this.pages} of ${declared} pages`} read${this.truncated ? `, ${this.cutAt}` : ''}`;
  }

  private async nextPages(): Promise<Buffer | null> {
    if (this.pos >= this.end) return null;
    const want = Math.min(this.end - this.pos, this.windowPages * this.pageSize);
    const got = await this.file.read(this.pos, want);
    this.consumed += got.length;
    // (a block salvage.ts found in a cut file ends where the file does: the same as a short read)
    if (got.length === want && !(this.ref.cutShort && this.pos + want >= this.end)) {
      this.pos += want;
      this.pages += Math.floor(want / this.pageSize);
      return got;
    }
    // the file ends first: whole pages only, a page the end of the file runs through is not read
    const whole = got.length - (got.length % this.pageSize);
    const part = got.length - whole;
    this.pages += whole / this.pageSize;
    const at = this.pos + whole;
    this.cut(part ? `the file ends ${part} bytes into page ${this.pages + 1} (offset ${at})` : `the file ends before page ${this.pages + 1} (offset ${at})`);
    this.pos = this.end;
    return whole ? got.subarray(0, whole) : null;
  }

  private async nextChunk(): Promise<Buffer | null> {
    // tracecmd_compress_copy_from(): u32 chunk count, then per chunk u32 compressed size,
    // u32 uncompressed size, the compressed bytes
    if (!this.reader) {
      // the size in the BUFFER option leaves out the 4-byte chunk count: walk the chunks, bounded
      // by the end of the file only
      this.reader = new SequentialReader(this.file, this.pos, this.file.size, this.readAhead);
      const cnt = await this.reader.take(4);
      if (cnt.length < 4) return this.cut(`the file ends before its chunk count (offset ${this.pos})`);
      this.chunksLeft = this.chunks = viewOf(cnt).getUint32(0, this.le);
      this.consumed += 4;
    }
    while (this.chunksLeft > 0) {
      this.chunksLeft--;
      const at = this.reader.position;
      const h = await this.reader.take(8);
      if (h.length < 8) return this.cut(`the file ends inside the header of chunk ${this.chunks - this.chunksLeft} (offset ${at})`);
      const hv = viewOf(h);
      const csize = hv.getUint32(0, this.le);
      const usize = hv.getUint32(4, this.le);
      if (csize > MAX_CHUNK || usize > MAX_CHUNK) {
        // not a chunk header: the chunk list is damaged, nothing after it can be found
        this.onProblem({
          code: 'corrupt-data',
          message: `CPU ${this.ref.cpu} stream, chunk header at offset 0x${at.toString(16)}: implausible sizes (${csize} -> ${usize} bytes); the rest of this CPU's data is skipped`,
        });
        this.chunksLeft = 0;
        return null;
      }
      const data = await this.reader.take(csize);
      this.consumed += 8 + data.length;
      if (data.length < csize) return this.cut(`the file ends ${data.length} bytes into chunk ${this.chunks - this.chunksLeft} of ${csize} bytes (offset ${at})`);
      try {
        // into the stream's own buffer: the cursor is done with the previous window when it asks
        // for the next one, and a new ArrayBuffer per 40 KB chunk only fed the GC
        if (this.out.length < usize) this.out = Buffer.allocUnsafeSlow(Math.max(usize, 64 << 10));
        const out = decompressBlock(this.compression, data, usize, this.out);
        this.chunksRead++;
        this.pages += Math.floor(out.length / this.pageSize);
        return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      } catch (e) {
        this.chunksBad++;
        const pages = Math.floor(usize / this.pageSize);
        this.onProblem({
          code: 'corrupt-data',
          message: `CPU ${this.ref.cpu} stream, compressed chunk at offset 0x${at.toString(16)}: ${(e as Error).message}; its ${pages} page(s) are skipped`,
        });
      }
    }
    return null;
  }
}

/**
 * Walks the records of one CPU. After advance() returns true, recTs/recOff/recLen describe the
 * record (payload offset and length in `buf`); `lost` holds events lost just before it.
 */
export class CpuCursor {
  buf: Buffer = Buffer.alloc(0);
  dv: DataView = viewOf(this.buf);
  private winLen = 0;
  private pageOff = 0;
  private pos = 0;
  private end = 0;
  /** raw running timestamp */
  private ts = 0;
  /** timestamp (after tsOffset / TSC scaling) of the current record */
  recTs = 0;
  recOff = 0;
  recLen = 0;
  /** events lost before the current record: 0 none, -1 unknown count */
  lost = 0;
  /** last comm lookup, valid while comms.version is unchanged */
  lastPid = -2;
  lastComm = '';
  lastVersion = -1;
  done = false;

  private readonly dataOffset: number;
  private readonly tsPageOff: number;
  private readonly commitLoOff: number;
  private readonly longSize: number;

  constructor(
    readonly index: number,
    readonly cpu: number,
    private readonly stream: CpuStream,
    private readonly le: boolean,
    private readonly pageSize: number,
    page: HeaderPage,
    private readonly tsOffset: number,
    private readonly tsc: { mult: number; shift: number } | undefined,
    private readonly onProblem: (p: StreamProblem) => void,
  ) {
    this.dataOffset = page.dataOffset;
    this.longSize = page.commitSize;
    // the flag bits 31/30 and the size live in the low 32 bits of the commit word
    this.commitLoOff = page.commitOffset + (le || page.commitSize === 4 ? 0 : 4);
    this.tsPageOff = page.tsOffset;
  }

  /** Load the next window and position on its first record; false at the end of the data. */
  async refill(): Promise<boolean> {
    for (;;) {
      const w = await this.stream.next();
      if (!w) {
        this.done = true;
        return false;
      }
      this.buf = w;
      this.dv = viewOf(w);
      this.winLen = w.length;
      if (!this.loadPage(0)) continue;
      if (this.advance()) return true;
    }
  }

  /** false when there is no (complete) page header at `off` */
  private loadPage(off: number): boolean {
    if (off + this.dataOffset > this.winLen) return false;
    const dv = this.dv;
    const le = this.le;
    this.pageOff = off;
    this.ts = u64(dv, off + this.tsPageOff, le);
    const commit = dv.getUint32(off + this.commitLoOff, le);
    const size = commit & COMMIT_MASK;
    const start = off + this.dataOffset;
    const pageEnd = Math.min(off + this.pageSize, this.winLen);
    this.pos = start;
    if (start + size > off + this.pageSize) {
      this.onProblem({
        code: 'corrupt-data',
        message: `CPU ${this.cpu}: page with ${size} bytes of data in a ${this.pageSize}-byte page; skipped`,
      });
      this.end = start;
      return true;
    }
    this.end = Math.min(start + size, pageEnd);
    if (commit & MISSING_EVENTS) {
      let n = -1;
      if (commit & MISSING_STORED && start + size + this.longSize <= pageEnd) {
        n = this.longSize === 8 ? u64(dv, start + size, le) : dv.getUint32(start + size, le);
      }
      this.lost = this.lost === 0 ? n : this.lost > 0 && n > 0 ? this.lost + n : -1;
    }
    return true;
  }

  /** Move to the next record; false when the window is used up (call refill()). */
  advance(): boolean {
    const dv = this.dv;
    const le = this.le;
    for (;;) {
      let pos = this.pos;
      const end = this.end;
      while (pos + 4 <= end) {
        const v = dv.getUint32(pos, le);
        const typeLen = le ? v & 31 : v >>> 27;
        const delta = le ? v >>> 5 : v & 0x7ffffff;
        if (typeLen !== 0 && typeLen <= 28) {
          const rec = pos + 4;
          const next = rec + typeLen * 4;
          if (next > end) break;
          this.ts += delta;
          this.pos = next;
          this.setRecord(rec, typeLen * 4);
          return true;
        }
        if (pos + 8 > end) break;
        const arg = dv.getUint32(pos + 4, le);
        if (typeLen === 0) {
          const len = ((arg - 4 + 3) & ~3) >>> 0;
          const rec = pos + 8;
          if (arg < 4 || rec + len > end) break;
          this.ts += delta;
          this.pos = rec + len;
          this.setRecord(rec, len);
          return true;
        }
        if (typeLen === 29) {
          // padding (a discarded event, or the rest of the page)
          this.ts += delta;
          pos = pos + 4 + arg;
        } else if (typeLen === 30) {
          this.ts += arg * TS_SHIFT + delta;
          pos += 8;
        } else {
          const msb = this.ts >= TS_MSB_UNIT ? Math.floor(this.ts / TS_MSB_UNIT) * TS_MSB_UNIT : 0;
          this.ts = arg * TS_SHIFT + delta + msb;
          pos += 8;
        }
      }
      // next page of the window
      const nextPage = this.pageOff + this.pageSize;
      if (!this.loadPage(nextPage)) {
        this.pos = this.end;
        return false;
      }
    }
  }

  private setRecord(rec: number, len: number): void {
    this.recOff = rec;
    this.recLen = len;
    let ts = this.ts;
    if (this.tsc) ts = mulShr(ts, this.tsc.mult, this.tsc.shift);
    this.recTs = ts + this.tsOffset;
  }
}

/** mul_u64_u32_shr() from trace-input.c (TSC2NSEC): (ts * mult) >> shift without overflow */
function mulShr(ts: number, mult: number, shift: number): number {
  return Number((BigInt(Math.round(ts)) * BigInt(mult)) >> BigInt(shift));
}

// Positional reads on an open trace.dat. Everything in a v7 file is addressed by absolute offsets
// (sections, options, per-CPU data), so the reader never streams the file front to back; v6
// metadata is sequential and goes through SequentialReader below.

import { open, type FileHandle } from 'node:fs/promises';

export class RandomAccessFile {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<RandomAccessFile> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      return new RandomAccessFile(fh, st.size);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Up to `len` bytes at `pos`; shorter (possibly empty) when the file ends first. */
  async read(pos: number, len: number): Promise<Buffer> {
    if (pos >= this.size || len <= 0) return Buffer.alloc(0);
    const n = Math.min(len, this.size - pos);
    // A fresh ArrayBuffer per read keeps byteOffset 0 (aligned) and lets the caller keep it.
    const buf = Buffer.from(new ArrayBuffer(n));
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fh.read(buf, got, n - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === n ? buf : buf.subarray(0, got);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/**
 * Reads consecutive bytes from a start offset, with read-ahead. Used for v6 metadata and for
 * walking compressed chunk lists.
 */
export class SequentialReader {
  private buf: Buffer = Buffer.alloc(0);
  private bufPos = 0; // file offset of buf[0]
  private p = 0; // index into buf

  constructor(
    private readonly file: RandomAccessFile,
    start: number,
    private readonly limit: number = file.size,
    private readonly readAhead: number = 1 << 20,
  ) {
    this.bufPos = start;
  }

  /** file offset of the next byte */
  get position(): number {
    return this.bufPos + this.p;
  }

  /** Exactly `n` bytes, or fewer when the file (or limit) ends first. */
  async take(n: number): Promise<Buffer> {
    if (this.buf.length - this.p < n) await this.fill(n);
    const avail = Math.min(n, this.buf.length - this.p);
    const out = this.buf.subarray(this.p, this.p + avail);
    this.p += avail;
    return out;
  }

  /** Move on `n` bytes without reading them (past the end of the file is allowed). */
  skip(n: number): void {
    const buffered = this.buf.length - this.p;
    if (n <= buffered) {
      this.p += n;
      return;
    }
    this.bufPos = this.bufPos + this.p + n;
    this.buf = Buffer.alloc(0);
    this.p = 0;
  }

  /** Bytes up to (not including) the next NUL, consuming the NUL; null when the input ends first. */
  async cstring(maxLen = 1 << 16): Promise<string | null> {
    for (;;) {
      const nul = this.buf.indexOf(0, this.p);
      if (nul >= 0) {
        const s = this.buf.toString('utf8', this.p, nul);
        this.p = nul + 1;
        return s;
      }
      if (this.buf.length - this.p > maxLen) return null;
      const before = this.buf.length - this.p;
      await this.fill(before + 256);
      if (this.buf.length - this.p === before) return null;
    }
  }

  private async fill(n: number): Promise<void> {
    const rest = this.buf.subarray(this.p);
    const start = this.bufPos + this.p;
    const want = Math.min(Math.max(n, this.readAhead), this.limit - start);
    const more = want > rest.length ? await this.file.read(start + rest.length, want - rest.length) : Buffer.alloc(0);
    this.buf = rest.length ? Buffer.concat([rest, more]) : more;
    this.bufPos = start;
    this.p = 0;
  }
}

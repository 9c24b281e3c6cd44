// Bytes in: a file path or `-` (stdin) -> a stream of decompressed chunks.
//
// Compression is recognised by its magic, never by the file name: gzip `1f 8b` (node:zlib, also
// multi-member files as written by `gzip -c a b`), zstd `28 b5 2f fd` (zstd.ts: node:zlib's zstd
// where the runtime has it, WebAssembly otherwise; several frames in a row too). A compressed stream that ends early (a truncated download, a capture cut
// off) does not throw: the chunks decoded so far are delivered, then the stream ends and `failure`
// says why; the caller reports it as a warning and marks the trace truncated.

import { createReadStream, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { Readable, pipeline } from 'node:stream';
import { InputError } from '../errors.js';
import { prepareZstd, ZstdError, zstdChunks, zstdUnavailable } from './zstd.js';

export type Compression = 'none' | 'gzip' | 'zstd';

export interface InputFailure {
  /** `truncated-input` (the stream ended mid-way) or `corrupt-input` (bad compressed data) */
  code: 'truncated-input' | 'corrupt-input';
  message: string;
}

/** How many raw bytes to read at a time: large reads keep the syscall/stream overhead low. */
const RAW_CHUNK = 1 << 20;
/** Decompressed chunk size: 64 KiB measured fastest for the string line splitter (lines.ts). */
const OUT_CHUNK = 1 << 16;

export const GZIP_MAGIC = [0x1f, 0x8b] as const;
export const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const;
/** trace-cmd's trace.dat: `\x17\x08\x44tracing` */
export const TRACE_DAT_MAGIC = Buffer.from([0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67]);

function startsWith(buf: Buffer, magic: readonly number[]): boolean {
  if (buf.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (buf[i] !== magic[i]) return false;
  return true;
}

export function sniffCompression(head: Buffer): Compression {
  if (startsWith(head, GZIP_MAGIC)) return 'gzip';
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

export function displayName(path: string): string {
  return path === '-' ? '<stdin>' : path;
}

export class InputStream {
  readonly name: string;
  compression: Compression = 'none';
  /** first raw (still compressed) bytes: magic numbers */
  rawHead: Buffer = Buffer.alloc(0);
  /** file size in bytes, undefined for stdin */
  readonly size: number | undefined;
  /** set when the decompressed stream ended early */
  failure: InputFailure | undefined;
  /** raw bytes read so far */
  rawBytes = 0;

  private rawIt: AsyncIterator<Buffer> | undefined;
  private firstRaw: Buffer | undefined;
  private pending: Buffer[] = [];
  private out: AsyncIterator<Buffer> | undefined;
  private done = false;

  private constructor(
    readonly path: string,
    private readonly onRaw: ((n: number) => void) | undefined,
  ) {
    this.name = displayName(path);
    if (path !== '-') {
      try {
        this.size = statSync(path).size;
      } catch (err) {
        throw new InputError(this.name, 0, `cannot read: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Open `path` and read its first raw chunk (to know the compression). Throws InputError. `stdin`
   * replaces process.stdin for the path `-` (bytes in memory or another stream).
   */
  static async open(path: string, onRaw?: (n: number) => void, stdin?: Uint8Array | NodeJS.ReadableStream): Promise<InputStream> {
    const input = new InputStream(path, onRaw);
    if (path === '-' && stdin instanceof Uint8Array) {
      const buf = Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength);
      input.rawIt = (async function* () {
        for (let i = 0; i < buf.length; i += RAW_CHUNK) yield buf.subarray(i, i + RAW_CHUNK);
      })();
    } else {
      const raw = path === '-' ? (stdin ?? process.stdin) : createReadStream(path, { highWaterMark: RAW_CHUNK });
      input.rawIt = (raw as Readable)[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    }
    let first: IteratorResult<Buffer>;
    try {
      first = await input.rawIt.next();
    } catch (err) {
      throw new InputError(input.name, 0, `cannot read: ${(err as Error).message}`);
    }
    if (!first.done) {
      input.firstRaw = first.value;
      input.rawHead = first.value.subarray(0, 64);
      input.countRaw(first.value.length);
    }
    input.compression = sniffCompression(input.rawHead);
    if (input.compression === 'zstd') {
      await prepareZstd();
      const why = zstdUnavailable();
      if (why !== null) {
        input.close();
        throw new InputError(input.name, 0, `cannot read this zstd file: ${why}`);
      }
    }
    return input;
  }

  /** Stop reading (used when the input is handed to another reader, e.g. trace.dat). */
  close(): void {
    this.done = true;
    void this.rawIt?.return?.();
  }

  private countRaw(n: number): void {
    this.rawBytes += n;
    this.onRaw?.(n);
  }

  /** the raw chunks, first one included; read errors become InputError */
  private async *rawChunks(): AsyncGenerator<Buffer> {
    if (this.firstRaw !== undefined) {
      const f = this.firstRaw;
      this.firstRaw = undefined;
      yield f;
    }
    const it = this.rawIt!;
    for (;;) {
      let r: IteratorResult<Buffer>;
      try {
        r = await it.next();
      } catch (err) {
        throw new InputError(this.name, 0, `cannot read: ${(err as Error).message}`);
      }
      if (r.done) return;
      this.countRaw(r.value.length);
      yield r.value;
    }
  }

  private async *gunzipChunks(): AsyncGenerator<Buffer> {
    const gz = createGunzip({ chunkSize: OUT_CHUNK });
    let readError: unknown;
    const src = Readable.from(this.rawChunks(), { objectMode: false });
    src.on('error', (e) => (readError = e));
    pipeline(src, gz, () => {});
    try {
      for await (const c of gz) yield c as Buffer;
    } catch (err) {
      if (readError instanceof InputError) throw readError;
      if (readError !== undefined) throw new InputError(this.name, 0, `cannot read: ${(readError as Error).message}`);
      const e = err as NodeJS.ErrnoException;
      this.failure =
        e.code === 'Z_BUF_ERROR'
          ? { code: 'truncated-input', message: `gzip stream ends early (${e.message}): the file is truncated` }
          : { code: 'corrupt-input', message: `gzip data is corrupt (${e.message}); reading stopped there` };
    }
  }

  private async *zstdChunks(): AsyncGenerator<Buffer> {
    try {
      yield* zstdChunks(this.rawChunks(), OUT_CHUNK);
    } catch (err) {
      if (!(err instanceof ZstdError)) throw err;
      this.failure = err.truncated
        ? { code: 'truncated-input', message: `zstd stream ends early (${err.message}): the file is truncated` }
        : { code: 'corrupt-input', message: `zstd data is corrupt (${err.message}); reading stopped there` };
    }
  }

  /** uncompressed input: the 1 MiB reads cut into OUT_CHUNK pieces (the line splitter's sweet spot) */
  private async *plainChunks(): AsyncGenerator<Buffer> {
    for await (const c of this.rawChunks()) {
      if (c.length <= OUT_CHUNK) yield c;
      else for (let i = 0; i < c.length; i += OUT_CHUNK) yield c.subarray(i, i + OUT_CHUNK);
    }
  }

  private decompressed(): AsyncIterator<Buffer> {
    const gen = this.compression === 'gzip' ? this.gunzipChunks() : this.compression === 'zstd' ? this.zstdChunks() : this.plainChunks();
    return gen[Symbol.asyncIterator]();
  }

  /** next decompressed chunk, or undefined at the end */
  async next(): Promise<Buffer | undefined> {
    if (this.pending.length > 0) return this.pending.shift();
    if (this.done) return undefined;
    this.out ??= this.decompressed();
    const r = await this.out.next();
    if (r.done) {
      this.done = true;
      return undefined;
    }
    return r.value;
  }

  /**
   * The first `minBytes` decompressed bytes (fewer at the end of the input), without consuming
   * them: `next()` returns them again.
   */
  async peek(minBytes: number): Promise<Buffer> {
    let have = 0;
    for (const b of this.pending) have += b.length;
    while (have < minBytes && !this.done) {
      this.out ??= this.decompressed();
      const r = await this.out.next();
      if (r.done) {
        this.done = true;
        break;
      }
      this.pending.push(r.value);
      have += r.value.length;
    }
    return this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
  }
}

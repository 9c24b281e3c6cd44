// The fallback zstd decoder: the reference zstd library compiled to WebAssembly, as the zstddec
// package ships it (its `zstddec/stream` build: zstd's own ZSTD_decompress and
// ZSTD_decompressStream, the module embedded in the package, nothing downloaded). Used where the
// runtime has no node:zlib zstd (Node < 22.15 / 23.8, see zstd.ts).
//
// zstddec's own ZSTDDecoder mallocs and frees both buffers and returns a fresh copy for every
// block, and its decodeStreaming() never checks zstd's error codes (a corrupt frame loops
// forever). Here its module is called directly: the input and output regions inside the module's
// memory are kept and grown, a block is copied into the caller's reusable buffer, and every return
// value goes through ZSTD_isError().

import { ZSTDDecoder } from 'zstddec/stream';

/** the parts of the WebAssembly global used here (this project's lib settings do not declare it) */
interface WasmApi {
  instantiate(...args: unknown[]): Promise<{ instance: { exports: unknown } }>;
}

interface ZstdExports {
  memory: { buffer: ArrayBuffer };
  malloc(n: number): number;
  free(p: number): void;
  ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcSize: number): number;
  ZSTD_createDCtx(): number;
  ZSTD_freeDCtx(dctx: number): number;
  ZSTD_decompressStream(dctx: number, output: number, input: number): number;
}

/**
 * zstd's error strings for its stable error codes (lib/zstd_errors.h ZSTD_ErrorCode,
 * lib/common/error_private.c ERR_getErrorString()): the module does not export
 * ZSTD_getErrorName(), and node:zlib reports the same strings, so both paths word errors alike.
 */
const ERROR_NAMES: Record<number, string> = {
  1: 'Error (generic)',
  10: 'Unknown frame descriptor',
  12: 'Version not supported',
  14: 'Unsupported frame parameter',
  16: 'Frame requires too much memory for decoding',
  20: 'Data corruption detected',
  22: "Restored data doesn't match checksum",
  24: "Header of Literals' block doesn't respect format specification",
  30: 'Dictionary is corrupted',
  32: 'Dictionary mismatch',
  44: 'tableLog requires too much memory : unsupported',
  46: 'Unsupported max Symbol Value : too large',
  64: 'Allocation error : not enough memory',
  70: 'Destination buffer is too small',
  72: 'Src size is incorrect',
  80: 'Operation made no progress over multiple calls, due to output buffer being full',
  82: 'Operation made no progress over multiple calls, due to input being empty',
};

/**
 * ZSTD_isError() on wasm32: a size_t result above (size_t)-ZSTD_error_maxCode (120) is an error,
 * i.e. -1..-119 as the signed i32 the module returns. The error's name, or null for a size.
 */
function errorOf(ret: number): string | null {
  if (ret >= 0 || ret < -119) return null;
  return ERROR_NAMES[-ret] ?? `zstd error ${-ret}`;
}

/** A zstd error as zstd names it (`Data corruption detected`), or one the wrapper found. */
export class WasmZstdError extends Error {}

/** the module's own memory regions, kept and grown (malloc may replace memory.buffer) */
class Region {
  ptr = 0;
  cap = 0;
  constructor(private readonly ex: ZstdExports) {}
  /** at least n bytes; false when the module is out of memory */
  ensure(n: number): boolean {
    if (n <= this.cap && this.ptr !== 0) return true;
    if (this.ptr !== 0) this.ex.free(this.ptr);
    this.cap = Math.max(n, 64 << 10);
    this.ptr = this.ex.malloc(this.cap);
    if (this.ptr === 0) this.cap = 0;
    return this.ptr !== 0;
  }
}

let loading: Promise<WasmZstd> | undefined;

export class WasmZstd {
  private readonly src: Region;
  private readonly dst: Region;

  private constructor(private readonly ex: ZstdExports) {
    this.src = new Region(ex);
    this.dst = new Region(ex);
  }

  /**
   * zstddec keeps its WebAssembly instance private; it is taken from the instantiate() call its
   * init() makes. init() also fetch()es its embedded module through a data: URL whenever fetch
   * exists, and on Node that first fetch() loads undici: ~35 ms of CPU in a fresh process, ten
   * times what the module's own compile costs; without fetch it decodes the same base64 with
   * Buffer.from(). Both globals are swapped only during the synchronous call that uses them.
   */
  static load(): Promise<WasmZstd> {
    // once per thread: zstddec instantiates its module once and keeps it
    loading ??= WasmZstd.instantiate();
    return loading;
  }

  private static async instantiate(): Promise<WasmZstd> {
    const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    if (api === undefined) throw new Error('this runtime has no WebAssembly');
    let exports: unknown;
    const fetch = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
    const instantiate = api.instantiate;
    let init: Promise<void>;
    api.instantiate = (...args: unknown[]) =>
      instantiate.apply(api, args).then((r) => {
        exports = r.instance.exports;
        return r;
      });
    if (fetch?.configurable) Object.defineProperty(globalThis, 'fetch', { value: undefined, configurable: true, writable: true });
    try {
      init = new ZSTDDecoder().init();
    } finally {
      api.instantiate = instantiate;
      if (fetch?.configurable) Object.defineProperty(globalThis, 'fetch', fetch);
    }
    await init;
    const ex = exports as ZstdExports | undefined;
    const fns = ['malloc', 'free', 'ZSTD_decompress', 'ZSTD_createDCtx', 'ZSTD_freeDCtx', 'ZSTD_decompressStream'] as const;
    if (ex === undefined || fns.some((f) => typeof ex[f] !== 'function') || !(ex.memory?.buffer instanceof ArrayBuffer)) {
      throw new Error('zstddec: unexpected module');
    }
    return new WasmZstd(ex);
  }

  /**
   * One block of exactly `size` bytes (one or more frames): into `into` when it has room, else a
   * new array. Throws WasmZstdError naming zstd's error.
   */
  decode(data: Uint8Array, size: number, into?: Uint8Array): Uint8Array {
    const ex = this.ex;
    if (!this.src.ensure(data.length) || !this.dst.ensure(size)) throw new WasmZstdError('Allocation error : not enough memory');
    // (a view per call: malloc may have grown the memory, which replaces its buffer)
    new Uint8Array(ex.memory.buffer, this.src.ptr, data.length).set(data);
    const n = ex.ZSTD_decompress(this.dst.ptr, size, this.src.ptr, data.length);
    const err = errorOf(n);
    if (err !== null) throw new WasmZstdError(err);
    if (n !== size) throw new WasmZstdError(`inflated to ${n} bytes, expected ${size}`);
    const out = into !== undefined && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
    out.set(new Uint8Array(ex.memory.buffer, this.dst.ptr, size));
    return out;
  }

  /**
   * A stream of frames (a .zst file) fed in pieces: each push() hands its output, in pieces of at
   * most `outSize` bytes, to `emit`; end() says whether the last frame was complete. Call close()
   * when done (also after an error) to free the decoder's memory.
   */
  stream(outSize: number): WasmZstdStream {
    return new WasmZstdStream(this.ex, outSize);
  }
}

export class WasmZstdStream {
  private dctx: number;
  private io: number; // ZSTD_inBuffer {src, size, pos} then ZSTD_outBuffer {dst, size, pos}, 4-byte fields
  private readonly src: Region;
  private readonly dst: Region;
  /** ZSTD_decompressStream's last hint: 0 once a frame is complete and flushed */
  private hint = 0;
  private fed = false;

  constructor(
    private readonly ex: ZstdExports,
    private readonly outSize: number,
  ) {
    this.dctx = ex.ZSTD_createDCtx();
    this.io = ex.malloc(24);
    this.src = new Region(ex);
    this.dst = new Region(ex);
    if (this.dctx === 0 || this.io === 0 || !this.dst.ensure(outSize)) {
      this.close();
      throw new WasmZstdError('Allocation error : not enough memory');
    }
  }

  push(data: Uint8Array, emit: (out: Buffer) => void): void {
    if (data.length === 0) return;
    const ex = this.ex;
    if (!this.src.ensure(data.length)) throw new WasmZstdError('Allocation error : not enough memory');
    new Uint8Array(ex.memory.buffer, this.src.ptr, data.length).set(data);
    this.fed = true;
    const io = this.io;
    const out = io + 12;
    let view = new DataView(ex.memory.buffer);
    view.setUint32(io, this.src.ptr, true);
    view.setUint32(io + 4, data.length, true);
    view.setUint32(io + 8, 0, true);
    for (;;) {
      view = new DataView(ex.memory.buffer);
      const inBefore = view.getUint32(io + 8, true);
      view.setUint32(out, this.dst.ptr, true);
      view.setUint32(out + 4, this.outSize, true);
      view.setUint32(out + 8, 0, true);
      const ret = ex.ZSTD_decompressStream(this.dctx, out, io);
      const err = errorOf(ret);
      if (err !== null) throw new WasmZstdError(err);
      this.hint = ret;
      view = new DataView(ex.memory.buffer);
      const inPos = view.getUint32(io + 8, true);
      const outPos = view.getUint32(out + 8, true);
      if (outPos > 0) emit(Buffer.from(new Uint8Array(ex.memory.buffer, this.dst.ptr, outPos)));
      // zstd's own loop (examples/streaming_decompression.c): go on while input is left, or while
      // the output was filled (more may be waiting inside the decoder)
      if (inPos >= data.length && outPos < this.outSize) return;
      // every call consumes input or produces output; one that does neither would loop forever
      if (inPos === inBefore && outPos === 0) throw new WasmZstdError('the decoder made no progress');
    }
  }

  /** true when the input held at least one frame and ended at a frame boundary (node:zlib: the same) */
  get complete(): boolean {
    return this.fed && this.hint === 0;
  }

  close(): void {
    if (this.dctx !== 0) this.ex.ZSTD_freeDCtx(this.dctx);
    if (this.io !== 0) this.ex.free(this.io);
    if (this.src.ptr !== 0) this.ex.free(this.src.ptr);
    if (this.dst.ptr !== 0) this.ex.free(this.dst.ptr);
    this.dctx = this.io = 0;
    this.src.ptr = this.dst.ptr = 0;
  }
}

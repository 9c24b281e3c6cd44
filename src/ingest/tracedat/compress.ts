// Decompression of v7 sections and trace-data chunks. trace-cmd names the algorithm in the file
// header ("name\0version\0"); its lib/trace-cmd/trace-compress-zlib.c uses zlib's
// compress2()/uncompress() (zlib stream format) and trace-compress-zstd.c one zstd frame per block.

import { inflateSync } from 'node:zlib';
import { decompress as fzstdDecompress } from 'fzstd';
import { ZSTDDecoder } from 'zstddec';
import { ZstdDecoder } from './zstd.js';

export type CompressionName = 'none' | 'zlib' | 'zstd';

/** largest block accepted (kallsyms of big kernels is ~10 MB) */
const MAX_BLOCK = 256 << 20;

export function isSupportedCompression(name: string): name is CompressionName {
  return name === 'none' || name === 'zlib' || name === 'zstd';
}

/**
 * Decompress one block; throws when the data is corrupt or does not inflate to `expectedSize`
 * bytes (the size trace-cmd stored next to it). With `into` (at least expectedSize bytes), the
 * zstd WebAssembly path writes the output there and returns a view of it, valid until `into` is
 * written again; other paths may return new memory.
 */
export function decompressBlock(alg: CompressionName, data: Uint8Array, expectedSize: number, into?: Uint8Array): Uint8Array {
  // a corrupt size must not allocate gigabytes (trace chunks are 10 pages, sections a few MB)
  if (expectedSize > MAX_BLOCK) throw new Error(`declared size ${expectedSize} is larger than ${MAX_BLOCK} bytes`);
  let out: Uint8Array;
  switch (alg) {
    case 'none':
      out = data;
      break;
    case 'zlib':
      out = inflateSync(data, { maxOutputLength: Math.max(expectedSize, 1) });
      break;
    case 'zstd':
      out = zstd(data, expectedSize, into);
      break;
  }
  if (out.length !== expectedSize) {
    throw new Error(`${alg} block inflated to ${out.length} bytes, expected ${expectedSize}`);
  }
  return out;
}

const decoder = new ZstdDecoder();

/**
 * The reference zstd library compiled to WebAssembly (the zstddec package: zstd's own
 * ZSTD_decompress, embedded in the package, nothing downloaded): ~2.3x our zstd.ts on trace
 * chunks (sng-madvise: 58 MB of pages in ~260 ms vs ~610 ms). null until prepareZstd() resolved,
 * or when WebAssembly is unavailable.
 */
let wasm: WasmZstd | null = null;
let wasmInit: Promise<void> | null = null;

/** Load the WebAssembly decoder (once per thread); without it, decoding falls back to zstd.ts. */
export function prepareZstd(): Promise<void> {
  wasmInit ??= (async () => {
    try {
      wasm = await WasmZstd.load();
    } catch {
      wasm = null; // no WebAssembly here: the JS decoders do the work
    }
  })();
  return wasmInit;
}

/** the parts of the WebAssembly global used here (this project's lib settings do not declare it) */
interface WasmApi {
  instantiate(...args: unknown[]): Promise<{ instance: { exports: unknown } }>;
}

interface ZstdExports {
  memory: { buffer: ArrayBuffer };
  malloc(n: number): number;
  free(p: number): void;
  ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcSize: number): number;
  ZSTD_isError(code: number): number;
}

/**
 * zstddec's module, called directly. Its ZSTDDecoder.decode() mallocs and frees both buffers
 * and returns a fresh copy of every block: on a big trace.dat that is a new 40 KB ArrayBuffer per
 * chunk (58 MB per 1.35 M events), many of which live long enough to be promoted and then pin
 * their memory until a full GC. Here the input and output regions inside the module's memory are
 * kept and grown, and the output is copied into the caller's reusable buffer.
 */
class WasmZstd {
  private src = 0;
  private srcCap = 0;
  private dst = 0;
  private dstCap = 0;

  private constructor(private readonly ex: ZstdExports) {}

  /**
   * zstddec keeps its WebAssembly instance private; it is taken from the instantiate() call its
   * init() makes. init() also fetch()es its embedded module through a data: URL whenever fetch
   * exists, and on Node that first fetch() loads undici: ~35 ms of CPU in a fresh process, ten
   * times what the module's own compile costs; without fetch it decodes the same base64 with
   * Buffer.from(). Both globals are swapped only during the synchronous call that uses them.
   */
  static async load(): Promise<WasmZstd> {
    const api = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
    if (api === undefined) throw new Error('no WebAssembly');
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
    if (ex === undefined || typeof ex.ZSTD_decompress !== 'function' || typeof ex.ZSTD_isError !== 'function' || typeof ex.malloc !== 'function' || !(ex.memory?.buffer instanceof ArrayBuffer)) {
      throw new Error('zstddec: unexpected module');
    }
    return new WasmZstd(ex);
  }

  /** `data` decompressed into `into` (or a new array); null when zstd reports an error */
  decode(data: Uint8Array, size: number, into?: Uint8Array): Uint8Array | null {
    const ex = this.ex;
    if (data.length > this.srcCap) {
      if (this.src !== 0) ex.free(this.src);
      this.srcCap = Math.max(data.length, 64 << 10);
      this.src = ex.malloc(this.srcCap);
    }
    if (size > this.dstCap) {
      if (this.dst !== 0) ex.free(this.dst);
      this.dstCap = Math.max(size, 64 << 10);
      this.dst = ex.malloc(this.dstCap);
    }
    if (this.src === 0 || this.dst === 0) {
      // out of WebAssembly memory: give back what was had, the JS decoders take over
      if (this.src !== 0) ex.free(this.src);
      if (this.dst !== 0) ex.free(this.dst);
      this.src = this.dst = this.srcCap = this.dstCap = 0;
      return null;
    }
    // (a view per call: malloc may have grown the memory, which replaces its buffer)
    new Uint8Array(ex.memory.buffer, this.src, data.length).set(data);
    const n = ex.ZSTD_decompress(this.dst, size, this.src, data.length);
    if (ex.ZSTD_isError(n) !== 0 || n !== size) return null;
    const out = into !== undefined && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
    out.set(new Uint8Array(ex.memory.buffer, this.dst, size));
    return out;
  }
}

/**
 * The wasm decoder when loaded; zstd.ts when it is not, or when zstd reports an error or an output
 * that is not exactly the declared size (zstd.ts then says what is wrong); fzstd for what zstd.ts does not do
 * (dictionaries) or rejects. fzstd gets no output buffer: it is several times slower when handed
 * one for frames that do not declare their content size (trace-cmd's don't).
 */
function zstd(data: Uint8Array, expectedSize: number, into?: Uint8Array): Uint8Array {
  if (wasm !== null && expectedSize > 0) {
    const out = wasm.decode(data, expectedSize, into);
    if (out !== null) return out;
    // fall through to the JS decoders, whose errors name the problem
  }
  try {
    return decoder.decompress(data, expectedSize);
  } catch {
    return fzstdDecompress(data);
  }
}

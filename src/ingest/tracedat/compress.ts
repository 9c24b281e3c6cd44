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
 * bytes (the size trace-cmd stored next to it).
 */
export function decompressBlock(alg: CompressionName, data: Uint8Array, expectedSize: number): Uint8Array {
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
      out = zstd(data, expectedSize);
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
let wasm: ZSTDDecoder | null = null;
let wasmInit: Promise<void> | null = null;

/** Load the WebAssembly decoder (once per thread); without it, decoding falls back to zstd.ts. */
export function prepareZstd(): Promise<void> {
  wasmInit ??= (async () => {
    try {
      const d = new ZSTDDecoder();
      await initWithoutFetch(d);
      wasm = d;
    } catch {
      wasm = null; // no WebAssembly here: the JS decoders do the work
    }
  })();
  return wasmInit;
}

/**
 * zstddec's init() takes its embedded module through fetch() of a data: URL whenever fetch
 * exists, and on Node that first fetch() loads undici: ~35 ms of CPU in a fresh process, ten
 * times what the module's own compile costs. Without fetch it decodes the same base64 with
 * Buffer.from(). fetch is hidden only during the synchronous call that picks the branch.
 */
function initWithoutFetch(d: ZSTDDecoder): Promise<void> {
  const fetch = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (!fetch?.configurable) return d.init();
  Object.defineProperty(globalThis, 'fetch', { value: undefined, configurable: true, writable: true });
  try {
    return d.init();
  } finally {
    Object.defineProperty(globalThis, 'fetch', fetch);
  }
}

/**
 * The wasm decoder when loaded; zstd.ts when it is not, or when the wasm output is not exactly the
 * declared size (ZSTD_decompress's error codes are not surfaced by zstddec, so a corrupt chunk
 * shows as a wrong length: zstd.ts then says what is wrong); fzstd for what zstd.ts does not do
 * (dictionaries) or rejects. fzstd gets no output buffer: it is several times slower when handed
 * one for frames that do not declare their content size (trace-cmd's don't).
 */
function zstd(data: Uint8Array, expectedSize: number): Uint8Array {
  if (wasm !== null && expectedSize > 0) {
    try {
      const out = wasm.decode(data, expectedSize);
      if (out.length === expectedSize) return out;
    } catch {
      // fall through to the JS decoders, whose errors name the problem
    }
  }
  try {
    return decoder.decompress(data, expectedSize);
  } catch {
    return fzstdDecompress(data);
  }
}

// Decompression of v7 sections and trace-data chunks. trace-cmd names the algorithm in the file
// header ("name\0version\0"); its lib/trace-cmd/trace-compress-zlib.c uses zlib's
// compress2()/uncompress() (zlib stream format) and trace-compress-zstd.c one zstd frame per block.
// zstd goes through ../zstd.ts (node:zlib where the runtime has it, WebAssembly otherwise).

import { inflateSync } from 'node:zlib';
import { zstdBlock } from '../zstd.js';

export { prepareZstd, zstdPath, zstdUnavailable } from '../zstd.js';

export type CompressionName = 'none' | 'zlib' | 'zstd';

/** largest block accepted (kallsyms of big kernels is ~10 MB) */
const MAX_BLOCK = 256 << 20;

export function isSupportedCompression(name: string): name is CompressionName {
  return name === 'none' || name === 'zlib' || name === 'zstd';
}

/**
 * Decompress one block; throws an Error whose message names the algorithm and what is wrong
 * ("zstd: Data corruption detected") when the data is corrupt or does not inflate to
 * `expectedSize` bytes (the size trace-cmd stored next to it). With `into` (at least expectedSize
 * bytes), zstd writes the output there and returns a view of it, valid until `into` is written
 * again; other paths may return new memory.
 */
export function decompressBlock(alg: CompressionName, data: Uint8Array, expectedSize: number, into?: Uint8Array): Uint8Array {
  // a corrupt size must not allocate gigabytes (trace chunks are 10 pages, sections a few MB)
  if (expectedSize > MAX_BLOCK) throw new Error(`declared size ${expectedSize} is larger than ${MAX_BLOCK} bytes`);
  let out: Uint8Array;
  try {
    switch (alg) {
      case 'none':
        out = data;
        break;
      case 'zlib':
        out = inflateSync(data, { maxOutputLength: Math.max(expectedSize, 1) });
        break;
      case 'zstd':
        out = zstdBlock(data, expectedSize, into);
        break;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg = err.code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than the declared ${expectedSize} bytes` : err.message;
    throw new Error(`${alg}: ${msg}`);
  }
  if (out.length !== expectedSize) {
    throw new Error(`${alg}: block inflated to ${out.length} bytes, expected ${expectedSize}`);
  }
  return out;
}

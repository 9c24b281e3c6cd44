// zstd, one rule for every input that uses it (trace.dat chunks and sections: one block of known
// size each; `.zst` text: a stream of frames): node:zlib's zstd (the zstd library built into
// Node, 22.15+ / 23.8+) where the runtime has it, the reference zstd library compiled to
// WebAssembly (zstd-wasm.ts) otherwise. Both are zstd's own decoder and name errors alike
// ("Data corruption detected"); the callers add where (file, CPU stream, offset).
//
// TLBTRACE_ZSTD=wasm forces the WebAssembly decoder on a runtime that has node:zlib's, so
// `npm run bench` can time both on one runtime; tests take each decoder directly.

import * as zlib from 'node:zlib';
import { Readable, pipeline } from 'node:stream';

export type ZstdPath = 'node:zlib' | 'wasm';

/** zstd could not decode the data: `truncated` when it ended inside a frame */
export class ZstdError extends Error {
  constructor(
    message: string,
    readonly truncated = false,
  ) {
    super(message);
    this.name = 'ZstdError';
  }
}

export interface ZstdDecoder {
  readonly path: ZstdPath;
  /**
   * One block that must inflate to exactly `size` bytes (trace-cmd writes one zstd frame per
   * block and stores the size next to it). With `into` (at least `size` bytes) the output is
   * written there and a view of it returned, valid until `into` is written again. Throws ZstdError.
   */
  block(data: Uint8Array, size: number, into?: Uint8Array): Uint8Array;
  /**
   * The decompressed content of a stream of frames read in pieces, in chunks of at most
   * `outSize` bytes. Throws ZstdError (`truncated` when the input ends inside a frame) after
   * handing out what was decoded before the damage; errors of `raw` itself pass through.
   */
  chunks(raw: AsyncIterable<Buffer>, outSize: number): AsyncGenerator<Buffer>;
}

/** node:zlib's zstd API where present (@types/node 20 does not declare it: Node 20 lacks it) */
interface NodeZstdApi {
  zstdDecompressSync(data: Uint8Array, opts: { maxOutputLength: number; chunkSize?: number }): Buffer;
  createZstdDecompress(opts: { chunkSize: number }): NodeJS.ReadWriteStream;
}

/** node:zlib's errors in zstd's words: a frame cut short says so, the rest keep zstd's name */
function nodeError(e: unknown, size?: number): ZstdError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'Z_BUF_ERROR') return new ZstdError('unexpected end of file', true);
  if (err.code === 'ERR_BUFFER_TOO_LARGE' && size !== undefined) return new ZstdError(`inflates to more than the declared ${size} bytes`);
  return new ZstdError(err.message);
}

/**
 * Give a Buffer's memory back now: every zstdDecompressSync() call returns a new one (a 40 KB chunk
 * of trace data), and left to the GC they pile up to V8's external-memory limit (~64 MB) before a
 * collection: on 5 copies of sng-madvise (Node 26) peak RSS 156 MB vs 99 MB with this, and 733 vs
 * 478 ms of CPU. ArrayBuffer.prototype.transfer() (Node >= 21, so wherever node:zlib has zstd)
 * detaches it; only a buffer that owns its whole ArrayBuffer (never a slice of the shared pool).
 */
function release(b: Buffer): void {
  const ab = b.buffer as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer };
  if (b.byteOffset === 0 && ab.byteLength === b.length && b.length > 8192 && typeof ab.transfer === 'function') ab.transfer(0);
}

/** node:zlib's decoder, or null when this runtime has none */
export function nodeZstd(): ZstdDecoder | null {
  const api = zlib as unknown as Partial<NodeZstdApi>;
  if (typeof api.zstdDecompressSync !== 'function' || typeof api.createZstdDecompress !== 'function') return null;
  const z = api as NodeZstdApi;
  return {
    path: 'node:zlib',
    block(data, size, into) {
      let out: Buffer;
      try {
        // one output chunk of the declared size: no concatenation, and no more memory than declared
        out = z.zstdDecompressSync(data, { maxOutputLength: Math.max(size, 1), chunkSize: Math.max(size, 64) });
      } catch (e) {
        throw nodeError(e, size);
      }
      if (out.length !== size) throw new ZstdError(`inflated to ${out.length} bytes, expected ${size}`);
      if (into === undefined || into.length < size) return out;
      const view = into.subarray(0, size);
      view.set(out);
      release(out);
      return view;
    },
    async *chunks(raw, outSize) {
      const dec = z.createZstdDecompress({ chunkSize: outSize });
      let readError: unknown;
      const src = Readable.from(raw, { objectMode: false });
      src.on('error', (e) => (readError = e));
      pipeline(src, dec, () => {});
      try {
        for await (const c of dec as AsyncIterable<Buffer>) yield c;
      } catch (e) {
        if (readError !== undefined) throw readError;
        throw nodeError(e);
      }
    },
  };
}

/**
 * The WebAssembly decoder (loaded once per thread, and only when used: its module is 85 KB of
 * JavaScript); rejects where WebAssembly is unavailable.
 */
export async function wasmZstd(): Promise<ZstdDecoder> {
  const { WasmZstd, WasmZstdError } = await import('./zstd-wasm.js');
  const w = await WasmZstd.load();
  const wrap = (e: unknown): unknown => (e instanceof WasmZstdError ? new ZstdError(e.message) : e);
  return {
    path: 'wasm',
    block(data, size, into) {
      try {
        return w.decode(data, size, into);
      } catch (e) {
        throw wrap(e);
      }
    },
    async *chunks(raw, outSize) {
      const s = w.stream(outSize);
      try {
        let outs: Buffer[] = [];
        const emit = (b: Buffer): void => void outs.push(b);
        for await (const c of raw) {
          let failure: unknown = null;
          try {
            s.push(c, emit);
          } catch (e) {
            failure = wrap(e);
          }
          // what was decoded before the damage first
          const o = outs;
          outs = [];
          yield* o;
          if (failure !== null) throw failure;
        }
        if (!s.complete) throw new ZstdError('unexpected end of file', true);
      } finally {
        s.close();
      }
    },
  };
}

// The decoder of this process: node:zlib's unless absent or TLBTRACE_ZSTD=wasm; the WebAssembly
// one is loaded by prepareZstd().
let chosen: ZstdDecoder | null = process.env.TLBTRACE_ZSTD === 'wasm' ? null : nodeZstd();
let loading: Promise<void> | null = null;
let failure: string | null = null;

/** which decoder this process uses */
export function zstdPath(): ZstdPath {
  return chosen?.path ?? 'wasm';
}

/** Load the WebAssembly decoder when it is the one used; a no-op with node:zlib's. */
export function prepareZstd(): Promise<void> {
  if (chosen !== null) return Promise.resolve();
  loading ??= wasmZstd().then(
    (d) => void (chosen = d),
    (e: unknown) => void (failure = (e as Error).message),
  );
  return loading;
}

/** Why zstd cannot be decoded here (after prepareZstd()), or null when it can. */
export function zstdUnavailable(): string | null {
  if (chosen !== null) return null;
  return `zstd needs node:zlib's zstd (Node >= 22.15) or WebAssembly, and this runtime has neither (${failure ?? 'prepareZstd() not called'})`;
}

function decoder(): ZstdDecoder {
  if (chosen === null) throw new ZstdError(zstdUnavailable()!);
  return chosen;
}

/** ZstdDecoder.block() of this process's decoder */
export function zstdBlock(data: Uint8Array, size: number, into?: Uint8Array): Uint8Array {
  return decoder().block(data, size, into);
}

/** ZstdDecoder.chunks() of this process's decoder */
export function zstdChunks(raw: AsyncIterable<Buffer>, outSize: number): AsyncGenerator<Buffer> {
  return decoder().chunks(raw, outSize);
}

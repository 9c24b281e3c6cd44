// zstd on both paths (zstd.ts): node:zlib's where the runtime has it (Node >= 22.15), the
// WebAssembly build of the reference library otherwise, forced with TLBTRACE_ZSTD=wasm. Every
// compressed chunk of three real trace.dat fixtures must inflate to the size trace-cmd stored
// next to it and to the very bytes the zstd command-line tool (when installed) gives; the two paths
// must agree with each other byte for byte; damage must throw a ZstdError, never hang.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { RandomAccessFile } from './tracedat/file.js';
import { readTraceDatInfo } from './tracedat/header.js';
import { nodeZstd, wasmZstd, ZstdError, type ZstdDecoder } from './zstd.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = ['native-6.18-2cpu/mt-mixed', 'qemu-6.12-16cpu/mt-munmap', 'qemu-6.1-8cpu/reclaim-mmap'];

function hasZstdCli(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** every (compressed, declared size) chunk of the trace data of a fixture (trace-cmd.dat.v7(5)) */
async function chunksOf(fx: string): Promise<Array<{ data: Buffer; usize: number }>> {
  const path = join(ROOT, 'fixtures', fx, 'trace.dat');
  const file = await RandomAccessFile.open(path);
  const info = await readTraceDatInfo(file);
  await file.close();
  const buf = readFileSync(path);
  const out: Array<{ data: Buffer; usize: number }> = [];
  for (const c of info.cpuData) {
    if (c.size <= 0) continue;
    let p = c.offset;
    const n = buf.readUInt32LE(p);
    p += 4;
    for (let i = 0; i < n; i++) {
      const csize = buf.readUInt32LE(p);
      const usize = buf.readUInt32LE(p + 4);
      out.push({ data: buf.subarray(p + 8, p + 8 + csize), usize });
      p += 8 + csize;
    }
  }
  return out;
}

// node:zlib's decoder where this runtime has one (Node >= 22.15), always the WebAssembly one
const paths: Array<[string, () => Promise<ZstdDecoder>]> = [['wasm', wasmZstd]];
const native = nodeZstd();
if (native !== null) paths.unshift(['node:zlib', async () => native]);

const tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-zstd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(paths)('zstd through %s', (name, load) => {
  it('is the path it says', async () => {
    expect((await load()).path).toBe(name);
  });

  it.each(FIXTURES)('inflates every trace-data chunk of %s to its declared size, as the zstd tool does', async (fx) => {
    const z = await load();
    const cli = hasZstdCli();
    const chunks = await chunksOf(fx);
    expect(chunks.length).toBeGreaterThan(10);
    const into = Buffer.alloc(1 << 20);
    for (const [i, c] of chunks.entries()) {
      const out = z.block(c.data, c.usize, into);
      expect(out.length).toBe(c.usize);
      // written into the caller's buffer: a view of it
      expect(out.buffer).toBe(into.buffer);
      if (cli && i % 7 === 0) {
        const f = join(tmp, `chunk-${name.replace(':', '')}.zst`);
        writeFileSync(f, c.data);
        expect(Buffer.from(out).equals(execFileSync('zstd', ['-q', '-d', '-c', f]))).toBe(true);
      }
    }
  });

  it('throws a ZstdError naming the damage, for cut, scribbled and mis-sized chunks', async () => {
    const z = await load();
    const [c] = await chunksOf('native-6.18-2cpu/mt-mixed');
    const cut = (): unknown => z.block(c!.data.subarray(0, c!.data.length - 10), c!.usize);
    expect(cut).toThrow(ZstdError);
    const bad = Buffer.from(c!.data);
    bad.fill(0xa5, 20, 60);
    expect(() => z.block(bad, c!.usize)).toThrow(ZstdError);
    expect(() => z.block(Buffer.from('not zstd at all'), 100)).toThrow(/Unknown frame descriptor/);
    // a declared size that does not match: an error, not a short or padded block
    expect(() => z.block(c!.data, c!.usize - 1)).toThrow(ZstdError);
    expect(() => z.block(c!.data, c!.usize + 1)).toThrow(ZstdError);
  });

  it('streams several frames, stops with `truncated` on a cut one and with an error on a corrupt one', async () => {
    const z = await load();
    const a = Buffer.from(Array.from({ length: 3000 }, (_, i) => `line ${i} tlb_flush: pages=${i % 33}\n`).join(''));
    const b = Buffer.from(Array.from({ length: 2000 }, (_, i) => `other ${i * 7}\n`).join(''));
    const fa = compress(a);
    const fb = compress(b);
    const pieces = (buf: Buffer, n: number): Buffer[] => Array.from({ length: Math.ceil(buf.length / n) }, (_, i) => buf.subarray(i * n, i * n + n));
    const run = async (input: Buffer): Promise<{ out: Buffer; err?: ZstdError }> => {
      const got: Buffer[] = [];
      try {
        for await (const c of z.chunks(toAsync(pieces(input, 333)), 4096)) {
          expect(c.length).toBeLessThanOrEqual(4096);
          got.push(c);
        }
        return { out: Buffer.concat(got) };
      } catch (e) {
        expect(e).toBeInstanceOf(ZstdError);
        return { out: Buffer.concat(got), err: e as ZstdError };
      }
    };
    const whole = await run(Buffer.concat([fa, fb]));
    expect(whole.err).toBeUndefined();
    expect(whole.out.equals(Buffer.concat([a, b]))).toBe(true);
    // cut inside the second frame: all of the first, a prefix of the second, `truncated`
    const cut = await run(Buffer.concat([fa, fb.subarray(0, fb.length - 20)]));
    expect(cut.err?.truncated).toBe(true);
    expect(cut.err?.message).toBe('unexpected end of file');
    expect(cut.out.subarray(0, a.length).equals(a)).toBe(true);
    // scribbled over inside the second frame: an error that is not `truncated`
    const bad = Buffer.concat([fa, fb]);
    bad.fill(0xa5, fa.length + 30, fa.length + 90);
    const corrupt = await run(bad);
    expect(corrupt.err).toBeDefined();
    expect(corrupt.err?.truncated).toBe(false);
    // no input at all: no frame, so `truncated` as well (as node:zlib has it)
    expect((await run(Buffer.alloc(0))).err?.truncated).toBe(true);
  });
});

async function* toAsync(bufs: Buffer[]): AsyncGenerator<Buffer> {
  for (const b of bufs) yield b;
}

/** a zstd frame: node:zlib's compressor where there is one, else the zstd tool */
function compress(b: Buffer): Buffer {
  const api = zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer };
  return api.zstdCompressSync ? api.zstdCompressSync(b) : execFileSync('zstd', ['-q', '-c', '-3'], { input: b });
}

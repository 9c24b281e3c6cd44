// The zstd frame decoder: every compressed chunk of the fixtures against fzstd, and frames made by
// the zstd command-line tool (when installed) over inputs that exercise raw/RLE/compressed blocks,
// 1- and 4-stream Huffman literals, FSE/RLE/predefined/repeat tables, long offsets, checksums and
// several blocks per frame.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress as fzstd } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { RandomAccessFile } from './file.js';
import { readTraceDatInfo } from './header.js';
import { decompressBlock, prepareZstd } from './compress.js';
import { ZstdDecoder, ZstdError, ZstdUnsupported } from './zstd.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FIXTURES = ['native-6.18-2cpu/mt-mixed', 'qemu-6.12-16cpu/mt-munmap', 'qemu-6.1-8cpu/reclaim-mmap'];

function hasZstdCli(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('zstd decoder', () => {
  it.each(FIXTURES)('decodes every trace-data chunk of %s exactly as fzstd does', async (fx) => {
    const path = join(ROOT, 'fixtures', fx, 'trace.dat');
    const file = await RandomAccessFile.open(path);
    const info = await readTraceDatInfo(file);
    await file.close();
    const buf = readFileSync(path);
    const dec = new ZstdDecoder();
    let chunks = 0;
    for (const c of info.cpuData) {
      if (c.size <= 0) continue;
      let p = c.offset;
      const n = buf.readUInt32LE(p);
      p += 4;
      for (let i = 0; i < n; i++) {
        const csize = buf.readUInt32LE(p);
        const usize = buf.readUInt32LE(p + 4);
        const data = buf.subarray(p + 8, p + 8 + csize);
        p += 8 + csize;
        const mine = dec.decompress(data, usize);
        expect(mine.length).toBe(usize);
        expect(Buffer.from(mine).equals(Buffer.from(fzstd(data)))).toBe(true);
        chunks++;
      }
    }
    expect(chunks).toBeGreaterThan(10);
  });

  it.skipIf(!hasZstdCli())('decodes what the zstd tool makes of varied inputs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-zstd-'));
    try {
      // inputs: text with long repeats, a small alphabet (RLE-ish tables), random bytes (raw
      // blocks), a constant run (RLE blocks), a structured binary log over several 128 KiB blocks
      let seed = 12345;
      const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
      const text = Buffer.from(Array.from({ length: 4000 }, (_, i) => `line ${i % 97} kworker/${i % 7}:1 tlb_flush pages=${(i * 31) % 513}\n`).join(''));
      const small = Buffer.from(Array.from({ length: 50_000 }, () => 'ab'[rnd() & 1]!.charCodeAt(0)));
      const random = Buffer.from(Array.from({ length: 70_000 }, rnd));
      const run = Buffer.alloc(300_000, 7);
      const records = Buffer.alloc(400_000);
      for (let i = 0; i + 32 <= records.length; i += 32) {
        records.writeUInt32LE(i / 32, i);
        records.writeUInt32LE(0xffff8880 + (rnd() & 3), i + 4);
        records.writeUInt16LE(rnd() % 5, i + 8);
        records.write('stress-ng', i + 12, 'latin1');
      }
      const noise = randomBytes(150_000); // incompressible: raw blocks
      const mixed = Buffer.concat([text, noise.subarray(0, 30_000), records.subarray(0, 200_000), run.subarray(0, 5000)]);
      // short: one-stream Huffman literals; fewlits: RLE-mode sequence tables
      const short = Buffer.from('the quick brown fox jumps over the lazy dog; the quick brown fox jumps again and again, the end of the quick fox story');
      const fewlits = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i % 50 === 0 ? 'Q' : 'zzzzzzzzzz')).join(''));
      const inputs = { text, small, random, run, records, noise, mixed, short, fewlits, empty: Buffer.alloc(0), tiny: Buffer.from('x') };
      const settings = [['-1'], ['-3'], ['-19'], ['-3', '--no-check'], ['-9', '--long=24'], ['--fast=5']];
      const dec = new ZstdDecoder();
      let frames = 0;
      for (const [name, data] of Object.entries(inputs)) {
        const f = join(dir, name);
        writeFileSync(f, data);
        for (const s of settings) {
          const z = execFileSync('zstd', ['-q', '-c', ...s, f]);
          const out = dec.decompress(z, 0);
          expect(Buffer.from(out).equals(data), `${name} ${s.join(' ')}`).toBe(true);
          frames++;
        }
      }
      // two frames back to back
      const both = Buffer.concat([execFileSync('zstd', ['-q', '-c', join(dir, 'text')]), execFileSync('zstd', ['-q', '-c', join(dir, 'records')])]);
      expect(Buffer.from(dec.decompress(both)).equals(Buffer.concat([text, records]))).toBe(true);
      expect(frames).toBe(Object.keys(inputs).length * settings.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects what it cannot or must not decode', () => {
    const dec = new ZstdDecoder();
    // a frame that names a dictionary (Dictionary_ID_flag = 1, id 7): left to the fallback
    expect(() => dec.decompress(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x50, 0x07, 0x01, 0x00, 0x00]))).toThrow(ZstdUnsupported);
    expect(() => dec.decompress(Buffer.from('not zstd at all'))).toThrow(ZstdError);
    // a real chunk cut short
    const path = join(ROOT, 'fixtures/native-6.18-2cpu/mt-mixed/trace.dat');
    const buf = readFileSync(path);
    const z = firstChunk(buf);
    expect(() => dec.decompress(z.subarray(0, z.length - 10))).toThrow();
  });
});

/** the first compressed chunk of CPU 0 of mt-mixed (offset from its BUFFER option, see trace-cmd dump) */
function firstChunk(buf: Buffer): Buffer {
  const cpu0 = 1150976;
  const csize = buf.readUInt32LE(cpu0 + 4);
  return buf.subarray(cpu0 + 12, cpu0 + 12 + csize);
}

describe('decompressBlock (WebAssembly zstd)', () => {
  it('decodes a real chunk into the caller buffer, and falls back to the JS decoder on a bad one', async () => {
    await prepareZstd();
    const buf = readFileSync(join(ROOT, 'fixtures/native-6.18-2cpu/mt-mixed/trace.dat'));
    const z = firstChunk(buf);
    const usize = buf.readUInt32LE(1150976 + 8);
    const expected = Buffer.from(fzstd(z));
    expect(expected.length).toBe(usize);
    const into = Buffer.alloc(usize + 100, 0xee);
    const out = decompressBlock('zstd', z, usize, into);
    // the wasm decoder wrote into `into`: the output is a view of it
    expect(out.buffer).toBe(into.buffer);
    expect(Buffer.from(out).equals(expected)).toBe(true);
    // the next block reuses the module's memory regions and the same caller buffer
    const again = decompressBlock('zstd', z, usize, into);
    expect(Buffer.from(again).equals(expected)).toBe(true);
    // a cut chunk: zstd's error, then the JS decoders, whose error is thrown
    expect(() => decompressBlock('zstd', z.subarray(0, z.length - 10), usize, into)).toThrow();
    // a declared size that does not match: an error, not a short or padded block
    expect(() => decompressBlock('zstd', z, usize - 1, into)).toThrow();
  });
});

// The bounded part of the fuzz suite (`npm run fuzz` runs the same cases by the 100 000):
// mutated excerpts of the real captures through the whole pipeline, every property of
// src/fuzz/check.ts checked on every case, the CLI and the HTML report on some. Plus properties
// of the byte-level pieces (UTF-8 decoding, line splitting) on arbitrary bytes.
//
// FUZZ_SEED and FUZZ_CASES override the fixed seed and the count (e.g. to replay a CI failure).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUtf8Escaped, LineSplitter, type LineSink } from '../../src/ingest/lines.js';
import { loadCorpus } from '../../src/fuzz/corpus.js';
import { runCases } from '../../src/fuzz/worker.js';
import { FIXTURES } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const CASES = Number(process.env.FUZZ_CASES ?? 300);

describe('mutated real traces (fast-check)', () => {
  it(`${CASES} cases: no uncaught exception, exit 0/2, every line accounted for, untouched counts unchanged`, async () => {
    const excerpts = loadCorpus(FIXTURES, { perFile: 2, lines: 150 });
    const stats = await runCases(
      { cases: CASES, seed: SEED, cliEvery: 20, htmlEvery: 150, schemaEvery: 1, fixtures: FIXTURES, excerptsPerFile: 2, excerptLines: 150 },
      undefined,
      excerpts,
    );
    const report = stats.failures.map((f) => `${f.excerpt}\n  ${f.failures.join('\n  ')}\n  case: ${JSON.stringify(f.case)}`);
    if (stats.shrunk) report.unshift(`shrunk: ${stats.shrunk.failures.join('; ')}\n  case: ${JSON.stringify(stats.shrunk.case)}`);
    expect(report, `seed ${SEED}`).toEqual([]);
    expect(stats.done).toBe(CASES);
    // most mutated traces are still traces: refusing them wholesale would be a bug of its own
    expect(stats.inputErrors).toBeLessThan(CASES * 0.1);
    expect(stats.cliRuns).toBeGreaterThan(0);
    expect(stats.htmlRuns).toBeGreaterThan(0);
  }, 120_000);
});

class Collect implements LineSink {
  out: string[] = [];
  onLine(line: string, lineNo: number): void {
    this.out.push(`${lineNo}:${line}`);
  }
  onLongLine(lineNo: number, length: number): void {
    this.out.push(`${lineNo}:LONG ${length}`);
  }
  onBinaryLine(lineNo: number, column: number): void {
    this.out.push(`${lineNo}:NUL ${column}`);
  }
}

function splitBytes(bytes: Uint8Array, cuts: number[], max: number): string[] {
  const s = new LineSplitter(max);
  const c = new Collect();
  let p = 0;
  for (let i = 0; p < bytes.length; i++) {
    const n = cuts.length > 0 ? Math.max(1, cuts[i % cuts.length]!) : bytes.length;
    s.push(Buffer.from(bytes.subarray(p, p + n)), c);
    p += n;
  }
  s.end(c);
  return c.out;
}

describe('bytes in (properties)', () => {
  const bytesArb = fc.uint8Array({ maxLength: 400 }).chain((b) =>
    // bias towards the interesting bytes: newline, CR, NUL, UTF-8 lead and continuation bytes
    fc.array(fc.constantFrom(0x0a, 0x0d, 0x00, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0xff, 0x61), { maxLength: 60 }).map((extra) => {
      const out = new Uint8Array(b.length + extra.length);
      out.set(b);
      extra.forEach((x, i) => (out[b.length + i] = x));
      return out;
    }),
  );

  it('valid UTF-8 decodes exactly as Buffer#toString; anything else never yields U+FFFD', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (s) => {
        expect(decodeUtf8Escaped(Buffer.from(s, 'utf8'))).toBe(s);
      }),
    );
    fc.assert(
      fc.property(bytesArb, (b) => {
        const buf = Buffer.from(b);
        const out = decodeUtf8Escaped(buf);
        const literalFffd = buf.includes(Buffer.from([0xef, 0xbf, 0xbd]));
        if (!literalFffd) expect(out).not.toContain('\ufffd');
        // every byte is either part of the decoded text or written as \xNN
        expect(out.replace(/\\x[0-9a-f]{2}/g, '').length).toBeLessThanOrEqual(buf.length);
      }),
    );
  });

  it('any chunking of any bytes gives the same lines, long lines and NUL lines', () => {
    fc.assert(
      fc.property(bytesArb, fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 }), fc.integer({ min: 8, max: 120 }), (b, cuts, max) => {
        expect(splitBytes(b, cuts, max)).toEqual(splitBytes(b, [], max));
      }),
      { numRuns: 300 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineSplitter, type LineSink } from './lines.js';

class Collect implements LineSink {
  lines: [number, string][] = [];
  long: [number, number][] = [];
  binary: [number, number][] = [];
  onBinaryLine(lineNo: number, column: number): void {
    this.binary.push([lineNo, column]);
  }
  onLine(line: string, lineNo: number): void {
    this.lines.push([lineNo, line]);
  }
  onLongLine(lineNo: number, length: number): void {
    this.long.push([lineNo, length]);
  }
}

function split(chunks: (Buffer | string)[], max?: number, dropPartial = false): Collect & { dropped: number } {
  const s = new LineSplitter(max);
  const c = new Collect();
  for (const ch of chunks) s.push(typeof ch === 'string' ? Buffer.from(ch) : ch, c);
  const dropped = s.end(c, dropPartial);
  return Object.assign(c, { dropped });
}

describe('LineSplitter', () => {
  it('numbers lines from 1 and keeps empty lines', () => {
    expect(split(['a\n\nb\n']).lines).toEqual([[1, 'a'], [2, ''], [3, 'b']]);
  });

  it('delivers a last line without newline, or drops it when asked (truncated input)', () => {
    expect(split(['a\nb']).lines).toEqual([[1, 'a'], [2, 'b']]);
    const t = split(['a\nb'], undefined, true);
    expect(t.lines).toEqual([[1, 'a']]);
    expect(t.dropped).toBe(2);
  });

  it('strips CR of CRLF line ends, also across chunk boundaries', () => {
    expect(split(['a\r\nb\r', '\nc\r\n']).lines).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
    expect(split(['x\r']).lines).toEqual([[1, 'x']]);
  });

  it('joins lines split across chunks, also inside a UTF-8 character', () => {
    const bytes = Buffer.from('héllo wörld\nzweite Zeile ✓\n');
    const cut = [bytes.subarray(0, 2), bytes.subarray(2, 13), bytes.subarray(13)];
    expect(split(cut).lines).toEqual([[1, 'héllo wörld'], [2, 'zweite Zeile ✓']]);
  });

  it('writes invalid UTF-8 bytes as \\xNN and skips lines holding NUL', () => {
    const r = split([Buffer.from([0x61, 0xff, 0xfe, 0x0a, 0x00, 0x62, 0x00, 0x0a, 0x63, 0x0a])]);
    expect(r.lines).toEqual([[1, 'a\\xff\\xfe'], [3, 'c']]);
    expect(r.binary).toEqual([[2, 1]]);
  });

  it('escapes exactly the bytes outside valid UTF-8 sequences, also across chunk cuts', () => {
    // Latin-1 é, a lone continuation byte, an overlong `/`, a UTF-16 surrogate, a literal U+FFFD
    const bytes = Buffer.concat([
      Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' x'), Buffer.from([0x80]),
      Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\ufffd ✓ 😀\n'),
    ]);
    const want = 'caf\\xe9 x\\x80\\xc0\\xaf\\xed\\xa0\\x80\ufffd ✓ 😀';
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(split([bytes.subarray(0, cut), bytes.subarray(cut)]).lines).toEqual([[1, want]]);
    }
    // a character the input never finishes
    expect(split([Buffer.from([0x61, 0xe2, 0x82])]).lines).toEqual([[1, 'a\\xe2\\x82']]);
  });

  it('skips over-long lines without keeping them, and counts them as lines', () => {
    const long = 'x'.repeat(100);
    const r = split(['ok\n', long.slice(0, 30), long.slice(30), '\nnext\n'], 50);
    expect(r.lines).toEqual([[1, 'ok'], [3, 'next']]);
    expect(r.long).toEqual([[2, 100]]);
    // inside one chunk, and at the end of input
    const r2 = split([`a\n${long}\nb\n${long}`], 50);
    expect(r2.lines).toEqual([[1, 'a'], [3, 'b']]);
    expect(r2.long).toEqual([[2, 100], [4, 100]]);
  });

  it('memory stays bounded on a huge line without newline', () => {
    const s = new LineSplitter(1000);
    const c = new Collect();
    const chunk = Buffer.alloc(1 << 16, 0x41);
    for (let i = 0; i < 64; i++) s.push(chunk, c); // 4 MiB, no newline
    expect((s as unknown as { rest: string }).rest.length).toBe(0);
    s.push(Buffer.from('\nok\n'), c);
    s.end(c);
    expect(c.long).toEqual([[1, 64 << 16]]);
    expect(c.lines).toEqual([[2, 'ok']]);
  });

  it('any chunking gives the same lines (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z é\r]{0,20}$/), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
        (lines, cuts) => {
          const text = Buffer.from(lines.map((l) => l + '\n').join(''));
          const chunks: Buffer[] = [];
          let p = 0;
          for (let i = 0; p < text.length; i++) {
            const n = cuts[i % cuts.length]!;
            chunks.push(text.subarray(p, p + n));
            p += n;
          }
          const expected = lines.map((l, i) => [i + 1, l.endsWith('\r') ? l.slice(0, -1) : l]);
          expect(split(chunks).lines).toEqual(expected);
        },
      ),
    );
  });

  it('a sink taking bytes gets the same lines, numbers and warnings as one taking strings (property)', () => {
    class Bytes extends Collect {
      onLineBytes(buf: Buffer, start: number, end: number, lineNo: number): void {
        this.lines.push([lineNo, buf.toString('latin1', start, end)]);
      }
    }
    // ASCII chunks take the byte path, the others (é, NUL, a cut UTF-8 character) the string path
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z \r\0é]{0,30}$/), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 5, max: 40 }),
        fc.boolean(),
        (lines, cuts, max, cutLast) => {
          const text = Buffer.from(lines.join('\n') + (cutLast ? '' : '\n'));
          const run = (sink: Collect) => {
            const sp = new LineSplitter(max);
            let p = 0;
            for (let i = 0; p < text.length; i++) {
              const n = cuts[i % cuts.length]!;
              sp.push(text.subarray(p, p + n), sink);
              p += n;
            }
            const dropped = sp.end(sink, cutLast);
            return { lines: sink.lines, long: sink.long, binary: sink.binary, dropped, lineNo: sp.lineNo };
          };
          expect(run(new Bytes())).toEqual(run(new Collect()));
        },
      ),
      { numRuns: 500 },
    );
  });
});


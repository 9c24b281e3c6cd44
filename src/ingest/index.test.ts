// openTrace(): inputs, compression, sniffing, multi-file streams, warnings and bad input.
// Text snippets are real lines from fixtures/native-6.18-2cpu/mt-mixed (ftrace.txt.gz).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { constants as zc, gunzipSync, gzipSync } from 'node:zlib';
import { Diagnostics } from './diagnostics.js';
import { InputError } from '../errors.js';
import { BATCH_SIZE, openTrace } from './index.js';
import { BODY, countEvents, HEADER, L, readAll } from './testutil.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const MT_MIXED = FIXTURES + 'native-6.18-2cpu/mt-mixed/';


let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tlbtrace-ingest-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

const text = (lines: string[], eol = '\n') => lines.join(eol) + eol;

describe('openTrace: inputs and formats', () => {
  it('reads plain text and gzip alike, sniffing the format', async () => {
    const plain = await readAll([file('plain.txt', text([...HEADER, ...BODY]))]);
    const gz = await readAll([file('plain.txt.gz', gzipSync(text([...HEADER, ...BODY])))]);
    expect(plain.meta.format).toBe('ftrace');
    expect(plain.events).toHaveLength(9);
    expect(gz.events).toEqual(plain.events);
    expect(plain.meta).toMatchObject({ declaredCpus: 2, entriesInBuffer: 33429, entriesWritten: 33429, tgidKnown: true, lines: 15, truncated: false });
    expect(plain.diag.total).toBe(0);
    expect(plain.events[0]).toEqual({ kind: 'tlb_flush', ts: 1354137805000, cpu: 0, pid: 5045, tgid: 5045, comm: 'bash', hardirq: false, line: 7, reason: 4, pages: -1 });
    expect(plain.events[4]).toMatchObject({ kind: 'call_function_single_entry', comm: '<idle>', pid: 0, tgid: -1, hardirq: true, cpu: 1 });
  });

  it('reads zstd (node:zlib or WebAssembly streaming)', async () => {
    // two zstd frames (zstd -19 of lines 1-20 and of lines 21-40 of
    // fixtures/native-6.18-2cpu/mt-mixed/ftrace.txt.gz, concatenated): 12 header lines, 28 events
    const zst = Buffer.from(
      'KLUv/QRopRAAxppVIPAYPcBmgmWRaK0fn/gOyigoinnliKq3b3vKwuIw3D4VSQBRAEkAn7ZM+dpcu1W36c/R/mPqln1PVPW10QKxOO6L2pSvO7RID5MTcHeLccgwzCf+vW9GWfk5LhRFfKP+mzd+DwACAPDDPvNvNW8PBB5HRd72iZALBXYZMgR2uRsug8HgISklyAcCRCYRsdNVBFj5SrO5eCKaD8Wdk3l4OpPMZRX4cCIVyYUTMZ2HR1W9t79rHt1St8G3cYOl/wxuLlKj2oZDzmUiJS15SEkCSdcStfjbaLfVp/jTfl/teXXzS/MZghv98EMTtXrzmTgMMoFb/NovnIv//kqfJ/50/exXnPpHFfTZ6TCLC3HQ8re3P/lUXN0VZXS8Z29j39QAEzhGfXZ/X6c9k/HPywpThWVWXhsMc/6NL31vhK++m4IlTbebH/9II21VRC94fSoWcsFgXIxET6ChrUMiwYxMkIK2kGENYMYQCVYd/YSmZcyJk5K3JYwZeng4hAsNdxEbgLFx1g4pI6s0AAK8iPf4KgGJa8gNTaNLxJwA3QsBdlb38JYWCNgwOIYjkVqWdky/F/+qcXq5IFezyMC4nKfL+n+tHg6YA1R8b//rCjwCA+d9m8QOF6aBNbkhEIhRAFgHayyhBNTz2ovQylFGPPBxMRaOig1K5GuOm8IOcxS3M4KG4zphNvI6MJCerYxFzyKWGk6q1KgotS/9BGi1CABCDi0ZQNcDvXXUOZ5Yz4XQ9lIuxtQkCABuhusYE0gtppIctZhJclSKKIgVjOA7kWuQc6z/8/xGZb7R4iik1NNivWVYZnTmPcNxPP/VPm7h3nfmn4f1xnL/e1j50/z/wNZpCaxT1QPJTBSFKsdkBsz8BbNx445nYO5CC+ueAcEGH0HOXx3/xN8g5/Z3O96p/f28fV+U9xfr4WbhagP/KjVBDCqrNei/pJjUP9E5pReI4CfR7E1nywcqIBBnZNYNcIqSnpIyJW1JKkp6SsqUVCgpJilTUlHSq6SYpExJRSG9EJMtiMs2wcaRBoEoYsRoBqwq0U/XtN4GcFD/D5yNbE8ZRCWuMAZmjTU22BZFa1j0lvHAxhX8CrkayU4=',
      'base64',
    );
    const r = await readAll([file('head.txt.zst', zst)]);
    expect(r.meta.format).toBe('ftrace');
    expect(r.events).toHaveLength(28);
    expect(r.meta.lines).toBe(40);
    expect(r.diag.total).toBe(0);
    const gz = gunzipSync(readFileSync(MT_MIXED + 'ftrace.txt.gz')).toString('utf8').split('\n').slice(0, 40).join('\n') + '\n';
    expect((await readAll([file('head.txt', gz)])).events).toEqual(r.events);

    // cut inside the second frame: the first frame's 8 events, a truncated-input warning, no throw
    const cut = await readAll([file('cut.zst', zst.subarray(0, 600))]);
    expect(cut.meta.truncated).toBe(true);
    expect(cut.diag.byCode()).toEqual({ 'truncated-input': 1 });
    expect(cut.events).toEqual(r.events.slice(0, 8));
    // cut before anything decodes: nothing to sniff, an InputError that says why
    await expect(openTrace([file('cut0.zst', zst.subarray(0, 100))], {}, new Diagnostics())).rejects.toThrow(/zstd stream ends early.*nothing could be read/);
  });

  it('reads stdin when the path is -', async () => {
    const saved = Object.getOwnPropertyDescriptor(process, 'stdin')!;
    Object.defineProperty(process, 'stdin', { configurable: true, value: Readable.from([gzipSync(text([...HEADER, ...BODY]))]) });
    try {
      const r = await readAll(['-']);
      expect(r.meta.files).toEqual(['<stdin>']);
      expect(r.events).toHaveLength(9);
    } finally {
      Object.defineProperty(process, 'stdin', saved);
    }
  });

  it('several paths are one stream: counts add up, line numbers restart per file', async () => {
    const whole = gunzipSync(readFileSync(MT_MIXED + 'ftrace.txt.gz')).toString('utf8');
    const lines = whole.split('\n');
    const half = 20000;
    const a = file('part1.txt', lines.slice(0, half).join('\n') + '\n');
    const b = file('part2.txt', lines.slice(half).join('\n'));
    const one = await readAll([MT_MIXED + 'ftrace.txt.gz']);
    const two = await readAll([a, b]);
    expect(two.meta.files).toEqual([a, b]);
    expect(countEvents(two.events)).toEqual(countEvents(one.events));
    expect(two.meta.lines).toBe(one.meta.lines);
    expect(two.events[half - 12]!.line).toBe(1); // first line of part2
    expect(two.diag.total).toBe(0);
  });

  it('inputs of different formats cannot be combined', async () => {
    await expect(openTrace([MT_MIXED + 'ftrace.txt.gz', MT_MIXED + 'trace-cmd-report.txt.gz'], {}, new Diagnostics())).rejects.toThrow(
      /trace-cmd text but .* is ftrace/,
    );
  });

  it('opts.format skips sniffing', async () => {
    const r = await readAll([file('forced.txt', text(BODY))], { format: 'ftrace' });
    expect(r.meta.format).toBe('ftrace');
    expect(r.events).toHaveLength(9);
    // forced to the wrong grammar: every line is a warning, nothing throws
    const w = await readAll([file('forced2.txt', text(BODY))], { format: 'perf-script' });
    expect(w.events).toHaveLength(0);
    expect(w.diag.counts.get('malformed-line')).toBe(9);
  });

  it('hands events out in batches of about 4096', async () => {
    const r = await readAll([FIXTURES + 'native-6.18-2cpu/sng-tlb-shootdown/ftrace.txt.gz']);
    expect(r.batches.length).toBeGreaterThan(10);
    for (const n of r.batches.slice(0, -1)) {
      expect(n).toBeGreaterThanOrEqual(BATCH_SIZE);
      expect(n).toBeLessThan(BATCH_SIZE * 2);
    }
  });

  it('a consumer may stop early', async () => {
    const src = await openTrace([FIXTURES + 'native-6.18-2cpu/sng-tlb-shootdown/ftrace.txt.gz'], {}, new Diagnostics());
    for await (const b of src.events()) {
      expect(b.length).toBeGreaterThan(0);
      break;
    }
    expect(src.meta.lines).toBeGreaterThan(0);
  });

  it('events() can be iterated once', async () => {
    const src = await openTrace([file('once.txt', text([...HEADER, ...BODY]))], {}, new Diagnostics());
    for await (const _ of src.events()) void _;
    expect(() => src.events()).toThrow(/once/);
  });

  it('reports progress in raw bytes', async () => {
    const seen: [number, number | undefined][] = [];
    const p = MT_MIXED + 'ftrace.txt.gz';
    await readAll([p], { onProgress: (a, b) => seen.push([a, b]) });
    const size = readFileSync(p).length;
    expect(seen.at(-1)).toEqual([size, size]);
  });

  it('dispatches trace.dat to src/ingest/tracedat when that reader exists', async () => {
    const dat = MT_MIXED + 'trace.dat';
    const haveReader = existsSync(fileURLToPath(new URL('./tracedat/index.ts', import.meta.url)));
    if (haveReader) {
      const src = await openTrace([dat], {}, new Diagnostics());
      expect(src.meta.format).toBe('trace-dat');
    } else {
      await expect(openTrace([dat], {}, new Diagnostics())).rejects.toThrow(/trace\.dat input is not supported/);
    }
    await expect(openTrace([dat, MT_MIXED + 'ftrace.txt.gz'], {}, new Diagnostics())).rejects.toThrow(/trace\.dat cannot be combined/);
    await expect(openTrace([file('dat.gz', gzipSync(readFileSync(dat).subarray(0, 4096)))], {}, new Diagnostics())).rejects.toThrow(/compressed trace\.dat/);
  });
});

describe('openTrace: bad input', () => {
  async function notATrace(content: string | Buffer, name: string): Promise<InputError> {
    const p = file(name, content);
    const err = await openTrace([p], {}, new Diagnostics()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe(p);
    return err as InputError;
  }

  it('plain text, JSON, CSV, binary garbage, empty input: InputError "not a trace"', async () => {
    const plain = await notATrace('Hello world\nthis is not a trace\n', 'hello.txt');
    expect(plain.message).toMatch(/not a trace: expected raw ftrace, trace-cmd report or perf script text \(first line: "Hello world"\)/);
    expect(plain.line).toBe(1);
    await notATrace('{"traceEvents":[{"name":"a","ph":"X","ts":1}]}\n', 'trace.json');
    await notATrace('ts,cpu,event\n1.0,0,tlb_flush\n', 'trace.csv');
    const garbage = Buffer.alloc(100_000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 256;
    expect((await notATrace(garbage, 'garbage.bin')).message).toMatch(/not a trace/);
    expect((await notATrace(gzipSync(garbage), 'garbage.bin.gz')).message).toMatch(/not a trace/);
    expect((await notATrace('', 'empty.txt')).message).toMatch(/empty/);
  });

  it('a missing file is an InputError', async () => {
    await expect(openTrace([join(dir, 'nope.txt')], {}, new Diagnostics())).rejects.toThrow(InputError);
  });

  it('malformed line: warning with file:line, the other lines still parse', async () => {
    const p = file('malformed-line.txt', text([...HEADER, L.flush4, 'this line is not ftrace', L.queue]));
    const r = await readAll([p]);
    expect(r.events).toHaveLength(2);
    expect(r.diag.byCode()).toEqual({ 'malformed-line': 1 });
    expect(r.diag.examples[0]).toMatchObject({ file: p, line: 8, code: 'malformed-line' });
    expect(r.diag.examples[0]!.message).toMatch(/expected a ftrace line/);
  });

  it('malformed payload of a known event: warning, line skipped', async () => {
    const bad = L.flush4.replace('(4)', '');
    const p = file('malformed-payload.txt', text([...HEADER, bad, L.queue]));
    const r = await readAll([p]);
    expect(r.events.map((e) => e.kind)).toEqual(['csd_queue_cpu']);
    expect(r.diag.byCode()).toEqual({ 'malformed-payload': 1 });
    expect(r.diag.examples[0]).toMatchObject({ file: p, line: 7 });
    expect(r.diag.examples[0]!.message).toMatch(/tlb_flush: expected a trailing `\(reason number\)`/);
  });

  it('unknown events are counted as `other`, not warned about', async () => {
    const wake = '            bash-5045    (   5045) [000] d..3.  1354.137808: sched_wakeup: comm=kworker/0:1 pid=12 prio=120 target_cpu=000';
    const r = await readAll([file('unknown.txt', text([...HEADER, L.flush4, wake]))]);
    expect(r.diag.total).toBe(0);
    expect(r.events[1]).toMatchObject({ kind: 'other', name: 'sched_wakeup', pid: 5045, cpu: 0 });
  });

  it('truncated gzip: events so far, meta.truncated, truncated-input warning, no throw', async () => {
    const gz = readFileSync(MT_MIXED + 'ftrace.txt.gz');
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
    // independent count: zlib's sync flush decodes what the cut stream holds; complete lines only
    const partial = gunzipSync(cut, { finishFlush: zc.Z_SYNC_FLUSH }).toString('utf8');
    const complete = partial.slice(0, partial.lastIndexOf('\n') + 1).split('\n').filter((l) => l.length > 0 && !l.startsWith('#')).length;
    const p = file('cut.txt.gz', cut);
    const r = await readAll([p]);
    expect(r.meta.truncated).toBe(true);
    expect(r.events).toHaveLength(complete);
    expect(r.diag.byCode()).toEqual({ 'truncated-input': 1 });
    expect(r.diag.examples[0]!.message).toMatch(/gzip stream ends early.*last, incomplete line was dropped/);
  });

  it('CRLF line ends parse like LF', async () => {
    const lf = await readAll([file('lf.txt', text([...HEADER, ...BODY]))]);
    const crlf = await readAll([file('crlf.txt', text([...HEADER, ...BODY], '\r\n'))]);
    expect(crlf.diag.total).toBe(0);
    expect(crlf.events).toEqual(lf.events);
  });

  it('NUL bytes and invalid UTF-8 inside lines: warnings, no crash', async () => {
    const nul = Buffer.concat([
      Buffer.from(text([...HEADER, L.flush4])),
      Buffer.from([0x00, 0x00, 0x00, 0xff, 0xfe, 0x0a]), // a line of NULs and bad bytes (a hole in a crashed file)
      Buffer.from(L.queue.replace('func=flush_tlb_func', 'func=flush\u0000tlb')),
      Buffer.from('\n' + L.ipi + '\n'),
    ]);
    const r = await readAll([file('nul.txt', nul)]);
    // text traces never hold NUL: both lines with one are skipped, each with a warning
    expect(r.events.map((e) => e.kind)).toEqual(['tlb_flush', 'ipi_send_cpu']);
    expect(r.diag.byCode()).toEqual({ 'malformed-line': 2 });
    expect(r.diag.examples.map((x) => [x.line, x.message])).toEqual([
      [8, 'NUL byte at column 1 (binary data or a zero-filled hole, not trace text); line skipped'],
      [9, expect.stringMatching(/^NUL byte at column \d+ /)],
    ]);
  });

  it('over-long line: skipped with a warning, memory bounded, next lines fine', async () => {
    const long = L.flush4 + ' ' + 'x'.repeat(5000);
    const r = await readAll([file('long.txt', text([...HEADER, L.flush4, long, L.queue]))], { maxLineLength: 1000 });
    expect(r.events.map((e) => e.kind)).toEqual(['tlb_flush', 'csd_queue_cpu']);
    expect(r.diag.byCode()).toEqual({ 'line-too-long': 1 });
    expect(r.diag.examples[0]).toMatchObject({ line: 8 });
    expect(r.events[1]!.line).toBe(9);
  });

  it('timestamps going backwards on one CPU: ts-backwards warning, event kept', async () => {
    // CPU 1 goes 1354.137848 -> 1354.137846 (flagged, kept in place); CPU 0's earlier event
    // printed after CPU 1's (trace_pipe interleaving) is merged back into time order
    const back = L.cfse.replace('1354.137847', '1354.137846');
    const r = await readAll([file('back.txt', text([...HEADER, L.entry1, L.flush4, back]))]);
    expect(r.events.map((e) => e.line)).toEqual([8, 7, 9]);
    expect(r.diag.byCode()).toEqual({ 'ts-backwards': 1, 'ts-reordered': 1 });
    expect(r.diag.examples.find((x) => x.code === 'ts-backwards')).toMatchObject({ line: 9 });
  });

  it('lost-events markers become lost_events events on their CPU', async () => {
    const r = await readAll([file('lost.txt', text([...HEADER, L.flush4, 'CPU:1 [LOST 250 EVENTS]', L.cfse]))]);
    expect(r.events[1]).toMatchObject({ kind: 'lost_events', cpu: 1, count: 250, line: 8, ts: 1354137805000 });
    const tc = await readAll([file('lost-tc.txt', 'cpus=2\n            bash-5045  [000]  1354.137805: tlb_flush:            pages=-1 reason= (4)\nCPU:0 [97270 EVENTS DROPPED]\nCPU:1 [EVENTS DROPPED]\n')]);
    expect(tc.events.slice(1).map((e) => [e.kind, e.cpu, (e as { count: number }).count])).toEqual([
      ['lost_events', 0, 97270],
      ['lost_events', 1, -1],
    ]);
  });

  it('--strict: the first warning throws', async () => {
    const p = file('strict.txt', text([...HEADER, L.flush4, 'garbage line']));
    await expect(readAll([p], {}, new Diagnostics({ strict: true }))).rejects.toThrow(/malformed-line.*--strict/);
  });
});

// The N-copy trace.dat writer on a real v6 file (fixtures/tracedat-variants/mt-munmap.v6.dat.gz,
// 8 CPUs, 5706 events), read back with tlbtrace's own trace.dat reader and, where installed, with
// trace-cmd itself.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../events/types.js';
import { Diagnostics } from '../ingest/diagnostics.js';
import { openTrace } from '../ingest/index.js';
import { RandomAccessFile } from '../ingest/tracedat/file.js';
import { readTraceDatInfo } from '../ingest/tracedat/header.js';
import { DatCopiesError, writeDatCopies, type DatCopiesResult } from './datcopies.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const V6 = join(ROOT, 'fixtures/tracedat-variants/mt-munmap.v6.dat.gz');
const V7 = join(ROOT, 'fixtures/qemu-6.1-8cpu/mt-munmap/trace.dat');
const EVENTS = 5706;

let tmp = '';
let v6 = Buffer.alloc(0);
let one: TraceEvent[] = [];

async function readAll(path: string): Promise<{ events: TraceEvent[]; warnings: number }> {
  const diag = new Diagnostics();
  const src = await openTrace([path], {}, diag);
  const events: TraceEvent[] = [];
  for await (const batch of src.events()) for (const e of batch) events.push(e);
  let warnings = 0;
  for (const n of diag.counts.values()) warnings += n;
  return { events, warnings };
}

/** events of copy k equal the input's with ts + k * shift, in the same order */
function expectCopies(events: TraceEvent[], base: TraceEvent[], r: DatCopiesResult): void {
  expect(events.length).toBe(base.length * r.copies);
  // (as JSON lines: a deep toEqual of 17k objects takes most of a second)
  const want = base.map((e) => JSON.stringify(e));
  for (let k = 0; k < r.copies; k++) {
    const got = events.slice(k * base.length, (k + 1) * base.length).map((e) => JSON.stringify({ ...e, ts: e.ts - k * r.shift }));
    const i = got.findIndex((g, j) => g !== want[j]);
    if (i >= 0) expect({ copy: k, index: i, event: got[i] }).toEqual({ copy: k, index: i, event: want[i] });
  }
  const last = new Map<number, number>();
  const backwards = events.filter((e) => {
    const b = e.ts < (last.get(e.cpu) ?? 0);
    last.set(e.cpu, e.ts);
    return b;
  });
  expect(backwards).toEqual([]);
}

const traceCmd = spawnSync('trace-cmd', ['--version'], { encoding: 'utf8' }).status !== null;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-datcopies-'));
  v6 = gunzipSync(readFileSync(V6));
  writeFileSync(join(tmp, 'v6.dat'), v6);
  one = (await readAll(join(tmp, 'v6.dat'))).events;
  expect(one.length).toBe(EVENTS);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('N-copy trace.dat', () => {
  it('3 copies read back as the input three times, each shifted by the span + 1 s', async () => {
    const out = join(tmp, 'x3.dat');
    const r = await writeDatCopies(join(tmp, 'v6.dat'), out, 3);
    expect(r.records).toBe(EVENTS);
    expect(one[0]!.ts).toBe(r.firstTs);
    expect(Math.max(...one.map((e) => e.ts))).toBe(r.lastTs);
    expect(r.shift).toBe(r.lastTs - r.firstTs + 1e9);
    const { events, warnings } = await readAll(out);
    expect(warnings).toBe(0);
    expectCopies(events, one, r);
  });

  it('trace-cmd report reads the copies (skipped without trace-cmd)', async (ctx) => {
    if (!traceCmd) ctx.skip();
    const out = join(tmp, 'x3.dat'); // written by the test before
    const p = spawnSync('trace-cmd', ['report', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(p.status).toBe(0);
    const ts = p.stdout
      .split('\n')
      .map((l) => /\] +(\d+\.\d+):/.exec(l)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number);
    expect(ts.length).toBe(3 * EVENTS);
    expect(ts.findIndex((t, i) => i > 0 && t < ts[i - 1]!)).toBe(-1);
  });

  it('moves TIME_STAMP (absolute) entries with their copy', async () => {
    // Append to the last page of CPU 0 a TIME_STAMP entry 500 ns after its last event, then a
    // copy of the page's first record (delta 0): one more event, at an absolute time.
    const file = await RandomAccessFile.open(join(tmp, 'v6.dat'));
    const info = await readTraceDatInfo(file);
    await file.close();
    const cpu0 = info.cpuData.find((c) => c.cpu === 0)!;
    const page = cpu0.offset + cpu0.size - info.pageSize;
    const data = page + info.headerPage.dataOffset;
    const b = Buffer.from(v6);
    const size = b.readUInt32LE(page + 8) & ((1 << 27) - 1);
    const first = b.readUInt32LE(data);
    expect(first & 31).toBeGreaterThan(0); // a data record of (first & 31) * 4 bytes
    const recLen = 4 + (first & 31) * 4;
    expect(size + 8 + recLen).toBeLessThanOrEqual(info.pageSize - info.headerPage.dataOffset);
    const lastCpu0 = Math.max(...one.filter((e) => e.cpu === 0).map((e) => e.ts));
    const at = lastCpu0 + 500;
    let p = data + size;
    b.writeUInt32LE((((at % 2 ** 27) << 5) | 31) >>> 0, p);
    b.writeUInt32LE(Math.floor(at / 2 ** 27), p + 4);
    p += 8;
    b.copy(b, p, data, data + recLen);
    b.writeUInt32LE(first & 31, p); // delta 0
    b.writeUInt32LE((b.readUInt32LE(page + 8) & ~((1 << 27) - 1)) | (size + 8 + recLen), page + 8);
    writeFileSync(join(tmp, 'stamp.dat'), b);

    const r = await writeDatCopies(join(tmp, 'stamp.dat'), join(tmp, 'stamp3.dat'), 3);
    expect(r.records).toBe(EVENTS + 1);
    const { events, warnings } = await readAll(join(tmp, 'stamp3.dat'));
    expect(warnings).toBe(0);
    // copy 0 is the input plus the new event (reading stamp.dat itself would cost another 0.3 s)
    const base = events.slice(0, EVENTS + 1);
    const added = base.findIndex((e) => e.ts === at && e.cpu === 0);
    expect(added).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(base.filter((_, i) => i !== added))).toBe(JSON.stringify(one));
    expectCopies(events, base, r);
  });

  it('refuses what it cannot shift', async () => {
    // v7 (compressed chunks)
    await expect(writeDatCopies(V7, join(tmp, 'no.dat'), 2)).rejects.toThrow(/file version 6/);
    // bytes after the per-CPU data
    writeFileSync(join(tmp, 'tail.dat'), Buffer.concat([v6, Buffer.alloc(4096)]));
    await expect(writeDatCopies(join(tmp, 'tail.dat'), join(tmp, 'no.dat'), 2)).rejects.toThrow(DatCopiesError);
    await expect(writeDatCopies(join(tmp, 'v6.dat'), join(tmp, 'no.dat'), 0)).rejects.toThrow(/copies/);
    // a BUFFER option (another instance's data): the UNAME option's id turned into BUFFER's (3)
    const b = Buffer.from(v6);
    let o = b.indexOf('options  \0', 0, 'latin1') + 10;
    while (b.readUInt16LE(o) !== 5) o += 6 + b.readUInt32LE(o + 2);
    b.writeUInt16LE(3, o);
    writeFileSync(join(tmp, 'buffer.dat'), b);
    await expect(writeDatCopies(join(tmp, 'buffer.dat'), join(tmp, 'no.dat'), 2)).rejects.toThrow(/BUFFER/);
    expect(existsSync(join(tmp, 'no.dat'))).toBe(false);
  });
});

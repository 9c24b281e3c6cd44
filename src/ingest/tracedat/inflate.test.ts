// Decompression on a worker thread (inflate.ts) gives exactly the events, warnings and meta of
// in-thread decompression, for a good file, a cut one and one with a corrupt chunk, and never
// keeps the process alive. The worker runs from the compiled dist/ (npm test builds first): under
// vitest the .ts sources have no inflate-worker.js next to them, so the reader imported from src/
// falls back to in-thread decompression, which is the reference here.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../events/types.js';
import { Diagnostics } from '../diagnostics.js';
import type { TraceMeta } from '../source.js';
import { RandomAccessFile } from './file.js';
import { readTraceDatInfo, type TraceDatInfo } from './header.js';
import { openTraceDat } from './index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const ORIGINAL = join(ROOT, 'fixtures/qemu-6.1-8cpu/mt-munmap/trace.dat');
const DIST = join(ROOT, 'dist/ingest/tracedat/index.js');
const hasDist = existsSync(join(ROOT, 'dist/ingest/tracedat/inflate-worker.js'));

type Open = typeof openTraceDat;
let distOpen: Open;
let tmp = '';
let info: TraceDatInfo;

interface Result {
  events: TraceEvent[];
  warnings: string[];
  meta: TraceMeta;
}

async function decodeAll(open: Open, path: string, workerMinBytes: number): Promise<Result> {
  const diag = new Diagnostics();
  const src = await open(path, {}, diag, { workerMinBytes });
  const events: TraceEvent[] = [];
  for await (const batch of src.events()) for (const e of batch) events.push(e);
  return { events, warnings: diag.examples.map((x) => `${x.code}: ${x.message}`), meta: src.meta };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-inflate-'));
  if (hasDist) distOpen = ((await import(pathToFileURL(DIST).href)) as { openTraceDat: Open }).openTraceDat;
  const f = await RandomAccessFile.open(ORIGINAL);
  try {
    info = await readTraceDatInfo(f);
  } finally {
    await f.close();
  }
  expect(info.compression).toBe('zstd');
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function variant(name: string): Buffer {
  const full = readFileSync(ORIGINAL);
  const big = info.cpuData.reduce((a, x) => (x.size > a.size ? x : a));
  // cut in the middle of the largest CPU's chunks
  const cut = full.subarray(0, big.offset + Math.floor(big.size / 2));
  // second chunk of that CPU scribbled over
  const bad = Buffer.from(full);
  const first = bad.readUInt32LE(big.offset + 4);
  const second = big.offset + 4 + 8 + first;
  bad.fill(0xa5, second + 8 + 4, second + 8 + 60);
  return name === 'cut' ? cut : name === 'corrupt chunk' ? bad : full;
}

describe.skipIf(!hasDist)('decompression worker', () => {
  it.each(['intact', 'cut', 'corrupt chunk'])('%s: same events, warnings and meta as in-thread', async (name) => {
    const p = join(tmp, `${name.replace(/\W+/g, '-')}.dat`);
    writeFileSync(p, variant(name));
    const here = await decodeAll(openTraceDat, p, Infinity);
    const worker = await decodeAll(distOpen, p, 0);
    expect(worker.events.length).toBe(here.events.length);
    expect(worker.events).toEqual(here.events);
    expect(worker.warnings).toEqual(here.warnings);
    expect(worker.meta).toEqual(here.meta);
    if (name === 'cut') expect(worker.meta.truncated).toBe(true);
    if (name === 'corrupt chunk') expect(worker.warnings.some((w) => w.startsWith('corrupt-data'))).toBe(true);
  });

  it('stopping after the first batch, or never finishing, leaves the process free to exit', () => {
    for (const stop of ['break', 'abandon']) {
      const script = `
        const { openTraceDat } = await import(${JSON.stringify(pathToFileURL(DIST).href)});
        const { Diagnostics } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/ingest/diagnostics.js')).href)});
        const src = await openTraceDat(${JSON.stringify(ORIGINAL)}, {}, new Diagnostics(), { workerMinBytes: 0 });
        const it = src.events()[Symbol.asyncIterator]();
        const first = await it.next();
        if (${JSON.stringify(stop)} === 'break') await it.return();
        console.log(first.value.length);
      `;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(0);
      expect(Number(r.stdout.trim())).toBeGreaterThan(0);
    }
  });
});

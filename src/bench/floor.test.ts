// The benchmark's floors on a real capture (fixtures/native-6.18-2cpu/mt-mixed): what they count
// was checked independently: `zcat trace-cmd-report.txt.gz | wc -l` gives 33,430 lines (the
// `cpus=2` header and 33,429 events), and `grep -cE '\[[0-9]+\] +[0-9]+\.[0-9]+: '` over the
// text and over `trace-cmd report -i trace.dat` gives 33,429 event lines each: one trace.dat
// record per event.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runFloor } from './floor.js';

const DIR = fileURLToPath(new URL('../../fixtures/native-6.18-2cpu/mt-mixed/', import.meta.url));
const DAT = join(DIR, 'trace.dat');
const TEXT = join(DIR, 'trace-cmd-report.txt.gz');

describe('benchmark floors', () => {
  it('read walks every trace.dat record and counts every text line', async () => {
    expect(await runFloor('read', DAT)).toEqual({ stage: 'read', count: 33_429, unit: 'records' });
    expect(await runFloor('read', TEXT)).toEqual({ stage: 'read', count: 33_430, unit: 'lines' });
  });

  it('ingest yields every event of both forms', async () => {
    expect(await runFloor('ingest', DAT)).toEqual({ stage: 'ingest', count: 33_429, unit: 'events' });
    expect(await runFloor('ingest', TEXT)).toEqual({ stage: 'ingest', count: 33_429, unit: 'events' });
  });

  it('a trace.dat cut inside its trace data fails instead of counting short', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-floor-'));
    try {
      const cut = join(tmp, 'cut.dat');
      const bytes = readFileSync(DAT);
      writeFileSync(cut, bytes.subarray(0, bytes.length - 100_000));
      await expect(runFloor('read', cut)).rejects.toThrow(/cut\.dat/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

// The whole analysis of a trace.dat against that of its own `trace-cmd report` text, on every
// fixture that has both (real recordings; the text was made by trace-cmd 3.1.6 from the very
// trace.dat, see fixtures/README.md).
//
// The two inputs hold the same records, but the text lost two things on the way: timestamps are
// printed in microseconds (trace-cmd rounds the nanoseconds: (ns + 500) / 1000, while it orders
// the records by their nanoseconds), and without `-l` the report has no flags column, so hardirq
// is unknown. Given the trace.dat's events with exactly that taken away, the summaries must be
// identical, every number of them (only input.files and input.format name the file). Anything
// else that differs is the reader, a text parser or the model treating the two differently.
// Checked the same way by hand on all 16 shared captures (../shared/traces), the two big ones
// included: identical.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../events/types.js';
import { Diagnostics } from '../ingest/diagnostics.js';
import { openTrace } from '../ingest/index.js';
import type { TraceSource } from '../ingest/source.js';
import { analyzeSource, analyzeTrace } from './analyze.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

function fixturesWithBoth(): string[] {
  const out: string[] = [];
  for (const set of readdirSync(FIXTURES, { withFileTypes: true })) {
    if (!set.isDirectory()) continue;
    for (const cap of readdirSync(join(FIXTURES, set.name), { withFileTypes: true })) {
      const dir = join(FIXTURES, set.name, cap.name);
      if (cap.isDirectory() && existsSync(join(dir, 'trace.dat')) && existsSync(join(dir, 'trace-cmd-report.txt.gz'))) out.push(`${set.name}/${cap.name}`);
    }
  }
  return out.sort();
}

/** the trace.dat's events as the report prints them: microsecond timestamps, no flags column */
async function asReported(path: string): Promise<{ source: TraceSource; diag: Diagnostics }> {
  const diag = new Diagnostics();
  const dat = await openTrace([path], {}, diag);
  const source: TraceSource = {
    meta: dat.meta,
    async *events() {
      for await (const batch of dat.events()) {
        yield batch.map((e): TraceEvent => ({ ...e, ts: Math.floor((e.ts + 500) / 1000) * 1000, hardirq: undefined }));
      }
    },
  };
  return { source, diag };
}

const CASES = fixturesWithBoth();

describe('trace.dat vs its trace-cmd report: the same summary', () => {
  it('has fixtures to compare', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(6);
  });

  it.each(CASES)('%s', async (fixture) => {
    const dir = join(FIXTURES, fixture);
    const text = await analyzeTrace([join(dir, 'trace-cmd-report.txt.gz')]);
    const { source, diag } = await asReported(join(dir, 'trace.dat'));
    const dat = await analyzeSource(source, diag);
    expect(dat.input.format).toBe('trace-dat');
    expect(text.input.format).toBe('trace-cmd');
    const strip = (s: typeof text) => ({ ...s, input: { ...s.input, files: [], format: '' } });
    expect(strip(dat)).toEqual(strip(text));
    // and the comparison has something in it (flush callbacks, or flushes by hypercall)
    expect(text.observed.remoteShootdowns.total + (text.observed.mechanism?.remoteFlushRequests ?? 0)).toBeGreaterThan(0);
  }, 60_000);
});

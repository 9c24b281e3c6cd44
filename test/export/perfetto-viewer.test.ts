// The Perfetto export in a real consumer: catapult's trace viewer (the code behind chrome://tracing)
// running in headless Chromium. Its importer builds the model a person would look at: slices per
// thread, flow events, counters, and import warnings for anything it could not place.
//
// Needs two things this repository cannot install by itself, so the test skips without them:
//   - Chromium: `apt-get install chromium` (Debian);
//   - the viewer: catapult's `tracing/bin/trace2html ANY.json --output viewer.html` (Python 3, from a
//     checkout of github.com/catapult-project/catapult; trace2html inlines the whole viewer into one
//     HTML file), named by TLBTRACE_TRACE_VIEWER=/path/to/viewer.html.
// Chrome's own chrome://tracing page is no help here: Chromium 156 refuses internal pages headless.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PerfettoSink } from '../../src/export/perfetto.js';
import { analyzeWith, FIXTURES, pairedTargets, SHARED } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const viewer = process.env.TLBTRACE_TRACE_VIEWER;
const ready = viewer !== undefined && existsSync(viewer) && existsSync(CHROMIUM);

describe.skipIf(!ready)('catapult trace viewer in Chromium', () => {
  it('imports every slice, flow and counter without a warning', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      await page.goto(`file://${viewer}`);
      await page.waitForFunction(() => typeof (globalThis as { tr?: unknown }).tr !== 'undefined');
      const inputs = [join(FIXTURES, 'native-6.18-2cpu/mt-mixed/trace.dat'), join(FIXTURES, 'qemu-6.1-8cpu/reclaim-mmap/trace.dat')];
      const shared = join(SHARED, 'qemu-6.12-8cpu/collapse/trace.dat');
      if (existsSync(shared)) inputs.push(shared);
      const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-viewer-'));
      for (const input of inputs) {
        const out = join(dir, 'trace.json');
        const sink = new PerfettoSink({ path: out });
        const summary = await analyzeWith(input, [sink]);
        const model = await page.evaluate((json: string) => {
          const tr = (globalThis as unknown as { tr: any }).tr; // eslint-disable-line @typescript-eslint/no-explicit-any
          const m = new tr.Model();
          new tr.importer.Import(m, new tr.importer.ImportOptions()).importTraces([json]);
          let slices = 0;
          for (const t of m.getAllThreads()) slices += t.sliceGroup.slices.length;
          let counters = 0;
          for (const p of Object.values(m.processes) as Array<{ counters: object }>) counters += Object.keys(p.counters).length;
          return { flows: m.flowEvents.length as number, slices, counters, warnings: (m.importWarnings as Array<{ message: string }>).map((w) => w.message) };
        }, readFileSync(out, 'utf8'));
        expect(model.warnings, input).toEqual([]);
        expect(model.flows, input).toBe(pairedTargets(summary));
        expect(model.slices, input).toBe(sink.stats.requests + sink.stats.callbacks + sink.stats.taskSlices);
        expect(model.counters, input).toBeGreaterThan(0);
      }
    } finally {
      await browser.close();
    }
  }, 240_000);
});

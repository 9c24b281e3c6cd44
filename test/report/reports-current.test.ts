// reports/ is what a visitor opens first: it must show what the code gives today. Each committed
// report summary is compared with a fresh analysis of its capture (every golden number:
// src/check/metrics.ts), and its HTML must embed that same summary. Regenerate with
// `npm run reports`. Captures missing from ../shared are skipped.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { goldenMetrics } from '../../src/check/metrics.js';
import { REPORT_CAPTURES, ROOT, reportSummary } from '../../src/tools/reports.js';

describe.each(REPORT_CAPTURES)('reports/$name', (c) => {
  it.skipIf(!existsSync(c.file))('is current (npm run reports regenerates it)', async () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'reports', `${c.name}.json`), 'utf8'));
    const fresh = await reportSummary(c);
    expect(goldenMetrics(committed), 'reports/ is stale: run `npm run reports`').toEqual(goldenMetrics(fresh));
    expect(committed.observed.mechanism).toEqual(fresh.observed.mechanism);
    const html = readFileSync(join(ROOT, 'reports', `${c.name}.html`), 'utf8');
    const embedded = /<script type="application\/json" id="tlbtrace-summary">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(embedded)).toEqual(committed);
  }, 120_000);
});

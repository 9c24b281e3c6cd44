// `npm run reports`: regenerate the example reports in reports/ from real captures (src/tools/reports.ts
// lists them): one HTML report and its summary JSON per capture, and an A/B comparison. Captures
// missing from ../shared are skipped.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { compareSummaries, renderCompareHtml } from '../report/compare.js';
import { renderHtml } from '../report/html.js';
import { writeFileAtomic } from '../report/write.js';
import type { Summary } from '../summary/schema.js';
import { REPORT_CAPTURES, REPORT_COMPARISON, ROOT, reportSummary } from './reports.js';

async function main(): Promise<void> {
  const out = join(ROOT, 'reports');
  await mkdir(out, { recursive: true });
  const done = new Map<string, Summary>();
  for (const c of REPORT_CAPTURES) {
    if (!existsSync(c.file)) {
      process.stderr.write(`skip ${c.name}: ${c.file} not found\n`);
      continue;
    }
    const summary = await reportSummary(c);
    await writeFileAtomic(join(out, `${c.name}.json`), JSON.stringify(summary, null, 1) + '\n');
    await writeFileAtomic(join(out, `${c.name}.html`), await renderHtml(summary, { title: `tlbtrace: ${c.name}` }));
    done.set(c.name, summary);
    process.stderr.write(`wrote reports/${c.name}.html\n`);
  }
  const a = done.get(REPORT_COMPARISON.a);
  const b = done.get(REPORT_COMPARISON.b);
  if (a && b) {
    const cmp = compareSummaries(a, b, { a: '6.1 reclaim-mmap', b: '6.12 reclaim-mmap' });
    await writeFileAtomic(join(out, REPORT_COMPARISON.file), renderCompareHtml(cmp));
    process.stderr.write(`wrote reports/${REPORT_COMPARISON.file}\n`);
  }
}

await main();

// `npm run reports`: regenerate the example reports in reports/ from real captures: one HTML
// report and its summary JSON per capture, and an A/B comparison (6.1 vs 6.12, reclaim-mmap: the
// batched-reclaim workload of Gorman's 2015 numbers). Captures missing from ../shared are skipped.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeTrace } from '../pipeline/analyze.js';
import { compareSummaries, renderCompareHtml } from '../report/compare.js';
import { renderHtml } from '../report/html.js';
import type { Summary } from '../summary/schema.js';
import { writeFileAtomic } from '../report/write.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = join(ROOT, '../shared/traces');

const CAPTURES: Array<{ name: string; file: string }> = [
  { name: 'native-6.18-2cpu-mt-mixed', file: join(ROOT, 'fixtures/native-6.18-2cpu/mt-mixed/ftrace.txt.gz') },
  { name: 'native-6.18-2cpu-sng-tlb-shootdown', file: join(ROOT, 'fixtures/native-6.18-2cpu/sng-tlb-shootdown/ftrace.txt.gz') },
  { name: 'qemu-6.12-8cpu-lazy-idle', file: join(ROOT, 'fixtures/qemu-6.12-8cpu/lazy-idle/ftrace.txt.gz') },
  { name: 'qemu-6.12-8cpu-reclaim-mmap', file: join(SHARED, 'qemu-6.12-8cpu/reclaim-mmap/ftrace.txt.gz') },
  { name: 'qemu-6.1-8cpu-reclaim-mmap', file: join(ROOT, 'fixtures/qemu-6.1-8cpu/reclaim-mmap/ftrace.txt.gz') },
];

async function main(): Promise<void> {
  const out = join(ROOT, 'reports');
  await mkdir(out, { recursive: true });
  const done = new Map<string, Summary>();
  for (const c of CAPTURES) {
    if (!existsSync(c.file)) {
      process.stderr.write(`skip ${c.name}: ${c.file} not found\n`);
      continue;
    }
    const summary = await analyzeTrace([c.file]);
    // keep paths relative to the repo so regenerated reports do not depend on where it was checked out
    summary.input.files = summary.input.files.map((f) => f.replace(ROOT + '/', '').replace(join(ROOT, '..') + '/', '../'));
    await writeFileAtomic(join(out, `${c.name}.json`), JSON.stringify(summary, null, 1) + '\n');
    await writeFileAtomic(join(out, `${c.name}.html`), await renderHtml(summary, { title: `tlbtrace: ${c.name}` }));
    done.set(c.name, summary);
    process.stderr.write(`wrote reports/${c.name}.html\n`);
  }
  const a = done.get('qemu-6.1-8cpu-reclaim-mmap');
  const b = done.get('qemu-6.12-8cpu-reclaim-mmap');
  if (a && b) {
    const cmp = compareSummaries(a, b, { a: '6.1 reclaim-mmap', b: '6.12 reclaim-mmap' });
    await writeFileAtomic(join(out, 'compare-6.1-vs-6.12-reclaim-mmap.html'), renderCompareHtml(cmp));
    process.stderr.write('wrote reports/compare-6.1-vs-6.12-reclaim-mmap.html\n');
  }
}

await main();

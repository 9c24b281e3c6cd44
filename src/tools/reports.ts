// The example reports in reports/: which captures, and how each summary is made so that the
// committed files do not depend on where the repository was checked out. `npm run reports`
// (make-reports.ts) writes them; test/report/reports-current.test.ts fails when one is stale.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeTrace } from '../pipeline/analyze.js';
import type { Summary } from '../summary/schema.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const SHARED = join(ROOT, '../shared/traces');

export interface ReportCapture {
  name: string;
  file: string;
}

export const REPORT_CAPTURES: ReportCapture[] = [
  { name: 'native-6.18-2cpu-mt-mixed', file: join(ROOT, 'fixtures/native-6.18-2cpu/mt-mixed/ftrace.txt.gz') },
  { name: 'native-6.18-2cpu-sng-tlb-shootdown', file: join(ROOT, 'fixtures/native-6.18-2cpu/sng-tlb-shootdown/ftrace.txt.gz') },
  { name: 'qemu-6.12-8cpu-lazy-idle', file: join(ROOT, 'fixtures/qemu-6.12-8cpu/lazy-idle/ftrace.txt.gz') },
  { name: 'qemu-6.12-8cpu-reclaim-mmap', file: join(SHARED, 'qemu-6.12-8cpu/reclaim-mmap/ftrace.txt.gz') },
  { name: 'qemu-6.1-8cpu-reclaim-mmap', file: join(ROOT, 'fixtures/qemu-6.1-8cpu/reclaim-mmap/ftrace.txt.gz') },
  { name: 'pvm-6.18-2cpu-mt-munmap', file: join(ROOT, 'fixtures/pvm-6.18-2cpu/mt-munmap/ftrace.txt.gz') },
];

/** The 6.1 vs 6.12 comparison of the batched-reclaim workload of Gorman's 2015 numbers. */
export const REPORT_COMPARISON = { a: 'qemu-6.1-8cpu-reclaim-mmap', b: 'qemu-6.12-8cpu-reclaim-mmap', file: 'compare-6.1-vs-6.12-reclaim-mmap.html' };

/** The summary of a report capture, its input paths relative to the repository. */
export async function reportSummary(c: ReportCapture): Promise<Summary> {
  const summary = await analyzeTrace([c.file]);
  summary.input.files = summary.input.files.map((f) => f.replace(ROOT + '/', '').replace(join(ROOT, '..') + '/', '../'));
  return summary;
}

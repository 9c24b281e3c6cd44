// Feed a short raw-ftrace excerpt (real lines copied from ../shared/traces) through the whole
// pipeline and return the summary.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeTrace, type AnalyzeOptions } from '../../src/pipeline/analyze.js';
import type { Summary } from '../../src/summary/schema.js';

export const FTRACE_HEADER = (cpus: number, n: number) => `# tracer: nop
#
# entries-in-buffer/entries-written: ${n}/${n}   #P:${cpus}
#
#                                          _-----=> irqs-off/BH-disabled
#                                         / _----=> need-resched
#                                        | / _---=> hardirq/softirq
#                                        || / _--=> preempt-depth
#                                        ||| / _-=> migrate-disable
#                                        |||| /     delay
#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION
#              | |           |       |   |||||     |         |
`;

export async function analyzeExcerpt(cpus: number, lines: string, opts: AnalyzeOptions = {}): Promise<Summary> {
  const body = lines.replace(/^\n+/, '').replace(/\s+$/, '') + '\n';
  const n = body.split('\n').filter((l) => l.trim() !== '').length;
  const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-excerpt-'));
  const file = join(dir, 'trace.txt');
  writeFileSync(file, FTRACE_HEADER(cpus, n) + body);
  try {
    return await analyzeTrace([file], opts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

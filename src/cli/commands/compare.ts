// `tlbtrace compare A B`: the A/B table (vanilla vs patched kernel, before vs after a workload
// change) from two summaries. Text by default; --markdown for mailing lists and PRs, --json for
// scripts, --html for a page.

import { basename } from 'node:path';
import type { Command } from 'commander';
import type { Summary } from '../../summary/schema.js';
import { UsageError, type SetExitCode } from '../errors.js';

interface CompareFlags {
  html?: string;
  json?: boolean;
  markdown?: boolean;
  labels?: string;
}

export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('compare')
    .description('compare two runs (A/B): rates per second, totals, wasted share, per-policy avoided shares')
    .argument('<a>', 'baseline: a summary JSON (tlbtrace analyze --json) or a trace')
    .argument('<b>', 'the run to compare against the baseline: a summary JSON or a trace')
    .option('--html <file>', 'also write the comparison as a self-contained HTML page')
    .option('--json', 'print the comparison as JSON (tlbtrace.compare/1)')
    .option('--markdown', 'print a Markdown table')
    .option('--labels <a,b>', 'column names (default: the file names)')
    .addHelpText(
      'after',
      `
Examples:
  tlbtrace analyze vanilla.dat --json > vanilla.json
  tlbtrace analyze patched.dat --json > patched.json
  tlbtrace compare vanilla.json patched.json --markdown`,
    )
    .action(async (a: string, b: string, flags: CompareFlags) => {
      await runCompare(a, b, flags);
      setExitCode(0);
    });
}

/** A summary JSON is loaded; a trace (any format tlbtrace reads) is analyzed first. */
export async function resolveSummary(path: string): Promise<Summary> {
  const { resolveSummary: resolve } = await import('../../pipeline/resolve.js');
  return resolve(path);
}

export function defaultLabels(a: string, b: string): { a: string; b: string } {
  const la = basename(a).replace(/\.json$/i, '');
  const lb = basename(b).replace(/\.json$/i, '');
  return la === lb || la === '' || lb === '' ? { a: 'A', b: 'B' } : { a: la, b: lb };
}

export async function runCompare(a: string, b: string, flags: CompareFlags): Promise<void> {
  if (flags.json && flags.markdown) throw new UsageError('--json and --markdown are exclusive: pick one output format');
  let labels = defaultLabels(a, b);
  if (flags.labels !== undefined) {
    const parts = flags.labels.split(',');
    if (parts.length !== 2 || parts.some((p) => p.trim() === '')) throw new UsageError(`--labels wants two names separated by a comma (got '${flags.labels}')`);
    labels = { a: parts[0]!.trim(), b: parts[1]!.trim() };
  }
  const { assertNotSameFile, writeFileAtomic } = await import('../../report/write.js');
  if (flags.html) assertNotSameFile([a, b], flags.html);
  const [sa, sb] = await Promise.all([resolveSummary(a), resolveSummary(b)]);
  const cmp = await import('../../report/compare.js');
  const comparison = cmp.compareSummaries(sa, sb, labels);
  if (flags.json) process.stdout.write(`${JSON.stringify(comparison, null, 2)}\n`);
  else if (flags.markdown) process.stdout.write(cmp.renderCompareMarkdown(comparison));
  else process.stdout.write(cmp.renderCompareText(comparison, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }));
  if (flags.html) {
    await writeFileAtomic(flags.html, cmp.renderCompareHtml(comparison));
    process.stderr.write(`tlbtrace: wrote ${flags.html}\n`);
  }
}

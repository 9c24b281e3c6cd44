// `tlbtrace report SUMMARY.json -o DIR`: re-render a saved summary (from `analyze --json` or
// `analyze -o`) as DIR/report.html, and with --vega the chart specs as DIR/vega/*.vl.json.

import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { OutputError, UsageError, type SetExitCode } from '../errors.js';

interface ReportFlags {
  output?: string;
  interactive?: boolean;
  vega?: boolean;
  title?: string;
}

export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('report')
    .description('render a saved JSON summary as a self-contained offline HTML report')
    .argument('<summary>', 'a tlbtrace.summary/1 JSON file (tlbtrace analyze --json > summary.json)')
    .requiredOption('-o, --output <dir>', 'output directory (created if missing); writes DIR/report.html')
    .option('--interactive', 'live charts with tooltips (inlines ~520 KB of Vega runtime) instead of static SVG')
    .option('--vega', 'also write each chart as a Vega-Lite spec to DIR/vega/<chart>.vl.json')
    .option('--title <text>', 'page title (default: names the trace file)')
    .addHelpText(
      'after',
      `
Examples:
  tlbtrace analyze trace.dat --json > run.json
  tlbtrace report run.json -o reports/run --interactive --vega`,
    )
    .action(async (summaryPath: string, flags: ReportFlags) => {
      await runReport(summaryPath, flags);
      setExitCode(0);
    });
}

export async function runReport(summaryPath: string, flags: ReportFlags): Promise<string[]> {
  const dir = flags.output;
  if (!dir) throw new UsageError('report needs -o DIR (the directory to write report.html into)');
  const st = await stat(dir).catch(() => null);
  if (st && !st.isDirectory()) throw new UsageError(`-o ${dir} exists and is not a directory`);
  const { loadSummary } = await import('../../report/load.js');
  const { writeFileAtomic, assertNotSameFile } = await import('../../report/write.js');
  const htmlPath = join(dir, 'report.html');
  assertNotSameFile([summaryPath], htmlPath);
  const summary = await loadSummary(summaryPath);
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw new OutputError(`cannot create ${dir}: ${(err as Error).message}`);
  });
  const { renderHtml } = await import('../../report/html.js');
  const html = await renderHtml(summary, { interactive: flags.interactive, title: flags.title });
  await writeFileAtomic(htmlPath, html);
  const written = [htmlPath];
  process.stderr.write(`tlbtrace: wrote ${htmlPath} (${Math.round(Buffer.byteLength(html) / 1024)} KB)\n`);
  if (flags.vega) {
    const vegaDir = join(dir, 'vega');
    const { writeVegaSpecs, CHART_NAMES } = await import('../../report/charts.js');
    for (const name of CHART_NAMES) assertNotSameFile([summaryPath], join(vegaDir, `${name}.vl.json`));
    const specs = await writeVegaSpecs(summary, vegaDir).catch((err: unknown) => {
      if (err instanceof UsageError) throw err;
      throw new OutputError(`cannot write Vega specs to ${vegaDir}: ${(err as Error).message}`);
    });
    written.push(...specs);
    process.stderr.write(`tlbtrace: wrote ${specs.length} Vega-Lite specs to ${vegaDir}\n`);
  }
  return written;
}

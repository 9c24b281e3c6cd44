// `tlbtrace fleet DIR... [--json] [--html FILE]`: fleet questions over many captures, answered by
// an embedded engine (DuckDB) over Parquet datasets (src/fleet/).

import type { Command } from 'commander';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError, type SetExitCode } from '../errors.js';

interface FleetFlags {
  json?: boolean;
  html?: string;
  dataset?: string;
  progress?: boolean;
}

export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('fleet')
    .description('answer fleet questions (rates per kernel/host/workload, batching, policy savings, wasted callbacks, outliers) over many captures')
    .argument('<dirs...>', "Parquet datasets written by 'export --parquet', or directories of captures (each a directory with a trace.dat, ftrace.txt.gz, ...), analyzed first")
    .option('--json', 'print the answers as JSON')
    .option('--html <file>', 'write an HTML report of the answers')
    .option('--dataset <dir>', 'where captures found as traces are exported (kept, and reused next time); default a temporary directory')
    .option('--no-progress', 'no progress lines on stderr')
    .addHelpText(
      'after',
      `
Examples:
  tlbtrace fleet ../shared/traces --dataset fleet-ds     # analyze every capture once, keep the tables
  tlbtrace fleet fleet-ds --html fleet.html              # later: straight from the tables
  tlbtrace fleet fleet-ds other-ds --json > fleet.json`,
    )
    .action(async (dirs: string[], flags: FleetFlags) => {
      await runFleet(dirs, flags);
      setExitCode(0);
    });
}

async function runFleet(dirs: string[], flags: FleetFlags): Promise<void> {
  for (const d of dirs) if (!existsSync(d) || !statSync(d).isDirectory()) throw new UsageError(`${d}: not a directory`);
  if (flags.html !== undefined) {
    const { assertNotSameFile } = await import('../../report/write.js');
    assertNotSameFile(dirs, flags.html);
  }
  const { isDataset, findCaptures, buildDataset } = await import('../../fleet/datasets.js');
  const say = (m: string) => {
    if (flags.progress !== false) process.stderr.write(`tlbtrace: ${m}\n`);
  };
  const datasets: string[] = [];
  const captures = [];
  for (const d of dirs) {
    if (isDataset(d)) datasets.push(resolve(d));
    else {
      const found = findCaptures(d);
      if (found.length === 0) throw new UsageError(`${d}: neither a dataset (no summary/ table) nor a directory of traces`);
      captures.push(...found);
    }
  }
  let tmp: string | null = null;
  try {
    if (captures.length > 0) {
      const target = flags.dataset ?? (tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-fleet-')));
      say(`${captures.length} captures to ${flags.dataset ?? 'a temporary dataset'}`);
      const report = await buildDataset(captures, target, say);
      if (report.reused > 0) say(`${report.reused} captures already in ${target}`);
      for (const f of report.failed) process.stderr.write(`tlbtrace: skipped ${f.trace}: ${f.error}\n`);
      if (!datasets.includes(resolve(target))) datasets.push(resolve(target));
    }
    const { Engine } = await import('../../fleet/engine.js');
    const { runQueries } = await import('../../fleet/queries.js');
    const engine = await Engine.open();
    let result;
    try {
      result = await runQueries(engine, datasets);
    } finally {
      engine.close();
    }
    const n = result.captures.length;
    const header = `${n} capture${n === 1 ? '' : 's'}, ${result.hosts.length} host${result.hosts.length === 1 ? '' : 's'}, ${result.kernels.length} kernel${result.kernels.length === 1 ? '' : 's'}, from ${datasets.length === 1 ? datasets[0] : `${datasets.length} datasets`}`;
    const render = await import('../../fleet/render.js');
    if (flags.html !== undefined) {
      const { writeFileAtomic } = await import('../../report/write.js');
      const { html } = await render.renderFleetHtml(result, header);
      await writeFileAtomic(flags.html, html);
      say(`wrote ${flags.html}`);
    }
    if (flags.json) process.stdout.write(JSON.stringify({ schema: 'tlbtrace.fleet/1', datasets, ...result }, null, 2) + '\n');
    else process.stdout.write(render.renderTerminal(result, header) + '\n');
  } finally {
    if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
  }
}

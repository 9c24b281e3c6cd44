// `tlbtrace check`: regression checks. Two uses:
//   tlbtrace check NEW --baseline OLD [--max-increase ipisPerSec=5%,...] [--thresholds file.json]
//   tlbtrace check fixtures/ [--update]        golden expectations of saved traces
// Exit 0 pass, 1 regression/difference, 2 bad input.

import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { checkAgainstBaseline, renderCheckTable } from '../../check/baseline.js';
import { checkGolden, renderGolden } from '../../check/golden.js';
import { DEFAULT_THRESHOLDS, loadThresholdFile, parseThresholdList, type Threshold } from '../../check/thresholds.js';
import { resolveSummary } from '../../pipeline/resolve.js';
import { UsageError, type SetExitCode } from '../errors.js';

interface CheckFlags {
  baseline?: string;
  maxIncrease?: string;
  thresholds?: string;
  update?: boolean;
  json?: boolean;
}

export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('check')
    .description('regression-check a trace (or summary) against a baseline, or a directory of saved traces against their expectations')
    .argument('<target>', 'a trace or summary JSON (with --baseline), or a directory of captures with expected.json files')
    .option('--baseline <file>', 'baseline trace or summary JSON to compare against')
    .option('--max-increase <list>', `allowed increases, metric=5% or metric=N (default ${DEFAULT_THRESHOLDS})`)
    .option('--thresholds <file>', 'JSON file {"maxIncrease": {"ipisPerSec": "5%", ...}}')
    .option('--update', 'directory mode: rewrite expected.json files from the current results, printing what changed')
    .option('--json', 'print the result as JSON')
    .action(async (target: string, flags: CheckFlags) => {
      const isDir = (await stat(target).catch(() => null))?.isDirectory() ?? false;
      if (isDir) {
        if (flags.baseline) throw new UsageError('--baseline compares one trace or summary; a directory is checked against its expected.json files');
        const r = await checkGolden(target, { update: flags.update, log: (s) => process.stdout.write(s + '\n') });
        if (flags.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        else process.stdout.write(renderGolden(r, Boolean(flags.update)));
        setExitCode(flags.update || (r.diffs.length === 0 && r.missing.length === 0) ? 0 : 1);
        return;
      }
      if (flags.update) throw new UsageError('--update rewrites expected.json files: give a directory of captures');
      if (!flags.baseline) throw new UsageError('give --baseline OLD (a trace or summary JSON), or a directory of captures');
      let thresholds: Threshold[] = [];
      if (flags.thresholds) thresholds = await loadThresholdFile(flags.thresholds);
      if (flags.maxIncrease || thresholds.length === 0) {
        const listed = parseThresholdList(flags.maxIncrease ?? DEFAULT_THRESHOLDS);
        thresholds = [...thresholds.filter((t) => !listed.some((l) => l.metric === t.metric)), ...listed];
      }
      const [current, baseline] = await Promise.all([resolveSummary(target), resolveSummary(flags.baseline)]);
      const rows = checkAgainstBaseline(current, baseline, thresholds);
      if (flags.json) process.stdout.write(JSON.stringify({ regressed: rows.some((r) => r.regressed), rows }, null, 2) + '\n');
      else process.stdout.write(renderCheckTable(rows, { baseline: flags.baseline, current: target }));
      setExitCode(rows.some((r) => r.regressed) ? 1 : 0);
    });
}

// `tlbtrace validate [--traces DIR]`: every policy estimate checked against a kernel that really
// does what the policy emulates (src/validate/, docs/validation.md). Prints the table; `--write`
// regenerates the per-policy verdicts every summary carries, `--doc` the table in a markdown file.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../report/write.js';
import { EXPERIMENTS, OBSERVED_CHECK } from '../../validate/experiments.js';
import { generatedModule, markdownTable, policyValidations, spliceDoc, SYNC_BEGIN, SYNC_END, tableSyncTable, terminalTable } from '../../validate/render.js';
import { runTableSync, runValidation } from '../../validate/run.js';
import { OutputError, UsageError, type SetExitCode } from '../errors.js';

interface ValidateFlags {
  traces: string[];
  policy?: string;
  json?: boolean;
  write?: string;
  doc?: string;
  progress?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** the package root (dist/cli/commands/ or src/cli/commands/ -> ../../..) */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** where captures are looked for when no --traces is given: the shared corpus, then the fixtures */
export function defaultRoots(): string[] {
  return [resolve(PACKAGE_ROOT, '../shared/traces'), join(PACKAGE_ROOT, 'fixtures')];
}

export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('validate')
    .description('check each policy estimate against captures of a kernel that really does what the policy emulates')
    .option('--traces <dir>', 'a directory of captures (<set>/<capture>/truth.json, as ../shared/traces); repeatable, the first that has a capture wins (default: ../shared/traces, then fixtures/)', collect, [])
    .option('--policy <names>', 'only the experiments of these policies (comma-separated)')
    .option('--json', 'print the results as JSON')
    .option('--write <file>', 'write the per-policy verdicts as the TypeScript module summaries read (src/policies/validation.generated.ts)')
    .option('--doc <file>', 'put the table between the validation-table markers of this markdown file (docs/validation.md)')
    .option('--no-progress', 'do not name each trace on stderr as it is read')
    .addHelpText(
      'after',
      `
Experiments (policy: baseline capture -> capture of the kernel that implements it):
${EXPERIMENTS.map((e) => `  ${e.id}`).join('\n')}
  ${OBSERVED_CHECK}: every capture above against its own /proc/interrupts deltas

Regenerate everything the repository commits:
  tlbtrace validate --write src/policies/validation.generated.ts --doc docs/validation.md`,
    )
    .action(async (flags: ValidateFlags) => {
      const roots = flags.traces.length > 0 ? flags.traces.map((t) => resolve(t)) : defaultRoots();
      for (const r of flags.traces) if (!existsSync(r)) throw new UsageError(`--traces ${r}: no such directory`);
      const policies = flags.policy?.split(',').map((s) => s.trim()).filter(Boolean);
      if ((flags.write !== undefined || flags.doc !== undefined) && policies !== undefined) {
        throw new UsageError('--write and --doc regenerate the whole table: drop --policy');
      }
      const progress = flags.progress === false ? undefined : (p: string) => process.stderr.write(`reading ${p}\n`);
      const results = await runValidation({ roots, policies, progress });
      const syncs = policies === undefined || policies.includes('targeted') ? await runTableSync({ roots, progress }) : [];
      if (flags.write !== undefined) await write(flags.write, generatedModule(policyValidations(results)));
      if (flags.doc !== undefined) {
        let doc: string;
        try {
          doc = readFileSync(flags.doc, 'utf8');
        } catch (err) {
          throw new OutputError(`--doc ${flags.doc}: cannot read it (${(err as Error).message})`);
        }
        try {
          doc = spliceDoc(spliceDoc(doc, markdownTable(results)), tableSyncTable(syncs), SYNC_BEGIN, SYNC_END);
        } catch (err) {
          throw new UsageError(`--doc ${flags.doc}: ${(err as Error).message}`);
        }
        await write(flags.doc, doc);
      }
      process.stdout.write(flags.json ? JSON.stringify({ experiments: results, tableSync: syncs }, null, 2) + '\n' : terminalTable(results) + (syncs.length > 0 ? `\nthe targeted table-sync rule on the collapse captures:\n${tableSyncTable(syncs)}` : ''));
      setExitCode(0);
    });
}

/** atomically (writeFileAtomic reports a path it cannot write as an OutputError, exit 2) */
async function write(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text);
}

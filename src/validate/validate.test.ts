// The validation harness (tlbtrace validate). With ../shared/traces present: the committed
// verdicts every summary carries (src/policies/validation.generated.ts) and the tables of
// docs/validation.md are what the harness makes from the corpus now, or the test fails: run
// `npm run validate` to regenerate them. Without the corpus, the pieces that need no capture.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POLICIES } from '../policies/index.js';
import { EXPERIMENTS, NO_KERNEL } from './experiments.js';
import { DOC_BEGIN, DOC_END, generatedModule, markdownTable, policyValidations, spliceDoc, SYNC_BEGIN, SYNC_END, tableSyncTable } from './render.js';
import { runTableSync, runValidation } from './run.js';
import { directReclaimPages, UNITS, viewsOf } from './units.js';

const ROOT = join(__dirname, '../..');
const SHARED = join(ROOT, '../shared/traces');
const ROOTS = [SHARED, join(ROOT, 'fixtures')];

describe('experiments', () => {
  it('name a unit of work for every workload and a kernel (or none) for every policy', () => {
    for (const e of EXPERIMENTS) expect(UNITS[e.workload], e.id).toBeDefined();
    for (const p of POLICIES) {
      const checked = EXPERIMENTS.some((e) => e.policy === p.name) || p.name === 'observed';
      expect(checked || NO_KERNEL[p.name] !== undefined, `${p.name}: no experiment and no reason why`).toBe(true);
    }
    expect(new Set(EXPERIMENTS.map((e) => e.id)).size).toBe(EXPERIMENTS.length);
    expect(viewsOf('migrate').map((v) => v.causes)).toEqual([null, ['move_pages', 'mbind', 'migrate_pages']]);
  });

  it('count the pages direct reclaim freed from the raw ftrace', async () => {
    // grep -o 'nr_reclaimed=[0-9]*' of the fixture's 585 mm_vmscan_direct_reclaim_end lines, summed with awk
    expect(await directReclaimPages(join(ROOT, 'fixtures/qemu-6.1-8cpu/reclaim-mmap'))).toBe(25867);
  });

  it('splices a table between markers, and says which markers are missing', () => {
    const doc = `intro\n${DOC_BEGIN}\nold\n${DOC_END}\nend\n`;
    expect(spliceDoc(doc, '| new |\n')).toBe(`intro\n${DOC_BEGIN}\n| new |\n${DOC_END}\nend\n`);
    expect(() => spliceDoc('no markers', 'x')).toThrow(/validation-table:begin/);
  });
});

describe.skipIf(!existsSync(SHARED))('the committed validation against ../shared/traces', () => {
  it('src/policies/validation.generated.ts and docs/validation.md are what `npm run validate` makes now', { timeout: 600_000 }, async () => {
    const results = await runValidation({ roots: ROOTS });
    const committed = readFileSync(join(ROOT, 'src/policies/validation.generated.ts'), 'utf8');
    expect(committed, 'stale: run `npm run validate`').toBe(generatedModule(policyValidations(results)));
    const doc = readFileSync(join(ROOT, 'docs/validation.md'), 'utf8');
    const syncs = await runTableSync({ roots: ROOTS });
    expect(doc, 'stale: run `npm run validate`').toBe(spliceDoc(spliceDoc(doc, markdownTable(results)), tableSyncTable(syncs), SYNC_BEGIN, SYNC_END));
  });
});

// The registry and `tlbtrace policies`: every policy is described completely, replays an empty
// stream without inventing numbers, and is listed with its parameters and defaults.

import { describe, expect, it } from 'vitest';
import { POLICIES } from './index.js';
import { DEFAULT_COST } from './cost.js';
import { validationOf } from './validation.js';
import { describe as describePolicy, renderPolicies } from '../cli/commands/policies.js';

const NAMES = ['observed', 'generation', 'targeted', 'batched', 'deferred-a', 'deferred-b', 'promotion', 'ladder-per-page', 'ladder-no-lazy-filter'];

describe('policy registry', () => {
  it('has every policy of DOMAIN.md §5 once, fully described', () => {
    expect(POLICIES.map((p) => p.name)).toEqual(NAMES);
    for (const p of POLICIES) {
      expect(p.title.length).toBeGreaterThan(0);
      expect(p.rule.length).toBeGreaterThan(40);
      expect(p.source.length).toBeGreaterThan(10);
      expect(p.riskReason.length).toBeGreaterThan(10);
      expect(['safe', 'arch-dependent', 'unsafe']).toContain(p.risk);
      for (const s of p.params) expect(s.description.length).toBeGreaterThan(10);
    }
  });

  it('replays an empty trace to zeros, not to made-up figures', () => {
    for (const p of POLICIES) {
      const params = Object.fromEntries(p.params.map((s) => [s.key, s.default]));
      const run = p.create({
        model: { cpus: 2, lazyCpumask: true, firstTs: 0, lastTs: 0, mmName: () => '' },
        params,
        cost: DEFAULT_COST,
        series: { add: () => {} },
      });
      const out = run.finish();
      expect([out.requests, out.shootdowns, out.ipis, out.rangedToFull, out.fullFlushesAdded, out.cpuTimeSavedUs]).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });

  it('`tlbtrace policies` lists rule, source, risk and every parameter with its default', () => {
    const text = renderPolicies(POLICIES).replace(/\s+/g, ' ');
    for (const p of POLICIES) {
      expect(text).toContain(`${p.name} — ${p.title}`);
      expect(text).toContain(`risk: ${p.risk}`);
      for (const s of p.params) expect(text).toContain(`${p.name}.${s.key} = ${String(s.default)}`);
      // whether its rule was checked against a real kernel (src/policies/validation.generated.ts)
      expect(text).toContain(`vs real kernel: ${validationOf(p.name).text}`.replace(/\s+/g, ' '));
    }
    expect(describePolicy(POLICIES.find((p) => p.name === 'batched')!).params.map((s) => [s.key, s.default])).toEqual([
      ['batchPages', 32],
      ['migrationBatchPages', 512],
      ['causes', 'kswapd,kcompactd,khugepaged,reclaim,move_pages,migrate_pages,mbind,MADV_PAGEOUT'],
    ]);
  });
});

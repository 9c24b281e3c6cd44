// Threads found at the fork when the trace has no tgids (trace-cmd report, trace.dat without
// saved_tgids). dup_mmap() ends with flush_tlb_mm(oldmm) (kernel/fork.c), so a fork that copies the
// mm logs a tlb_flush of the parent inside its clone call, and a CLONE_VM child (a thread) none;
// clone() and vfork() show their flags anyway, clone3() keeps them in user memory
// (src/model/tasks.ts forkSharesMm()).
//
// Checked on fixtures/counterfactual-6.12-8cpu-passes/stock/reclaim-mmap against its ftrace text,
// whose TGID column says who is a thread: init's clone(0x1200011) made process 198 (TGID 198,
// after a `tlb_flush ... (4)` of init's mm), and 198's seven clone3 calls made 199-205, all TGID
// 198, none with a flush of 198 in between. The count below is made from the TGID column alone.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeTrace } from '../../src/pipeline/analyze.js';
import type { Summary } from '../../src/summary/schema.js';

const DIR = join(__dirname, '../../fixtures/counterfactual-6.12-8cpu-passes/stock/reclaim-mmap');
const text = (file: string) => gunzipSync(readFileSync(join(DIR, file))).toString('utf8');
const tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-fork-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function excerpt(name: string, lines: string[]): string {
  const path = join(tmp, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** forks of a user task whose child runs with its parent's TGID, from the ftrace TGID column */
function threadForksByTgid(ftrace: string): number {
  const tgidOf = new Map<number, number>();
  const forks: Array<[number, number]> = []; // [parent tgid, child pid]
  for (const l of ftrace.split('\n')) {
    const h = /^\s*.+?-(\d+)\s+\(\s*(\d+)\)/.exec(l);
    if (h === null) continue;
    if (!tgidOf.has(Number(h[1]))) tgidOf.set(Number(h[1]), Number(h[2]));
    const f = /sched_process_fork: comm=.* pid=(\d+) child_comm=.* child_pid=(\d+)/.exec(l);
    if (f !== null && f[1] !== '2') forks.push([Number(h[2]), Number(f[2])]);
  }
  return forks.filter(([ptgid, child]) => tgidOf.get(child) === ptgid).length;
}

const figures = (s: Summary) => Object.fromEntries(Object.entries(s.policies).map(([k, p]) => [k, [p.shootdowns, p.ipis]]));

describe('threads found at the fork without tgids', () => {
  it('trace-cmd text gives the ftrace figures: every policy, and the target fidelity', async () => {
    expect(threadForksByTgid(text('ftrace.txt.gz'))).toBe(7);
    const a = await analyzeTrace([join(DIR, 'ftrace.txt.gz')]);
    const b = await analyzeTrace([join(DIR, 'trace-cmd-report.txt.gz')]);
    expect([a.model.attribution, b.model.attribution]).toEqual(['tgid', 'inferred-from-pid']);
    expect(b.model.forksSharingMm).toBe(7);
    expect(a.model.forksSharingMm).toBe(0); // tgids known: nothing to infer
    expect(figures(b)).toEqual(figures(a));
    expect(b.model.fidelity.targets).toBe(a.model.fidelity.targets);
  });

  it('a clone3 without a flush is taken for a thread only once the trace has shown a fork flushing', async () => {
    // the recording's first 300 lines hold init's fork of 198 and 198's seven clone3 forks
    const head = text('trace-cmd-report.txt.gz').split('\n').slice(0, 300);
    const withInit = await analyzeTrace([excerpt('with-init.txt', head)], { policies: ['observed'] });
    expect(withInit.model.forksSharingMm).toBe(7);
    // without init's lines (its clone, its flush of init's mm, the fork) nothing shows a fork flushing
    const noInit = head.filter((l) => !/^\s*init-1\s/.test(l));
    const without = await analyzeTrace([excerpt('without-init.txt', noInit)], { policies: ['observed'] });
    expect(without.model.forksSharingMm).toBe(0);
  });
});

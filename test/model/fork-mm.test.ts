// Which mm a child runs in, told at the fork (src/model/tasks.ts forkSharesMm()). dup_mmap() ends
// with flush_tlb_mm(oldmm) (kernel/fork.c), so a fork that copies the mm logs a tlb_flush of the
// parent inside its clone call, and a CLONE_VM child (a thread, a vfork() or posix_spawn() child)
// none; clone() and vfork() show their flags anyway, clone3() keeps them in user memory. Without
// tgids (trace-cmd report, trace.dat without saved_tgids) that is how threads are found; with or
// without, a vfork() child runs in its parent's mm until it execs.
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
import { renderHtml } from '../../src/report/html.js';
import { renderTerminal } from '../../src/report/terminal.js';
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

// fixtures/pvm-6.18-2cpu/spawn (fixtures/README.md): python3 with three threads that map and unmap,
// running /bin/true four times each through vfork() (subprocess), clone3(CLONE_VM|CLONE_VFORK)
// (posix_spawn) and clone(SIGCHLD) (fork). Counted with awk over its ftrace text, each
// sched_process_fork by the parent's syscall entry before it: vfork 4, clone3 7 (3 threads, TGID
// 9890 like their parent; 4 spawned children), clone 5 (0x1200011: 4 forks and bash's fork of
// python3). The vfork child shares the mm, as the trace itself shows: at 27626.446949 and
// .447270 threads of 9890 switch to the vfork child 9894 and no `tlb_flush ... (0)` follows
// (switch_mm_irqs_off() found the same mm); after its exec (.448811) switching between the two
// logs one.
const SPAWN = join(__dirname, '../../fixtures/pvm-6.18-2cpu/spawn');

describe('vfork and posix_spawn children run in their parent\'s mm until they exec', () => {
  it('all three formats give the same mms, policies and fidelity', async () => {
    const [a, b, c] = await Promise.all(['ftrace.txt.gz', 'trace-cmd-report.txt.gz', 'trace.dat'].map((f) => analyzeTrace([join(SPAWN, f)])));
    expect([a!.model.attribution, b!.model.attribution, c!.model.attribution]).toEqual(['tgid', 'inferred-from-pid', 'inferred-from-pid']);
    for (const s of [a!, b!, c!]) {
      expect(s.model.forksSharingMm).toBe(4 + 7);
      // the flushes its vfork and posix_spawn children made before their exec are the parent's mm's
      expect(s.observed.topMms[0]).toMatchObject({ mm: 'python3[9890]', requests: 624 });
    }
    expect(figures(b!)).toEqual(figures(a!));
    expect(figures(c!)).toEqual(figures(a!));
    expect([b!.model.mms, c!.model.mms, b!.model.fidelity.switchFlush]).toEqual([a!.model.mms, a!.model.mms, a!.model.fidelity.switchFlush]);
    // switch-in flushes predicted: 99.24%; 98.82% when the children had their own mm from the fork on,
    // as the TGID column has it
    expect(a!.model.fidelity.switchFlush).toBe(0.9924);
  });
});

describe('threads found at the fork without tgids', () => {
  it('trace-cmd text gives the ftrace figures: every policy, and the target fidelity', async () => {
    expect(threadForksByTgid(text('ftrace.txt.gz'))).toBe(7);
    const a = await analyzeTrace([join(DIR, 'ftrace.txt.gz')]);
    const b = await analyzeTrace([join(DIR, 'trace-cmd-report.txt.gz')]);
    expect([a.model.attribution, b.model.attribution]).toEqual(['tgid', 'inferred-from-pid']);
    expect(b.model.forksSharingMm).toBe(7);
    expect(a.model.forksSharingMm).toBe(7); // the same rule; with tgids the threads are in their process anyway
    expect(figures(b)).toEqual(figures(a));
    expect(b.model.fidelity.targets).toBe(a.model.fidelity.targets);
    expect(renderTerminal(b, { color: false })).toContain('no TGID column: address spaces inferred from pids; 7 threads and vfork children found at the fork');
    expect(await renderHtml(b)).toContain('inferred from pid (no TGID column)</span>; 7 threads and vfork children found at the fork');
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
    expect(renderTerminal(without, { color: false })).toContain('(threads may be split: none was found at its fork, which takes the clone, clone3, fork and vfork syscall entries)');
  });
});

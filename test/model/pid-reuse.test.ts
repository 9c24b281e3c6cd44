// A pid handed out again by fork names a new task: nothing of the task that had it before (its
// process, its mm, the group it was inferred to share an mm with) carries over. Found on a real
// capture made with pid_max=1000 (21,659 forks over 692 pids; README "How we know the numbers
// are right"), where the stale records made a third of the IPI target predictions wrong. The
// sequences below are what the model calls on the registry for such a trace, pid by pid.
import { describe, expect, it } from 'vitest';
import { INIT_MM, TaskRegistry } from '../../src/model/tasks.js';
import { analyzeExcerpt } from './helpers.js';

describe('TaskRegistry: a reused pid', () => {
  it('with tgids: the new process gets its own mm, not the old one of that pid', () => {
    const r = new TaskRegistry(true);
    r.see(500, 500, 'worker');
    r.markUser(500);
    const old = r.mmOf(500);
    expect(old).not.toBe(INIT_MM);
    // 500 exits and is reaped; a process 600 forks a child that gets pid 500 again
    r.see(600, 600, 'parent');
    r.markUser(600);
    r.onFork(600, 500, 'child');
    r.see(500, 500, 'child');
    const now = r.mmOf(500);
    expect(now).not.toBe(INIT_MM);
    expect(now).not.toBe(old);
    expect(r.task(500)?.comm).toBe('child');
  });

  it('without tgids: the pid leaves its old group, which keeps its mm under its other members', () => {
    const r = new TaskRegistry(false);
    for (const pid of [700, 701, 702]) {
      r.see(pid, -1, 'threads');
      r.markUser(pid);
    }
    r.sameMm(700, 701);
    r.sameMm(701, 702);
    const group = r.mmOf(701);
    expect(r.mmOf(700)).toBe(group);
    expect(r.mmOf(702)).toBe(group);
    // 700, the group's root, is reused by an unrelated fork
    r.see(800, -1, 'other');
    r.markUser(800);
    r.onFork(800, 700, 'fresh');
    r.see(700, -1, 'fresh');
    r.markUser(700);
    expect(r.mmOf(700)).not.toBe(group);
    expect(r.mmOf(701)).toBe(group);
    expect(r.mmOf(702)).toBe(group);
    // and a later reuse of a non-root member leaves the rest together
    r.onFork(800, 702, 'fresh2');
    r.see(702, -1, 'fresh2');
    r.markUser(702);
    expect(r.mmOf(702)).not.toBe(group);
    expect(r.mmOf(701)).toBe(group);
    // two fresh tasks are not one process either
    expect(r.mmOf(702)).not.toBe(r.mmOf(700));
  });

  it('forgetting the old task later leaves the new one alone', () => {
    const r = new TaskRegistry(true);
    r.see(900, 900, 'old');
    r.markUser(900);
    const oldMm = r.mmOf(900);
    const oldTask = r.task(900);
    r.see(901, 901, 'parent');
    r.markUser(901);
    r.onFork(901, 900, 'new');
    r.see(900, 900, 'new');
    const newMm = r.mmOf(900);
    // the model purges the old task's mm a while after its exit, naming the record it retired
    r.forget(900, oldMm, oldTask);
    expect(r.task(900)?.comm).toBe('new');
    expect(r.mmOf(900)).toBe(newMm);
    expect(r.mmIdentity(oldMm)).toBeUndefined();
  });

  it('a pid first seen at its fork is not a reuse', () => {
    const r = new TaskRegistry(false);
    r.see(1000, -1, 'a');
    r.see(1001, -1, 'b');
    r.markUser(1000);
    r.markUser(1001);
    r.sameMm(1000, 1001);
    const group = r.mmOf(1000);
    r.onFork(1000, 1002, 'c');
    expect(r.mmOf(1000)).toBe(group);
    expect(r.mmOf(1001)).toBe(group);
  });
});

describe('a reused pid in raw ftrace: the TGID column is the one of its last task', () => {
  // The pid-wrap capture above (remade 2026-12-02, not in the repo), ftrace.txt lines 1391, 1408,
  // 1409, 1410, 1414, 1415 and 8723: thread 367 of stress-ng 309 is forked by 310, runs, exits;
  // later the fork stressor 311 forks a process that gets pid 367 again. Both tasks show TGID
  // 309, and the parent 310, itself a thread of 309 (its child 367 is one), shows 310: ftrace
  // prints the column from the pid -> tgid map when the trace is read, not when the event was
  // recorded. The summary counts the reuse and says what it means.
  const excerpt = `
 stress-ng-pthre-310     (    310) [001] .....  4262.306693: sched_process_fork: comm=stress-ng-pthre pid=310 child_comm=stress-ng-pthre child_pid=367
 stress-ng-pthre-366     (    309) [001] d..2.  4262.307263: sched_switch: prev_comm=stress-ng-pthre prev_pid=366 prev_prio=120 prev_state=X ==> next_comm=stress-ng-pthre next_pid=367 next_prio=120
 stress-ng-pthre-367     (    309) [001] .....  4262.307302: sys_madvise(start: 0x7f45e21cc000, len_in: 0x7fb000, behavior: 4)
 stress-ng-pthre-367     (    309) [001] .....  4262.307306: sched_process_exit: comm=stress-ng-pthre pid=367 prio=120 group_dead=false
 stress-ng-pthre-367     (    309) [001] d..2.  4262.307516: sched_switch: prev_comm=stress-ng-pthre prev_pid=367 prev_prio=120 prev_state=X ==> next_comm=stress-ng-pthre next_pid=354 next_prio=120
 stress-ng-pthre-367     (    309) [001] d..2.  4262.307516: tlb_flush: pages:0 reason:flush on task switch (0)
  stress-ng-fork-311     (    311) [001] .....  4262.441584: sched_process_fork: comm=stress-ng-fork pid=311 child_comm=stress-ng-fork child_pid=367
`;
  it('counts the reused pid and names the blind spot', async () => {
    const s = await analyzeExcerpt(2, excerpt);
    expect(s.model.attribution).toBe('tgid');
    expect(s.model.pidsReused).toBe(1);
    expect(s.blindSpots.some((b) => b.startsWith('1 fork reused a pid seen earlier in the trace'))).toBe(true);
  });
});

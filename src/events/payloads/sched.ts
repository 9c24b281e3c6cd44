// The scheduler family: sched:sched_switch, sched_process_fork/exec/exit, sched_migrate_task,
// sched_wake_idle_without_ipi.

import { cpuOutOfRange, intern, type PayloadParser } from './context.js';
import { expect, readEnd, readInt } from './scan.js';

// ---------------------------------------------------------------------------------------------
// sched:sched_switch
//   kernel format (raw ftrace, perf script, trace-cmd without the plugin):
//     prev_comm=git prev_pid=5903 prev_prio=120 prev_state=R ==> next_comm=dpkg next_pid=5515 next_prio=120
//   libtraceevent plugin_sched_switch (trace-cmd report):
//     git:5903 [120] R ==> dpkg:5515 [120]
//     npm install vit:8034 [120] S ==> stress-ng:8153 [120]          (comm with spaces)
// Comms may hold spaces, colons, brackets, `=`: every field is located from its fixed neighbours
// (`prev_pid=` after the comm, `:pid [prio]` at the end), never by splitting on spaces.
//
// The plugin prints prev_state with the pre-4.14 letter table "SDTtZXxW" (bit 4 = Z, bit 5 = X,
// bit 7 = W), while kernels since 4.14 report S D T t X Z P I for those bits: the same recording
// shows `prev_state=I` / `X` / `Z` in raw ftrace and `W` / `Z` / `X` in trace-cmd (verified line
// by line on every capture in ../shared/traces). We map the plugin's letters back to the kernel's
// so both formats agree; the preemption `+` (`R+`) is not in the plugin's output and stays lost.

const PLUGIN_STATE_TO_KERNEL: Record<string, string> = { S: 'S', D: 'D', T: 'T', t: 't', Z: 'X', X: 'Z', x: 'P', W: 'I', R: 'R' };

function pluginState(st: string): string {
  if (st.length === 1) return PLUGIN_STATE_TO_KERNEL[st] ?? st;
  let out = '';
  for (let i = 0; i < st.length; i++) {
    const ch = st[i]!;
    out += ch === '|' ? ch : (PLUGIN_STATE_TO_KERNEL[ch] ?? ch);
  }
  return out;
}

const SW_PREV_PID = ' prev_pid=';
const SW_PREV_PRIO = ' prev_prio=';
const SW_PREV_STATE = ' prev_state=';
const SW_ARROW = ' ==> next_comm=';
const SW_NEXT_PID = ' next_pid=';
const SW_NEXT_PRIO = ' next_prio=';

export const schedSwitch: PayloadParser = (s, p, h, ctx) => {
  if (s.startsWith('prev_comm=', p)) {
    // next side from the right
    const np = s.lastIndexOf(SW_NEXT_PRIO);
    const nd = np < 0 ? -1 : s.lastIndexOf(SW_NEXT_PID, np);
    const nextPid = nd < 0 ? NaN : readInt(s, nd + SW_NEXT_PID.length);
    const nextPrio = np < 0 ? NaN : readInt(s, np + SW_NEXT_PRIO.length);
    // the arrow: the first ` ==> next_comm=` whose left side ends in `prev_pid=N prev_prio=N prev_state=S`
    let arrow = s.indexOf(SW_ARROW, p);
    let prevPid = NaN;
    let prevPrio = NaN;
    let ppd = -1;
    let pst = -1;
    while (arrow >= 0 && arrow < nd) {
      pst = s.lastIndexOf(SW_PREV_STATE, arrow);
      const ppr = pst < p ? -1 : s.lastIndexOf(SW_PREV_PRIO, pst);
      ppd = ppr < p ? -1 : s.lastIndexOf(SW_PREV_PID, ppr);
      if (ppd >= p + 9 && s.indexOf(' ', pst + SW_PREV_STATE.length) === arrow) {
        prevPrio = readInt(s, ppr + SW_PREV_PRIO.length);
        if (readEnd === pst) {
          prevPid = readInt(s, ppd + SW_PREV_PID.length);
          if (readEnd === ppr && prevPid === prevPid && prevPrio === prevPrio) break;
        }
      }
      prevPid = NaN;
      arrow = s.indexOf(SW_ARROW, arrow + 1);
    }
    if (arrow < 0 || arrow >= nd) {
      return 'sched_switch: expected `prev_comm=.. prev_pid=N prev_prio=N prev_state=S ==> next_comm=.. next_pid=N next_prio=N`';
    }
    if (prevPid !== prevPid || nextPid !== nextPid || nextPrio !== nextPrio) {
      return 'sched_switch: expected numbers in prev_pid/prev_prio/next_pid/next_prio';
    }
    return {
      kind: 'sched_switch', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
      prevComm: intern(ctx, s.slice(p + 10, ppd)), prevPid, prevPrio,
      prevState: intern(ctx, s.slice(pst + SW_PREV_STATE.length, arrow)),
      nextComm: intern(ctx, s.slice(arrow + SW_ARROW.length, nd)), nextPid, nextPrio,
    };
  }
  // plugin form, from the right: `next:pid [prio]`
  let e = s.length;
  while (e > p && s.charCodeAt(e - 1) === 32) e--;
  if (s.charCodeAt(e - 1) !== 93 /* ] */) return 'sched_switch: expected `comm:pid [prio] STATE ==> comm:pid [prio]`';
  const nOpen = s.lastIndexOf(' [', e - 1);
  const nextPrio = nOpen < 0 ? NaN : readInt(s, nOpen + 2);
  if (nextPrio !== nextPrio || readEnd !== e - 1) return 'sched_switch: expected `[prio]` at the end';
  const nColon = s.lastIndexOf(':', nOpen);
  const nextPid = nColon < 0 ? NaN : readInt(s, nColon + 1);
  if (nextPid !== nextPid || readEnd !== nOpen) return 'sched_switch: expected `next_comm:pid [prio]`';
  // the arrow: the first ` ==> ` whose left side ends in `:pid [prio] STATE`
  let arrow = s.indexOf(' ==> ', p);
  let prevPid = NaN;
  let prevPrio = NaN;
  let pColon = -1;
  let stateStart = -1;
  while (arrow >= 0 && arrow < nColon) {
    stateStart = s.lastIndexOf(' ', arrow - 1) + 1;
    if (stateStart > p && s.charCodeAt(stateStart - 2) === 93 /* ] */) {
      const pOpen = s.lastIndexOf(' [', stateStart - 2);
      prevPrio = pOpen < p ? NaN : readInt(s, pOpen + 2);
      if (prevPrio === prevPrio && readEnd === stateStart - 2) {
        pColon = s.lastIndexOf(':', pOpen);
        prevPid = pColon < p ? NaN : readInt(s, pColon + 1);
        if (prevPid === prevPid && readEnd === pOpen) break;
      }
    }
    prevPid = NaN;
    arrow = s.indexOf(' ==> ', arrow + 1);
  }
  if (prevPid !== prevPid || arrow < 0 || arrow >= nColon) return 'sched_switch: expected `comm:pid [prio] STATE ==> comm:pid [prio]`';
  return {
    kind: 'sched_switch', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    prevComm: intern(ctx, s.slice(p, pColon)), prevPid, prevPrio,
    prevState: pluginState(s.slice(stateStart, arrow)),
    nextComm: intern(ctx, s.slice(arrow + 5, nColon)), nextPid, nextPrio,
  };
};

// ---------------------------------------------------------------------------------------------
// sched:sched_process_fork   comm=bash pid=5045 child_comm=bash child_pid=5050
// sched:sched_process_exec   filename=/tmp/tlbw pid=5050 old_pid=5050
// sched:sched_process_exit   comm=tlbw pid=5051 prio=120 group_dead=false     (group_dead: 6.x)
// sched:sched_migrate_task   comm=memfd:sealed-91 pid=1451 prio=120 orig_cpu=0 dest_cpu=1
// sched:sched_wake_idle_without_ipi   cpu=1
// Same text in all three tools. Comms and file names are taken between fixed keys found from the right.

export const schedProcessFork: PayloadParser = (s, p, h, ctx) => {
  const cp = s.lastIndexOf(' child_pid=');
  const cc = cp < 0 ? -1 : s.lastIndexOf(' child_comm=', cp);
  const pp = cc < 0 ? -1 : s.lastIndexOf(' pid=', cc);
  if (!s.startsWith('comm=', p) || pp < p + 4) return 'sched_process_fork: expected `comm=.. pid=N child_comm=.. child_pid=N`';
  const parentPid = readInt(s, pp + 5);
  const childPid = readInt(s, cp + 11);
  if (parentPid !== parentPid || childPid !== childPid) return 'sched_process_fork: expected numbers in pid/child_pid';
  return {
    kind: 'sched_process_fork', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    parentComm: intern(ctx, s.slice(p + 5, pp)), parentPid, childComm: intern(ctx, s.slice(cc + 12, cp)), childPid,
  };
};

export const schedProcessExec: PayloadParser = (s, p, h, ctx) => {
  const op = s.lastIndexOf(' old_pid=');
  const pp = op < 0 ? -1 : s.lastIndexOf(' pid=', op - 1);
  if (!s.startsWith('filename=', p) || pp < p + 8) return 'sched_process_exec: expected `filename=.. pid=N old_pid=N`';
  const execPid = readInt(s, pp + 5);
  const oldPid = readInt(s, op + 9);
  if (execPid !== execPid || oldPid !== oldPid) return 'sched_process_exec: expected numbers in pid/old_pid';
  return {
    kind: 'sched_process_exec', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    filename: intern(ctx, s.slice(p + 9, pp)), execPid, oldPid,
  };
};

export const schedProcessExit: PayloadParser = (s, p, h, ctx) => {
  const pr = s.lastIndexOf(' prio=');
  const pp = s.lastIndexOf(' pid=', pr < 0 ? s.length : pr);
  if (!s.startsWith('comm=', p) || pp < p + 4) return 'sched_process_exit: expected `comm=.. pid=N prio=N`';
  const exitPid = readInt(s, pp + 5);
  if (exitPid !== exitPid) return 'sched_process_exit: expected a number in pid';
  return {
    kind: 'sched_process_exit', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    exitComm: intern(ctx, s.slice(p + 5, pp)), exitPid,
  };
};

export const schedMigrateTask: PayloadParser = (s, p, h, ctx) => {
  const dc = s.lastIndexOf(' dest_cpu=');
  const oc = dc < 0 ? -1 : s.lastIndexOf(' orig_cpu=', dc);
  const pp = oc < 0 ? -1 : s.lastIndexOf(' pid=', oc);
  if (!s.startsWith('comm=', p) || pp < p + 4) return 'sched_migrate_task: expected `comm=.. pid=N prio=N orig_cpu=N dest_cpu=N`';
  const taskPid = readInt(s, pp + 5);
  const origCpu = readInt(s, oc + 10);
  const destCpu = readInt(s, dc + 10);
  if (taskPid !== taskPid || origCpu !== origCpu || destCpu !== destCpu) return 'sched_migrate_task: expected numbers in pid/orig_cpu/dest_cpu';
  const bad = cpuOutOfRange('sched_migrate_task', origCpu, ctx) ?? cpuOutOfRange('sched_migrate_task', destCpu, ctx);
  if (bad !== undefined) return bad;
  return {
    kind: 'sched_migrate_task', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    taskComm: intern(ctx, s.slice(p + 5, pp)), taskPid, origCpu, destCpu,
  };
};

export const schedWakeIdleWithoutIpi: PayloadParser = (s, p, h, ctx) => {
  const q = expect(s, p, 'cpu=');
  const target = q < 0 ? NaN : readInt(s, q);
  if (target !== target) return 'sched_wake_idle_without_ipi: expected `cpu=N`';
  const bad = cpuOutOfRange('sched_wake_idle_without_ipi', target, ctx);
  if (bad !== undefined) return bad;
  return {
    kind: 'sched_wake_idle_without_ipi', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    target,
  };
};

// Per-event payload parsers, registered by event name and shared by the three text grammars
// (raw ftrace, trace-cmd report, perf script). A grammar finds the line header (task, CPU, time,
// event name) and where the payload starts; `parsePayload()` turns the payload into a typed event
// (src/events/types.ts) applying the normalisations documented there.
//
// Every parser works on (line, payloadStart) with indexOf/charCodeAt — no regex, no split, no
// closure per line — because this is the hot path (millions of lines per second).
//
// Return convention: a TraceEvent, or a string saying what was expected (the caller turns it into
// a `malformed-payload` warning and skips the line). Unknown event names never fail: they become
// `{kind: 'other', name}`.

import type {
  CallFunctionVectorEvent,
  CsdFunctionEvent,
  SyscallEnterEvent,
  TraceEvent,
  VmscanEvent,
} from './types.js';
import { cpumaskOutOfRange, MAX_CPUS, parseCpumask, type CpumaskStyle } from './cpumask.js';

/** What a line grammar found in the header; the payload parsers copy it into the event. */
export interface ParsedHeader {
  ts: number;
  cpu: number;
  pid: number;
  tgid: number;
  comm: string;
  hardirq: boolean | undefined;
  line: number;
  /**
   * How raw ftrace printed a syscall event: 0 ordinary `name: payload`, 1 the call form
   * `sys_mprotect(start: ..)` (payload starts at the `(`).
   */
  payloadStyle: number;
}

/** Per-input settings for the payload parsers. */
export interface PayloadContext {
  /** how this tool prints cpumasks (raw ftrace: hex words, trace-cmd: CPU list, perf: auto) */
  cpumaskStyle: CpumaskStyle;
  /** string cache, see `intern()` */
  strings: Map<string, string>;
  /**
   * CPU numbers in payloads (IPI and csd targets, cpumasks, wake/migrate CPUs) must be below
   * this: the CPU count the trace header declares, else MAX_CPUS. A larger one is corruption.
   */
  maxCpu: number;
}

export function newPayloadContext(cpumaskStyle: CpumaskStyle, maxCpu = MAX_CPUS): PayloadContext {
  return { cpumaskStyle, strings: new Map(), maxCpu };
}

/** the message for a payload CPU number that is negative or not below ctx.maxCpu, or undefined */
function cpuOutOfRange(what: string, cpu: number, ctx: PayloadContext): string | undefined {
  if (cpu >= 0 && cpu < ctx.maxCpu) return undefined;
  return `${what}: CPU ${cpu} is out of range (${cpu < 0 ? 'negative' : ctx.maxCpu < MAX_CPUS ? `the header declares ${ctx.maxCpu} CPUs` : `NR_CPUS is at most ${MAX_CPUS}`})`;
}

export type PayloadParser = (s: string, p: number, h: ParsedHeader, ctx: PayloadContext) => TraceEvent | string;

// ---------------------------------------------------------------------------------------------
// Small scanners. `readEnd` is where the last readInt/readHex stopped (module state: single-threaded
// hot path, avoids returning a pair).

let readEnd = 0;

/** Signed decimal at s[p..]; NaN when there is no digit. Sets readEnd. */
export function readInt(s: string, p: number): number {
  let neg = false;
  let c = s.charCodeAt(p);
  if (c === 45 /* - */) {
    neg = true;
    c = s.charCodeAt(++p);
  }
  let v = 0;
  const start = p;
  while (c >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    c = s.charCodeAt(++p);
  }
  readEnd = p;
  // no digit, or more digits than a double holds exactly (a corrupt or hostile field)
  if (p === start || v > Number.MAX_SAFE_INTEGER) return NaN;
  return neg ? -v : v;
}

/**
 * Unsigned hex (with or without `0x`) at s[p..] as a number; NaN when there is no hex digit.
 * Exact below 2^53, and for page-aligned values (addresses, lengths) below 2^65; other values of
 * more than 53 significant bits are rounded to the nearest double (see SyscallEnterEvent.args).
 * Sets readEnd.
 */
export function readHex(s: string, p: number): number {
  if (s.charCodeAt(p) === 48 && s.charCodeAt(p + 1) === 120) p += 2;
  const start = p;
  let v = 0;
  let c = s.charCodeAt(p);
  for (;;) {
    if (c >= 48 && c <= 57) v = v * 16 + (c - 48);
    else if (c >= 97 && c <= 102) v = v * 16 + (c - 87);
    else if (c >= 65 && c <= 70) v = v * 16 + (c - 55);
    else break;
    c = s.charCodeAt(++p);
  }
  readEnd = p;
  return p === start ? NaN : v;
}

/**
 * Keep one copy of a repeated string. Slices of 13+ characters are V8 "sliced strings" that keep
 * the whole decoded chunk (64 KiB) alive; a consumer that stores a comm or symbol would otherwise
 * pin every chunk it came from. Short strings are copied by V8 anyway and are returned as is.
 */
function intern(ctx: PayloadContext, s: string): string {
  if (s.length < 13) return s;
  const m = ctx.strings;
  const v = m.get(s);
  if (v !== undefined) return v;
  if (m.size > 50_000) m.clear(); // bounded however many distinct values an input has
  const copy = Buffer.from(s, 'utf8').toString('utf8'); // a flat string that owns its characters
  m.set(copy, copy);
  return copy;
}

export function internString(ctx: PayloadContext, s: string): string {
  return intern(ctx, s);
}

/**
 * Symbol normalisation (types.ts): keep `name+0xoff`, drop ftrace's `/0xsize` and a trailing
 * ` [module]`, so raw ftrace `on_each_cpu_cond_mask+0x20/0x60` equals trace-cmd's
 * `on_each_cpu_cond_mask+0x20`. Unresolved addresses stay as printed (`0x0`).
 */
function symbol(ctx: PayloadContext, s: string, a: number, b: number): string {
  const slash = s.indexOf('/', a);
  if (slash >= 0 && slash < b) b = slash;
  else {
    const sp = s.indexOf(' ', a);
    if (sp >= 0 && sp < b) b = sp;
  }
  return intern(ctx, s.slice(a, b));
}

/**
 * Pointer normalisation (types.ts): lower-case hex without `0x` and leading zeros; NULL
 * (`0000000000000000`, `(nil)`, `0x0`) -> null. Returns undefined when it is not hex.
 */
function pointer(ctx: PayloadContext, s: string, a: number, b: number): string | null | undefined {
  if (s.charCodeAt(a) === 40 /* ( */) return s.startsWith('(nil)', a) && a + 5 === b ? null : undefined;
  if (s.charCodeAt(a) === 48 && s.charCodeAt(a + 1) === 120) a += 2;
  while (a < b && s.charCodeAt(a) === 48) a++;
  if (a === b) return null;
  let upper = false;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 70) upper = true;
    else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return undefined;
  }
  const v = s.slice(a, b);
  return intern(ctx, upper ? v.toLowerCase() : v);
}

/** end of the value that starts at p: the next space, or the end of the line */
function valueEnd(s: string, p: number): number {
  const e = s.indexOf(' ', p);
  return e < 0 ? s.length : e;
}

/** index just after `key` when the payload has `key` at p, else -1 */
function expect(s: string, p: number, key: string): number {
  return s.startsWith(key, p) ? p + key.length : -1;
}

// ---------------------------------------------------------------------------------------------
// tlb:tlb_flush
//   raw ftrace / perf   pages:-1 reason:remote IPI send (4)
//   trace-cmd (plugin)  pages=-1 reason= (4)              (the plugin knows names for 0-3 only)
//   6.18 before 8b62e64e6d30   pages:0 reason:0x5 (5)
// The reason number is ALWAYS the trailing `(N)`; the words differ by kernel and tool.

const tlbFlush: PayloadParser = (s, p, h) => {
  if (!s.startsWith('pages', p)) return 'tlb_flush: expected `pages:N` or `pages=N`';
  const sep = s.charCodeAt(p + 5);
  if (sep !== 58 && sep !== 61) return 'tlb_flush: expected `pages:N` or `pages=N`';
  const pages = readInt(s, p + 6);
  if (pages !== pages) return 'tlb_flush: expected a number after `pages`';
  let e = s.length;
  while (e > p && s.charCodeAt(e - 1) === 32) e--;
  if (s.charCodeAt(e - 1) !== 41 /* ) */) return 'tlb_flush: expected a trailing `(reason number)`';
  const open = s.lastIndexOf('(', e - 1);
  if (open < readEnd) return 'tlb_flush: expected a trailing `(reason number)`';
  const reason = readInt(s, open + 1);
  if (reason !== reason || readEnd !== e - 1) return 'tlb_flush: expected a trailing `(reason number)`';
  return {
    kind: 'tlb_flush', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    reason, pages,
  };
};

// ---------------------------------------------------------------------------------------------
// ipi:ipi_send_cpu / ipi:ipi_send_cpumask (6.4+)
//   raw ftrace  cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 callback=generic_smp_call_function_single_interrupt+0x0/0x10
//   trace-cmd   cpu=1 callsite=on_each_cpu_cond_mask+0x20 callback=generic_smp_call_function_single_interrupt+0x0
//   raw ftrace  cpumask=00000000,000056be callsite=on_each_cpu_cond_mask+0x24/0x40 callback=...
//   trace-cmd   cpumask=1-5,7,9-10,12,14 callsite=on_each_cpu_cond_mask+0x24 callback=...
//   both        ... callsite=wakeup_preempt+0x37 callback=0x0

const CALLSITE = ' callsite=';
const CALLBACK = ' callback=';

const ipiSendCpu: PayloadParser = (s, p, h, ctx) => {
  let q = expect(s, p, 'cpu=');
  if (q < 0) return 'ipi_send_cpu: expected `cpu=N callsite=.. callback=..`';
  const target = readInt(s, q);
  if (target !== target || !s.startsWith(CALLSITE, readEnd)) return 'ipi_send_cpu: expected `cpu=N callsite=.. callback=..`';
  const bad = cpuOutOfRange('ipi_send_cpu', target, ctx);
  if (bad !== undefined) return bad;
  q = readEnd + CALLSITE.length;
  const cb = s.indexOf(CALLBACK, q);
  if (cb < 0) return 'ipi_send_cpu: expected `callback=`';
  const callsite = symbol(ctx, s, q, cb);
  const callback = symbol(ctx, s, cb + CALLBACK.length, s.length);
  return {
    kind: 'ipi_send_cpu', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    target, callsite, callback,
  };
};

const ipiSendCpumask: PayloadParser = (s, p, h, ctx) => {
  const q = expect(s, p, 'cpumask=');
  if (q < 0) return 'ipi_send_cpumask: expected `cpumask=.. callsite=.. callback=..`';
  const cs = s.indexOf(CALLSITE, q);
  if (cs < 0) return 'ipi_send_cpumask: expected `callsite=`';
  const targets = parseCpumask(s, q, cs, ctx.cpumaskStyle, ctx.maxCpu);
  if (targets === null) {
    return cpumaskOutOfRange >= 0
      ? cpuOutOfRange('ipi_send_cpumask: cpumask', cpumaskOutOfRange, ctx)!
      : 'ipi_send_cpumask: expected a cpumask (hex words or CPU list)';
  }
  const cb = s.indexOf(CALLBACK, cs + CALLSITE.length);
  if (cb < 0) return 'ipi_send_cpumask: expected `callback=`';
  const callsite = symbol(ctx, s, cs + CALLSITE.length, cb);
  const callback = symbol(ctx, s, cb + CALLBACK.length, s.length);
  return {
    kind: 'ipi_send_cpumask', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    targets, callsite, callback,
  };
};

// ---------------------------------------------------------------------------------------------
// csd:csd_queue_cpu, csd:csd_function_entry/exit (6.5+)
//   raw ftrace  cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=0000000069199808
//   trace-cmd   cpu=1 callsite=on_each_cpu_cond_mask+0x20 func=flush_tlb_func csd=0xffff888627d2e420
//   raw ftrace  func=flush_tlb_func, csd=0000000000000000        (NULL: the initiator runs it itself)
//   trace-cmd   func=flush_tlb_func, csd=(nil)

const FUNC = ' func=';
const CSD = ' csd=';

const csdQueueCpu: PayloadParser = (s, p, h, ctx) => {
  let q = expect(s, p, 'cpu=');
  if (q < 0) return 'csd_queue_cpu: expected `cpu=N callsite=.. func=.. csd=..`';
  const target = readInt(s, q);
  if (target !== target || !s.startsWith(CALLSITE, readEnd)) return 'csd_queue_cpu: expected `cpu=N callsite=.. func=.. csd=..`';
  const bad = cpuOutOfRange('csd_queue_cpu', target, ctx);
  if (bad !== undefined) return bad;
  q = readEnd + CALLSITE.length;
  const f = s.indexOf(FUNC, q);
  if (f < 0) return 'csd_queue_cpu: expected `func=`';
  const c = s.indexOf(CSD, f + FUNC.length);
  if (c < 0) return 'csd_queue_cpu: expected `csd=`';
  const csd = pointer(ctx, s, c + CSD.length, valueEnd(s, c + CSD.length));
  if (csd === undefined) return 'csd_queue_cpu: expected a hex pointer or (nil) after `csd=`';
  return {
    kind: 'csd_queue_cpu', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    target, callsite: symbol(ctx, s, q, f), func: symbol(ctx, s, f + FUNC.length, c), csd,
  };
};

function csdFunction(kind: CsdFunctionEvent['kind']): PayloadParser {
  return (s, p, h, ctx) => {
    const q = expect(s, p, 'func=');
    if (q < 0) return `${kind}: expected \`func=.., csd=..\``;
    let c = s.indexOf(CSD, q);
    if (c < 0) return `${kind}: expected \`csd=\``;
    const fe = s.charCodeAt(c - 1) === 44 /* , */ ? c - 1 : c;
    c += CSD.length;
    const csd = pointer(ctx, s, c, valueEnd(s, c));
    if (csd === undefined) return `${kind}: expected a hex pointer or (nil) after \`csd=\``;
    return {
      kind, ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
      func: symbol(ctx, s, q, fe), csd,
    };
  };
}

// ---------------------------------------------------------------------------------------------
// irq_vectors:call_function[_single]_{entry,exit}     vector=251

function callFunction(kind: CallFunctionVectorEvent['kind']): PayloadParser {
  return (s, p, h) => {
    const q = expect(s, p, 'vector=');
    const vector = q < 0 ? NaN : readInt(s, q);
    if (vector !== vector) return `${kind}: expected \`vector=N\``;
    return { kind, ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line, vector };
  };
}

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

const schedSwitch: PayloadParser = (s, p, h, ctx) => {
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

const schedProcessFork: PayloadParser = (s, p, h, ctx) => {
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

const schedProcessExec: PayloadParser = (s, p, h, ctx) => {
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

const schedProcessExit: PayloadParser = (s, p, h, ctx) => {
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

const schedMigrateTask: PayloadParser = (s, p, h, ctx) => {
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

const schedWakeIdleWithoutIpi: PayloadParser = (s, p, h, ctx) => {
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

// ---------------------------------------------------------------------------------------------
// vmscan: markers (`nid=0 order=0`, `order=0 gfp_flags=..`), any payload accepted; of
// mm_vmscan_direct_reclaim_end the `nr_reclaimed=36` (pages the episode freed) is read when it is
// there (every tool prints it so), else -1.

function vmscan(kind: VmscanEvent['kind']): PayloadParser {
  const end = kind === 'mm_vmscan_direct_reclaim_end';
  return (s, p, h) => {
    let nrReclaimed = -1;
    if (end) {
      const q = expect(s, p, 'nr_reclaimed=');
      const v = q < 0 ? NaN : readInt(s, q);
      if (v === v && v >= 0) nrReclaimed = v;
    }
    return { kind, ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line, nrReclaimed };
  };
}

// ---------------------------------------------------------------------------------------------
// Syscall entries, three printings of the same thing:
//   raw ftrace (syscalls:sys_enter_*, event printed as the call; 6.18 prints 0x.. for values > 9,
//   6.1/6.12 print bare hex; both are hex):
//     sys_mprotect(start: 0x7fa0500d3000, len: 0x10000, prot: 3)
//     sys_mbind(start: 7fa9dfe00000, len: 800000, mode: 2, nmask: 7fff510e7de0, maxnode: 40, flags: 2)
//   trace-cmd / perf script:
//     sys_enter_mprotect: start: 0x7fa0500d3000, len: 0x00010000, prot: 0x00000003
//   raw_syscalls:sys_enter (all tools; NR decimal, arguments bare hex, always six):
//     sys_enter: NR 10 (7fa0500d3000, 10000, 3, 0, 0, 0)

interface SyscallInfo {
  nr: number;
  name: string;
  args: readonly string[];
  /** builds the args object from values in `args` order: an object literal, so one shape per syscall */
  build: (v: number[]) => Record<string, number>;
}

/** x86_64 numbers and the argument names the kernel's syscalls:sys_enter_* events print. */
export const X86_64_SYSCALLS: readonly SyscallInfo[] = [
  { nr: 9, name: 'mmap', args: ['addr', 'len', 'prot', 'flags', 'fd', 'off'], build: (v) => ({ addr: v[0]!, len: v[1]!, prot: v[2]!, flags: v[3]!, fd: v[4]!, off: v[5]! }) },
  { nr: 10, name: 'mprotect', args: ['start', 'len', 'prot'], build: (v) => ({ start: v[0]!, len: v[1]!, prot: v[2]! }) },
  { nr: 11, name: 'munmap', args: ['addr', 'len'], build: (v) => ({ addr: v[0]!, len: v[1]! }) },
  { nr: 12, name: 'brk', args: ['brk'], build: (v) => ({ brk: v[0]! }) },
  { nr: 25, name: 'mremap', args: ['addr', 'old_len', 'new_len', 'flags', 'new_addr'], build: (v) => ({ addr: v[0]!, old_len: v[1]!, new_len: v[2]!, flags: v[3]!, new_addr: v[4]! }) },
  { nr: 28, name: 'madvise', args: ['start', 'len_in', 'behavior'], build: (v) => ({ start: v[0]!, len_in: v[1]!, behavior: v[2]! }) },
  { nr: 56, name: 'clone', args: ['clone_flags', 'newsp', 'parent_tidptr', 'child_tidptr', 'tls'], build: (v) => ({ clone_flags: v[0]!, newsp: v[1]!, parent_tidptr: v[2]!, child_tidptr: v[3]!, tls: v[4]! }) },
  { nr: 57, name: 'fork', args: [], build: () => ({}) },
  { nr: 58, name: 'vfork', args: [], build: () => ({}) },
  { nr: 59, name: 'execve', args: ['filename', 'argv', 'envp'], build: (v) => ({ filename: v[0]!, argv: v[1]!, envp: v[2]! }) },
  { nr: 60, name: 'exit', args: ['error_code'], build: (v) => ({ error_code: v[0]! }) },
  { nr: 231, name: 'exit_group', args: ['error_code'], build: (v) => ({ error_code: v[0]! }) },
  { nr: 237, name: 'mbind', args: ['start', 'len', 'mode', 'nmask', 'maxnode', 'flags'], build: (v) => ({ start: v[0]!, len: v[1]!, mode: v[2]!, nmask: v[3]!, maxnode: v[4]!, flags: v[5]! }) },
  { nr: 256, name: 'migrate_pages', args: ['pid', 'maxnode', 'old_nodes', 'new_nodes'], build: (v) => ({ pid: v[0]!, maxnode: v[1]!, old_nodes: v[2]!, new_nodes: v[3]! }) },
  { nr: 279, name: 'move_pages', args: ['pid', 'nr_pages', 'pages', 'nodes', 'status', 'flags'], build: (v) => ({ pid: v[0]!, nr_pages: v[1]!, pages: v[2]!, nodes: v[3]!, status: v[4]!, flags: v[5]! }) },
  { nr: 329, name: 'pkey_mprotect', args: ['start', 'len', 'prot', 'pkey'], build: (v) => ({ start: v[0]!, len: v[1]!, prot: v[2]!, pkey: v[3]! }) },
  { nr: 435, name: 'clone3', args: ['uargs', 'size'], build: (v) => ({ uargs: v[0]!, size: v[1]! }) },
  { nr: 440, name: 'process_madvise', args: ['pidfd', 'vec', 'vlen', 'behavior', 'flags'], build: (v) => ({ pidfd: v[0]!, vec: v[1]!, vlen: v[2]!, behavior: v[3]!, flags: v[4]! }) },
];
const SYSCALL_BY_NR = new Map(X86_64_SYSCALLS.map((x) => [x.nr, x]));
const SYSCALL_BY_NAME = new Map(X86_64_SYSCALLS.map((x) => [x.name, x]));

/**
 * `name: value, name: value` (optionally inside `( )`) for syscalls:sys_enter_<name>. Values are
 * hex with or without `0x`. For syscalls in the table every listed argument must be present and
 * numeric; for others, arguments that are not numbers (a future kernel printing strings) are left out.
 */
const syscallVals: number[] = [0, 0, 0, 0, 0, 0];

function namedSyscall(name: string, s: string, p: number, h: ParsedHeader, info = SYSCALL_BY_NAME.get(name)): SyscallEnterEvent | string {
  let e = s.length;
  if (h.payloadStyle === 1) {
    p++; // the `(`
    while (e > p && s.charCodeAt(e - 1) === 32) e--;
    if (s.charCodeAt(e - 1) !== 41) return `sys_enter_${name}: expected \`(arg: value, ...)\``;
    e--;
  }
  // fast path: the known argument list in the kernel's order, with constant (internalised) keys so
  // every event of one syscall shares one object shape
  if (info !== undefined) {
    const names = info.args;
    const vals = syscallVals;
    let q = p;
    let ok = true;
    for (let k = 0; k < names.length; k++) {
      const key = names[k]!;
      if (k > 0) {
        if (s.charCodeAt(q) !== 44 || s.charCodeAt(q + 1) !== 32) {
          ok = false;
          break;
        }
        q += 2;
      }
      if (!s.startsWith(key, q) || s.charCodeAt(q + key.length) !== 58) {
        ok = false;
        break;
      }
      const v = readHex(s, q + key.length + 2);
      if (v !== v) return `sys_enter_${name}: expected a hex value for \`${key}\``;
      vals[k] = v;
      q = readEnd;
    }
    if (ok && q === e) {
      return {
        kind: 'syscall_enter', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
        name, nr: info.nr, raw: false, args: info.build(vals),
      };
    }
  }
  // general path: any `key: value` list
  const args: Record<string, number> = {};
  while (p < e) {
    const colon = s.indexOf(': ', p);
    if (colon < 0 || colon >= e) return `sys_enter_${name}: expected \`arg: value, ...\``;
    const key = s.slice(p, colon);
    const v = readHex(s, colon + 2);
    let next = s.indexOf(', ', readEnd);
    if (next < 0 || next > e) next = e;
    if (v === v && readEnd === next) args[key] = v;
    else if (info !== undefined && info.args.includes(key)) return `sys_enter_${name}: expected a hex value for \`${key}\``;
    p = next + 2;
  }
  if (info !== undefined) {
    for (const a of info.args) if (args[a] === undefined) return `sys_enter_${name}: expected argument \`${a}\``;
  }
  return {
    kind: 'syscall_enter', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    name, nr: info !== undefined ? info.nr : -1, raw: false, args,
  };
}

const RAW_ARG_NAMES = ['arg0', 'arg1', 'arg2', 'arg3', 'arg4', 'arg5'];
const RAW_EXPECTED = 'sys_enter: expected `NR n (a0, a1, a2, a3, a4, a5)`';

const rawSysEnter: PayloadParser = (s, p, h) => {
  if (!s.startsWith('NR ', p)) return RAW_EXPECTED;
  const nr = readInt(s, p + 3);
  if (nr !== nr || s.charCodeAt(readEnd) !== 32 || s.charCodeAt(readEnd + 1) !== 40) return RAW_EXPECTED;
  let q = readEnd + 2;
  const info = SYSCALL_BY_NR.get(nr);
  const args: Record<string, number> = {};
  for (let i = 0; ; i++) {
    const v = readHex(s, q);
    if (v !== v) return RAW_EXPECTED;
    args[RAW_ARG_NAMES[i] ?? `arg${i}`] = v;
    if (info !== undefined && i < info.args.length) args[info.args[i]!] = v;
    const c = s.charCodeAt(readEnd);
    if (c === 41 /* ) */) break;
    if (c !== 44 || s.charCodeAt(readEnd + 1) !== 32) return RAW_EXPECTED;
    q = readEnd + 2;
  }
  return {
    kind: 'syscall_enter', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    name: info !== undefined ? info.name : `nr_${nr}`, nr, raw: true, args,
  };
};

// ---------------------------------------------------------------------------------------------
// Registry

const PARSERS = new Map<string, PayloadParser>([
  ['tlb_flush', tlbFlush],
  ['ipi_send_cpu', ipiSendCpu],
  ['ipi_send_cpumask', ipiSendCpumask],
  ['csd_queue_cpu', csdQueueCpu],
  ['csd_function_entry', csdFunction('csd_function_entry')],
  ['csd_function_exit', csdFunction('csd_function_exit')],
  ['call_function_entry', callFunction('call_function_entry')],
  ['call_function_exit', callFunction('call_function_exit')],
  ['call_function_single_entry', callFunction('call_function_single_entry')],
  ['call_function_single_exit', callFunction('call_function_single_exit')],
  ['sched_switch', schedSwitch],
  ['sched_process_fork', schedProcessFork],
  ['sched_process_exec', schedProcessExec],
  ['sched_process_exit', schedProcessExit],
  ['sched_migrate_task', schedMigrateTask],
  ['sched_wake_idle_without_ipi', schedWakeIdleWithoutIpi],
  ['mm_vmscan_kswapd_wake', vmscan('mm_vmscan_kswapd_wake')],
  ['mm_vmscan_kswapd_sleep', vmscan('mm_vmscan_kswapd_sleep')],
  ['mm_vmscan_direct_reclaim_begin', vmscan('mm_vmscan_direct_reclaim_begin')],
  ['mm_vmscan_direct_reclaim_end', vmscan('mm_vmscan_direct_reclaim_end')],
  ['sys_enter', rawSysEnter],
]);

/** Event names with a typed parser (everything else becomes `other`). */
export function knownEventNames(): string[] {
  return [...PARSERS.keys(), 'sys_enter_*'];
}

const syscallParsers = new Map<string, PayloadParser>();

/**
 * The typed parser for event `name` (without the system prefix): a registered one or a
 * syscalls:sys_enter_X one (made once per X); undefined for events that become `other`. Callers
 * cache the result per event name, so the hot path does no name lookup at all.
 */
export function payloadParserFor(name: string): PayloadParser | undefined {
  const parser = PARSERS.get(name);
  if (parser !== undefined) return parser;
  if (!name.startsWith('sys_enter_')) return undefined;
  let sp = syscallParsers.get(name);
  if (sp === undefined) {
    const sys = name.slice(10);
    const info = SYSCALL_BY_NAME.get(sys);
    sp = (s, p, h) => namedSyscall(sys, s, p, h, info);
    if (syscallParsers.size < 4096) syscallParsers.set(name, sp);
  }
  return sp;
}

/**
 * Parse the payload of event `name` (without the system prefix) starting at s[p]. Returns the
 * event, or a message saying what was expected when a known event's payload does not parse.
 */
export function parsePayload(name: string, s: string, p: number, h: ParsedHeader, ctx: PayloadContext): TraceEvent | string {
  const parser = PARSERS.get(name);
  if (parser !== undefined) return parser(s, p, h, ctx);
  if (name.startsWith('sys_enter_')) return namedSyscall(name.slice(10), s, p, h);
  return {
    kind: 'other', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    name: intern(ctx, name),
  };
}

// ---------------------------------------------------------------------------------------------
// Byte parsers: the ASCII fast path (src/ingest/formats/fastpath.ts) parses the payloads that
// dominate real captures (named syscall entries, tlb_flush: 95% of a madvise or munmap storm)
// straight from the input bytes b[p..e), e being the line end. They accept exactly what the string
// parsers above accept on their fast path and build the same objects; anything else (a malformed
// payload, an unusual spelling) returns null and the caller runs the string parser on the decoded
// line, so messages and the general paths have one implementation. Bytes past e are the line's
// `\r`/`\n`, which no scanner accepts, like the end of a string.
//
// Fixed text (argument names, the task prefix, event names) is compared eight bytes at a time
// through a DataView of the chunk: byte by byte, these compares cost as much as all the parsing.

export type BytePayloadParser = (b: Uint8Array, dv: DataView, p: number, e: number, h: ParsedHeader) => TraceEvent | null;

/**
 * A fixed ASCII text compared against input bytes eight at a time, each 8-byte group read as a
 * float64 through a DataView: for ASCII bytes (the fast path only sees ASCII chunks) the exponent
 * can never be all ones (that needs a byte >= 0xf0) and the sign bit is clear, so no group is a
 * NaN or -0, and float equality is exactly byte equality. Shorter texts: 32-bit words, or bytes.
 */
export class ByteText {
  readonly bytes: Uint8Array;
  readonly length: number;
  /** the groups at 0, 8, 16, ... and a last one ending at `length` (it may overlap) */
  private readonly words: Float64Array;
  /** for texts of 4 to 7 bytes: the 32-bit words at 0 and ending at `length` */
  private readonly head: number;
  private readonly tail: number;

  constructor(text: string | Uint8Array) {
    this.bytes = typeof text === 'string' ? new Uint8Array(Buffer.from(text, 'latin1')) : new Uint8Array(text);
    const n = this.bytes.length;
    this.length = n;
    const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, n);
    const w: number[] = [];
    if (n >= 8) {
      for (let k = 0; k + 8 < n; k += 8) w.push(dv.getFloat64(k, true));
      w.push(dv.getFloat64(n - 8, true));
    }
    this.words = new Float64Array(w);
    this.head = n >= 4 ? dv.getInt32(0, true) : 0;
    this.tail = n >= 4 ? dv.getInt32(n - 4, true) : 0;
  }

  /**
   * Whether b[p..p+length) holds the text (the caller guarantees p + length <= b.length). The
   * last group first: remembered line starts differ mostly in the pid and CPU near their end.
   */
  at(b: Uint8Array, dv: DataView, p: number): boolean {
    const n = this.length;
    if (n < 8) {
      // 4 to 7 bytes: two overlapping 32-bit words (`start:`, `len:`)
      if (n >= 4) return dv.getInt32(p, true) === this.head && dv.getInt32(p + n - 4, true) === this.tail;
      for (let k = 0; k < n; k++) if (b[p + k] !== this.bytes[k]) return false;
      return true;
    }
    const w = this.words;
    const last = w.length - 1;
    if (dv.getFloat64(p + n - 8, true) !== w[last]) return false;
    for (let k = 0; k < last; k++) if (dv.getFloat64(p + 8 * k, true) !== w[k]) return false;
    return true;
  }
}

/** hex digit values by byte, -1 for anything else */
const HEX_DIGIT = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX_DIGIT[48 + c] = c;
for (let c = 0; c < 6; c++) HEX_DIGIT[97 + c] = HEX_DIGIT[65 + c] = 10 + c;

/**
 * readHex on bytes, giving the same double. readHex's `v = v * 16 + d` in doubles is a chain of
 * dependent multiply-adds (~8 cycles a digit; the hex digits of a madvise payload are a third of
 * its time), so the first digits are gathered in int32s with shifts instead: up to 7 digits in
 * one, up to 6 more in a second, combined exactly (13 digits are at most 52 bits, and readHex is
 * exact below 2^53, so both give the same value). Digits beyond the 13th continue with readHex's
 * own arithmetic from that exact value, so its roundings are reproduced. Sets readEnd.
 */
function readHexBytes(b: Uint8Array, p: number): number {
  if (b[p] === 48 && b[p + 1] === 120) p += 2;
  const start = p;
  let hi = 0;
  let d: number;
  while ((d = HEX_DIGIT[b[p]!]!) >= 0) {
    hi = (hi << 4) | d;
    if (++p - start === 7) break;
  }
  if (p - start < 7) {
    readEnd = p;
    return p === start ? NaN : hi;
  }
  const mid = p;
  let lo = 0;
  while ((d = HEX_DIGIT[b[p]!]!) >= 0) {
    lo = (lo << 4) | d;
    if (++p - mid === 6) break;
  }
  let v = hi * HEX_SCALE[p - mid]! + lo;
  if (p - mid === 6) {
    while ((d = HEX_DIGIT[b[p]!]!) >= 0) {
      v = v * 16 + d;
      p++;
    }
  }
  readEnd = p;
  return v;
}
/** 16 ** n */
const HEX_SCALE = [1, 16, 256, 4096, 65536, 1048576, 16777216];

/** readInt on bytes. Sets readEnd. */
function readIntBytes(b: Uint8Array, p: number): number {
  let neg = false;
  let c = b[p]!;
  if (c === 45 /* - */) {
    neg = true;
    c = b[++p]!;
  }
  let v = 0;
  const start = p;
  while (c >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    c = b[++p]!;
  }
  readEnd = p;
  if (p === start || v > Number.MAX_SAFE_INTEGER) return NaN;
  return neg ? -v : v;
}

const PAGES = new ByteText('pages');

/** tlbFlush on bytes */
const tlbFlushBytes: BytePayloadParser = (b, dv, p, e, h) => {
  if (p + 6 >= e || !PAGES.at(b, dv, p) || (b[p + 5] !== 58 && b[p + 5] !== 61)) return null;
  const pages = readIntBytes(b, p + 6);
  if (pages !== pages) return null;
  while (e > p && b[e - 1] === 32) e--;
  if (b[e - 1] !== 41 /* ) */) return null;
  // the string parser's lastIndexOf('(') must land at or after the pages number
  let open = e - 2;
  while (open >= readEnd && b[open] !== 40) open--;
  if (open < readEnd) return null;
  const reason = readIntBytes(b, open + 1);
  if (reason !== reason || readEnd !== e - 1) return null;
  return {
    kind: 'tlb_flush', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    reason, pages,
  };
};

/** namedSyscall's fast path on bytes, for a syscall in X86_64_SYSCALLS */
function namedSyscallBytes(info: SyscallInfo): BytePayloadParser {
  // `start:`, `, len_in:`, `, behavior:`: each followed by one character the string parser skips
  // without looking at it, then the hex value
  const pieces = info.args.map((a, k) => new ByteText(`${k > 0 ? ', ' : ''}${a}:`));
  const name = info.name;
  return (b, dv, p, e, h) => {
    if (h.payloadStyle === 1) {
      p++; // the `(`
      while (e > p && b[e - 1] === 32) e--;
      if (b[e - 1] !== 41) return null;
      e--;
    }
    const vals = syscallVals;
    let q = p;
    for (let k = 0; k < pieces.length; k++) {
      const piece = pieces[k]!;
      const v0 = q + piece.length + 1;
      if (v0 > e || !piece.at(b, dv, q)) return null;
      const v = readHexBytes(b, v0);
      if (v !== v) return null;
      vals[k] = v;
      q = readEnd;
    }
    if (q !== e) return null;
    return {
      kind: 'syscall_enter', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
      name, nr: info.nr, raw: false, args: info.build(vals),
    };
  };
}

const byteSyscallParsers = new Map<string, BytePayloadParser>();

/** The byte parser for event `name`, or null when the event has none (decode and use the string one). */
export function bytePayloadParserFor(name: string): BytePayloadParser | null {
  if (name === 'tlb_flush') return tlbFlushBytes;
  if (!name.startsWith('sys_enter_')) return null;
  const info = SYSCALL_BY_NAME.get(name.slice(10));
  if (info === undefined) return null;
  let bp = byteSyscallParsers.get(info.name);
  if (bp === undefined) byteSyscallParsers.set(info.name, (bp = namedSyscallBytes(info)));
  return bp;
}

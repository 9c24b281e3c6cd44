// Pieces shared by the three text grammars (ftrace.ts, tracecmd.ts, perfscript.ts): the header
// scratch object a grammar fills for every line, the timestamp and event-name scanners, and the
// lost-events marker lines. Each grammar file documents its own line layout.

import type { ParsedHeader, PayloadContext, PayloadParser } from '../../events/payloads.js';
import { internString } from '../../events/payloads.js';
import type { TraceFormat, TraceMeta } from '../source.js';

/** parseLine results */
export const LINE_EVENT = 0;
export const LINE_SKIP = 1;
export const LINE_LOST = 2;
export const LINE_MALFORMED = 3;
export type LineKind = typeof LINE_EVENT | typeof LINE_SKIP | typeof LINE_LOST | typeof LINE_MALFORMED;

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * `seconds.fraction` in s[a..b) -> integer nanoseconds; NaN when malformed. Up to 9 fraction
 * digits are used (`223.569749` -> 223569749000, `-t` / `--ns` printings with 9 digits keep
 * them). A bare integer (counter clocks such as `x86-tsc`) is taken as is. Exact below 2^53 ns
 * (104 days of uptime). The kernel's clocks are u64: a value of 2^64 or more is corruption
 * (NaN), which also keeps a run of digits from becoming Infinity.
 */
export function parseTs(s: string, a: number, b: number): number {
  let sec = 0;
  let i = a;
  let c = s.charCodeAt(i);
  while (i < b && c >= 48 && c <= 57) {
    sec = sec * 10 + (c - 48);
    c = s.charCodeAt(++i);
  }
  if (i === a || sec >= MAX_TS_NS) return NaN;
  if (i === b) return sec;
  if (c !== 46 /* . */ || sec >= MAX_TS_SEC) return NaN;
  i++;
  let frac = 0;
  let nd = 0;
  while (i < b) {
    c = s.charCodeAt(i++);
    if (c < 48 || c > 57) return NaN;
    if (nd < 9) {
      frac = frac * 10 + (c - 48);
      nd++;
    }
  }
  if (nd === 0) return NaN;
  return sec * 1e9 + frac * POW10[9 - nd]!;
}
export const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];
/** timestamps are u64 nanoseconds (or u64 counter ticks) */
export const MAX_TS_NS = 2 ** 64;
export const MAX_TS_SEC = MAX_TS_NS / 1e9;

/** index of the `:` that ended the last parseTsColon (module state: single-threaded hot path) */
let tsEnd = 0;

/** parseTs for a timestamp that starts at s[a] and ends at the next `:` (sets tsEnd); NaN if none */
export function parseTsColon(s: string, a: number): number {
  let sec = 0;
  let i = a;
  let c = s.charCodeAt(i);
  while (c >= 48 && c <= 57) {
    sec = sec * 10 + (c - 48);
    c = s.charCodeAt(++i);
  }
  if (i === a || sec >= MAX_TS_NS) return NaN;
  tsEnd = i;
  if (c === 58 /* : */) return sec;
  if (c !== 46 /* . */ || sec >= MAX_TS_SEC) return NaN;
  let frac = 0;
  let nd = 0;
  c = s.charCodeAt(++i);
  while (c >= 48 && c <= 57) {
    if (nd < 9) {
      frac = frac * 10 + (c - 48);
      nd++;
    }
    c = s.charCodeAt(++i);
  }
  tsEnd = i;
  if (nd === 0 || c !== 58) return NaN;
  return sec * 1e9 + frac * POW10[9 - nd]!;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/** A flat copy of a (possibly sliced) string, so a cache entry does not pin a 64 KiB chunk. */
function flat(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

export interface NameEntry {
  /** the text from the event name to the first `: ` (`tlb_flush`, `tlb:tlb_flush`, `sys_madvise(start`) */
  key: string;
  name: string;
  payloadStyle: number;
  /** from the key start to where the payload begins (before skipping padding for style 0) */
  payloadOffset: number;
  /** the payload parser for `name`, resolved once by the caller (null: an `other` event) */
  parser: PayloadParser | null | undefined;
}

/**
 * Event names seen so far, bucketed by the length of their key. A line's name is then found with
 * one indexOf(': '), one slice and a `===` or two, instead of validating it character by
 * character; the entry also carries the resolved payload parser (no name lookup per line).
 */
export class NameTable {
  private readonly buckets: (NameEntry[] | undefined)[] = [];
  private size = 0;

  find(s: string, at: number, len: number): NameEntry | undefined {
    const b = this.buckets[len];
    if (b === undefined) return undefined;
    const text = s.slice(at, at + len);
    for (let i = 0; i < b.length; i++) {
      const e = b[i]!;
      if (e.key === text) return e;
    }
    return undefined;
  }

  add(e: NameEntry): void {
    if (this.size >= 4096 || e.key.length > 128) return; // bounded; the slow path still works
    (this.buckets[e.key.length] ??= []).push(e);
    this.size++;
  }
}

/** pid -> the exact line prefix before `-PID` (or before the TID token) and the comm it holds */
interface CommEntry {
  prefix: string;
  comm: string;
}

/** the text before a line's `[CPU]` bracket and the task fields it holds */
interface TaskPrefix {
  prefix: string;
  pid: number;
  tgid: number;
  comm: string;
  tgidColumn: boolean;
}

/** One per input, reused for every line (no allocation per line). */
export class LineHeader implements ParsedHeader {
  ts = 0;
  cpu = 0;
  pid = 0;
  tgid = -1;
  comm = '';
  hardirq: boolean | undefined = undefined;
  line = 0;
  payloadStyle = 0;
  /** event name without the system prefix; syscall call forms are renamed sys_enter_<name> */
  name = '';
  /** index in the line where the payload starts */
  payloadStart = 0;
  /** the name-table entry of this line's event, undefined when the name took the slow path */
  entry: NameEntry | undefined = undefined;
  /** index of the line's `[CPU]` bracket (set by findCpuBracket) */
  bracket = -1;
  /** LINE_LOST: events lost on `cpu`, -1 when the marker does not say */
  lostCount = 0;
  /** whether this line carried a tgid column / pid/tid pair */
  tgidColumn = false;
  /** per-input caches */
  readonly names = new NameTable();
  private readonly comms = new Map<number, CommEntry>();
  private readonly taskByCpu: (TaskPrefix | undefined)[] = [];

  /**
   * Consecutive events on one CPU mostly come from the same task, whose header text before the
   * `[CPU]` bracket (`            bash-5045    (   5045) `) is then identical: one comparison
   * replaces parsing comm, pid and tgid. Call after h.cpu is set; true when the fields were reused.
   */
  reuseTask(s: string, bracket: number): boolean {
    const t = this.taskByCpu[this.cpu];
    // slice + === measured faster and steadier than startsWith or a charCodeAt loop here
    if (t === undefined || t.prefix.length !== bracket || s.slice(0, bracket) !== t.prefix) return false;
    this.pid = t.pid;
    this.tgid = t.tgid;
    this.comm = t.comm;
    this.tgidColumn = t.tgidColumn;
    return true;
  }

  /** Remember this line's task prefix for its CPU (it pins at most one chunk per CPU). */
  rememberTask(s: string, bracket: number): void {
    const cpu = this.cpu;
    if (cpu >= 1 << 16) return;
    const prefix = s.slice(0, bracket);
    const t = this.taskByCpu[cpu];
    if (t === undefined) {
      this.taskByCpu[cpu] = { prefix, pid: this.pid, tgid: this.tgid, comm: this.comm, tgidColumn: this.tgidColumn };
      return;
    }
    t.prefix = prefix;
    t.pid = this.pid;
    t.tgid = this.tgid;
    t.comm = this.comm;
    t.tgidColumn = this.tgidColumn;
  }

  /**
   * Set `comm` from s[0..end) (left padding included) for task `pid`: when the same task printed
   * the same prefix before, its comm string is reused without slicing or scanning the padding.
   */
  setComm(s: string, end: number, pid: number, ctx: PayloadContext): void {
    const c = this.comms.get(pid);
    if (c !== undefined && c.prefix.length === end && s.slice(0, end) === c.prefix) {
      this.comm = c.comm;
      return;
    }
    let a = 0;
    while (a < end && s.charCodeAt(a) === 32) a++;
    let b = end;
    while (b > a && s.charCodeAt(b - 1) === 32) b--;
    const comm = internString(ctx, s.slice(a, b));
    if (this.comms.size >= 1 << 16) this.comms.clear();
    this.comms.set(pid, { prefix: flat(s.slice(0, end)), comm });
    this.comm = comm;
  }
}

/** A text grammar: sniffer + line parser. */
export interface TextFormat {
  readonly name: Exclude<TraceFormat, 'trace-dat'>;
  /** cheap check on the first lines of an input */
  sniff(firstLines: string[]): boolean;
  /**
   * Parse one line into `h`. Header/comment lines update `meta` and return LINE_SKIP; lost-events
   * markers fill h.cpu/h.lostCount and return LINE_LOST.
   */
  parseLine(s: string, h: LineHeader, meta: TraceMeta, ctx: PayloadContext): LineKind;
  /** how this tool prints cpumasks */
  readonly cpumaskStyle: 'hex' | 'list' | 'auto';
  /** whether a flags column may follow `[CPU]` (what the grammar passes scanAfterCpu as allowFlags) */
  readonly flagsColumn: boolean;
}

/**
 * After the `[CPU]` bracket: ` [flags] ts: name: payload`. `i` is the index just after `]`.
 * Fills h.ts, h.hardirq (from flags, when allowed and present), h.name, h.payloadStyle,
 * h.payloadStart. Returns false when the text does not fit.
 *
 * Event names: `[A-Za-z0-9_]+`, with `withSystem` a `system:` prefix first (perf script).
 * Raw ftrace prints syscalls:sys_enter_X as a call, `sys_X(args)`, and sys_exit_X as
 * `sys_X -> 0x0`; both are renamed to the event name (`sys_enter_X`, `sys_exit_X`).
 */
export function scanAfterCpu(s: string, i: number, h: LineHeader, allowFlags: boolean, withSystem: boolean): boolean {
  if (s.charCodeAt(i) !== 32) return false;
  while (s.charCodeAt(i) === 32) i++;
  h.hardirq = undefined;
  const c0 = s.charCodeAt(i);
  if (c0 < 48 || c0 > 57) {
    // not a digit, so not the timestamp: the flags column `d.h1.` (its first flag is never a digit)
    if (!allowFlags) return false;
    let j = s.indexOf(' ', i);
    if (j < 0 || j - i > 8) return false;
    const f = s.charCodeAt(i + 2);
    h.hardirq = f === 104 /* h */ || f === 72 /* H */;
    while (s.charCodeAt(j) === 32) j++;
    i = j;
  }
  // the timestamp `123.456789:`, read up to its colon
  const ts = parseTsColon(s, i);
  if (ts !== ts || s.charCodeAt(tsEnd + 1) !== 32) return false;
  let j = tsEnd + 1;
  h.ts = ts;
  while (s.charCodeAt(j) === 32) j++;
  // fast path: a name seen before
  const kc = s.indexOf(': ', j);
  if (kc > j) {
    const e = h.names.find(s, j, kc - j);
    if (e !== undefined) {
      h.entry = e;
      h.name = e.name;
      h.payloadStyle = e.payloadStyle;
      let p = j + e.payloadOffset;
      if (e.payloadStyle === 0) while (s.charCodeAt(p) === 32) p++;
      h.payloadStart = p;
      return true;
    }
  }
  h.entry = undefined;
  return scanEventName(s, j, kc, h, withSystem);
}

/** The slow path of scanAfterCpu: validate the name character by character, then remember it. */
function scanEventName(s: string, j: number, kc: number, h: LineHeader, withSystem: boolean): boolean {
  const ns = j;
  let nameStart = j;
  let c = s.charCodeAt(j);
  while (isNameChar(c)) c = s.charCodeAt(++j);
  if (withSystem && c === 58 && isNameChar(s.charCodeAt(j + 1))) {
    nameStart = ++j;
    c = s.charCodeAt(j);
    while (isNameChar(c)) c = s.charCodeAt(++j);
  }
  if (j === nameStart) return false;
  if (c === 58 /* : */) {
    const name = flat(s.slice(nameStart, j));
    if (kc === j) h.names.add({ key: flat(s.slice(ns, kc)), name, payloadStyle: 0, payloadOffset: kc - ns + 1, parser: undefined });
    h.name = name;
    j++;
    while (s.charCodeAt(j) === 32) j++;
    h.payloadStyle = 0;
    h.payloadStart = j;
    return true;
  }
  if (!withSystem && ns === nameStart && s.startsWith('sys_', ns)) {
    if (c === 40 /* ( */) {
      const name = 'sys_enter_' + s.slice(ns + 4, j);
      if (kc > j) h.names.add({ key: flat(s.slice(ns, kc)), name, payloadStyle: 1, payloadOffset: j - ns, parser: undefined });
      h.name = name;
      h.payloadStyle = 1;
      h.payloadStart = j;
      return true;
    }
    if (c === 32 && s.startsWith(' -> ', j)) {
      h.name = 'sys_exit_' + s.slice(ns + 4, j);
      h.payloadStyle = 0;
      h.payloadStart = j + 4;
      return true;
    }
  }
  return false;
}

/**
 * Left of the CPU bracket in raw ftrace and trace-cmd: `comm-PID` (then spaces). `e` is the index
 * just past the PID. comm is everything before the last `-` (comm may itself contain dashes,
 * spaces, brackets: `npm view @types-5935`), minus the left padding.
 */
export function parseCommDashPid(s: string, e: number, h: LineHeader, ctx: PayloadContext): boolean {
  let k = e;
  while (k > 0 && isDigit(s.charCodeAt(k - 1))) k--;
  if (k === e || k === 0 || s.charCodeAt(k - 1) !== 45 /* - */) return false;
  let pid = 0;
  for (let i = k; i < e; i++) pid = pid * 10 + (s.charCodeAt(i) - 48);
  h.pid = pid;
  h.setComm(s, k - 1, pid, ctx);
  return true;
}

/**
 * Find the `[CPU]` bracket: the first `[digits]` followed by a valid tail (see scanAfterCpu).
 * Searching left to right and validating the tail is what lets a comm contain brackets.
 * Returns the index of `[` (h.cpu and the tail fields set) or -1.
 */
export function findCpuBracket(s: string, h: LineHeader, allowFlags: boolean, withSystem: boolean): number {
  let b = s.indexOf('[');
  while (b > 0) {
    let k = b + 1;
    let cpu = 0;
    let c = s.charCodeAt(k);
    while (c >= 48 && c <= 57) {
      cpu = cpu * 10 + (c - 48);
      c = s.charCodeAt(++k);
    }
    if (c === 93 /* ] */ && k > b + 1 && scanAfterCpu(s, k + 1, h, allowFlags, withSystem)) {
      h.cpu = cpu;
      h.bracket = b;
      return b;
    }
    b = s.indexOf('[', b + 1);
  }
  return -1;
}

/**
 * Lost-events markers, `CPU:N [LOST M EVENTS]` (raw ftrace trace_pipe), `CPU:N [M EVENTS DROPPED]`
 * and `CPU:N [EVENTS DROPPED]` (trace-cmd report; seen in native-6.18-2cpu/sng-munmap:
 * `CPU:0 [97270 EVENTS DROPPED]`). Fills h.cpu / h.lostCount; false when the line is not one.
 */
export function parseLostLine(s: string, h: LineHeader): boolean {
  if (!s.startsWith('CPU:')) return false;
  let i = 4;
  let cpu = 0;
  let c = s.charCodeAt(i);
  while (c >= 48 && c <= 57) {
    cpu = cpu * 10 + (c - 48);
    c = s.charCodeAt(++i);
  }
  if (i === 4 || !s.startsWith(' [', i)) return false;
  i += 2;
  let count = -1;
  const lost = s.startsWith('LOST ', i);
  if (lost) i += 5;
  const d = i;
  let n = 0;
  c = s.charCodeAt(i);
  while (c >= 48 && c <= 57) {
    n = n * 10 + (c - 48);
    c = s.charCodeAt(++i);
  }
  if (i > d) count = n;
  const rest = s.slice(i).trimEnd();
  const ok = lost
    ? count >= 0 && rest === ' EVENTS]' // ftrace: CPU:N [LOST M EVENTS]
    : count >= 0
      ? rest === ' EVENTS DROPPED]' // trace-cmd: CPU:N [M EVENTS DROPPED]
      : rest === 'EVENTS DROPPED]'; // trace-cmd: CPU:N [EVENTS DROPPED]
  if (!ok) return false;
  h.cpu = cpu;
  h.lostCount = count;
  return true;
}

/**
 * Sniffing looks at this many candidate lines and takes a format when most of them parse: one
 * mangled line near the top (a cut first line of a `split` piece, a copy-paste accident) does not
 * make a trace "not a trace", while a text file that merely has one trace-like line is still refused.
 */
export const SNIFF_CANDIDATES = 8;

export function sniffMajority(ok: number, n: number): boolean {
  return ok > 0 && ok * 2 > n;
}

/** Lines to look at when sniffing: non-blank, not comments, not lost-events markers. */
export function candidateLines(firstLines: string[], max: number): string[] {
  const out: string[] = [];
  const h = new LineHeader();
  for (const l of firstLines) {
    if (out.length >= max) break;
    if (l.trim().length === 0 || l.startsWith('#') || parseLostLine(l, h)) continue;
    out.push(l);
  }
  return out;
}

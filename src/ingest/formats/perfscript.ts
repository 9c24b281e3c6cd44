// `perf script` text of a `perf record -e <tracepoints> -a` recording (perf 6.1).
//
// No header (unless `--header`, whose `# ...` lines are skipped). Event lines
// (native-6.18-2cpu/mt-mixed and sng-fork perf-script.txt.gz):
//
//          rcu_preempt    15 [000]   228.225723:                          tlb:tlb_flush: pages:0 reason:flush on task switch (0)
//      npm view cli-pr  6326 [000]   228.228576:            syscalls:sys_enter_mprotect: start: 0x1c7deb140000, len: 0x00037000, prot: 0x00000003
//                  :-1    -1 [001]  1355.426093:                     sched:sched_switch: prev_comm=tlbw prev_pid=5071 ...
//     |_______________| |___| |___|  |__________|  |_______________________________|  |____________________________|
//       comm (any)      tid    cpu    timestamp     system:event (right-aligned)       payload (src/events/payloads.ts)
//
//   - the task column is `TID` or, with `-F +pid`, `PID/TID` (then the tgid is known);
//   - `:-1 -1` is perf's placeholder for a task it has no comm/pid for (it exited): pid -1;
//   - payloads are the kernel's print formats evaluated by libtraceevent without plugins
//     (`pages:N reason:<name> (N)`, `prev_comm=..`), pointers `0xffff..` / `(nil)`;
//   - call-chain lines (`perf script -g`: indented `addr sym (dso)`) and blank lines are skipped;
//   - the `[CPU]` column is required: it is there for system-wide recordings (`perf record -a`),
//     which is what a TLB-shootdown trace needs anyway.
//
// The `[CPU]` bracket is the first `[digits]` followed by `ts: system:event:`; left of it, parsed
// from the right: the task id token (`TID`, `-1` or `PID/TID`), then the comm.

import { newPayloadContext, type PayloadContext } from '../../events/payloads.js';
import type { TraceMeta } from '../source.js';
import {
  candidateLines,
  findCpuBracket,
  LINE_EVENT,
  LINE_MALFORMED,
  LINE_SKIP,
  LineHeader,
  SNIFF_CANDIDATES,
  sniffMajority,
  type LineKind,
  type TextFormat,
} from './common.js';

function readPid(s: string, a: number, b: number): number {
  let neg = false;
  if (s.charCodeAt(a) === 45) {
    neg = true;
    a++;
  }
  if (a >= b) return NaN;
  let v = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
    v = v * 10 + (c - 48);
  }
  return neg ? -v : v;
}

/** an indented call-chain line: whitespace, then a hex address */
function isCallchainLine(s: string): boolean {
  const c0 = s.charCodeAt(0);
  if (c0 !== 9 && c0 !== 32) return false;
  let i = 0;
  while (s.charCodeAt(i) === 9 || s.charCodeAt(i) === 32) i++;
  let j = i;
  let c = s.charCodeAt(j);
  while ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) c = s.charCodeAt(++j);
  return j - i >= 4 && (c === 32 || j === s.length);
}

export function parsePerfScriptLine(s: string, h: LineHeader, _meta: TraceMeta, ctx: PayloadContext): LineKind {
  if (s.length === 0 || s.charCodeAt(0) === 35 /* # */) return LINE_SKIP;
  const b = findCpuBracket(s, h, false, true);
  if (b < 0) return isCallchainLine(s) || s.trim().length === 0 ? LINE_SKIP : LINE_MALFORMED;
  if (h.reuseTask(s, b)) return LINE_EVENT;
  // the task-id token: s[t..e)
  let e = b;
  while (e > 0 && s.charCodeAt(e - 1) === 32) e--;
  let t = e;
  while (t > 0 && s.charCodeAt(t - 1) !== 32) t--;
  if (t === e) return LINE_MALFORMED;
  const slash = s.indexOf('/', t);
  if (slash >= 0 && slash < e) {
    h.tgid = readPid(s, t, slash);
    h.pid = readPid(s, slash + 1, e);
    h.tgidColumn = true;
    if (h.tgid !== h.tgid) return LINE_MALFORMED;
  } else {
    h.pid = readPid(s, t, e);
    h.tgid = -1;
    h.tgidColumn = false;
  }
  if (h.pid !== h.pid) return LINE_MALFORMED;
  h.setComm(s, t, h.pid, ctx);
  h.rememberTask(s, b);
  return LINE_EVENT;
}

/**
 * perf script: the first event lines have `TID [CPU] ts: system:event:` (a space before the TID,
 * no `-`); most of the first SNIFF_CANDIDATES must (sniffMajority).
 */
export function isPerfScript(firstLines: string[]): boolean {
  const lines = candidateLines(firstLines, SNIFF_CANDIDATES).filter((l) => !isCallchainLine(l));
  const h = new LineHeader();
  const meta = { files: [], format: 'perf-script', tgidKnown: false, truncated: false, lines: 0 } satisfies TraceMeta;
  const ctx: PayloadContext = newPayloadContext('auto');
  let ok = 0;
  for (const l of lines) {
    if (parsePerfScriptLine(l, h, meta, ctx) !== LINE_EVENT) continue;
    // perf always prints `system:event:`; a bare `event:` is ftrace/trace-cmd text
    const p = h.payloadStart;
    const colon = l.lastIndexOf(':', p - 1);
    if (colon >= 0 && l.charCodeAt(colon - 1 - h.name.length) === 58) ok++;
  }
  return sniffMajority(ok, lines.length);
}

export const perfScriptFormat: TextFormat = {
  name: 'perf-script',
  sniff: isPerfScript,
  parseLine: parsePerfScriptLine,
  cpumaskStyle: 'auto',
  flagsColumn: false,
};

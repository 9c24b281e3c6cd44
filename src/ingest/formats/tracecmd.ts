// `trace-cmd report` text (trace-cmd 3.1.6 with the libtraceevent plugins).
//
// First line: the CPU count of the recording (libtracecmd may print `CPU 3 is empty` lines for
// empty per-CPU buffers around it; they are skipped).
//     cpus=8
// Event lines (qemu-6.12-16cpu/mt-munmap, native-6.18-2cpu/sng-tlb-shootdown):
//
//             init-1     [015]    15.414662: tlb_flush:            pages=-1 reason= (4)
//           <idle>-0     [001]    15.415948: call_function_single_entry: vector=251
//      npm install vit-8034  [000]   241.878624: sched_switch:         npm install vit:8034 [120] S ==> stress-ng:8153 [120]
//      stress-ng-munma-11376 [001]   312.588577: sys_enter_munmap:     addr: 0x7f5d59df3000, len: 0x00001000
//     |_______________| |__|  |___|   |________|  |________|           |______________________________________|
//          comm (any)   pid   cpu     timestamp   event (padded)       payload (src/events/payloads.ts)
//
//   - no TGID column (events get tgid -1) and, by default, no flags column (`report -l` adds one;
//     it is accepted and read like raw ftrace's);
//   - event names have no system prefix and are padded with spaces after the colon;
//   - plugins change payloads: tlb_flush `pages=N reason=<name> (N)` (names only for 0-3),
//     sched_switch `comm:pid [prio] S ==> comm:pid [prio]`, cpumasks as CPU lists (`1-5,7`),
//     pointers raw (`0xffff888627d2e420`, `(nil)`), symbols without the `/size` suffix;
//   - lost events: `CPU:0 [97270 EVENTS DROPPED]` (native-6.18-2cpu/sng-munmap) or
//     `CPU:N [EVENTS DROPPED]` when the count is unknown.
//
// The `[CPU]` bracket is located as in raw ftrace (first `[digits]` with a valid tail); left of
// it is `comm-PID`, parsed from the right.

import { newPayloadContext, type PayloadContext } from '../../events/payloads.js';
import type { TraceMeta } from '../source.js';
import {
  candidateLines,
  findCpuBracket,
  LINE_EVENT,
  LINE_LOST,
  LINE_MALFORMED,
  LINE_SKIP,
  LineHeader,
  SNIFF_CANDIDATES,
  sniffMajority,
  parseCommDashPid,
  parseLostLine,
  type LineKind,
  type TextFormat,
} from './common.js';

/** `cpus=8` -> 8, else -1 */
function cpusLine(s: string): number {
  if (!s.startsWith('cpus=')) return -1;
  let n = 0;
  let i = 5;
  let c = s.charCodeAt(i);
  while (c >= 48 && c <= 57) {
    n = n * 10 + (c - 48);
    c = s.charCodeAt(++i);
  }
  return i > 5 && s.slice(i).trim().length === 0 ? n : -1;
}

/** `CPU 3 is empty`: printed by libtracecmd before or after `cpus=N` for an empty per-CPU buffer */
function isEmptyCpuLine(s: string): boolean {
  return /^CPU \d+ is empty\s*$/.test(s);
}

export function parseTraceCmdLine(s: string, h: LineHeader, meta: TraceMeta, ctx: PayloadContext): LineKind {
  if (s.length === 0) return LINE_SKIP;
  const c0 = s.charCodeAt(0);
  if (c0 === 67 /* C */ && parseLostLine(s, h)) return LINE_LOST;
  if (c0 === 99 /* c */) {
    const n = cpusLine(s);
    if (n >= 0) {
      meta.declaredCpus = n;
      return LINE_SKIP;
    }
  }
  const b = findCpuBracket(s, h, true, false);
  if (b < 0) {
    // `CPU 3 is empty` (libtracecmd, for a CPU whose buffer holds nothing), `version = 6`
    if (c0 === 67 && isEmptyCpuLine(s)) return LINE_SKIP;
    if (c0 !== 32 && /^[a-z_]+ ?= ?\S+$/.test(s)) return LINE_SKIP;
    return LINE_MALFORMED;
  }
  if (h.reuseTask(s, b)) return LINE_EVENT;
  let e = b;
  while (e > 0 && s.charCodeAt(e - 1) === 32) e--;
  h.tgid = -1;
  h.tgidColumn = false;
  if (!parseCommDashPid(s, e, h, ctx)) return LINE_MALFORMED;
  h.rememberTask(s, b);
  return LINE_EVENT;
}

/**
 * trace-cmd report: first line `cpus=N` (possibly after `version = N`), or — for headerless
 * output — event lines with neither a TGID nor a flags column and no `system:` prefix.
 */
export function isTraceCmd(firstLines: string[]): boolean {
  for (const l of firstLines) {
    if (l.trim().length === 0 || /^version = \S+$/.test(l) || isEmptyCpuLine(l)) continue;
    if (cpusLine(l) >= 0) return true;
    break;
  }
  const lines = candidateLines(firstLines, SNIFF_CANDIDATES);
  const h = new LineHeader();
  const meta = { files: [], format: 'trace-cmd', tgidKnown: false, truncated: false, lines: 0 } satisfies TraceMeta;
  const ctx: PayloadContext = newPayloadContext('auto');
  let ok = 0;
  for (const l of lines) {
    // a flags column means raw ftrace (a TGID column already fails the `comm-PID [CPU]` grammar)
    if (parseTraceCmdLine(l, h, meta, ctx) === LINE_EVENT && h.hardirq === undefined) ok++;
  }
  return sniffMajority(ok, lines.length);
}

export const traceCmdFormat: TextFormat = {
  name: 'trace-cmd',
  sniff: isTraceCmd,
  parseLine: parseTraceCmdLine,
  // libtraceevent prints CPU lists; `auto` also reads hex words should an older one print them
  cpumaskStyle: 'auto',
  flagsColumn: true,
};

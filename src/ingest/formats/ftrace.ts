// Raw ftrace text: the tracefs `trace` / `trace_pipe` files.
//
// Header (the `trace` file only; `trace_pipe` has none):
//     # tracer: nop
//     #
//     # entries-in-buffer/entries-written: 33429/33429   #P:2
//     ...
//     #           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION
// `entries-in-buffer` < `entries-written` means the ring buffer overwrote old events; `#P:` is
// the CPU count. `##### CPU 0 buffer started ####` (seen in native-6.18-2cpu/sng-munmap) is an
// annotation printed, when the buffer overran, before the first event of each CPU but the first
// one: it does not say which CPU lost events, so it is skipped like any comment.
//
// Event lines (native-6.18-2cpu/mt-mixed), read from the right of the `[CPU]` bracket:
//
//             bash-5045    (   5045) [000] ...1.  1354.137805: tlb_flush: pages:-1 reason:remote IPI send (4)
//           <idle>-0       (-------) [001] d.h1.  1354.137847: call_function_single_entry: vector=251
//      npm view @types-5935    (   5935) [000] d..2.   223.582380: tlb_flush: pages:0 reason:flush on task switch (0)
//             tlbw-5050    (   5050) [000] .....  1354.138718: sys_mprotect(start: 0x7f4628615000, len: 0x4000, prot: 1)
//     |______________| |__|  |_______| |___| |___|  |__________|  |_______| |______________________________|
//        comm (any)    pid   tgid opt. cpu   flags  timestamp s.us  event     payload (src/events/payloads.ts)
//
//   - TGID column only with `options/record-tgid`; `(-------)` (idle, no tgid) -> -1;
//   - flags: 5 characters since 5.x (irqs-off, need-resched, hardirq/softirq, preempt-depth,
//     migrate-disable), 4 on older kernels, absent with `options/irq-info` off; hardirq = the
//     third character is `h` (hardirq) or `H` (hardirq inside softirq);
//   - the event name has no system prefix; syscalls:sys_enter_X prints as the call `sys_X(..)`;
//   - `CPU:N [LOST M EVENTS]` marker lines (trace_pipe).
//
// The `[CPU]` bracket is the first `[digits]` followed by `[flags] ts: name`; everything left of
// it is parsed backwards: optional `(tgid)`, then `-PID`, then the comm (which may contain
// spaces, dashes, brackets, colons).

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

/** `# entries-in-buffer/entries-written: 33429/33429   #P:2` and the column legend */
function parseComment(s: string, meta: TraceMeta): void {
  const e = s.indexOf('entries-in-buffer/entries-written:');
  if (e >= 0) {
    const m = /entries-written:\s*(\d+)\/(\d+)(?:\s+#P:(\d+))?/.exec(s);
    if (m) {
      meta.entriesInBuffer = Number(m[1]);
      meta.entriesWritten = Number(m[2]);
      if (m[3] !== undefined) meta.declaredCpus = Number(m[3]);
    }
  }
}

/**
 * Parse one raw ftrace line into `h`. A comment returns LINE_SKIP (after reading header fields
 * into meta), a lost-events marker LINE_LOST, an event line LINE_EVENT.
 */
export function parseFtraceLine(s: string, h: LineHeader, meta: TraceMeta, ctx: PayloadContext): LineKind {
  const c0 = s.charCodeAt(0);
  if (c0 === 35 /* # */) {
    parseComment(s, meta);
    return LINE_SKIP;
  }
  if (s.length === 0) return LINE_SKIP;
  if (c0 === 67 /* C */ && parseLostLine(s, h)) return LINE_LOST;
  const b = findCpuBracket(s, h, true, false);
  if (b < 0) return LINE_MALFORMED;
  if (h.reuseTask(s, b)) return LINE_EVENT;
  let e = b;
  while (e > 0 && s.charCodeAt(e - 1) === 32) e--;
  h.tgidColumn = false;
  h.tgid = -1;
  if (s.charCodeAt(e - 1) === 41 /* ) */) {
    const open = s.lastIndexOf('(', e - 1);
    if (open < 0) return LINE_MALFORMED;
    let i = open + 1;
    while (s.charCodeAt(i) === 32) i++;
    if (s.charCodeAt(i) === 45 /* - */) h.tgid = -1;
    else {
      let t = 0;
      let c = s.charCodeAt(i);
      const d = i;
      while (c >= 48 && c <= 57) {
        t = t * 10 + (c - 48);
        c = s.charCodeAt(++i);
      }
      if (i === d || i !== e - 1) return LINE_MALFORMED;
      h.tgid = t;
    }
    h.tgidColumn = true;
    e = open;
    while (e > 0 && s.charCodeAt(e - 1) === 32) e--;
  }
  if (!parseCommDashPid(s, e, h, ctx)) return LINE_MALFORMED;
  h.rememberTask(s, b);
  return LINE_EVENT;
}

/**
 * Raw ftrace: the `# tracer:` header, or (trace_pipe) first event lines with a TGID column or a
 * flags column — without either, a line looks exactly like trace-cmd report and is left to it.
 * Most of the first SNIFF_CANDIDATES lines must fit (sniffMajority).
 */
export function isFtrace(firstLines: string[]): boolean {
  for (const l of firstLines) {
    if (l.startsWith('# tracer:')) return true;
    if (l.trim().length > 0 && !l.startsWith('#')) break;
  }
  const lines = candidateLines(firstLines, SNIFF_CANDIDATES);
  const h = new LineHeader();
  const meta = { files: [], format: 'ftrace', tgidKnown: false, truncated: false, lines: 0 } satisfies TraceMeta;
  const ctx: PayloadContext = newPayloadContext('hex');
  let ok = 0;
  for (const l of lines) {
    if (parseFtraceLine(l, h, meta, ctx) === LINE_EVENT && (h.tgidColumn || h.hardirq !== undefined)) ok++;
  }
  return sniffMajority(ok, lines.length);
}

export const ftraceFormat: TextFormat = {
  name: 'ftrace',
  sniff: isFtrace,
  parseLine: parseFtraceLine,
  cpumaskStyle: 'hex',
  flagsColumn: true,
};

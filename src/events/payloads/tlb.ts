// tlb:tlb_flush: the string parser and its byte twin (the fast path's, 10% of a storm's events).

import { ByteText, readEnd, readInt, readIntBytes } from './scan.js';
import type { BytePayloadParser, PayloadParser } from './context.js';
import { ARGS_PER_ROW, ROW_TLB_FLUSH } from '../batch.js';

// ---------------------------------------------------------------------------------------------
// tlb:tlb_flush
//   raw ftrace / perf   pages:-1 reason:remote IPI send (4)
//   trace-cmd (plugin)  pages=-1 reason= (4)              (the plugin knows names for 0-3 only)
//   6.18 before 8b62e64e6d30   pages:0 reason:0x5 (5)
// The reason number is ALWAYS the trailing `(N)`; the words differ by kernel and tool.

export const tlbFlush: PayloadParser = (s, p, h) => {
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

const PAGES = new ByteText('pages');

/** tlbFlush on bytes: row i of `out` (its header columns are the caller's) */
export const tlbFlushBytes: BytePayloadParser = (b, dv, p, e, _h, out, i) => {
  if (p + 6 >= e || !PAGES.at(b, dv, p) || (b[p + 5] !== 58 && b[p + 5] !== 61)) return false;
  const pages = readIntBytes(b, p + 6);
  if (pages !== pages) return false;
  while (e > p && b[e - 1] === 32) e--;
  if (b[e - 1] !== 41 /* ) */) return false;
  // the string parser's lastIndexOf('(') must land at or after the pages number
  let open = e - 2;
  while (open >= readEnd && b[open] !== 40) open--;
  if (open < readEnd) return false;
  const reason = readIntBytes(b, open + 1);
  if (reason !== reason || readEnd !== e - 1) return false;
  out.row[i] = ROW_TLB_FLUSH;
  out.args[i * ARGS_PER_ROW] = reason;
  out.args[i * ARGS_PER_ROW + 1] = pages;
  return true;
};

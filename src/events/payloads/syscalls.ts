// syscalls:sys_enter_* and raw_syscalls:sys_enter: the string parsers, the x86_64 table of the
// syscalls the model knows, and the byte parser of the fast path (85% of a storm's events).

import type { SyscallEnterEvent } from '../types.js';
import type { BytePayloadParser, ParsedHeader, PayloadParser } from './context.js';
import { ByteText, readEnd, readHex, readHexBytes, readInt } from './scan.js';
import { ARGS_PER_ROW, ROW_SYSCALL } from '../batch.js';

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

export interface SyscallInfo {
  nr: number;
  name: string;
  args: readonly string[];
  /** the args object from the values v[off..] in `args` order */
  build(v: ArrayLike<number>, off: number): Record<string, number>;
  /** the same, written into `o`, an args object of this syscall (no allocation) */
  fill(o: Record<string, number>, v: ArrayLike<number>, off: number): void;
  /** `from`'s values written into `to`, both args objects of this syscall */
  copy(to: Record<string, number>, from: Record<string, number>): void;
}

/**
 * The accessors of a syscall's args objects, made from its argument names (identifiers of the
 * table below, never input): one object literal and named stores, so every args object of a
 * syscall has one hidden class and its fields are read and written through one inline cache,
 * where keyed stores in a loop build dictionary-mode objects, several times slower (the same
 * reason as tracedat/decode.ts argsBuilder()).
 */
function syscall(nr: number, name: string, args: readonly string[]): SyscallInfo {
  const lit = args.map((a, k) => `${a}: v[off + ${k}]`).join(', ');
  const fill = args.map((a, k) => `o.${a} = v[off + ${k}];`).join(' ');
  const copy = args.map((a) => `to.${a} = from.${a};`).join(' ');
  return {
    nr,
    name,
    args,
    build: new Function('v', 'off', `"use strict"; return { ${lit} };`) as SyscallInfo['build'],
    fill: new Function('o', 'v', 'off', `"use strict"; ${fill}`) as SyscallInfo['fill'],
    copy: new Function('to', 'from', `"use strict"; ${copy}`) as SyscallInfo['copy'],
  };
}

/** x86_64 numbers and the argument names the kernel's syscalls:sys_enter_* events print. */
export const X86_64_SYSCALLS: readonly SyscallInfo[] = [
  syscall(9, 'mmap', ['addr', 'len', 'prot', 'flags', 'fd', 'off']),
  syscall(10, 'mprotect', ['start', 'len', 'prot']),
  syscall(11, 'munmap', ['addr', 'len']),
  syscall(12, 'brk', ['brk']),
  syscall(25, 'mremap', ['addr', 'old_len', 'new_len', 'flags', 'new_addr']),
  syscall(28, 'madvise', ['start', 'len_in', 'behavior']),
  syscall(56, 'clone', ['clone_flags', 'newsp', 'parent_tidptr', 'child_tidptr', 'tls']),
  syscall(57, 'fork', []),
  syscall(58, 'vfork', []),
  syscall(59, 'execve', ['filename', 'argv', 'envp']),
  syscall(60, 'exit', ['error_code']),
  syscall(231, 'exit_group', ['error_code']),
  syscall(237, 'mbind', ['start', 'len', 'mode', 'nmask', 'maxnode', 'flags']),
  syscall(256, 'migrate_pages', ['pid', 'maxnode', 'old_nodes', 'new_nodes']),
  syscall(279, 'move_pages', ['pid', 'nr_pages', 'pages', 'nodes', 'status', 'flags']),
  syscall(329, 'pkey_mprotect', ['start', 'len', 'prot', 'pkey']),
  syscall(435, 'clone3', ['uargs', 'size']),
  syscall(440, 'process_madvise', ['pidfd', 'vec', 'vlen', 'behavior', 'flags']),
];
export const SYSCALL_BY_NR = new Map(X86_64_SYSCALLS.map((x) => [x.nr, x]));
export const SYSCALL_BY_NAME = new Map(X86_64_SYSCALLS.map((x) => [x.name, x]));

/**
 * `name: value, name: value` (optionally inside `( )`) for syscalls:sys_enter_<name>. Values are
 * hex with or without `0x`. For syscalls in the table every listed argument must be present and
 * numeric; for others, arguments that are not numbers (a future kernel printing strings) are left out.
 */
const syscallVals: number[] = [0, 0, 0, 0, 0, 0];

export function namedSyscall(name: string, s: string, p: number, h: ParsedHeader, info = SYSCALL_BY_NAME.get(name)): SyscallEnterEvent | string {
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
        name, nr: info.nr, raw: false, args: info.build(vals, 0),
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

export const rawSysEnter: PayloadParser = (s, p, h) => {
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

/** namedSyscall's fast path on bytes, for a syscall in X86_64_SYSCALLS: row i of `out` (its header columns are the caller's) */
export function namedSyscallBytes(info: SyscallInfo): BytePayloadParser {
  // `start:`, `, len_in:`, `, behavior:`: each followed by one character the string parser skips
  // without looking at it, then the hex value
  const pieces = info.args.map((a, k) => new ByteText(`${k > 0 ? ', ' : ''}${a}:`));
  return (b, dv, p, e, h, out, i) => {
    if (h.payloadStyle === 1) {
      p++; // the `(`
      while (e > p && b[e - 1] === 32) e--;
      if (b[e - 1] !== 41) return false;
      e--;
    }
    const args = out.args;
    const a = i * ARGS_PER_ROW;
    let q = p;
    for (let k = 0; k < pieces.length; k++) {
      const piece = pieces[k]!;
      const v0 = q + piece.length + 1;
      if (v0 > e || !piece.at(b, dv, q)) return false;
      const v = readHexBytes(b, v0);
      if (v !== v) return false;
      args[a + k] = v;
      q = readEnd;
    }
    if (q !== e) return false;
    out.row[i] = ROW_SYSCALL;
    out.sys[i] = info;
    return true;
  };
}

// syscalls:sys_enter_* and raw_syscalls:sys_enter: the string parsers, the x86_64 table of the
// syscalls the model knows, and the byte parser of the fast path (85% of a storm's events).

import type { SyscallEnterEvent } from '../types.js';
import type { BytePayloadParser, ParsedHeader, PayloadParser } from './context.js';
import { ByteText, readEnd, readHex, readHexBytes, readInt } from './scan.js';

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

/** namedSyscall's fast path on bytes, for a syscall in X86_64_SYSCALLS */
export function namedSyscallBytes(info: SyscallInfo): BytePayloadParser {
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

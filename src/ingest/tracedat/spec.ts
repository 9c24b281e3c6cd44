// The decoding recipe of one event type of a trace.dat (a Spec): which of our event kinds it is, the
// offsets, sizes and signedness of the fields that kind reads (resolved once from the file's own
// format text), and for syscalls:sys_enter_* a generated builder of the args object. decode.ts
// turns records into events with it. Mirrors what libtraceevent's tep_find_field() and the
// plugins (plugin_tlb.c, plugin_sched_switch.c) look up per event.

import { X86_64_SYSCALLS } from '../../events/payloads.js';
import type { EventFormat, FieldDef } from './format.js';

export const enum Kind {
  Other,
  TlbFlush,
  IpiSendCpu,
  IpiSendCpumask,
  CsdQueueCpu,
  CsdFunction,
  CallFunction,
  SchedSwitch,
  Fork,
  Exec,
  Exit,
  Migrate,
  WakeIdle,
  Syscall,
  RawSysEnter,
  Vmscan,
  SchedWakeup,
}

export interface Ref {
  off: number;
  size: number;
  signed: boolean;
  dynamic: 'data_loc' | 'rel_loc' | null;
}

export interface Spec {
  kind: Kind;
  name: string;
  /** kind string for kinds that cover several events */
  kindName: string;
  refs: Ref[];
  /** syscall argument names (Kind.Syscall) */
  argNames: string[];
  /** Kind.Syscall: builds the args object in one literal (see argsBuilder()); null for other kinds */
  makeArgs: ArgsBuilder | null;
  /** Kind.Syscall: name without `sys_enter_`, and its x86_64 number (-1 when not in the table) */
  sysName: string;
  sysNr: number;
  /** bytes a record needs for every fixed field this kind reads (shorter records are corrupt) */
  need: number;
}

export type ArgsBuilder = (dv: DataView, rec: number) => Record<string, number>;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One function per syscall event type that returns `{ start: .., len: .., prot: .. }` as a single
 * object literal, so every args object of that type shares one hidden class (a loop of keyed
 * stores makes dictionary-mode objects, several times slower to build and to read). The source
 * is generated from the format's field names and offsets, which are validated first (identifiers
 * and integers only), so file content can never become code. null: fall back to the loop.
 */
function argsBuilder(names: string[], refs: Ref[], le: boolean): ArgsBuilder | null {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const r = refs[i]!;
    if (!IDENT.test(name) || !Number.isInteger(r.off) || r.off < 0 || r.off > 0xffff) return null;
    // one builder per byte order, so the 64-bit reads are two inline loads (no call per field)
    const p = `rec + ${r.off}`;
    let expr: string;
    if (r.size === 8) {
      expr = le
        ? `dv.getUint32(${p} + 4, true) * 4294967296 + dv.getUint32(${p}, true)`
        : `dv.getUint32(${p}, false) * 4294967296 + dv.getUint32(${p} + 4, false)`;
    } else if (r.size === 4) expr = `dv.getUint32(${p}, ${le})`;
    else if (r.size === 2) expr = `dv.getUint16(${p}, ${le})`;
    else if (r.size === 1) expr = `dv.getUint8(${p})`;
    else return null;
    parts.push(`${JSON.stringify(name)}: ${expr}`);
  }
  try {
    return new Function('dv', 'rec', `"use strict"; return { ${parts.join(', ')} };`) as ArgsBuilder;
  } catch {
    return null;
  }
}

const VECTOR_EVENTS = new Set(['call_function_entry', 'call_function_exit', 'call_function_single_entry', 'call_function_single_exit']);
const VMSCAN_EVENTS = new Set(['mm_vmscan_kswapd_wake', 'mm_vmscan_kswapd_sleep', 'mm_vmscan_direct_reclaim_begin', 'mm_vmscan_direct_reclaim_end', 'mm_vmscan_lru_shrink_inactive']);

/** field names each kind reads, in Spec.refs order */
const KIND_FIELDS: Partial<Record<Kind, string[]>> = {
  [Kind.TlbFlush]: ['reason', 'pages'],
  [Kind.IpiSendCpu]: ['cpu', 'callsite', 'callback'],
  [Kind.IpiSendCpumask]: ['cpumask', 'callsite', 'callback'],
  [Kind.CsdQueueCpu]: ['cpu', 'callsite', 'func', 'csd'],
  [Kind.CsdFunction]: ['func', 'csd'],
  [Kind.CallFunction]: ['vector'],
  [Kind.SchedSwitch]: ['prev_comm', 'prev_pid', 'prev_prio', 'prev_state', 'next_comm', 'next_pid', 'next_prio'],
  [Kind.Fork]: ['parent_comm', 'parent_pid', 'child_comm', 'child_pid'],
  [Kind.Exec]: ['filename', 'pid', 'old_pid'],
  [Kind.Exit]: ['comm', 'pid'],
  [Kind.Migrate]: ['comm', 'pid', 'orig_cpu', 'dest_cpu'],
  [Kind.WakeIdle]: ['cpu'],
  [Kind.RawSysEnter]: ['id', 'args'],
  [Kind.SchedWakeup]: ['comm', 'pid'],
};

/** Events decoded by their own name (the event kind is the name); the others are in kindOf(). */
const KIND_BY_NAME = new Map<string, Kind>([
  ['tlb_flush', Kind.TlbFlush],
  ['ipi_send_cpu', Kind.IpiSendCpu],
  ['ipi_send_cpumask', Kind.IpiSendCpumask],
  ['csd_queue_cpu', Kind.CsdQueueCpu],
  ['csd_function_entry', Kind.CsdFunction],
  ['csd_function_exit', Kind.CsdFunction],
  ['sched_switch', Kind.SchedSwitch],
  ['sched_process_fork', Kind.Fork],
  ['sched_process_exec', Kind.Exec],
  ['sched_process_exit', Kind.Exit],
  ['sched_migrate_task', Kind.Migrate],
  ['sched_wake_idle_without_ipi', Kind.WakeIdle],
]);

function kindOf(fmt: EventFormat): { kind: Kind; kindName: string } {
  const n = fmt.name;
  const named = KIND_BY_NAME.get(n);
  if (named !== undefined) return { kind: named, kindName: n };
  // read for their comms (the sched_switch plugin registers them), counted as other events
  if (n === 'sched_wakeup' || n === 'sched_wakeup_new') return { kind: Kind.SchedWakeup, kindName: 'other' };
  if (n === 'sys_enter' && fmt.system === 'raw_syscalls') return { kind: Kind.RawSysEnter, kindName: 'syscall_enter' };
  if (VECTOR_EVENTS.has(n)) return { kind: Kind.CallFunction, kindName: n };
  if (VMSCAN_EVENTS.has(n)) return { kind: Kind.Vmscan, kindName: n };
  if (fmt.system === 'syscalls' && n.startsWith('sys_enter_')) return { kind: Kind.Syscall, kindName: 'syscall_enter' };
  return { kind: Kind.Other, kindName: 'other' };
}

function ref(f: FieldDef): Ref {
  return { off: f.offset, size: f.size, signed: f.signed, dynamic: f.dynamic };
}

/**
 * prev_state as trace-cmd report shows it once read back by src/events/payloads.ts: the plugin's
 * write_state() prints the low 8 bits with the pre-4.14 letters "SDTtZXxW" ('|' between, 'R' when
 * none) and the text parser maps them to the kernel's S D T t X Z P I. The preemption bit (`R+` in
 * raw ftrace) is not in trace-cmd's output, so it is left out here too.
 */
const STATE_CHARS = 'SDTtXZPI';
const stateCache = new Map<number, string>();
export function writeState(val: number): string {
  const v = val & 0xff;
  let s = stateCache.get(v);
  if (s === undefined) {
    s = '';
    for (let i = 0; i < STATE_CHARS.length; i++) {
      if (!(v & (1 << i))) continue;
      if (s) s += '|';
      s += STATE_CHARS[i];
    }
    if (!s) s = 'R';
    stateCache.set(v, s);
  }
  return s;
}

const EMPTY: number[] = [];
const SYSCALL_BY_NAME = new Map(X86_64_SYSCALLS.map((x) => [x.name, x]));

/**
 * The Spec of one event format. `headerNeed`: bytes every record needs for its common fields;
 * `onFormatMismatch` is told of a field the kind needs that the format lacks (the event is then
 * decoded as an other event).
 */
export function buildSpec(fmt: EventFormat, le: boolean, headerNeed: number, onFormatMismatch: (name: string, missing: string) => void): Spec {
  let { kind, kindName } = kindOf(fmt);
  const refs: Ref[] = [];
  const argNames: string[] = [];
  if (kind === Kind.Syscall) {
    const nr = fmt.byName.get('__syscall_nr');
    refs.push(nr ? ref(nr) : { off: -1, size: 0, signed: true, dynamic: null });
    for (const f of fmt.fields) {
      if (f.name.startsWith('common_') || f.name === '__syscall_nr') continue;
      argNames.push(f.name);
      refs.push(ref(f));
    }
  } else if (kind === Kind.Vmscan) {
    // nr_reclaimed of mm_vmscan_direct_reclaim_end (an episode) and mm_vmscan_lru_shrink_inactive (a
    // pass), when the format has it (the markers need nothing)
    const f = fmt.name === 'mm_vmscan_direct_reclaim_end' || fmt.name === 'mm_vmscan_lru_shrink_inactive' ? fmt.byName.get('nr_reclaimed') : undefined;
    if (f) refs.push(ref(f));
  } else {
    for (const name of KIND_FIELDS[kind] ?? EMPTY) {
      const f = fmt.byName.get(name as string);
      if (!f) {
        onFormatMismatch(fmt.name, name as string);
        kind = Kind.Other;
        kindName = 'other';
        refs.length = 0;
        break;
      }
      refs.push(ref(f));
    }
  }
  const makeArgs = kind === Kind.Syscall ? argsBuilder(argNames, refs.slice(1), le) : null;
  const sysName = kind === Kind.Syscall ? fmt.name.slice('sys_enter_'.length) : '';
  const sysNr = SYSCALL_BY_NAME.get(sysName)?.nr ?? -1;
  let need = headerNeed;
  for (const r of refs) if (r.off >= 0) need = Math.max(need, r.off + r.size);
  return { kind, name: fmt.name, kindName, refs, argNames, makeArgs, sysName, sysNr, need };
}

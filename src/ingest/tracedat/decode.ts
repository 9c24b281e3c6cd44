// Record payload -> TraceEvent, from the event's own format (offsets, sizes, signedness). The
// values are the ones trace-cmd report prints for the same record (libtraceevent + its plugins),
// normalised as src/events/types.ts says, so a trace.dat and its `trace-cmd report` text give the
// same events:
//   - tlb_flush: `pages=%ld` (signed), `(%d)` reason                        plugin_tlb.c
//   - callsite/callback `%pS` -> name+0xoff, func `%ps` -> name              print_function()
//   - csd `%p`: raw pointer, NULL -> null                                     types.ts
//   - ipi_send_cpumask `__get_cpumask()`: a __data_loc bitmap of longs        print_bitmask..()
//   - sched_switch prev_state: the low 8 bits as plugin_sched_switch.c write_state() prints them,
//     in the kernel's letters as src/events/payloads.ts reads them back (spec.ts STATE_CHARS)
//   - syscalls: names, numbers and raw-argument names from src/events/payloads.ts's x86_64 table
// Two things trace.dat knows better than the report text and keeps: `ts` in exact nanoseconds (the
// report rounds to microseconds) and `hardirq` from common_flags (the report has no flags column;
// raw ftrace's flags column gives the same values).
// One Spec per event id is built once (spec.ts: field offsets resolved); decoding is a switch on its kind.

import type { TraceEvent } from '../../events/types.js';
import { fixedString, hexOf, hi32, lo32, readSigned, readUnsigned, u64 } from './bytes.js';
import type { CommTable } from './comms.js';
import type { EventFormat } from './format.js';
import { buildSpec, Kind, writeState, type Ref, type Spec } from './spec.js';
import type { Kallsyms } from './kallsyms.js';
import { X86_64_SYSCALLS } from '../../events/payloads.js';

/** The event of a syscalls:sys_enter_* record (Kind.Syscall): one literal, one object shape. */
function syscallEnter(spec: Spec, ts: number, cpu: number, pid: number, comm: string, hardirq: boolean, args: Record<string, number>): TraceEvent {
  return {
    kind: 'syscall_enter',
    ts,
    cpu,
    pid,
    tgid: -1,
    comm,
    hardirq,
    line: 0,
    name: spec.sysName,
    // the number the text parsers give (x86_64 table, -1 when not in it), for equal events;
    // the record's own __syscall_nr would say the same for every syscall in the table
    nr: spec.sysNr,
    raw: false,
    args,
  };
}


export interface DecodeContext {
  le: boolean;
  /** the kernel's long size (header_page commit size): element size of cpumask bitmaps */
  kernelLongSize: number;
  kallsyms: Kallsyms;
  comms: CommTable;
  /** called once per event type whose format lacks a field its kind needs */
  onFormatMismatch: (name: string, missing: string) => void;
}

const SYSCALL_BY_NR = new Map(X86_64_SYSCALLS.map((x) => [x.nr, x]));
const RAW_ARG_KEYS = ['arg0', 'arg1', 'arg2', 'arg3', 'arg4', 'arg5'];

export class EventDecoder {
  /** by event id; filled on first use */
  readonly specs: (Spec | undefined)[] = [];
  private readonly formats = new Map<number, EventFormat>();
  readonly commonPidOff: number;
  readonly commonFlagsOff: number;
  readonly typeOff: number;
  readonly typeSize: number;

  constructor(
    formats: EventFormat[],
    private readonly ctx: DecodeContext,
  ) {
    for (const f of formats) this.formats.set(f.id, f);
    // libtraceevent takes common_type/common_pid/common_flags from the first event's format
    const any = formats.find((f) => f.byName.has('common_type') && f.byName.has('common_pid'));
    const ct = any?.byName.get('common_type');
    const cp = any?.byName.get('common_pid');
    const cf = any?.byName.get('common_flags');
    this.typeOff = ct?.offset ?? 0;
    this.typeSize = ct?.size ?? 2;
    this.commonPidOff = cp?.offset ?? 4;
    this.commonFlagsOff = cf?.offset ?? 2;
    this.headerNeed = Math.max(this.typeOff + this.typeSize, this.commonPidOff + 4, this.commonFlagsOff + 1);
  }

  /** bytes every record needs for its common fields */
  readonly headerNeed: number;

  /** the Spec for an event id; undefined when the file has no format for it */
  spec(id: number): Spec | undefined {
    const s = this.specs[id];
    if (s !== undefined) return s;
    const fmt = this.formats.get(id);
    if (!fmt) return undefined;
    const built = buildSpec(fmt, this.ctx.le, this.headerNeed, this.ctx.onFormatMismatch);
    this.specs[id] = built;
    return built;
  }


  private pointer(dv: DataView, p: number, size: number): [number, number] {
    return size === 8 ? [hi32(dv, p, this.ctx.le), lo32(dv, p, this.ctx.le)] : [0, dv.getUint32(p, this.ctx.le)];
  }

  private sym(dv: DataView, rec: number, r: Ref, withOffset: boolean): string {
    const le = this.ctx.le;
    const p = rec + r.off;
    return r.size === 8
      ? this.ctx.kallsyms.format(hi32(dv, p, le), lo32(dv, p, le), withOffset)
      : this.ctx.kallsyms.format(0, dv.getUint32(p, le), withOffset);
  }

  /** `%p` -> lower-case hex without 0x and leading zeros; NULL -> null */
  private ptr(dv: DataView, rec: number, r: Ref): string | null {
    const [hi, lo] = this.pointer(dv, rec + r.off, r.size);
    return hi === 0 && lo === 0 ? null : hexOf(hi, lo);
  }

  private num(dv: DataView, rec: number, r: Ref): number {
    return r.signed ? readSigned(dv, rec + r.off, r.size, this.ctx.le) : readUnsigned(dv, rec + r.off, r.size, this.ctx.le);
  }

  private str(buf: Buffer, dv: DataView, rec: number, len: number, r: Ref): string {
    if (r.dynamic) {
      const w = dv.getUint32(rec + r.off, this.ctx.le);
      let start = w & 0xffff;
      const n = w >>> 16;
      if (r.dynamic === 'rel_loc') start += r.off + r.size;
      if (start + n > len) return '';
      return fixedString(buf, rec + start, rec + start + n);
    }
    return fixedString(buf, rec + r.off, rec + r.off + r.size);
  }

  /** a __data_loc bitmap (array of kernel longs) -> sorted set bit numbers */
  private cpumask(dv: DataView, rec: number, len: number, r: Ref): number[] {
    const w = dv.getUint32(rec + r.off, this.ctx.le);
    let start = w & 0xffff;
    const n = w >>> 16;
    if (r.dynamic === 'rel_loc') start += r.off + r.size;
    if (start + n > len) return [];
    const out: number[] = [];
    const base = rec + start;
    if (this.ctx.le) {
      for (let i = 0; i < n; i++) {
        const b = dv.getUint8(base + i);
        if (!b) continue;
        for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) out.push(i * 8 + bit);
      }
    } else {
      const ls = this.ctx.kernelLongSize;
      for (let wd = 0; wd + ls <= n; wd += ls) {
        for (let i = 0; i < ls; i++) {
          const b = dv.getUint8(base + wd + ls - 1 - i);
          if (!b) continue;
          for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) out.push(wd * 8 + i * 8 + bit);
        }
      }
      out.sort((a, b) => a - b);
    }
    return out;
  }

  /**
   * Decode the record at `rec` (payload of `len` bytes). `comm` is the header name already looked
   * up for this record; sched_switch / sched_wakeup then register their comms for later records.
   */
  decode(
    spec: Spec,
    buf: Buffer,
    dv: DataView,
    rec: number,
    len: number,
    ts: number,
    cpu: number,
    pid: number,
    comm: string,
    hardirq: boolean,
  ): TraceEvent {
    // Syscall entries are most records of a madvise or munmap storm: they are built here, small
    // enough for V8 to inline into the merge loop; the switch below is not, and a kind it meets
    // for the first time late in a trace deoptimizes only itself.
    const makeArgs = spec.makeArgs;
    if (makeArgs === null) return this.decodeKind(spec, buf, dv, rec, len, ts, cpu, pid, comm, hardirq);
    return syscallEnter(spec, ts, cpu, pid, comm, hardirq, makeArgs(dv, rec));
  }

  private decodeKind(
    spec: Spec,
    buf: Buffer,
    dv: DataView,
    rec: number,
    len: number,
    ts: number,
    cpu: number,
    pid: number,
    comm: string,
    hardirq: boolean,
  ): TraceEvent {
    const refs = spec.refs;
    switch (spec.kind) {
      case Kind.TlbFlush:
        return {
          kind: 'tlb_flush',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          reason: readSigned(dv, rec + refs[0]!.off, refs[0]!.size, this.ctx.le),
          // plugin_tlb.c prints `pages=%ld`: the unsigned long read as signed
          pages: readSigned(dv, rec + refs[1]!.off, refs[1]!.size, this.ctx.le),
        };
      case Kind.IpiSendCpu:
        return {
          kind: 'ipi_send_cpu',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          target: this.num(dv, rec, refs[0]!),
          callsite: this.sym(dv, rec, refs[1]!, true),
          callback: this.sym(dv, rec, refs[2]!, true),
        };
      case Kind.IpiSendCpumask:
        return {
          kind: 'ipi_send_cpumask',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          targets: this.cpumask(dv, rec, len, refs[0]!),
          callsite: this.sym(dv, rec, refs[1]!, true),
          callback: this.sym(dv, rec, refs[2]!, true),
        };
      case Kind.CsdQueueCpu:
        return {
          kind: 'csd_queue_cpu',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          target: this.num(dv, rec, refs[0]!),
          callsite: this.sym(dv, rec, refs[1]!, true),
          func: this.sym(dv, rec, refs[2]!, false),
          csd: this.ptr(dv, rec, refs[3]!),
        };
      case Kind.CsdFunction:
        return {
          kind: spec.kindName as 'csd_function_entry' | 'csd_function_exit',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          func: this.sym(dv, rec, refs[0]!, false),
          csd: this.ptr(dv, rec, refs[1]!),
        };
      case Kind.CallFunction:
        return {
          kind: spec.kindName as 'call_function_entry',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          vector: this.num(dv, rec, refs[0]!),
        };
      case Kind.SchedSwitch: {
        const prevComm = this.str(buf, dv, rec, len, refs[0]!);
        const prevPid = this.num(dv, rec, refs[1]!);
        const nextComm = this.str(buf, dv, rec, len, refs[4]!);
        const nextPid = this.num(dv, rec, refs[5]!);
        this.ctx.comms.register(prevPid, prevComm);
        this.ctx.comms.register(nextPid, nextComm);
        return {
          kind: 'sched_switch',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          prevComm,
          prevPid,
          prevPrio: this.num(dv, rec, refs[2]!),
          // write_state() takes an int: the low 32 bits (of which it prints 8)
          prevState: writeState(dv.getUint32(rec + refs[3]!.off + (this.ctx.le || refs[3]!.size < 8 ? 0 : 4), this.ctx.le)),
          nextComm,
          nextPid,
          nextPrio: this.num(dv, rec, refs[6]!),
        };
      }
      case Kind.Fork:
        return {
          kind: 'sched_process_fork',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          parentComm: this.str(buf, dv, rec, len, refs[0]!),
          parentPid: this.num(dv, rec, refs[1]!),
          childComm: this.str(buf, dv, rec, len, refs[2]!),
          childPid: this.num(dv, rec, refs[3]!),
        };
      case Kind.Exec:
        return {
          kind: 'sched_process_exec',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          filename: this.str(buf, dv, rec, len, refs[0]!),
          execPid: this.num(dv, rec, refs[1]!),
          oldPid: this.num(dv, rec, refs[2]!),
        };
      case Kind.Exit:
        return {
          kind: 'sched_process_exit',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          exitComm: this.str(buf, dv, rec, len, refs[0]!),
          exitPid: this.num(dv, rec, refs[1]!),
        };
      case Kind.Migrate:
        return {
          kind: 'sched_migrate_task',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          taskComm: this.str(buf, dv, rec, len, refs[0]!),
          taskPid: this.num(dv, rec, refs[1]!),
          origCpu: this.num(dv, rec, refs[2]!),
          destCpu: this.num(dv, rec, refs[3]!),
        };
      case Kind.WakeIdle:
        return {
          kind: 'sched_wake_idle_without_ipi',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          target: this.num(dv, rec, refs[0]!),
        };
      case Kind.Syscall: {
        // no args builder (see argsBuilder()): the fields one by one; with one, decode() built it
        const le = this.ctx.le;
        const args: Record<string, number> = {};
        const names = spec.argNames;
        for (let i = 0; i < names.length; i++) {
          const r = refs[i + 1]!;
          const p = rec + r.off;
          args[names[i]!] = r.size === 8 ? u64(dv, p, le) : readUnsigned(dv, p, r.size, le);
        }
        return syscallEnter(spec, ts, cpu, pid, comm, hardirq, args);
      }
      case Kind.RawSysEnter: {
        const le = this.ctx.le;
        const nr = this.num(dv, rec, refs[0]!);
        const a = refs[1]!;
        const es = a.size >= 48 ? 8 : 4; // unsigned long args[6]
        const args: Record<string, number> = {};
        const vals: number[] = [];
        for (let i = 0; i < 6; i++) {
          const p = rec + a.off + i * es;
          const v = es === 8 ? u64(dv, p, le) : dv.getUint32(p, le);
          vals.push(v);
          args[RAW_ARG_KEYS[i]!] = v;
        }
        const info = SYSCALL_BY_NR.get(nr);
        if (info) for (let i = 0; i < info.args.length && i < 6; i++) args[info.args[i]!] = vals[i]!;
        return {
          kind: 'syscall_enter',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          name: info ? info.name : `nr_${nr}`,
          nr,
          raw: true,
          args,
        };
      }
      case Kind.Vmscan:
        return {
          kind: spec.kindName as 'mm_vmscan_kswapd_wake',
          ts,
          cpu,
          pid,
          tgid: -1,
          comm,
          hardirq,
          line: 0,
          nrReclaimed: refs.length > 0 ? this.num(dv, rec, refs[0]!) : -1,
        };
      case Kind.SchedWakeup:
        this.ctx.comms.register(this.num(dv, rec, refs[1]!), this.str(buf, dv, rec, len, refs[0]!));
        return { kind: 'other', ts, cpu, pid, tgid: -1, comm, hardirq, line: 0, name: spec.name };
      default:
        return { kind: 'other', ts, cpu, pid, tgid: -1, comm, hardirq, line: 0, name: spec.name };
    }
  }
}

// A batch of trace events as rows of typed columns: how the text ingest hands events to the model
// without an object per event.
//
// The two event kinds that are 95% of a syscall storm (sng-madvise: 5.75 M syscall entries and
// 0.67 M tlb_flush of 6.75 M events) are stored in columns only: a named syscall entry of a
// syscall in the x86_64 table (ROW_SYSCALL: its SyscallInfo and its argument values in the kernel's
// order) and a tlb_flush (ROW_TLB_FLUSH: reason and pages). Every other event, and any of those two
// a parser built as an object (the string grammars, raw_syscalls, trace.dat), is a ROW_OBJECT row
// that holds the TraceEvent itself; its header columns are filled too, so time order and the input
// statistics read every row the same way.
//
// eventAt() builds the TraceEvent of any row, equal to what the object-building parsers make
// (the tests compare them); the model reads the columns (src/model/model.ts consumeRow()).

import type { SyscallInfo } from './payloads/syscalls.js';
import type { SyscallEnterEvent, TlbFlushEvent, TraceEvent } from './types.js';

/** a TraceEvent object in `objects` */
export const ROW_OBJECT = 0;
/** syscalls:sys_enter_<name> of a syscall in X86_64_SYSCALLS: `sys` and `args` */
export const ROW_SYSCALL = 1;
/** tlb:tlb_flush: reason in args[6i], pages in args[6i + 1] */
export const ROW_TLB_FLUSH = 2;

/** argument slots per row: the most a syscall entry has */
export const ARGS_PER_ROW = 6;

export class EventBatch {
  /** rows in use */
  length = 0;
  readonly capacity: number;
  readonly row: Uint8Array;
  readonly ts: Float64Array;
  readonly cpu: Int32Array;
  readonly pid: Int32Array;
  readonly tgid: Int32Array;
  /** 1-based input line (a double: a text can have more than 2^31 lines), 0 for binary inputs */
  readonly line: Float64Array;
  /** 1 hardirq, 0 not, -1 unknown (no flags column) */
  readonly hardirq: Int8Array;
  readonly comm: string[];
  /** ROW_SYSCALL: the syscall */
  readonly sys: (SyscallInfo | null)[];
  /** ARGS_PER_ROW values per row (see ROW_SYSCALL, ROW_TLB_FLUSH) */
  readonly args: Float64Array;
  /** ROW_OBJECT: the event */
  readonly objects: (TraceEvent | null)[];

  constructor(capacity: number) {
    this.capacity = capacity;
    this.row = new Uint8Array(capacity);
    this.ts = new Float64Array(capacity);
    this.cpu = new Int32Array(capacity);
    this.pid = new Int32Array(capacity);
    this.tgid = new Int32Array(capacity);
    this.line = new Float64Array(capacity);
    this.hardirq = new Int8Array(capacity);
    this.comm = new Array<string>(capacity).fill('');
    this.sys = new Array<SyscallInfo | null>(capacity).fill(null);
    this.args = new Float64Array(capacity * ARGS_PER_ROW);
    this.objects = new Array<TraceEvent | null>(capacity).fill(null);
  }

  /**
   * Empty the batch for reuse. The event objects of its rows are let go: a batch lives long, and
   * a stale reference in it would keep an object alive through every young-generation
   * collection (copied each time, then promoted: on 5 copies of sng-madvise, scavenges of 9 ms
   * instead of 3 and 30 MB more peak RSS).
   */
  clear(): void {
    const objects = this.objects;
    for (let i = 0; i < this.length; i++) objects[i] = null;
    this.length = 0;
  }

  /** Append an event object as a ROW_OBJECT row (its header columns copied). */
  pushObject(e: TraceEvent): void {
    const i = this.length++;
    this.row[i] = ROW_OBJECT;
    this.ts[i] = e.ts;
    this.cpu[i] = e.cpu;
    this.pid[i] = e.pid;
    this.tgid[i] = e.tgid;
    this.line[i] = e.line;
    this.hardirq[i] = e.hardirq === undefined ? -1 : e.hardirq ? 1 : 0;
    this.comm[i] = e.comm;
    this.objects[i] = e;
  }

  /** The event of row i as an object (the object itself for ROW_OBJECT). */
  eventAt(i: number): TraceEvent {
    const kind = this.row[i];
    if (kind === ROW_OBJECT) return this.objects[i]!;
    const h = this.hardirq[i]!;
    const hardirq = h < 0 ? undefined : h === 1;
    const a = i * ARGS_PER_ROW;
    if (kind === ROW_TLB_FLUSH) {
      return {
        kind: 'tlb_flush', ts: this.ts[i]!, cpu: this.cpu[i]!, pid: this.pid[i]!, tgid: this.tgid[i]!, comm: this.comm[i]!, hardirq, line: this.line[i]!,
        reason: this.args[a]!, pages: this.args[a + 1]!,
      };
    }
    const info = this.sys[i]!;
    return {
      kind: 'syscall_enter', ts: this.ts[i]!, cpu: this.cpu[i]!, pid: this.pid[i]!, tgid: this.tgid[i]!, comm: this.comm[i]!, hardirq, line: this.line[i]!,
      name: info.name, nr: info.nr, raw: false, args: info.build(this.args, a),
    };
  }

  /** Every row as an object, in order. */
  toEvents(): TraceEvent[] {
    const out = new Array<TraceEvent>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.eventAt(i);
    return out;
  }

  /** Move row `from` to index `to` <= from, the rows in between one down (a late event merged back). */
  moveBack(from: number, to: number): void {
    if (to >= from) return;
    const row = this.row[from]!;
    const ts = this.ts[from]!;
    const cpu = this.cpu[from]!;
    const pid = this.pid[from]!;
    const tgid = this.tgid[from]!;
    const line = this.line[from]!;
    const hardirq = this.hardirq[from]!;
    const comm = this.comm[from]!;
    const sys = this.sys[from]!;
    const obj = this.objects[from]!;
    const a = from * ARGS_PER_ROW;
    const args = this.args.slice(a, a + ARGS_PER_ROW);
    this.row.copyWithin(to + 1, to, from);
    this.ts.copyWithin(to + 1, to, from);
    this.cpu.copyWithin(to + 1, to, from);
    this.pid.copyWithin(to + 1, to, from);
    this.tgid.copyWithin(to + 1, to, from);
    this.line.copyWithin(to + 1, to, from);
    this.hardirq.copyWithin(to + 1, to, from);
    this.comm.copyWithin(to + 1, to, from);
    this.sys.copyWithin(to + 1, to, from);
    this.objects.copyWithin(to + 1, to, from);
    this.args.copyWithin((to + 1) * ARGS_PER_ROW, to * ARGS_PER_ROW, from * ARGS_PER_ROW);
    this.row[to] = row;
    this.ts[to] = ts;
    this.cpu[to] = cpu;
    this.pid[to] = pid;
    this.tgid[to] = tgid;
    this.line[to] = line;
    this.hardirq[to] = hardirq;
    this.comm[to] = comm;
    this.sys[to] = sys;
    this.objects[to] = obj;
    this.args.set(args, to * ARGS_PER_ROW);
  }

  /** Copy rows [from, from + n) of `src` to the end of this batch. */
  appendRows(src: EventBatch, from: number, n: number): void {
    const to = this.length;
    const end = from + n;
    this.row.set(src.row.subarray(from, end), to);
    this.ts.set(src.ts.subarray(from, end), to);
    this.cpu.set(src.cpu.subarray(from, end), to);
    this.pid.set(src.pid.subarray(from, end), to);
    this.tgid.set(src.tgid.subarray(from, end), to);
    this.line.set(src.line.subarray(from, end), to);
    this.hardirq.set(src.hardirq.subarray(from, end), to);
    this.args.set(src.args.subarray(from * ARGS_PER_ROW, end * ARGS_PER_ROW), to * ARGS_PER_ROW);
    for (let k = 0; k < n; k++) {
      this.comm[to + k] = src.comm[from + k]!;
      this.sys[to + k] = src.sys[from + k]!;
      this.objects[to + k] = src.objects[from + k]!;
    }
    this.length = to + n;
  }

  /** index of the first row with ts > `ts` in a (mostly) time-ordered batch */
  upperBoundTs(ts: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ts[mid]! <= ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The event of a row as an object that is filled in anew for every row, for a consumer that reads
 * events through the TraceEvent types but keeps none of them (the kernel model: consumeRow()). One
 * object for tlb_flush, one per syscall (its args object has that syscall's fields).
 */
export class RowEvents {
  private readonly flush: TlbFlushEvent = {
    kind: 'tlb_flush', ts: 0, cpu: 0, pid: 0, tgid: -1, comm: '', hardirq: undefined, line: 0, reason: 0, pages: 0,
  };
  private readonly syscalls = new Map<SyscallInfo, SyscallEnterEvent>();
  private lastInfo: SyscallInfo | null = null;
  private last: SyscallEnterEvent | null = null;

  /** row i, a ROW_TLB_FLUSH */
  tlbFlush(b: EventBatch, i: number): TlbFlushEvent {
    const e = this.flush;
    header(e, b, i);
    e.reason = b.args[i * ARGS_PER_ROW]!;
    e.pages = b.args[i * ARGS_PER_ROW + 1]!;
    return e;
  }

  /** row i, a ROW_SYSCALL */
  syscall(b: EventBatch, i: number): SyscallEnterEvent {
    const info = b.sys[i]!;
    let e = this.last;
    if (info !== this.lastInfo || e === null) {
      e = this.syscalls.get(info) ?? null;
      if (e === null) {
        e = {
          kind: 'syscall_enter', ts: 0, cpu: 0, pid: 0, tgid: -1, comm: '', hardirq: undefined, line: 0,
          name: info.name, nr: info.nr, raw: false, args: info.build(b.args, i * ARGS_PER_ROW),
        };
        this.syscalls.set(info, e);
      }
      this.lastInfo = info;
      this.last = e;
    }
    header(e, b, i);
    info.fill(e.args, b.args, i * ARGS_PER_ROW);
    return e;
  }
}

/** the header columns of row i into e */
function header(e: TlbFlushEvent | SyscallEnterEvent, b: EventBatch, i: number): void {
  const h = b.hardirq[i]!;
  e.ts = b.ts[i]!;
  e.cpu = b.cpu[i]!;
  e.pid = b.pid[i]!;
  e.tgid = b.tgid[i]!;
  e.comm = b.comm[i]!;
  e.hardirq = h < 0 ? undefined : h === 1;
  e.line = b.line[i]!;
}

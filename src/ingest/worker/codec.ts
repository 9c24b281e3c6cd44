// Typed events <-> a flat binary batch, to hand events from the ingest worker thread to the main
// thread (src/ingest/worker/source.ts).
//
// Why not postMessage(events): structured clone of the event objects costs 2-3 us per event on each
// side (measured on sng-madvise: serialize 2.1-2.5 s, deserialize 2.7-4.1 s for 1.35 M events),
// more than parsing them. Here an event is a run of float64 numbers in one ArrayBuffer that is
// transferred (not copied), and its strings are ids into a string table both sides build up:
// a string (comm, event name, symbol, csd pointer, syscall argument name) crosses the thread
// boundary once, with the batch that first uses it.
//
// Record layout, all float64: kind id, ts, cpu, pid, tgid, comm id, hardirq (0 false, 1 true,
// 2 undefined), line, then the kind's own fields in the order of src/events/types.ts:
//   number -> the number; string -> its id; string | null -> id or -1; boolean -> 0/1;
//   number[] -> length, then the numbers; args -> keyset id (the string of its names as a JSON
//   array), then the values in that order.
// Numbers are float64 on both sides, so every value (u64 syscall arguments included) comes back
// exactly as it went in.
//
// The string table is bounded: once it holds MAX_STRINGS, the encoder starts over (the batch says
// `reset`) and both sides forget every id. A trace of endless distinct strings costs re-sending
// them, never unbounded memory.

import type { SyscallEnterEvent, TlbFlushEvent, TraceEvent, TraceEventKind } from '../../events/types.js';

/** What one batch is on the wire (the parts a MessagePort carries). */
export interface EncodedBatch {
  /** the records; transferred, and handed back to the encoder for reuse */
  buf: ArrayBuffer;
  /** float64s of buf in use */
  used: number;
  /** events in the batch */
  count: number;
  /** the string table was cleared before this batch */
  reset: boolean;
  /** strings first used in this batch, ids continuing the table */
  strings: string[];
}

export const MAX_STRINGS = 1 << 16;

const KINDS: readonly TraceEventKind[] = [
  'tlb_flush',
  'ipi_send_cpu',
  'ipi_send_cpumask',
  'csd_queue_cpu',
  'csd_function_entry',
  'csd_function_exit',
  'call_function_entry',
  'call_function_exit',
  'call_function_single_entry',
  'call_function_single_exit',
  'sched_switch',
  'sched_process_fork',
  'sched_process_exec',
  'sched_process_exit',
  'sched_migrate_task',
  'sched_wake_idle_without_ipi',
  'syscall_enter',
  'mm_vmscan_kswapd_wake',
  'mm_vmscan_kswapd_sleep',
  'mm_vmscan_direct_reclaim_begin',
  'mm_vmscan_direct_reclaim_end',
  'mm_vmscan_lru_shrink_inactive',
  'lost_events',
  'other',
];
/** kind -> its id, the index in KINDS (a property per kind: no Map lookup per event) */
const ID = Object.fromEntries(KINDS.map((k, i) => [k, i])) as Record<TraceEventKind, number>;

const SYSCALL_ID = ID.syscall_enter;
const TLB_FLUSH_ID = ID.tlb_flush;

/** header fields (8) plus the most any kind writes without arrays/args (sched_switch: 7) */
const MAX_FIXED = 16;

export class BatchEncoder {
  private ids = new Map<string, number>();
  /** per syscall name: the argument names of its last args object and their keyset's string id */
  private keysets = new Map<string, { keys: string[]; id: number }>();
  /** one-entry caches: consecutive events mostly carry the very same comm / syscall name string */
  private lastComm = '';
  private lastCommId = -1;
  private lastName = '';
  private lastNameId = -1;
  private fresh: string[] = [];
  private reset = false;
  private f: Float64Array = new Float64Array(0);
  private n = 0;
  /** buffers the decoder handed back */
  private spare: ArrayBuffer[] = [];

  /** `maxStrings`: the string table's bound (smaller in tests, to exercise the reset) */
  constructor(private readonly maxStrings = MAX_STRINGS) {}

  /** a buffer the receiving side is done with: reused for a later batch */
  recycle(buf: ArrayBuffer): void {
    if (this.spare.length < 4) this.spare.push(buf);
  }

  encode(events: readonly TraceEvent[]): EncodedBatch {
    if (this.ids.size >= this.maxStrings) {
      this.ids.clear();
      this.keysets.clear();
      this.lastCommId = -1;
      this.lastNameId = -1;
      this.lastName = '';
      this.reset = true;
    }
    this.f = this.buffer(events.length * 20);
    this.n = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.kind === 'syscall_enter') this.syscall(e);
      else if (e.kind === 'tlb_flush') this.tlbFlush(e);
      else this.event(e);
    }
    const out: EncodedBatch = { buf: this.f.buffer as ArrayBuffer, used: this.n, count: events.length, reset: this.reset, strings: this.fresh };
    this.fresh = [];
    this.reset = false;
    return out;
  }

  private buffer(floats: number): Float64Array {
    for (;;) {
      const b = this.spare.pop();
      if (b === undefined) break;
      if (b.byteLength >= floats * 8) return new Float64Array(b);
    }
    return new Float64Array(Math.max(floats, 1 << 12));
  }

  private room(k: number): void {
    if (this.n + k <= this.f.length) return;
    const g = new Float64Array(Math.max(this.f.length * 2, this.n + k));
    g.set(this.f.subarray(0, this.n));
    this.f = g;
  }

  private str(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(s, id);
      this.fresh.push(s);
    }
    return id;
  }

  private nstr(s: string | null): number {
    return s === null ? -1 : this.str(s);
  }

  /**
   * The two kinds that make up ~95% of a syscall storm get their own bodies: their field reads
   * then see one event shape each (monomorphic inline caches) instead of event()'s megamorphic
   * lookups over all ~20 shapes, which cost more than the rest of the encoding. The header writes
   * are repeated in each on purpose: V8 keeps type feedback per function, not per inlined call,
   * so a shared header helper would be megamorphic again.
   */
  private syscall(e: SyscallEnterEvent): void {
    this.room(MAX_FIXED);
    const f = this.f;
    let n = this.n;
    f[n++] = SYSCALL_ID;
    f[n++] = e.ts;
    f[n++] = e.cpu;
    f[n++] = e.pid;
    f[n++] = e.tgid;
    f[n++] = this.commId(e.comm);
    const h = e.hardirq;
    f[n++] = h === undefined ? 2 : h ? 1 : 0;
    f[n++] = e.line;
    const name = e.name;
    if (name !== this.lastName || this.lastNameId < 0) {
      this.lastName = name;
      this.lastNameId = this.str(name);
    }
    f[n++] = this.lastNameId;
    f[n++] = e.nr;
    f[n++] = e.raw ? 1 : 0;
    this.n = n;
    this.args(name, e.args);
  }

  private tlbFlush(e: TlbFlushEvent): void {
    this.room(MAX_FIXED);
    const f = this.f;
    let n = this.n;
    f[n++] = TLB_FLUSH_ID;
    f[n++] = e.ts;
    f[n++] = e.cpu;
    f[n++] = e.pid;
    f[n++] = e.tgid;
    f[n++] = this.commId(e.comm);
    const h = e.hardirq;
    f[n++] = h === undefined ? 2 : h ? 1 : 0;
    f[n++] = e.line;
    f[n++] = e.reason;
    f[n++] = e.pages;
    this.n = n;
  }

  /** consecutive events mostly carry the very same comm string: one compare, no Map lookup */
  private commId(comm: string): number {
    if (comm !== this.lastComm || this.lastCommId < 0) {
      this.lastComm = comm;
      this.lastCommId = this.str(comm);
    }
    return this.lastCommId;
  }

  /** every other kind (syscall entries and tlb_flush have their own encoders above) */
  private event(e: Exclude<TraceEvent, SyscallEnterEvent | TlbFlushEvent>): void {
    this.room(MAX_FIXED);
    const f = this.f;
    let n = this.n;
    const at = n++; // the kind id, written in the switch below (a Map lookup on e.kind cost ~0.2 us)
    f[n++] = e.ts;
    f[n++] = e.cpu;
    f[n++] = e.pid;
    f[n++] = e.tgid;
    f[n++] = this.commId(e.comm);
    f[n++] = e.hardirq === undefined ? 2 : e.hardirq ? 1 : 0;
    f[n++] = e.line;
    switch (e.kind) {
      case 'ipi_send_cpu':
        f[at] = ID.ipi_send_cpu;
        f[n++] = e.target;
        f[n++] = this.str(e.callsite);
        f[n++] = this.str(e.callback);
        break;
      case 'ipi_send_cpumask': {
        f[at] = ID.ipi_send_cpumask;
        f[n++] = this.str(e.callsite);
        f[n++] = this.str(e.callback);
        this.n = n;
        this.numbers(e.targets);
        return;
      }
      case 'csd_queue_cpu':
        f[at] = ID.csd_queue_cpu;
        f[n++] = e.target;
        f[n++] = this.str(e.callsite);
        f[n++] = this.str(e.func);
        f[n++] = this.nstr(e.csd);
        break;
      case 'csd_function_entry':
      case 'csd_function_exit':
        f[at] = ID[e.kind];
        f[n++] = this.str(e.func);
        f[n++] = this.nstr(e.csd);
        break;
      case 'call_function_entry':
      case 'call_function_exit':
      case 'call_function_single_entry':
      case 'call_function_single_exit':
        f[at] = ID[e.kind];
        f[n++] = e.vector;
        break;
      case 'sched_switch':
        f[at] = ID.sched_switch;
        f[n++] = this.str(e.prevComm);
        f[n++] = e.prevPid;
        f[n++] = e.prevPrio;
        f[n++] = this.str(e.prevState);
        f[n++] = this.str(e.nextComm);
        f[n++] = e.nextPid;
        f[n++] = e.nextPrio;
        break;
      case 'sched_process_fork':
        f[at] = ID.sched_process_fork;
        f[n++] = this.str(e.parentComm);
        f[n++] = e.parentPid;
        f[n++] = this.str(e.childComm);
        f[n++] = e.childPid;
        break;
      case 'sched_process_exec':
        f[at] = ID.sched_process_exec;
        f[n++] = this.str(e.filename);
        f[n++] = e.execPid;
        f[n++] = e.oldPid;
        break;
      case 'sched_process_exit':
        f[at] = ID.sched_process_exit;
        f[n++] = this.str(e.exitComm);
        f[n++] = e.exitPid;
        break;
      case 'sched_migrate_task':
        f[at] = ID.sched_migrate_task;
        f[n++] = this.str(e.taskComm);
        f[n++] = e.taskPid;
        f[n++] = e.origCpu;
        f[n++] = e.destCpu;
        break;
      case 'sched_wake_idle_without_ipi':
        f[at] = ID.sched_wake_idle_without_ipi;
        f[n++] = e.target;
        break;
      case 'lost_events':
        f[at] = ID.lost_events;
        f[n++] = e.count;
        break;
      case 'other':
        f[at] = ID.other;
        f[n++] = this.str(e.name);
        break;
      default:
        // the vmscan markers: the header, and nr_reclaimed (-1 but for direct_reclaim_end and lru_shrink_inactive)
        f[at] = ID[e.kind];
        f[n++] = e.nrReclaimed;
        break;
    }
    this.n = n;
  }

  private numbers(a: readonly number[]): void {
    this.room(a.length + 1);
    const f = this.f;
    let n = this.n;
    f[n++] = a.length;
    for (let i = 0; i < a.length; i++) f[n++] = a[i]!;
    this.n = n;
  }

  /**
   * args as (keyset id, values...). The keyset is the argument names in order, sent once as a
   * string (their JSON array): per syscall name the last keyset is kept and the names of each
   * args object are compared with it (property names are internalized strings: pointer compares).
   */
  private args(name: string, args: Record<string, number>): void {
    let ks = this.keysets.get(name);
    let i = 0;
    if (ks !== undefined) {
      const keys = ks.keys;
      for (const k in args) {
        if (i >= keys.length || keys[i] !== k) {
          ks = undefined;
          break;
        }
        i++;
      }
      if (ks !== undefined && i !== keys.length) ks = undefined;
    }
    if (ks === undefined) {
      const keys: string[] = [];
      for (const k in args) keys.push(k);
      ks = { keys, id: this.str(JSON.stringify(keys)) };
      this.keysets.set(name, ks);
    }
    const keys = ks.keys;
    this.room(keys.length + 1);
    const f = this.f;
    let n = this.n;
    f[n++] = ks.id;
    for (let j = 0; j < keys.length; j++) f[n++] = args[keys[j]!]!;
    this.n = n;
  }
}

/** builds one args object from the `count` numbers at f[at..] */
interface ArgsMaker {
  make: (f: Float64Array, at: number) => Record<string, number>;
  count: number;
}

export class BatchDecoder {
  private strings: string[] = [];
  /** keyset string id -> its maker */
  private makers = new Map<number, ArgsMaker>();

  /**
   * An object literal per keyset (compiled once): its objects share one shape, and building one
   * costs a third of assigning computed keys one by one (measured: 35 vs 120 ns).
   */
  private argsMaker(id: number): ArgsMaker {
    let m = this.makers.get(id);
    if (m === undefined) {
      const keys = JSON.parse(this.strings[id]!) as string[];
      // (computed keys: a name is data, never syntax, and `__proto__` stays an own property)
      const body = keys.map((k, i) => `[${JSON.stringify(k)}]: f[at + ${i}]`).join(', ');
      const make = new Function('f', 'at', `return { ${body} };`) as ArgsMaker['make'];
      m = { make, count: keys.length };
      this.makers.set(id, m);
    }
    return m;
  }

  decode(b: EncodedBatch): TraceEvent[] {
    if (b.reset) {
      this.strings = [];
      this.makers.clear();
    }
    for (const s of b.strings) this.strings.push(s);
    const s = this.strings;
    const f = new Float64Array(b.buf, 0, b.used);
    const out: TraceEvent[] = new Array(b.count);
    let n = 0;
    let lastKeyset = -1;
    let lastMaker: ArgsMaker | undefined;
    for (let i = 0; i < b.count; i++) {
      const id = f[n]!;
      // the kinds of a syscall storm first, by number (the switch below compares kind strings)
      if (id === SYSCALL_ID) {
        const keyset = f[n + 11]!;
        const m = keyset === lastKeyset ? lastMaker! : this.argsMaker(keyset);
        lastKeyset = keyset;
        lastMaker = m;
        const h = f[n + 6]!;
        out[i] = {
          kind: 'syscall_enter', ts: f[n + 1]!, cpu: f[n + 2]!, pid: f[n + 3]!, tgid: f[n + 4]!, comm: s[f[n + 5]!]!,
          hardirq: h === 2 ? undefined : h === 1, line: f[n + 7]!,
          name: s[f[n + 8]!]!, nr: f[n + 9]!, raw: f[n + 10] === 1, args: m.make(f, n + 12),
        };
        n += 12 + m.count;
        continue;
      }
      if (id === TLB_FLUSH_ID) {
        const h = f[n + 6]!;
        out[i] = {
          kind: 'tlb_flush', ts: f[n + 1]!, cpu: f[n + 2]!, pid: f[n + 3]!, tgid: f[n + 4]!, comm: s[f[n + 5]!]!,
          hardirq: h === 2 ? undefined : h === 1, line: f[n + 7]!,
          reason: f[n + 8]!, pages: f[n + 9]!,
        };
        n += 10;
        continue;
      }
      const kind = KINDS[id] as Exclude<TraceEventKind, 'tlb_flush' | 'syscall_enter'>; // those two were decoded above
      const ts = f[n + 1]!;
      const cpu = f[n + 2]!;
      const pid = f[n + 3]!;
      const tgid = f[n + 4]!;
      const comm = s[f[n + 5]!]!;
      const h = f[n + 6]!;
      const hardirq = h === 2 ? undefined : h === 1;
      const line = f[n + 7]!;
      n += 8;
      let e: TraceEvent;
      switch (kind) {
        case 'ipi_send_cpu':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, target: f[n]!, callsite: s[f[n + 1]!]!, callback: s[f[n + 2]!]! };
          n += 3;
          break;
        case 'ipi_send_cpumask': {
          const callsite = s[f[n]!]!;
          const callback = s[f[n + 1]!]!;
          const len = f[n + 2]!;
          n += 3;
          const targets: number[] = new Array(len);
          for (let j = 0; j < len; j++) targets[j] = f[n + j]!;
          n += len;
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, targets, callsite, callback };
          break;
        }
        case 'csd_queue_cpu':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, target: f[n]!, callsite: s[f[n + 1]!]!, func: s[f[n + 2]!]!, csd: nullable(s, f[n + 3]!) };
          n += 4;
          break;
        case 'csd_function_entry':
        case 'csd_function_exit':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, func: s[f[n]!]!, csd: nullable(s, f[n + 1]!) };
          n += 2;
          break;
        case 'call_function_entry':
        case 'call_function_exit':
        case 'call_function_single_entry':
        case 'call_function_single_exit':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, vector: f[n]! };
          n += 1;
          break;
        case 'sched_switch':
          e = {
            kind, ts, cpu, pid, tgid, comm, hardirq, line,
            prevComm: s[f[n]!]!, prevPid: f[n + 1]!, prevPrio: f[n + 2]!, prevState: s[f[n + 3]!]!,
            nextComm: s[f[n + 4]!]!, nextPid: f[n + 5]!, nextPrio: f[n + 6]!,
          };
          n += 7;
          break;
        case 'sched_process_fork':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, parentComm: s[f[n]!]!, parentPid: f[n + 1]!, childComm: s[f[n + 2]!]!, childPid: f[n + 3]! };
          n += 4;
          break;
        case 'sched_process_exec':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, filename: s[f[n]!]!, execPid: f[n + 1]!, oldPid: f[n + 2]! };
          n += 3;
          break;
        case 'sched_process_exit':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, exitComm: s[f[n]!]!, exitPid: f[n + 1]! };
          n += 2;
          break;
        case 'sched_migrate_task':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, taskComm: s[f[n]!]!, taskPid: f[n + 1]!, origCpu: f[n + 2]!, destCpu: f[n + 3]! };
          n += 4;
          break;
        case 'sched_wake_idle_without_ipi':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, target: f[n]! };
          n += 1;
          break;
        case 'lost_events':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, count: f[n]! };
          n += 1;
          break;
        case 'other':
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, name: s[f[n]!]! };
          n += 1;
          break;
        default:
          e = { kind, ts, cpu, pid, tgid, comm, hardirq, line, nrReclaimed: f[n]! };
          n += 1;
          break;
      }
      out[i] = e;
    }
    if (n !== b.used) throw new Error(`event batch decoding read ${n} of ${b.used} numbers: encoder and decoder disagree`);
    return out;
  }
}

function nullable(s: string[], id: number): string | null {
  return id < 0 ? null : s[id]!;
}

// Input statistics of an analysis: events by CPU, by name and by time, and lost-event markers
// (the summary's `input` section). Every event passes here, so it reads the batch's columns.

import { ROW_SYSCALL, ROW_TLB_FLUSH, type EventBatch } from '../events/batch.js';
import type { LostEventsEvent, OtherEvent, SyscallEnterEvent, TraceEvent } from '../events/types.js';

/** Per-CPU input statistics: events, first/last timestamp, lost-event markers. */
export class InputStats {
  events = 0;
  byCpu: number[] = [];
  /** NaN until the CPU's first event */
  firstTsCpu: number[] = [];
  lastTsCpu: number[] = [];
  lostCpu: number[] = [];
  lostMarkersCpu: number[] = [];
  firstTs = Infinity;
  lastTs = -Infinity;

  /** per-kind counts (hot path: no string building); names resolved at the end */
  private byKind = new Counts();
  private otherByName = new Counts();
  private syscallByName = new Counts();
  private rawSyscalls = 0;

  /**
   * Row i of a batch. The CPU and time come from the row's columns for every row (an event
   * object's own fields would be read through a lookup over all event shapes); the name from its
   * syscall for a syscall row, from the object otherwise.
   */
  seeRow(b: EventBatch, i: number): void {
    const kind = b.row[i];
    if (kind === ROW_SYSCALL) this.syscallByName.add(b.sys[i]!.name);
    else if (kind === ROW_TLB_FLUSH) this.byKind.add('tlb_flush');
    else if (!this.seeObject(b.objects[i]!)) return;
    this.seeHeader(b.cpu[i]!, b.ts[i]!);
  }

  /** An event object. */
  see(e: TraceEvent): void {
    if (e.kind === 'syscall_enter') {
      this.seeSyscall(e);
      return;
    }
    if (this.seeObject(e)) this.seeHeader(e.cpu, e.ts);
  }

  /**
   * see() of a syscall entry (most events of a syscall storm): its fields are read here, where
   * only syscall entries pass (one shape's inline cache, not a megamorphic lookup).
   */
  private seeSyscall(e: SyscallEnterEvent): void {
    if (e.raw) this.rawSyscalls++;
    else this.syscallByName.add(e.name);
    this.seeHeader(e.cpu, e.ts);
  }

  /** the name of an event object counted; false for a lost-events marker (no event) */
  private seeObject(e: TraceEvent): boolean {
    const kind = e.kind;
    if (kind === 'syscall_enter') {
      const s = e as SyscallEnterEvent;
      if (s.raw) this.rawSyscalls++;
      else this.syscallByName.add(s.name);
    } else if (kind === 'lost_events') {
      const cpu = e.cpu;
      this.lostMarkersCpu[cpu] = (this.lostMarkersCpu[cpu] ?? 0) + 1;
      this.lostCpu[cpu] = (this.lostCpu[cpu] ?? 0) + Math.max(0, (e as LostEventsEvent).count);
      return false;
    } else if (kind === 'other') this.otherByName.add((e as OtherEvent).name);
    else this.byKind.add(kind);
    return true;
  }

  private seeHeader(cpu: number, ts: number): void {
    this.events++;
    if (cpu >= this.byCpu.length) this.growCpus(cpu);
    this.byCpu[cpu]!++;
    if (this.firstTsCpu[cpu] !== this.firstTsCpu[cpu]) this.firstTsCpu[cpu] = ts; // NaN: no event yet
    this.lastTsCpu[cpu] = ts;
    if (ts < this.firstTs) this.firstTs = ts;
    if (ts > this.lastTs) this.lastTs = ts;
  }

  private growCpus(cpu: number): void {
    for (let i = this.byCpu.length; i <= cpu; i++) {
      this.byCpu.push(0);
      this.firstTsCpu.push(NaN);
      this.lastTsCpu.push(NaN);
    }
  }

  /** event name -> count, named as eventName() names them (the kernel's event names) */
  get byType(): Map<string, number> {
    const out = new Map<string, number>();
    const add = (k: string, n: number) => out.set(k, (out.get(k) ?? 0) + n);
    for (const [k, c] of this.byKind.map) add(k, c.n);
    for (const [k, c] of this.otherByName.map) add(k, c.n);
    for (const [k, c] of this.syscallByName.map) add(`sys_enter_${k}`, c.n);
    if (this.rawSyscalls > 0) add('sys_enter', this.rawSyscalls);
    return out;
  }
}

/** Counts per name: one map lookup per event, none while the name repeats (syscall storms). */
class Counts {
  readonly map = new Map<string, { n: number }>();
  private lastKey: string | null = null;
  private last = { n: 0 };

  add(key: string): void {
    if (key !== this.lastKey) {
      let c = this.map.get(key);
      if (c === undefined) {
        c = { n: 0 };
        this.map.set(key, c);
      }
      this.last = c;
      this.lastKey = key;
    }
    this.last.n++;
  }
}

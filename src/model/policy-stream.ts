// The stream the policies read: model events in time order, each flush request complete (every
// target answered) when it goes out.
//
// Events wait in a reorder buffer (the outbox) behind requests still open, and syscall entries are
// coalesced per task (of a run of one task's entries with no other model event between, only the
// last goes out) except for the syscalls some policy wants every entry of. Bounded: a request that
// stays open too long (targets whose handlers were lost) is closed as it stands.

import type { SyscallEnterEvent } from '../events/types.js';
import type { SyscallInfo } from '../events/payloads/syscalls.js';
import type { TaskInfo } from './tasks.js';
import type { ModelEvent, SyscallModelEvent } from './types.js';

/**
 * Events held behind open requests before the oldest is closed as it stands: OUTBOX_PER_CPU per
 * CPU, at least OUTBOX_MIN. The cap is for requests that will never complete (handlers lost), and
 * how many events a request that does complete spans grows with the CPU count (events/s): across
 * the shared captures at most 801 events on 2 CPUs, 1,541 on 8 and 3,131 on 16 (qemu, where an IPI
 * takes 10-100 ms), 5-10x below the cap. A lower cap is a smaller peak heap: on sng-munmap one
 * request whose handlers were lost held 65,536 events (the former fixed cap), whose promotion
 * let the old generation grow: 10 streamed copies peaked at ~200 MB RSS, with 4,096 at ~125 MB.
 */
const OUTBOX_PER_CPU = 2048;
const OUTBOX_MIN = 4096;
export function outboxLimit(cpus: number): number {
  return Math.max(OUTBOX_MIN, OUTBOX_PER_CPU * cpus);
}

/** What the outbox needs of a request it holds events behind (shootdowns.ts: OpenRequest). */
export interface Holdable {
  closed: boolean;
  /** closed, but not to be handed on yet (delivery.ts: waiting for the flush mechanism) */
  held?: boolean;
}

/** whether events must wait behind `h` */
function blocks(h: Holdable | null | undefined): boolean {
  return h !== null && h !== undefined && (!h.closed || h.held === true);
}

export class PolicyStream {
  /**
   * Reorder buffer for policy events: requests wait here until closed. Two parallel arrays (the
   * event, and the request it waits for or null): no entry object per event, and emptied without
   * a splice in the common case (most requests pass through it).
   */
  private outbox: ModelEvent[] = [];
  private outboxOpen: Array<Holdable | null> = [];
  private maxOutbox: number;
  /** tasks holding a coalesced syscall entry not yet handed to the policies */
  private pendingSyscallTasks: TaskInfo[] = [];
  private lastSyscallName = '';
  private lastSyscallWith: ReadonlySet<string> | null = null;
  private readonly syscallScratch: SyscallModelEvent = { type: 'syscall', ts: 0, cpu: 0, mm: 0, e: null as unknown as SyscallEnterEvent, every: true };
  /** closes the oldest open request when the outbox is over its cap (shootdowns.ts: forceClose) */
  forceClose: (open: Holdable, ts: number) => void = () => undefined;

  constructor(
    private readonly emit: (e: ModelEvent) => void,
    /**
     * Syscalls some policy wants every entry of (PolicyRun.everySyscall), each with the set of
     * syscalls that every policy wanting it also wants every entry of.
     */
    private readonly everySyscall: ReadonlyMap<string, ReadonlySet<string>>,
    cpus: number,
  ) {
    this.maxOutbox = outboxLimit(cpus);
  }

  /** The CPU count grew: so does the cap. */
  setCpus(cpus: number): void {
    this.maxOutbox = outboxLimit(cpus);
  }

  /** whether some policy takes every entry of syscall `name` (PolicyRun.everySyscall) */
  takesEvery(name: string): boolean {
    if (name !== this.lastSyscallName) {
      this.lastSyscallName = name;
      this.lastSyscallWith = this.everySyscall.get(name) ?? null;
    }
    return this.lastSyscallWith !== null;
  }

  get waiting(): number {
    return this.outbox.length;
  }

  /**
   * A syscall entry for the policies. What a syscall reader keeps of the entries is per task "the
   * last syscall entry" (its time, a madvise advice), so of a run of one task's entries with no
   * other model event in between only the last is handed on (coalesced: just before the next event
   * of another type, or at the end): on sng-madvise the policies get 134,805 syscall events
   * instead of 1,153,427. An entry of a syscall in everySyscall also goes out at once, to the
   * policies that want every entry of it (promotion: a munmap storm is a million of those, which
   * the other readers still get coalesced).
   */
  pushSyscall(e: SyscallEnterEvent, task: TaskInfo, mm: number, reused: SyscallInfo | null): void {
    // storms repeat one syscall: its membership is remembered (strings compare by identity first)
    if (e.name !== this.lastSyscallName) {
      this.lastSyscallName = e.name;
      this.lastSyscallWith = this.everySyscall.get(e.name) ?? null;
    }
    const withEvery = this.lastSyscallWith;
    if (withEvery !== null) {
      // the policies taking this entry now read the coalesced entries of the syscalls outside
      // withEvery: those still pending are older, so they go out first
      if (this.pendingSyscallTasks.length > 0 && this.pendingOutside(withEvery)) this.flushSyscalls();
      if (this.outbox.length === 0) {
        // handed on at once: one reused event object (a policy keeps what it needs of a syscall
        // event, never the event: see SyscallModelEvent)
        const s = this.syscallScratch;
        s.ts = e.ts;
        s.cpu = e.cpu;
        s.mm = mm;
        s.e = e;
        this.emit(s);
      } else {
        this.buffer({ type: 'syscall', ts: e.ts, cpu: e.cpu, mm, e, every: true }, null);
      }
    }
    // The task's pending entry keeps the caller's event, or, when the caller fills one object in
    // anew for every entry (a batch row: src/events/batch.ts RowEvents), a copy of our own, written
    // in place while the task's entries are of one syscall (task.pendingOwn).
    const p = task.pendingSyscall;
    if (p === null) {
      task.pendingSyscall = { type: 'syscall', ts: e.ts, cpu: e.cpu, mm, e: reused === null ? e : ownCopy(e, reused), every: false };
      task.pendingOwn = reused;
      this.pendingSyscallTasks.push(task);
      return;
    }
    p.ts = e.ts;
    p.cpu = e.cpu;
    p.mm = mm;
    if (reused === null) p.e = e;
    else if (task.pendingOwn === reused) {
      // a run of one task's entries of one syscall (85% of a storm): its copy, written in place
      copyInPlace(p.e, e, reused);
    } else p.e = ownCopy(e, reused);
    task.pendingOwn = reused;
  }

  /** whether a pending coalesced entry is of a syscall outside `names` */
  private pendingOutside(names: ReadonlySet<string>): boolean {
    for (const t of this.pendingSyscallTasks) if (t.pendingSyscall !== null && !names.has(t.pendingSyscall.e.name)) return true;
    return false;
  }

  /** Hand on the coalesced syscall entries (they are older than whatever comes next). */
  flushSyscalls(): void {
    const tasks = this.pendingSyscallTasks;
    if (tasks.length === 0) return;
    this.pendingSyscallTasks = [];
    for (const t of tasks) {
      const p = t.pendingSyscall;
      t.pendingSyscall = null;
      if (p !== null) this.push(p, null);
    }
  }

  /** A model event, held behind `open` (a request still waiting for targets) if there is one. */
  push(ev: ModelEvent, open: Holdable | null): void {
    if (this.pendingSyscallTasks.length > 0) this.flushSyscalls();
    if (this.outbox.length === 0 && !blocks(open)) {
      this.emit(ev); // nothing waiting: no buffering
      return;
    }
    this.buffer(ev, open);
  }

  /** A request that opens and closes on one event, while nothing waits: straight out. */
  emitNow(ev: ModelEvent): void {
    this.emit(ev);
  }

  /** Queue an event behind the open requests in the outbox. */
  private buffer(ev: ModelEvent, open: Holdable | null): void {
    // A buffered syscall event keeps a copy of its trace event: while a request stays open (up to
    // maxOutbox events, e.g. targets whose handlers were lost) every entry would otherwise keep the
    // reader's own objects alive, and V8 then allocates all later events of that kind straight in
    // the old generation (allocation-site pretenuring): on sng-munmap ~40 MB more peak RSS.
    if (ev.type === 'syscall') ev.e = copySyscallEnter(ev.e);
    this.outbox.push(ev);
    this.outboxOpen.push(open);
    if (this.outbox.length > this.maxOutbox) this.forceOldest();
    this.drain();
  }

  /**
   * Bounded memory: policies see requests complete, so events wait behind an open request. If one
   * stays open too long (targets whose handlers were lost), close it as it is.
   */
  private forceOldest(): void {
    if (this.outbox.length === 0) return;
    const ev = this.outbox[0]!;
    const open = this.outboxOpen[0];
    if (blocks(open)) this.forceClose(open!, ev.type === 'request' ? ev.req.ts : 0);
  }

  /** Hand on every event no open request holds back. */
  drain(): void {
    const evs = this.outbox;
    const opens = this.outboxOpen;
    let i = 0;
    while (i < evs.length) {
      if (blocks(opens[i])) break;
      this.emit(evs[i]!);
      i++;
    }
    if (i === 0) return;
    if (i === 1 && evs.length === 1) {
      // one request handed on (the common case): pop() is inline, `length = 0` a runtime call
      evs.pop();
      opens.pop();
    } else if (i === evs.length) {
      // all handed on: keeps the arrays' storage, no splice
      evs.length = 0;
      opens.length = 0;
    } else {
      evs.splice(0, i);
      opens.splice(0, i);
    }
  }

  /** Events not yet handed on still name `drop`: they name `keep` now (pids proven to share an mm). */
  remap(drop: number, keep: number): void {
    for (const t of this.pendingSyscallTasks) if (t.pendingSyscall !== null && t.pendingSyscall.mm === drop) t.pendingSyscall.mm = keep;
    for (const ev of this.outbox) {
      if (ev.type === 'request' && ev.req.mm === drop) ev.req.mm = keep;
      else if (ev.type === 'switch' && (ev.fromMm === drop || ev.toMm === drop)) {
        if (ev.fromMm === drop) ev.fromMm = keep;
        if (ev.toMm === drop) ev.toMm = keep;
      } else if (ev.type === 'syscall' && ev.mm === drop) ev.mm = keep;
    }
  }
}

/** an entry of syscall `info` as an object of our own (e's own object is reused for the next row) */
function ownCopy(e: SyscallEnterEvent, info: SyscallInfo): SyscallEnterEvent {
  const args = info.build(NO_ARGS, 0);
  info.copy(args, e.args);
  return { kind: e.kind, ts: e.ts, cpu: e.cpu, pid: e.pid, tgid: e.tgid, comm: e.comm, hardirq: e.hardirq, line: e.line, name: e.name, nr: e.nr, raw: e.raw, args };
}
const NO_ARGS = new Float64Array(6);

/** `to` (an ownCopy() of an entry of syscall `info`) := e */
function copyInPlace(to: SyscallEnterEvent, e: SyscallEnterEvent, info: SyscallInfo): void {
  to.ts = e.ts;
  to.cpu = e.cpu;
  to.pid = e.pid;
  to.tgid = e.tgid;
  to.comm = e.comm;
  to.hardirq = e.hardirq;
  to.line = e.line;
  info.copy(to.args, e.args);
}

function copySyscallEnter(e: SyscallEnterEvent): SyscallEnterEvent {
  const args: Record<string, number> = {};
  for (const k in e.args) args[k] = e.args[k]!;
  return { kind: e.kind, ts: e.ts, cpu: e.cpu, pid: e.pid, tgid: e.tgid, comm: e.comm, hardirq: e.hardirq, line: e.line, name: e.name, nr: e.nr, raw: e.raw, args };
}

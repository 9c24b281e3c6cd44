// Records of all CPUs merged by timestamp into batches of events (ties: lowest CPU first, like
// tracecmd_peek_next_data()). The per-record loop is a plain function, not part of the async
// generator that hands the batches out (index.ts): V8 optimizes it as a whole early in the run
// and re-optimizes it cheaply after a rare branch deopts it, where the generator's loop ran in
// baseline code until on-stack replacement caught up, and again after every deopt.

import type { LostEventsEvent, TraceEvent } from '../../events/types.js';
import type { CommTable } from './comms.js';
import type { EventDecoder } from './decode.js';
import type { CpuCursor } from './ringbuf.js';

const TRACE_FLAG_HARDIRQ = 0x08;
const TRACE_FLAG_NMI = 0x40;

/** (ts, index) order: the earlier record first, the lower CPU index on ties */
function before(a: CpuCursor, b: CpuCursor): boolean {
  return a.recTs < b.recTs || (a.recTs === b.recTs && a.index < b.index);
}

function siftDown(items: CpuCursor[], i: number): void {
  const n = items.length;
  const x = items[i]!;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && before(items[c + 1]!, items[c]!)) c++;
    if (!before(items[c]!, x)) break;
    items[i] = items[c]!;
    i = c;
  }
  items[i] = x;
}

function siftUp(items: CpuCursor[], i: number): void {
  const x = items[i]!;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(x, items[p]!)) break;
    items[i] = items[p]!;
    i = p;
  }
  items[i] = x;
}

/**
 * Events lost before the cursor's next record. trace-cmd report prints `CPU:N [M EVENTS DROPPED]`
 * on its own line just before that record; the text parsers give it the timestamp of the event
 * printed before it (any CPU), and so does this.
 */
function lostEvent(c: CpuCursor, lastTs: number): LostEventsEvent {
  return { kind: 'lost_events', ts: lastTs, cpu: c.cpu, pid: -1, tgid: -1, comm: '', hardirq: undefined, line: 0, count: c.lost };
}

/** a record with no format in the file (type >= 0, `known` false), or too short for its format */
export type SkipRecord = (c: CpuCursor, type: number, known: boolean) => void;

export class RecordMerge {
  /** cursors positioned on a record, as a binary heap in (ts, index) order */
  readonly heap: CpuCursor[] = [];
  /** events decoded since the last take() */
  batch: TraceEvent[] = [];
  /** ts of the last event decoded (lost_events take it, as the text parsers do) */
  private lastTs = 0;

  constructor(
    private readonly decoder: EventDecoder,
    private readonly comms: CommTable,
    private readonly le: boolean,
    private readonly batchSize: number,
    private readonly skipRecord: SkipRecord,
  ) {}

  /** a cursor positioned on its first record (of a new window) joins the merge */
  add(c: CpuCursor): void {
    this.heap.push(c);
    siftUp(this.heap, this.heap.length - 1);
  }

  /** a cursor whose data has ended: events lost at the very end still count */
  finish(c: CpuCursor): void {
    if (c.lost !== 0) {
      this.batch.push(lostEvent(c, this.lastTs));
      c.lost = 0;
    }
  }

  /** the events decoded so far, and a new empty batch */
  take(): TraceEvent[] {
    const b = this.batch;
    this.batch = [];
    return b;
  }

  /**
   * Decode records in timestamp order until the batch holds batchSize events or the heap is
   * empty (null), or until a cursor has used up its window: it is returned, out of the heap, to
   * be refilled (an await) and add()ed or finish()ed.
   */
  run(): CpuCursor | null {
    const items = this.heap;
    const batch = this.batch;
    const decoder = this.decoder;
    const comms = this.comms;
    const le = this.le;
    const typeOff = decoder.typeOff;
    const typeSize = decoder.typeSize;
    const pidOff = decoder.commonPidOff;
    const flagsOff = decoder.commonFlagsOff;
    const specs = decoder.specs;
    const headerNeed = decoder.headerNeed;
    let lastTs = this.lastTs;
    let exhausted: CpuCursor | null = null;
    while (items.length) {
      const c = items[0]!;
      // the next-best cursor bounds how long `c` stays first (no read past the end: V8 treats
      // an out-of-bounds read as a new case and recompiles the loop for it)
      let bound: CpuCursor | undefined = items.length > 1 ? items[1] : undefined;
      if (items.length > 2 && before(items[2]!, bound!)) bound = items[2];
      for (;;) {
        if (c.lost !== 0) {
          batch.push(lostEvent(c, lastTs));
          c.lost = 0;
        }
        const dv = c.dv;
        const rec = c.recOff;
        const type = c.recLen >= headerNeed ? (typeSize === 2 ? dv.getUint16(rec + typeOff, le) : dv.getUint8(rec + typeOff)) : -1;
        const spec = type < 0 ? undefined : (specs[type] ?? decoder.spec(type));
        if (spec === undefined || c.recLen < spec.need) {
          this.skipRecord(c, type, spec !== undefined);
        } else {
          const pid = dv.getInt32(rec + pidOff, le);
          if (pid !== c.lastPid || comms.version !== c.lastVersion) {
            c.lastPid = pid;
            c.lastComm = comms.lookup(pid);
            c.lastVersion = comms.version;
          }
          const flags = dv.getUint8(rec + flagsOff);
          // hardirq and not NMI, in one test: with `&&` the second half first runs at the first
          // interrupt-context record, deep into a trace, and V8 recompiles the loop for it
          const hardirq = (flags & (TRACE_FLAG_HARDIRQ | TRACE_FLAG_NMI)) === TRACE_FLAG_HARDIRQ;
          // (an indexed store: V8 kept batch.push() here a call into its builtin, ~130
          // instructions an event)
          batch[batch.length] = decoder.decode(spec, c.buf, dv, rec, c.recLen, c.recTs, c.cpu, pid, c.lastComm, hardirq);
          lastTs = c.recTs;
        }
        if (!c.advance()) {
          exhausted = c;
          break;
        }
        if (bound !== undefined && !before(c, bound)) break;
        if (batch.length >= this.batchSize) break;
      }
      if (exhausted !== null) {
        const last = items.pop()!;
        if (items.length) {
          items[0] = last;
          siftDown(items, 0);
        }
        break;
      }
      siftDown(items, 0);
      if (batch.length >= this.batchSize) break;
    }
    this.lastTs = lastTs;
    return exhausted;
  }
}

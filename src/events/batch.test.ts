// EventBatch (batch.ts): rows are what the object-building parsers make (fastpath.test.ts compares
// whole inputs read both ways); here the row bookkeeping the text ingest relies on: a late event
// moved back into time order, the held-back tail carried to the next batch, and reuse letting go
// of the event objects.

import { describe, expect, it } from 'vitest';
import { EventBatch, RowEvents, ROW_OBJECT, ROW_SYSCALL, ROW_TLB_FLUSH, ARGS_PER_ROW } from './batch.js';
import { X86_64_SYSCALLS } from './payloads.js';
import type { TraceEvent } from './types.js';

const madvise = X86_64_SYSCALLS.find((s) => s.name === 'madvise')!;

/** a batch of: tlb_flush rows at ts 10, 20, 30, a syscall row at 40, an object row at 50 */
function sample(): EventBatch {
  const b = new EventBatch(8);
  for (let k = 0; k < 3; k++) {
    const i = b.length++;
    b.row[i] = ROW_TLB_FLUSH;
    b.ts[i] = 10 * (k + 1);
    b.cpu[i] = k;
    b.pid[i] = 100 + k;
    b.tgid[i] = -1;
    b.line[i] = k + 1;
    b.hardirq[i] = -1;
    b.comm[i] = `t${k}`;
    b.args[i * ARGS_PER_ROW] = 3;
    b.args[i * ARGS_PER_ROW + 1] = k;
  }
  const i = b.length++;
  b.row[i] = ROW_SYSCALL;
  b.ts[i] = 40;
  b.cpu[i] = 1;
  b.pid[i] = 7;
  b.tgid[i] = 7;
  b.line[i] = 4;
  b.hardirq[i] = 0;
  b.comm[i] = 'stress-ng';
  b.sys[i] = madvise;
  b.args.set([0x7f00, 0x1000, 4], i * ARGS_PER_ROW);
  b.pushObject({ kind: 'other', ts: 50, cpu: 0, pid: 1, tgid: -1, comm: 'x', hardirq: true, line: 5, name: 'foo' });
  return b;
}

describe('EventBatch', () => {
  it('builds each row as the object parsers would', () => {
    const events = sample().toEvents();
    expect(events[1]).toEqual({ kind: 'tlb_flush', ts: 20, cpu: 1, pid: 101, tgid: -1, comm: 't1', hardirq: undefined, line: 2, reason: 3, pages: 1 });
    expect(events[3]).toEqual({
      kind: 'syscall_enter', ts: 40, cpu: 1, pid: 7, tgid: 7, comm: 'stress-ng', hardirq: false, line: 4,
      name: 'madvise', nr: 28, raw: false, args: { start: 0x7f00, len_in: 0x1000, behavior: 4 },
    });
    expect(events[4]).toMatchObject({ kind: 'other', name: 'foo', hardirq: true });
  });

  it('moves a late row back, keeping the others in order', () => {
    const b = sample();
    const before = b.toEvents();
    b.moveBack(3, 1); // the syscall row goes between the first two tlb_flush rows
    expect(b.toEvents().map((e) => e.ts)).toEqual([10, 40, 20, 30, 50]);
    expect(b.toEvents()[1]).toEqual(before[3]);
    expect(b.toEvents()[3]).toEqual(before[2]);
    b.moveBack(4, 0);
    expect(b.toEvents().map((e) => e.ts)).toEqual([50, 10, 40, 20, 30]);
    expect(b.row[0]).toBe(ROW_OBJECT);
  });

  it('carries rows to another batch and finds time bounds', () => {
    const a = sample();
    const b = new EventBatch(4);
    b.appendRows(a, 2, 3);
    expect(b.toEvents()).toEqual(a.toEvents().slice(2));
    expect(a.upperBoundTs(25)).toBe(2);
    expect(a.upperBoundTs(5)).toBe(0);
    expect(a.upperBoundTs(99)).toBe(5);
  });

  it('lets go of its event objects when emptied for reuse', () => {
    const b = sample();
    const obj: TraceEvent = b.objects[4]!;
    expect(obj).not.toBeNull();
    b.clear();
    expect(b.length).toBe(0);
    expect(b.objects.every((o) => o === null)).toBe(true);
  });

  it('reads a row through one object per kind, filled in anew', () => {
    const b = sample();
    const rows = new RowEvents();
    const first = rows.tlbFlush(b, 0);
    const second = rows.tlbFlush(b, 2);
    expect(second).toBe(first); // the same object, now row 2's event
    expect(second).toEqual(b.eventAt(2));
    expect(rows.syscall(b, 3)).toEqual(b.eventAt(3));
  });
});

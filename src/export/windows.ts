// Which parts of a trace the Perfetto export keeps: a time window (--from/--to), and/or the N
// slowest requests (request -> last callback entry) with `context` ns around each. The slowest are
// found by a first pass over the trace with SlowestRequests as the only sink (a min-heap of N),
// so the second pass, which writes, keeps only what it needs: two reads, bounded memory.

import type { ModelEvent } from '../model/types.js';
import type { EventSink } from '../pipeline/sink.js';

export type Window = readonly [number, number];

/** Sort and merge overlapping windows. */
export function mergeWindows(ws: Window[]): Window[] {
  const sorted = [...ws].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Windows inside [from, to]: each clipped, those outside dropped. */
export function clipWindows(ws: Window[], from: number, to: number): Window[] {
  const out: Window[] = [];
  for (const [a, b] of ws) if (b >= from && a <= to) out.push([Math.max(a, from), Math.min(b, to)]);
  return out;
}

export interface SlowRequest {
  id: number;
  ts: number;
  end: number;
  latency: number;
}

export class SlowestRequests implements EventSink {
  /** min-heap on latency: the root is the fastest of the N kept */
  private heap: SlowRequest[] = [];

  constructor(private readonly n: number) {}

  start(): void {}

  onEvent(ev: ModelEvent): void {
    if (ev.type !== 'request') return;
    const req = ev.req;
    let last = -1;
    for (const t of req.targets) if (t.handlerTs !== null && t.handlerTs > last) last = t.handlerTs;
    if (last < 0) return;
    const latency = last - req.ts;
    const h = this.heap;
    if (h.length < this.n) {
      h.push({ id: req.id, ts: req.ts, end: Math.max(req.closedTs, last), latency });
      this.up(h.length - 1);
    } else if (this.n > 0 && latency > h[0]!.latency) {
      h[0] = { id: req.id, ts: req.ts, end: Math.max(req.closedTs, last), latency };
      this.down(0);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.latency <= h[i]!.latency) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.latency < h[m]!.latency) m = l;
      if (r < h.length && h[r]!.latency < h[m]!.latency) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }

  async finish(): Promise<void> {}

  /** slowest first */
  slowest(): SlowRequest[] {
    return [...this.heap].sort((a, b) => b.latency - a.latency || a.ts - b.ts);
  }

  windows(contextNs: number): Window[] {
    return mergeWindows(this.heap.map((r) => [r.ts - contextNs, r.end + contextNs] as const));
  }
}

// Streaming distribution of non-negative values (durations in microseconds, counts): exact min/max/
// mean, quantiles from a log-bucketed histogram (bounded memory, ~4% relative error).

import type { Distribution } from '../summary/schema.js';

const SUB = 16; // sub-buckets per power of two

export class DistributionBuilder {
  private counts = new Map<number, number>();
  private n = 0;
  private sum = 0;
  private lo = Infinity;
  private hi = -Infinity;

  add(v: number): void {
    if (!Number.isFinite(v)) return;
    if (v < 0) v = 0;
    this.n++;
    this.sum += v;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
    const b = bucketOf(v);
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
  }

  get count(): number {
    return this.n;
  }

  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const target = Math.ceil(q * this.n);
    let acc = 0;
    for (const b of [...this.counts.keys()].sort((a, c) => a - c)) {
      acc += this.counts.get(b)!;
      if (acc >= target) return Math.min(this.hi, Math.max(this.lo, upperOf(b)));
    }
    return this.hi;
  }

  /** Summary with a histogram on the given bucket edges (le, inclusive), plus +inf. */
  toJSON(edges: number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]): Distribution {
    const hist = edges.map((le) => ({ le: le as number | null, count: 0 }));
    hist.push({ le: null, count: 0 });
    for (const [b, c] of this.counts) {
      const v = midOf(b);
      let i = edges.findIndex((le) => v <= le);
      if (i < 0) i = edges.length;
      hist[i]!.count += c;
    }
    const r = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
    return {
      count: this.n,
      min: r(this.n ? this.lo : null),
      p50: r(this.quantile(0.5)),
      p90: r(this.quantile(0.9)),
      p99: r(this.quantile(0.99)),
      max: r(this.n ? this.hi : null),
      mean: r(this.n ? this.sum / this.n : null),
      histogram: hist,
    };
  }
}

function bucketOf(v: number): number {
  if (v < 1) return -1;
  const e = Math.floor(Math.log2(v));
  const frac = v / 2 ** e - 1; // [0,1)
  return e * SUB + Math.floor(frac * SUB);
}
function upperOf(b: number): number {
  if (b < 0) return 1;
  const e = Math.floor(b / SUB);
  const s = b % SUB;
  return 2 ** e * (1 + (s + 1) / SUB);
}
function midOf(b: number): number {
  if (b < 0) return 0.5;
  const e = Math.floor(b / SUB);
  const s = b % SUB;
  return 2 ** e * (1 + (s + 0.5) / SUB);
}

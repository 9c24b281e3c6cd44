// Bounded time series: counters per time bucket. Buckets start at 1 ms and double in width whenever
// there would be more than MAX_BUCKETS, so memory stays flat however long the trace is.

const MAX_BUCKETS = 300;

export class TimeSeries<K extends string> {
  private widthNs = 1_000_000;
  private origin: number | null = null;
  /** bucket index -> counters */
  private buckets: Map<number, Record<K, number>>[] = [];
  private readonly rows = new Map<string, number[]>();

  constructor(private readonly keys: readonly K[]) {}

  /** Add `n` to counter `key` of series `row` (e.g. 'observed', 'cpu3', 'policy:targeted') at time ts (ns). */
  add(row: string, key: K, ts: number, n = 1): void {
    if (this.origin === null) this.origin = ts;
    let idx = Math.floor((ts - this.origin) / this.widthNs);
    if (idx < 0) idx = 0;
    while (idx >= MAX_BUCKETS) {
      this.coarsen();
      idx = Math.floor((ts - this.origin) / this.widthNs);
    }
    // every request adds to a row: the last row and key looked up are kept (one compare of the
    // same string objects, not a map lookup and a search of the keys)
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastK = this.keys.indexOf(key);
    }
    let arr = row === this.lastRow ? this.lastArr : this.rows.get(row);
    if (arr === undefined) {
      arr = [];
      this.rows.set(row, arr);
    }
    this.lastRow = row;
    this.lastArr = arr;
    const slot = idx * this.keys.length + this.lastK;
    arr[slot] = (arr[slot] ?? 0) + n;
  }
  private lastKey: K | null = null;
  private lastK = -1;
  private lastRow: string | null = null;
  private lastArr: number[] | undefined = undefined;

  /** Make sure the series covers `ts` (so trailing empty time shows as zeros). */
  touch(ts: number): void {
    if (this.origin === null) this.origin = ts;
    while (Math.floor((ts - this.origin) / this.widthNs) >= MAX_BUCKETS) this.coarsen();
    this.lastIdx = Math.max(this.lastIdx, Math.floor((ts - this.origin) / this.widthNs));
  }
  private lastIdx = 0;

  private coarsen(): void {
    const K = this.keys.length;
    for (const [row, arr] of this.rows) {
      const out: number[] = [];
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i];
        if (v === undefined) continue;
        const bucket = Math.floor(i / K);
        const k = i % K;
        const slot = Math.floor(bucket / 2) * K + k;
        out[slot] = (out[slot] ?? 0) + v;
      }
      this.rows.set(row, out);
    }
    this.lastRow = null;
    this.widthNs *= 2;
    this.lastIdx = Math.floor(this.lastIdx / 2);
  }

  get bucketSec(): number {
    return this.widthNs / 1e9;
  }

  /** Rows as dense arrays of {t, ...counters}, t in seconds since the first event. */
  rowsOut(): Map<string, Array<{ t: number } & Record<K, number>>> {
    const K = this.keys.length;
    let n = this.lastIdx + 1;
    for (const arr of this.rows.values()) n = Math.max(n, Math.ceil(arr.length / K));
    const out = new Map<string, Array<{ t: number } & Record<K, number>>>();
    for (const [row, arr] of this.rows) {
      const list: Array<{ t: number } & Record<K, number>> = [];
      for (let b = 0; b < n; b++) {
        const rec = { t: round6(b * this.bucketSec) } as { t: number } & Record<K, number>;
        for (let k = 0; k < K; k++) (rec as Record<string, number>)[this.keys[k]!] = arr[b * K + k] ?? 0;
        list.push(rec);
      }
      out.set(row, list);
    }
    return out;
  }
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

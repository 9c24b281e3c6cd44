// The per-second series of a capture (tables.ts SERIES_TABLE), rolled up with arquero: facts
// (time, CPU, measure, count) are collected in plain arrays on the event path and, every
// CHUNK facts, reduced to per-(second, CPU, measure) sums; the partial sums are reduced once more
// at the end. Memory holds one chunk of facts plus one row per active (second, CPU, measure).

import type { ColumnTable } from 'arquero';
import { SERIES_MEASURES, type SeriesMeasure } from './tables.js';

const CHUNK = 65536;

type Arquero = typeof import('arquero');

export class SeriesRollup {
  private ts: number[] = [];
  private cpu: number[] = [];
  private measure: string[] = [];
  private n: number[] = [];
  private partials: ColumnTable[] = [];
  /** origin of the seconds: the trace's first event (known before the model hands on anything) */
  private origin: number | null = null;

  constructor(
    private readonly aq: Arquero,
    private readonly firstTs: () => number,
  ) {}

  add(ts: number, cpu: number, measure: SeriesMeasure, n: number): void {
    if (this.origin === null) this.origin = this.firstTs();
    this.ts.push(ts);
    this.cpu.push(cpu);
    this.measure.push(measure);
    this.n.push(n);
    if (this.ts.length >= CHUNK) this.reduce();
  }

  /** per (ns -> whole second since origin, CPU, measure): the sum of counts */
  private reduce(): void {
    if (this.ts.length === 0) return;
    const t = this.aq
      .table({ ts: this.ts, cpu: this.cpu, measure: this.measure, n: this.n })
      .params({ origin: this.origin ?? 0 })
      .derive({ second: (d: { ts: number }, $: { origin: number }) => op.floor((d.ts - $.origin) / 1e9) } as never)
      .groupby('second', 'cpu', 'measure')
      .rollup({ n: (d: { n: number }) => op.sum(d.n) } as never);
    this.partials.push(t);
    this.ts = [];
    this.cpu = [];
    this.measure = [];
    this.n = [];
  }

  /** One row per (second, CPU) with any fact, a column per measure (0 where none), ordered by second and CPU. */
  table(): ColumnTable {
    this.reduce();
    const aq = this.aq;
    const empty = aq.table({ second: [], start_ns: [], cpu: [], ...Object.fromEntries(SERIES_MEASURES.map((m) => [m, []])) });
    if (this.partials.length === 0) return empty;
    const all = this.partials.length === 1 ? this.partials[0]! : this.partials[0]!.concat(...this.partials.slice(1));
    const sums: Record<string, unknown> = {};
    for (const m of SERIES_MEASURES) sums[m] = `d => op.sum(d.measure === '${m}' ? d.n : 0)`;
    return all
      .params({ origin: this.origin ?? 0 })
      .groupby('second', 'cpu')
      .rollup(sums as never)
      .derive({ start_ns: (d: { second: number }, $: { origin: number }) => $.origin + d.second * 1e9 } as never)
      .orderby('second', 'cpu')
      .select('second', 'start_ns', 'cpu', ...SERIES_MEASURES) as ColumnTable;
  }
}

// arquero parses these expressions from their source text: `op` is its function table, never a
// JavaScript value here
declare const op: { floor(x: number): number; sum(x: number): number };

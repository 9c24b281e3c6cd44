// The embedded analytical engine behind `tlbtrace fleet`: DuckDB through its Node API
// (@duckdb/node-api; the engine is a binary inside the npm package, nothing is fetched at run
// time). It reads the Parquet datasets `export --parquet` writes, hive partitions and all, in place.

import { join } from 'node:path';
import { PARTITION_KEYS } from '../export/dataset.js';

export type Row = Record<string, string | number | boolean | null>;

type DuckDB = typeof import('@duckdb/node-api');

export class Engine {
  private constructor(
    private readonly instance: InstanceType<DuckDB['DuckDBInstance']>,
    private readonly conn: Awaited<ReturnType<InstanceType<DuckDB['DuckDBInstance']>['connect']>>,
  ) {}

  static async open(): Promise<Engine> {
    const duck = await import('@duckdb/node-api');
    // parquet and json are built in; never try to download an extension
    const instance = await duck.DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
    return new Engine(instance, await instance.connect());
  }

  /** Rows as plain objects; BIGINT and HUGEINT come back as numbers (counts here stay far below 2^53). */
  async query(sql: string): Promise<Row[]> {
    const reader = await this.conn.runAndReadAll(sql);
    return reader.getRowObjects().map((r) => {
      const out: Row = {};
      for (const [k, v] of Object.entries(r)) out[k] = plain(v);
      return out;
    });
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

function plain(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v); // decimals, dates: their text
}

/** SQL string literal */
export function lit(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * The FROM clause for one table across datasets: every capture's file, the partition keys read
 * from the paths as text (a kernel partition like 6.1 must not become a number), columns matched
 * by name so datasets written with other policy sets still union.
 */
export function tableSource(datasets: readonly string[], table: string): string {
  const globs = datasets.map((d) => lit(join(d, table, '**', '*.parquet')));
  const types = PARTITION_KEYS.map((k) => `${lit(k)}: VARCHAR`).join(', ');
  return `read_parquet([${globs.join(', ')}], hive_partitioning = true, hive_types = {${types}}, union_by_name = true)`;
}

// Parquet files, written as the rows come: a table's rows are buffered per column up to
// ROW_GROUP_ROWS, then encoded as one row group and written out (hyparquet-writer's ParquetWriter),
// so memory holds one row group per table, however long the trace.
//
// Why hyparquet-writer (measured on 1M rows x 8 typed columns, this 2-vCPU VM, Node 20; the
// README's "Export and fleet" section has the same table):
//   hyparquet-writer, row groups of 64k rows streamed to the file   2.2 s   peak RSS 139 MB
//   DuckDB appender (row by row) + COPY TO parquet                  2.0 s   263 MB (whole table held)
//   DuckDB appender (2048-row data chunks) + COPY                   2.9 s   414 MB
//   arquero table -> toArrow -> parquet-wasm writeParquet           5.2 s   492 MB (whole table held)
// It is pure JavaScript (1 MB, no native code, no WebAssembly), writes row groups incrementally to
// a file, and types each column as we declare it. arquero's toArrow() alone costs ~1.7 s per
// million rows, so the per-event tables skip it; the small aggregated tables go through arquero
// (src/export/tables.ts).
//
// A file is written where it is told (a temporary directory of the dataset) and moved into its
// partition by commitTo().

import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { ByteWriter as ByteWriterType, SchemaElement } from 'hyparquet-writer';

export type ColumnType = 'int64' | 'int32' | 'double' | 'string' | 'bool';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** null allowed (OPTIONAL); otherwise REQUIRED */
  nullable?: boolean;
  /** what the column holds, in the README's words */
  doc: string;
}

export interface TableSpec {
  name: string;
  doc: string;
  columns: ColumnSpec[];
}

/** The version of the table layout, stored in every row (`schema_version`) and in the file metadata. */
export const PARQUET_SCHEMA_VERSION = 1;
export const PARQUET_SCHEMA = `tlbtrace.parquet/${PARQUET_SCHEMA_VERSION}`;

const ROW_GROUP_ROWS = 65536;

type HyparquetModule = typeof import('hyparquet-writer');
let hyparquet: HyparquetModule | null = null;

/** Loaded once, before the first row (the per-event path never awaits). */
export async function loadParquetWriter(): Promise<void> {
  hyparquet ??= await import('hyparquet-writer');
}

function parquetElement(c: ColumnSpec): SchemaElement {
  const repetition_type = c.nullable ? 'OPTIONAL' : 'REQUIRED';
  switch (c.type) {
    case 'int64':
      return { name: c.name, type: 'INT64', repetition_type };
    case 'int32':
      return { name: c.name, type: 'INT32', repetition_type };
    case 'double':
      return { name: c.name, type: 'DOUBLE', repetition_type };
    case 'bool':
      return { name: c.name, type: 'BOOLEAN', repetition_type };
    case 'string':
      return { name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type };
  }
}

/** hyparquet-writer's ByteWriter flushing to a file descriptor every MiB (its fileWriter reopens the file by name). */
function fdWriter(mod: HyparquetModule, fd: number): ByteWriterType {
  const w = new mod.ByteWriter(1 << 16);
  const flush = () => {
    if (w.index > 0) writeSync(fd, new Uint8Array(w.buffer, 0, w.index));
    w.index = 0;
  };
  const grow = w.ensure.bind(w);
  w.ensure = (size: number) => {
    if (w.index > 1 << 20) flush();
    grow(size);
  };
  w.finish = flush;
  return w;
}

/**
 * One Parquet file of one table, rows appended one at a time (`add`), encoded a row group at a
 * time. Values: int64 as JS numbers (exact below 2^53: ns timestamps are) or bigint, null only in
 * nullable columns.
 */
export class ParquetTableWriter {
  rows = 0;
  private fd: number;
  private writer: InstanceType<HyparquetModule['ParquetWriter']>;
  private cols: unknown[][];
  private closed = false;

  constructor(
    readonly spec: TableSpec,
    private readonly tmp: string,
    kv: Record<string, string> = {},
  ) {
    if (hyparquet === null) throw new Error('loadParquetWriter() first');
    this.fd = openSync(tmp, 'wx');
    const schema: SchemaElement[] = [{ name: 'root', num_children: spec.columns.length }, ...spec.columns.map(parquetElement)];
    this.writer = new hyparquet.ParquetWriter({
      writer: fdWriter(hyparquet, this.fd),
      schema,
      kvMetadata: [
        { key: 'tlbtrace.schema', value: PARQUET_SCHEMA },
        { key: 'tlbtrace.table', value: spec.name },
        ...Object.entries(kv).map(([key, value]) => ({ key, value })),
      ],
      createdBy: 'tlbtrace',
    });
    this.cols = spec.columns.map(() => []);
  }

  /** One row, values in column order. */
  add(values: readonly unknown[]): void {
    const cols = this.cols;
    for (let i = 0; i < cols.length; i++) cols[i]!.push(values[i]);
    this.rows++;
    if (cols[0]!.length >= ROW_GROUP_ROWS) this.flushGroup();
  }

  /** Whole columns (the aggregated tables), appended as rows. */
  addColumns(columns: ReadonlyArray<ArrayLike<unknown>>): void {
    const n = columns[0]?.length ?? 0;
    for (let r = 0; r < n; r++) this.add(columns.map((c) => c[r]));
  }

  private flushGroup(): void {
    const n = this.cols[0]!.length;
    if (n === 0) return;
    const columnData = this.spec.columns.map((c, i) => ({ name: c.name, data: typed(c, this.cols[i]!) }));
    this.writer.write({ columnData: columnData as never, rowGroupSize: n });
    this.cols = this.spec.columns.map(() => []);
  }

  /** Finish the file under its temporary name; commit() renames it. */
  close(): void {
    if (this.closed) return;
    this.flushGroup();
    this.writer.finish();
    closeSync(this.fd);
    this.closed = true;
  }

  /** Finish the file and move it to `path` (same filesystem: an atomic rename). */
  commitTo(path: string): void {
    this.close();
    renameSync(this.tmp, path);
  }

  abort(): void {
    if (!this.closed) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.closed = true;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // never created or already gone
    }
  }
}

/** A column's values as hyparquet-writer wants them: typed arrays where no null can occur, bigint for INT64. */
function typed(c: ColumnSpec, values: unknown[]): ArrayLike<unknown> {
  const check = (v: unknown) => {
    if (v === null || v === undefined) {
      if (!c.nullable) throw new Error(`parquet column ${c.name}: null in a non-nullable column`);
      return null;
    }
    return v;
  };
  switch (c.type) {
    case 'int64': {
      if (!c.nullable) {
        const out = new BigInt64Array(values.length);
        for (let i = 0; i < values.length; i++) out[i] = BigInt(check(values[i]) as number | bigint);
        return out;
      }
      return values.map((v) => (check(v) === null ? null : BigInt(v as number | bigint)));
    }
    case 'int32': {
      if (!c.nullable) {
        const out = new Int32Array(values.length);
        for (let i = 0; i < values.length; i++) out[i] = check(values[i]) as number;
        return out;
      }
      return values.map(check);
    }
    case 'double': {
      if (!c.nullable) return Float64Array.from(values, (v) => check(v) as number);
      return values.map(check);
    }
    case 'bool':
    case 'string':
      return values.map(check);
  }
}

import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:'); const c = await db.connect();
const root = process.argv[2];
for (const q of process.argv.slice(3)) {
  const sql = q.replaceAll(/T\((\w+)\)/g, (_, t) => `read_parquet('${root}/${t}/**/*.parquet', hive_partitioning=true, hive_types={'host':VARCHAR,'kernel':VARCHAR,'capture':VARCHAR})`);
  const r = await c.runAndReadAll(sql);
  console.table(r.getRowObjectsJson());
}

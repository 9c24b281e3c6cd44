// Parquet export read back by two independent readers, DuckDB (C++) and hyparquet (JavaScript,
// not the writer's code path), with row counts equal to the summary's totals. On the fixtures
// (every shared capture: test/fleet/fleet.test.ts).

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { createParquetSink, TABLE_NAMES } from '../../src/export/parquet-sink.js';
import { Engine, tableSource } from '../../src/fleet/engine.js';
import type { Summary } from '../../src/summary/schema.js';
import { analyzeWith, captures, FIXTURES, pairedTargets, traceOf, unattachedCallbacks } from './helpers.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.open();
});
afterAll(() => engine.close());

async function exportCapture(trace: string, dir: string, capture: string): Promise<Summary> {
  const sink = await createParquetSink({ dir, inputs: [trace], id: { host: 'test', capture } });
  return analyzeWith(trace, [sink]);
}

/** the file of `table` for the one capture in `dir` */
function fileOf(dir: string, table: string): string {
  const walk = (d: string): string => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        const f = walk(join(d, e.name));
        if (f) return f;
      } else if (e.name.endsWith('.parquet')) return join(d, e.name);
    }
    return '';
  };
  return walk(join(dir, table));
}

async function checkCapture(trace: string, label: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-parquet-'));
  const s = await exportCapture(trace, dir, label.replaceAll('/', '_'));
  const src = (t: string) => tableSource([dir], t);
  const [req] = await engine.query(`SELECT count(*) FILTER (WHERE kind <> 'tableSync') AS requests, count(*) AS rows,
      sum(shootdowns) AS shootdowns, sum(handled) AS handled, sum(ipis) AS ipis, sum(observed_callbacks) AS observed_cb,
      count(*) FILTER (WHERE schema_version <> 1) AS bad_version FROM ${src('requests')}`);
  const [cb] = await engine.query(`SELECT count(*) AS rows, count(*) FILTER (WHERE shootdown) AS shootdowns, count(handler_ns) AS handled FROM ${src('callbacks')}`);
  const [sw] = await engine.query(`SELECT count(*) AS rows FROM ${src('switches')}`);
  const [se] = await engine.query(`SELECT sum(requests) AS requests, sum(shootdowns) AS shootdowns, sum(switches) AS switches FROM ${src('series')}`);
  const [po] = await engine.query(`SELECT count(*) AS rows FROM ${src('policies')}`);
  const [su] = await engine.query(`SELECT count(*) AS rows, any_value(requests) AS requests, any_value(remote_shootdowns) AS remote, any_value(host) AS host FROM ${src('summary')}`);

  const shootdownsPaired = s.observed.remoteShootdowns.total - unattachedCallbacks(s);
  expect(req, label).toMatchObject({ requests: s.observed.requests, shootdowns: shootdownsPaired, handled: pairedTargets(s), observed_cb: shootdownsPaired, bad_version: 0 });
  expect(cb, label).toMatchObject({ shootdowns: shootdownsPaired, handled: pairedTargets(s) });
  expect(se, label).toMatchObject({ requests: s.observed.requests, shootdowns: shootdownsPaired, switches: sw!.rows });
  // every sched_switch of the input is one row
  expect(sw!.rows, label).toBe(s.input.eventsByType.sched_switch ?? 0);
  expect(po!.rows, label).toBe(Object.keys(s.policies).length);
  expect(su, label).toMatchObject({ rows: 1, requests: s.observed.requests, remote: s.observed.remoteShootdowns.total, host: 'test' });

  // the second reader: every file's row count, and the same sums
  const counts: Record<string, number> = {};
  for (const t of TABLE_NAMES) {
    const file = await asyncBufferFromFile(fileOf(dir, t));
    counts[t] = Number((await parquetMetadataAsync(file)).num_rows);
  }
  expect(counts, label).toEqual({ requests: req!.rows, callbacks: cb!.rows, switches: sw!.rows, series: (await engine.query(`SELECT count(*) AS n FROM ${src('series')}`))[0]!.n, policies: po!.rows, summary: 1 });
  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(fileOf(dir, 'requests')), columns: ['kind', 'shootdowns', 'handled', 'ts_ns'] });
  expect(rows.filter((r) => r.kind !== 'tableSync').length, label).toBe(s.observed.requests);
  expect(rows.reduce((a, r) => a + Number(r.shootdowns), 0), label).toBe(shootdownsPaired);
  expect(rows.reduce((a, r) => a + Number(r.handled), 0), label).toBe(pairedTargets(s));
  expect(typeof rows[0]?.ts_ns, label).toBe('bigint'); // int64 nanoseconds
}

describe('parquet export of the fixtures', () => {
  for (const cap of captures(FIXTURES)) {
    it(`${cap}: DuckDB and hyparquet read the summary's totals`, async () => {
      await checkCapture(traceOf(join(FIXTURES, cap)), cap);
    });
  }

  it('types: int64 ns, int32 CPUs, a schema version, hive partitions as text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-parquet-'));
    await exportCapture(join(FIXTURES, 'qemu-6.1-8cpu/mt-munmap/trace.dat'), dir, 'a/b=c');
    const cols = await engine.query(`DESCRIBE SELECT * FROM ${tableSource([dir], 'requests')}`);
    const type = (c: string) => cols.find((r) => r.column_name === c)?.column_type;
    expect([type('ts_ns'), type('cpu'), type('schema_version'), type('kernel'), type('capture'), type('generation_callbacks')]).toEqual(['BIGINT', 'INTEGER', 'INTEGER', 'VARCHAR', 'VARCHAR', 'INTEGER']);
    const [p] = await engine.query(`SELECT DISTINCT host, kernel, capture FROM ${tableSource([dir], 'summary')}`);
    // kernel from truth.json beside the trace; the capture name escaped in the path and read back whole
    expect(p).toEqual({ host: 'test', kernel: '6.1.0-50-amd64', capture: 'a/b=c' });
  });

  it('refuses to replace a capture already in the dataset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-parquet-'));
    const trace = join(FIXTURES, 'qemu-6.12-16cpu/mt-munmap/trace.dat');
    await exportCapture(trace, dir, 'x');
    await expect(exportCapture(trace, dir, 'x')).rejects.toThrow(/already in/);
    // nothing half-written is left behind
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

// Every shared capture: test/fleet/fleet.test.ts, which exports them all once for the fleet too.

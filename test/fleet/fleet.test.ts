// `tlbtrace fleet`: captures found in a tree, exported once into a dataset, read back by DuckDB and
// hyparquet with each capture's row counts equal to its summary's totals, and the fleet questions.
// On the fixtures always; on every shared capture when ../shared/traces is there (the issue's
// bar: 6.1 vs 6.12 migration batching and the PVM hypercall machine stand out).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { buildDataset, findCaptures } from '../../src/fleet/datasets.js';
import { Engine, tableSource } from '../../src/fleet/engine.js';
import { runQueries, type FleetResult } from '../../src/fleet/queries.js';
import type { Summary } from '../../src/summary/schema.js';
import { captures, FIXTURES, pairedTargets, SHARED, unattachedCallbacks } from '../export/helpers.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.open();
});
afterAll(() => engine.close());

/** per capture: the tables' row counts (DuckDB) against the summary stored with them */
async function checkDataset(ds: string, expected: number): Promise<void> {
  const src = (t: string) => tableSource([ds], t);
  const sums = await engine.query(`SELECT host, capture, summary_json FROM ${src('summary')} ORDER BY host, capture`);
  expect(sums).toHaveLength(expected);
  const count = async (sql: string) => new Map((await engine.query(sql)).map((r) => [`${r.host}/${r.capture}`, r]));
  const req = await count(`SELECT host, capture, count(*) FILTER (WHERE kind <> 'tableSync') AS requests, sum(shootdowns) AS shootdowns, sum(handled) AS handled FROM ${src('requests')} GROUP BY ALL`);
  const cb = await count(`SELECT host, capture, count(handler_ns) AS handled FROM ${src('callbacks')} GROUP BY ALL`);
  const sw = await count(`SELECT host, capture, count(*) AS n FROM ${src('switches')} GROUP BY ALL`);
  for (const row of sums) {
    const key = `${row.host}/${row.capture}`;
    const s = JSON.parse(row.summary_json as string) as Summary;
    expect(req.get(key), key).toMatchObject({ requests: s.observed.requests, shootdowns: s.observed.remoteShootdowns.total - unattachedCallbacks(s), handled: pairedTargets(s) });
    if (pairedTargets(s) > 0) expect(cb.get(key)?.handled, key).toBe(pairedTargets(s));
    expect(sw.get(key)?.n ?? 0, key).toBe(s.input.eventsByType.sched_switch ?? 0);
  }
  // the second reader: the row count of every file equals DuckDB's
  const files: string[] = [];
  const walk = (d: string) => readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.parquet') && files.push(join(d, e.name))));
  walk(ds);
  let rows = 0;
  for (const f of files) rows += Number((await parquetMetadataAsync(await asyncBufferFromFile(f))).num_rows);
  let duck = 0;
  for (const t of ['requests', 'callbacks', 'switches', 'series', 'policies', 'summary']) duck += (await engine.query(`SELECT count(*) AS n FROM ${src(t)}`))[0]!.n as number;
  expect(rows).toBe(duck);
}

const byKey = (rows: FleetResult['batching'], kernel: string, flushes: string) => rows.find((r) => r.kernel === kernel && r.flushes === flushes);

describe('fleet over the fixtures', () => {
  const ds = mkdtempSync(join(tmpdir(), 'tlbtrace-fleet-'));
  const found = findCaptures(FIXTURES);

  it('finds each capture once, named by its path, and exports it', async () => {
    expect(found.map((c) => `${c.host}/${c.capture}`)).toEqual(captures(FIXTURES));
    expect(found.every((c) => c.trace.endsWith('trace.dat'))).toBe(true);
    const report = await buildDataset(found, ds, () => undefined);
    expect(report).toEqual({ analyzed: found.length, reused: 0, failed: [] });
    // a second run reuses what is there
    expect(await buildDataset(found, ds, () => undefined)).toEqual({ analyzed: 0, reused: found.length, failed: [] });
    await checkDataset(ds, found.length);
  });

  it('answers per kernel, and 6.1 migrates page by page', async () => {
    const r = await runQueries(engine, [ds]);
    expect(r.captures).toHaveLength(found.length);
    // (6.12.117-cf-*: the counterfactual kernels of fixtures/counterfactual-6.12-8cpu-passes)
    expect(r.kernels.map((k) => k.kernel)).toEqual(['6.1.0-50-amd64', '6.12.117+deb12-amd64', '6.12.117-cf-nobatch', '6.12.117-cf-stock', '6.18.44-fc-v1272', '6.18.44-fc-v669']);
    // qemu-6.1-8cpu/reclaim-mmap: 565 kcompactd requests, all one page, none batched (grep -c of
    // its trace-cmd report: 'kcompactd.*tlb_flush:.*pages=1 reason= (4)' -> 565), and
    // qemu-6.1-8cpu/migrate: 2,048 one-page requests of migrate's move_pages calls (1 in the
    // probe move_pages(1), 2,047 in the move_pages(2048): 'tlb_flush:.*pages=1 reason= (4)'
    // lines of migrate between each sys_enter_move_pages and its next syscall)
    expect(byKey(r.batching, '6.1.0-50-amd64', 'migration')).toMatchObject({ requests: 565 + 2048, batched_pct: 0, one_page_pct: 100 });
    expect(r.policies.map((p) => p.policy)).toContain('generation');
    // reclaim on the kernel built without batching is flushed page by page; on its stock twin batched
    expect(byKey(r.batching, '6.12.117-cf-nobatch', 'reclaim')).toMatchObject({ batched_pct: 0 });
    expect(byKey(r.batching, '6.12.117-cf-stock', 'reclaim')).toMatchObject({ batched_pct: 100 });
  });

  it('the CLI prints JSON and writes the HTML', () => {
    const bin = join(import.meta.dirname, '../../bin/tlbtrace');
    const html = join(ds, '..', `fleet-${process.pid}.html`);
    const out = execFileSync(process.execPath, [bin, 'fleet', ds, '--json', '--html', html, '--no-progress'], { encoding: 'utf8' });
    const j = JSON.parse(out) as FleetResult & { schema: string };
    expect(j.schema).toBe('tlbtrace.fleet/1');
    expect(j.captures).toHaveLength(found.length);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    const text = execFileSync(process.execPath, [bin, 'fleet', ds, '--no-progress'], { encoding: 'utf8' });
    expect(text).toMatch(/Migration and reclaim flushes by kernel/);
  });
});

describe('fleet over every shared capture', () => {
  const all = captures(SHARED);
  it.skipIf(all.length === 0)(`${all.length} captures: exported and read back; migration batching and PVM stand out`, async () => {
    const ds = mkdtempSync(join(tmpdir(), 'tlbtrace-fleet-shared-'));
    const report = await buildDataset(findCaptures(SHARED), ds, () => undefined);
    expect(report.failed).toEqual([]);
    await checkDataset(ds, all.length);
    const r = await runQueries(engine, [ds]);
    // page migration: one page per request on 6.1 (kcompactd), batched on 6.12 (since 6.4)
    expect(byKey(r.batching, '6.1.0-50-amd64', 'migration')).toMatchObject({ batched_pct: 0, one_page_pct: 100 });
    expect(byKey(r.batching, '6.12.117+deb12-amd64', 'migration')!.batched_pct as number).toBeGreaterThan(30);
    // the kernel built without batching (counterfactual nobatch) is back to one page at a time
    expect(byKey(r.batching, '6.12.117-cf-nobatch', 'migration')).toMatchObject({ batched_pct: 0, one_page_pct: 100 });
    // PVM: thousands of remote flush requests a second, no flush IPI (truth.json: flushMechanism paravirt)
    const pvm = r.kernels.find((k) => k.kernel === '6.18.44-fc-v1272')!;
    expect(pvm).toMatchObject({ shootdowns_per_s: 0, shootdowns_per_remote_request: 0 });
    expect(pvm.requests_per_s as number).toBeGreaterThan(1000);
    const flagged = r.outliers.filter((o) => /no flush IPI/.test(o.why as string)).map((o) => `${o.host}/${o.capture}`);
    expect(flagged).toEqual(['pvm-6.18-2cpu/collapse', 'pvm-6.18-2cpu/fork-churn', 'pvm-6.18-2cpu/lazy-idle', 'pvm-6.18-2cpu/mt-munmap']);
  }, 900_000);
});

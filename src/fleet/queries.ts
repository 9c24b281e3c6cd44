// The fleet questions, as SQL over the tables `export --parquet` writes (src/export/tables.ts).
// `{summary}`, `{requests}`, `{policies}` stand for the tables: here DuckDB's read_parquet() of
// every dataset (engine.ts tableSource()); on a cluster engine, the same names as tables over the
// same directories (README, "Export and fleet"). Plain SQL that DuckDB, Spark SQL and Trino share,
// except quantile_cont/median/mad and GROUP BY ALL (percentile_approx, explicit keys elsewhere);
// ratios multiply by 1.0 first, as Trino divides integers as integers.

import { Engine, tableSource, type Row } from './engine.js';

/** Rates per group of captures: counts summed over the group, divided by its summed duration. */
const RATES = (key: string) => `
SELECT ${key},
  count(*) AS captures,
  count(DISTINCT host) AS hosts,
  round(sum(duration_s), 3) AS seconds,
  round(sum(requests) / sum(duration_s), 1) AS requests_per_s,
  round(sum(remote_shootdowns) / sum(duration_s), 1) AS shootdowns_per_s,
  round(sum(ipis_tlb) / sum(duration_s), 1) AS tlb_ipis_per_s,
  round(1.0 * sum(remote_shootdowns) / nullif(sum(requests_remote + requests_batched), 0), 2) AS shootdowns_per_remote_request,
  round(100.0 * sum(wasted) / nullif(sum(remote_shootdowns) + sum(table_sync_callbacks), 0), 1) AS wasted_pct
FROM {summary}
GROUP BY ${key}
ORDER BY ${key}`;

export const QUERIES = {
  /** per kernel release: flush and IPI rates */
  kernels: RATES('kernel'),
  /** per host */
  hosts: RATES('host'),
  /** per workload */
  workloads: RATES('workload'),

  /**
   * Migration and reclaim flushes: sent one page at a time, or batched into one full flush
   * (arch_tlbbatch_flush: reclaim since 4.3, page migration since 6.4's "migrate_pages: batch
   * flushing TLB").
   */
  batching: `
SELECT kernel,
  CASE WHEN cause IN ('kcompactd', 'move_pages', 'migrate_pages', 'mbind') THEN 'migration'
       WHEN cause IN ('kswapd', 'reclaim') THEN 'reclaim'
       ELSE 'other' END AS flushes,
  count(*) AS requests,
  round(100.0 * count(*) FILTER (WHERE kind = 'batched') / count(*), 1) AS batched_pct,
  round(100.0 * count(*) FILTER (WHERE pages = 1) / count(*), 1) AS one_page_pct,
  sum(shootdowns) AS shootdowns,
  round(1.0 * sum(shootdowns) / count(*), 2) AS shootdowns_per_request
FROM {requests}
WHERE kind IN ('remote', 'batched')
GROUP BY ALL
ORDER BY kernel, flushes`,

  /** what each policy would have avoided, as a distribution over the captures that had shootdowns */
  policies: `
SELECT policy,
  count(*) AS captures,
  round(min(avoided_shootdowns_pct), 1) AS min_pct,
  round(quantile_cont(avoided_shootdowns_pct, 0.25), 1) AS p25_pct,
  round(quantile_cont(avoided_shootdowns_pct, 0.5), 1) AS median_pct,
  round(quantile_cont(avoided_shootdowns_pct, 0.75), 1) AS p75_pct,
  round(max(avoided_shootdowns_pct), 1) AS max_pct,
  round(100.0 * sum(avoided_shootdowns) / nullif(sum(shootdowns + avoided_shootdowns), 0), 1) AS fleet_pct
FROM {policies}
WHERE avoided_shootdowns_pct IS NOT NULL
GROUP BY policy
ORDER BY median_pct DESC, policy`,

  /** per capture, for the charts: each policy's saving */
  policySavings: `
SELECT host, kernel, capture, workload, policy, avoided_shootdowns_pct
FROM {policies} JOIN (SELECT host, kernel, capture, workload FROM {summary}) USING (host, kernel, capture)
WHERE avoided_shootdowns_pct IS NOT NULL
ORDER BY policy, host, kernel, capture`,

  /** wasted callbacks (flushed nothing) per host: the distribution over its captures */
  wasted: `
SELECT host,
  count(*) AS captures,
  sum(wasted) AS wasted,
  round(100.0 * min(1.0 * wasted / nullif(remote_shootdowns + table_sync_callbacks, 0)), 1) AS min_pct,
  round(100.0 * quantile_cont(1.0 * wasted / nullif(remote_shootdowns + table_sync_callbacks, 0), 0.5), 1) AS median_pct,
  round(100.0 * max(1.0 * wasted / nullif(remote_shootdowns + table_sync_callbacks, 0)), 1) AS max_pct
FROM {summary}
GROUP BY host
ORDER BY host`,

  /** per capture: the figures the outliers are judged on */
  captures: `
SELECT host, kernel, capture, workload, cpus, round(duration_s, 3) AS seconds, requests, requests_remote + requests_batched AS requests_remote,
  remote_shootdowns, ipis_tlb, table_sync_callbacks, wasted,
  round(remote_shootdowns / duration_s, 1) AS shootdowns_per_s,
  round(ipis_tlb / duration_s, 1) AS tlb_ipis_per_s,
  round(1.0 * remote_shootdowns / nullif(requests_remote + requests_batched, 0), 3) AS shootdowns_per_remote_request,
  round(100.0 * 1.0 * wasted / nullif(remote_shootdowns + table_sync_callbacks, 0), 1) AS wasted_pct
FROM {summary}
ORDER BY host, kernel, capture`,

  /**
   * Captures far from the fleet: remote flush requests that no IPI carried (a paravirtual or
   * broadcast flush: PVM hypercalls, Hyper-V, INVLPGB), or a robust z-score (distance from the
   * fleet median in median absolute deviations, x 0.6745) above 3.5 on shootdowns per second or
   * per remote request.
   */
  outliers: `
WITH c AS (
  SELECT host, kernel, capture, workload, requests_remote + requests_batched AS requests_remote, remote_shootdowns,
    remote_shootdowns / duration_s AS sd_rate,
    1.0 * remote_shootdowns / nullif(requests_remote + requests_batched, 0) AS sd_per_req
  FROM {summary}
), f AS (
  SELECT median(sd_rate) AS m_rate, mad(sd_rate) AS d_rate, median(sd_per_req) AS m_req, mad(sd_per_req) AS d_req FROM c
)
SELECT host, kernel, capture, workload,
  CASE WHEN requests_remote >= 100 AND remote_shootdowns = 0 THEN 'remote flush requests with no flush IPI: flushed by hypercall or broadcast'
       WHEN abs(0.6745 * (sd_per_req - m_req) / nullif(d_req, 0)) > 3.5 THEN 'shootdowns per remote request far from the fleet'
       ELSE 'shootdowns per second far from the fleet' END AS why,
  requests_remote, remote_shootdowns,
  round(sd_rate, 1) AS shootdowns_per_s,
  round(sd_per_req, 3) AS shootdowns_per_remote_request,
  round(0.6745 * (sd_rate - m_rate) / nullif(d_rate, 0), 1) AS z_rate,
  round(0.6745 * (sd_per_req - m_req) / nullif(d_req, 0), 1) AS z_per_request
FROM c, f
WHERE (requests_remote >= 100 AND remote_shootdowns = 0)
   OR abs(0.6745 * (sd_rate - m_rate) / nullif(d_rate, 0)) > 3.5
   OR abs(0.6745 * (sd_per_req - m_req) / nullif(d_req, 0)) > 3.5
ORDER BY why, host, kernel, capture`,
} as const;

export type QueryName = keyof typeof QUERIES;
export type FleetResult = Record<QueryName, Row[]>;

/** The SQL of one question with the tables of these datasets in place. */
export function sql(name: QueryName, datasets: readonly string[]): string {
  return QUERIES[name].replace(/\{(summary|requests|policies)\}/g, (_m, t: string) => tableSource(datasets, t));
}

export async function runQueries(engine: Engine, datasets: readonly string[]): Promise<FleetResult> {
  const out = {} as FleetResult;
  for (const name of Object.keys(QUERIES) as QueryName[]) out[name] = await engine.query(sql(name, datasets));
  return out;
}

// The binary half of the fuzzer: real trace.dat files of fixtures/ (v6, v7 uncompressed, v7 zstd)
// with bytes flipped or zeroed in a named region (file header, header_page/header_event, formats,
// kallsyms, printk, cmdlines, options, page headers, chunk headers, compressed chunks...), a size,
// count or offset field set to an extreme, and cuts at region boundaries or anywhere. Properties:
//
//   1. the reader returns events or throws InputError; anything else is a crash (a bug);
//   2. an InputError names the file and says what was expected; every warning names the file;
//   3. a file only cut short gives, per CPU, a prefix of the intact file's events, with
//      input.truncated and one truncated-input warning (src/ingest/tracedat/salvage.ts);
//   4. (cases with `analyze`) the whole pipeline gives a valid summary, sized by what it saw;
//   5. no hang: the worker runs each case under the parent's watchdog (fork.ts).

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { MAX_CPUS } from '../events/cpumask.js';
import { InputError } from '../errors.js';
import { Diagnostics } from '../ingest/diagnostics.js';
import { RandomAccessFile } from '../ingest/tracedat/file.js';
import { readTraceDatInfo } from '../ingest/tracedat/header.js';
import { openTraceDat } from '../ingest/tracedat/index.js';
import { analyzeTrace } from '../pipeline/analyze.js';
import { POLICIES } from '../policies/index.js';
import { Summary as SummarySchema } from '../summary/schema.js';
import { datLayout, type DatLayout } from './datlayout.js';

export interface DatSeed {
  name: string;
  bytes: Buffer;
  layout: DatLayout;
  /** the intact file's events per CPU, as `ts kind` keys */
  events: Map<number, string[]>;
}

export type DatMutation =
  | { t: 'flip'; kind: number; inst: number; pos: number; xor: number; data: boolean }
  | { t: 'zero'; kind: number; inst: number; pos: number; n: number }
  | { t: 'field'; kind: number; inst: number; value: number }
  | { t: 'cut'; boundary: number; delta: number }
  | { t: 'cutAt'; permille: number; data: boolean };

export interface DatCase {
  file: number;
  mutations: DatMutation[];
  /** run the whole pipeline (model and `policy`) instead of the reader alone */
  analyze: boolean;
  policy: string | null;
}

/** what a field mutation writes, from the field's old value (wrapped to the field's width) */
const FIELD_VALUES: Array<(old: bigint) => bigint> = [
  () => 0n,
  () => 1n,
  (o) => o + 1n,
  (o) => o - 1n,
  (o) => o * 2n,
  (o) => o / 2n,
  () => 0xffn,
  () => 0x7fffffffn,
  () => 0xffffffffn,
  () => 1n << 32n,
  () => 1n << 40n,
  () => 1n << 53n,
  () => (1n << 64n) - 1n,
];

/** the regions of the per-CPU data (datlayout.ts) */
const DATA_KINDS = new Set(['page header', 'page data', 'chunk header', 'compressed chunk']);

/** every *.dat and *.dat.gz under `dir` */
function datFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) datFiles(p, out);
    else if (name.endsWith('.dat') || name.endsWith('.dat.gz')) out.push(p);
  }
  return out;
}

const key = (e: { ts: number; kind: string }): string => `${e.ts} ${e.kind}`;

async function decodeFile(path: string): Promise<{ byCpu: Map<number, string[]>; diag: Diagnostics; truncated: boolean }> {
  const diag = new Diagnostics();
  const src = await openTraceDat(path, {}, diag);
  const byCpu = new Map<number, string[]>();
  for await (const batch of src.events()) {
    for (const e of batch) {
      if (e.kind === 'lost_events') continue;
      let l = byCpu.get(e.cpu);
      if (l === undefined) byCpu.set(e.cpu, (l = []));
      l.push(key(e));
    }
  }
  return { byCpu, diag, truncated: src.meta.truncated };
}

/** The seeds: every trace.dat of fixtures/, with its layout and intact events. */
export async function loadDatCorpus(fixtures: string, tmp: string): Promise<DatSeed[]> {
  const out: DatSeed[] = [];
  for (const f of datFiles(fixtures)) {
    const bytes = f.endsWith('.gz') ? gunzipSync(readFileSync(f)) : readFileSync(f);
    const p = join(tmp, `seed-${process.pid}.dat`);
    writeFileSync(p, bytes);
    const file = await RandomAccessFile.open(p);
    const info = await readTraceDatInfo(file);
    await file.close();
    out.push({ name: f.slice(fixtures.length).replace(/^\//, ''), bytes, layout: datLayout(bytes, info), events: (await decodeFile(p)).byCpu });
  }
  return out;
}

export function datCaseArb(seeds: number): fc.Arbitrary<DatCase> {
  const n = fc.nat({ max: 1 << 20 });
  const mutation: fc.Arbitrary<DatMutation> = fc.oneof(
    // half the flips go to the per-CPU data (page headers and data, chunk headers, chunks)
    { weight: 4, arbitrary: fc.record({ t: fc.constant('flip' as const), kind: n, inst: n, pos: n, xor: fc.integer({ min: 1, max: 255 }), data: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('zero' as const), kind: n, inst: n, pos: n, n: fc.integer({ min: 1, max: 4096 }) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('field' as const), kind: n, inst: n, value: fc.nat({ max: FIELD_VALUES.length - 1 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('cut' as const), boundary: n, delta: fc.integer({ min: -64, max: 64 }) }) },
    // most cuts anywhere in the per-CPU data (a full disk), the rest anywhere in the file
    { weight: 2, arbitrary: fc.record({ t: fc.constant('cutAt' as const), permille: fc.integer({ min: 0, max: 999 }), data: fc.integer({ min: 0, max: 3 }).map((x) => x > 0) }) },
  );
  return fc.record({
    file: fc.nat({ max: seeds - 1 }),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
    analyze: fc.integer({ min: 0, max: 9 }).map((x) => x < 3),
    policy: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 4, arbitrary: fc.constantFrom(...POLICIES.map((p) => p.name)) }),
  });
}

/** The bytes of a case: every mutation but the cuts in order, then the shortest cut. */
export function applyDatMutations(seed: DatSeed, muts: readonly DatMutation[]): { bytes: Buffer; cut: number | null; onlyCut: boolean } {
  const l = seed.layout;
  const b = Buffer.from(seed.bytes);
  let cut: number | null = null;
  for (const m of muts) {
    if (m.t === 'flip' || m.t === 'zero') {
      const kinds = m.t === 'flip' && m.data ? l.kinds.filter((k) => DATA_KINDS.has(k)) : l.kinds;
      const regions = l.byKind.get(kinds[m.kind % kinds.length]!)!;
      const r = regions[m.inst % regions.length]!;
      const at = r.start + (m.pos % (r.end - r.start));
      if (m.t === 'flip') b[at]! ^= m.xor;
      else b.fill(0, at, Math.min(r.end, at + m.n));
    } else if (m.t === 'field') {
      const fields = l.fieldsByKind.get(l.fieldKinds[m.kind % l.fieldKinds.length]!)!;
      const f = fields[m.inst % fields.length]!;
      const mask = (1n << BigInt(8 * f.width)) - 1n;
      const old = f.width === 8 ? b.readBigUInt64LE(f.at) : BigInt(f.width === 4 ? b.readUInt32LE(f.at) : b.readUInt16LE(f.at));
      const v = FIELD_VALUES[m.value]!(old) & mask;
      if (f.width === 8) b.writeBigUInt64LE(v, f.at);
      else if (f.width === 4) b.writeUInt32LE(Number(v), f.at);
      else b.writeUInt16LE(Number(v), f.at);
    } else {
      const from = m.t === 'cutAt' && m.data ? l.dataStart : 0;
      const at = m.t === 'cut' ? l.boundaries[m.boundary % l.boundaries.length]! + m.delta : from + Math.floor(((l.size - from) * m.permille) / 1000);
      const c = Math.max(0, Math.min(l.size, at));
      cut = cut === null ? c : Math.min(cut, c);
    }
  }
  return { bytes: cut === null ? b : b.subarray(0, cut), cut, onlyCut: muts.every((m) => m.t === 'cut' || m.t === 'cutAt') };
}

export interface DatResult {
  outcome: 'ok' | 'input-error';
  failures: string[];
  error?: string;
}

/** Run one case on `path` (the case's bytes are written there) and check properties 1-4. */
export async function checkDatCase(seeds: readonly DatSeed[], c: DatCase, path: string): Promise<DatResult> {
  const seed = seeds[c.file]!;
  const m = applyDatMutations(seed, c.mutations);
  writeFileSync(path, m.bytes);
  const failures: string[] = [];
  let byCpu: Map<number, string[]> | undefined;
  let diag: Diagnostics;
  let truncated: boolean;
  try {
    if (c.analyze) {
      const s = await analyzeTrace([path], { policies: c.policy === null ? undefined : [c.policy] });
      truncated = s.input.truncated;
      const parsed = SummarySchema.safeParse(JSON.parse(JSON.stringify(s)));
      if (!parsed.success) failures.push(`summary fails the schema: ${parsed.error.message.slice(0, 300)}`);
      if (s.input.cpus > MAX_CPUS || s.input.lost.perCpu.length !== s.input.cpus) failures.push(`summary sized for ${s.input.cpus} CPUs, ${s.input.lost.perCpu.length} rows`);
      for (const e of s.input.warnings.examples) if (e.file !== path || e.message.length < 10) failures.push(`warning without file or message: ${JSON.stringify(e)}`);
      if (m.onlyCut && m.cut !== null && m.cut < seed.layout.neededEnd && !truncated) failures.push(`cut at ${m.cut}: input.truncated is false`);
      return { outcome: 'ok', failures };
    }
    ({ byCpu, diag, truncated } = await decodeFile(path));
  } catch (err) {
    if (err instanceof InputError) {
      if (err.file !== path) failures.push(`InputError does not name the file: ${err.message}`);
      if (err.reason.length < 20) failures.push(`InputError says too little: ${err.message}`);
      return { outcome: 'input-error', failures, error: err.message };
    }
    failures.push(`uncaught ${(err as Error)?.name}: ${(err as Error)?.stack ?? String(err)}`);
    return { outcome: 'input-error', failures, error: String(err) };
  }
  for (const e of diag.examples) if (e.file !== path || e.message.length < 10) failures.push(`warning without file or message: ${JSON.stringify(e)}`);
  if (m.onlyCut && m.cut !== null) {
    // 3. a cut file: per CPU a prefix of the intact events, and said to be cut
    for (const [cpu, got] of byCpu) {
      const all = seed.events.get(cpu) ?? [];
      const i = got.findIndex((k, j) => all[j] !== k);
      if (got.length > all.length || i >= 0) failures.push(`cut at ${m.cut}: CPU ${cpu}'s events are not a prefix of the intact file's (${got.length} of ${all.length}, first difference at ${i})`);
    }
    if (m.cut < seed.layout.neededEnd) {
      if (!truncated) failures.push(`cut at ${m.cut}: meta.truncated is false`);
      if (diag.byCode()['truncated-input'] !== 1) failures.push(`cut at ${m.cut}: ${diag.byCode()['truncated-input'] ?? 0} truncated-input warnings, expected 1`);
    }
  }
  return { outcome: 'ok', failures };
}

export interface DatStats {
  done: number;
  ok: number;
  inputErrors: number;
  failures: Array<{ case: DatCase; file: string; failures: string[] }>;
  failureCount: number;
  /** the slowest case, ms */
  slowestMs: number;
  maxRssMb: number;
  ms: number;
}

/**
 * `cases` binary cases from `seed`. `onCase` is told each case before it runs (the parent's
 * watchdog names the case a hang happened on); a case over `slowMs` counts as a failure.
 */
export async function runDatCases(
  opts: { cases: number; seed: number; fixtures: string; tmp: string; slowMs?: number },
  onCase?: (c: DatCase, file: string) => void,
  onProgress?: (s: DatStats) => void,
): Promise<DatStats> {
  const t0 = Date.now();
  const seeds = await loadDatCorpus(opts.fixtures, opts.tmp);
  const stats: DatStats = { done: 0, ok: 0, inputErrors: 0, failures: [], failureCount: 0, slowestMs: 0, maxRssMb: 0, ms: 0 };
  const path = join(opts.tmp, `case-${process.pid}.dat`);
  const property = fc.asyncProperty(datCaseArb(seeds.length), async (c) => {
    onCase?.(c, seeds[c.file]!.name);
    const t = Date.now();
    const r = await checkDatCase(seeds, c, path);
    const ms = Date.now() - t;
    stats.slowestMs = Math.max(stats.slowestMs, ms);
    if (ms > (opts.slowMs ?? 20_000)) r.failures.push(`took ${ms} ms`);
    stats.done++;
    if (r.outcome === 'ok') stats.ok++;
    else stats.inputErrors++;
    if (r.failures.length > 0) {
      stats.failureCount++;
      if (stats.failures.length < 20) stats.failures.push({ case: c, file: seeds[c.file]!.name, failures: r.failures });
    }
    if (stats.done % 50 === 0) {
      stats.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      onProgress?.(stats);
    }
    return true;
  });
  await fc.check(property, { numRuns: opts.cases, seed: opts.seed, endOnFailure: true });
  stats.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  stats.ms = Date.now() - t0;
  return stats;
}

/** Re-run one case (a failure's replay line) and say what it checks. */
export async function replayDatCase(c: DatCase, fixtures: string, tmp: string): Promise<{ file: string; result: DatResult }> {
  const seeds = await loadDatCorpus(fixtures, tmp);
  return { file: seeds[c.file]!.name, result: await checkDatCase(seeds, c, join(tmp, `case-${process.pid}.dat`)) };
}

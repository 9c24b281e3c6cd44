// How `tlbtrace fleet` grows with the number of captures: a dataset of N capture copies (10, 100,
// 1,000 by default), made by hard-linking the Parquet files of real captures under new
// partitions, and `tlbtrace fleet DATASET --json` timed as a child process (3 runs, median), plus
// the engine's queries alone, in process. Not part of `npm test`: `npm run bench:fleet`.
//
//   node dist/bench/fleet.js [--base DIR] [--sizes 10,100,1000] [--runs 3]
//
// --base: a dataset to copy from (default: the fixtures' captures, analyzed once into a temporary
// dataset; ../shared/traces when present gives a realistic mix of 36 captures).

import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDataset, findCaptures } from '../fleet/datasets.js';
import { Engine } from '../fleet/engine.js';
import { runQueries } from '../fleet/queries.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const sizes = opt('--sizes', '10,100,1000').split(',').map(Number);
const runs = Number(opt('--runs', '3'));

/** every data.parquet of the base dataset: table, host, kernel, capture partitions */
function captureFiles(base: string): Map<string, string[]> {
  const byCapture = new Map<string, string[]>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && !e.name.startsWith('.')) walk(p);
      else if (e.name === 'data.parquet') {
        const rel = relative(base, p).split('/'); // table/host=/kernel=/capture=/data.parquet
        const key = rel.slice(1, -1).join('/');
        byCapture.set(key, [...(byCapture.get(key) ?? []), rel[0]!]);
      }
    }
  };
  walk(base);
  return byCapture;
}

function makeCopies(base: string, n: number, out: string): { files: number; bytes: number } {
  const caps = [...captureFiles(base).entries()];
  let files = 0;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const [key, tables] = caps[i % caps.length]!;
    const [host, kernel, capture] = key.split('/');
    for (const t of tables) {
      const dst = join(out, t, `${host}-copy${Math.floor(i / caps.length)}`, kernel!, capture!, 'data.parquet');
      mkdirSync(dirname(dst), { recursive: true });
      const src = join(base, t, key, 'data.parquet');
      linkSync(src, dst);
      files++;
      bytes += statSync(src).size;
    }
  }
  return { files, bytes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'tlbtrace-bench-fleet-'));
  try {
    let base = opt('--base', '');
    if (base === '') {
      const shared = join(root, '../shared/traces');
      const src = existsSync(shared) ? shared : join(root, 'fixtures');
      base = join(work, 'base');
      process.stderr.write(`analyzing the captures of ${src} once...\n`);
      await buildDataset(findCaptures(src), base, () => undefined);
    }
    const nBase = captureFiles(base).size;
    process.stdout.write(`base: ${nBase} captures (${base}); node ${process.version}\n`);
    process.stdout.write('| captures | files | MiB | fleet --json, wall (median of ' + runs + ') | peak RSS | queries alone |\n|---|---|---|---|---|---|\n');
    for (const n of sizes) {
      const ds = join(work, `n${n}`);
      const { files, bytes } = makeCopies(base, n, ds);
      const walls: number[] = [];
      let rss = 0;
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        const res = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, join(root, 'bin/tlbtrace'), 'fleet', ds, '--json', '--no-progress'], { encoding: 'utf8', maxBuffer: 1 << 28 });
        walls.push((performance.now() - t0) / 1000);
        if (res.status !== 0) throw new Error(`fleet failed on ${n} captures: ${res.stderr}`);
        const count = (JSON.parse(res.stdout) as { captures: unknown[] }).captures.length;
        if (count !== n) throw new Error(`fleet saw ${count} captures, expected ${n}`);
        rss = Math.max(rss, Number(res.stderr.trim().split('\n').pop()) / 1024);
      }
      const engine = await Engine.open();
      const q0 = performance.now();
      await runQueries(engine, [ds]);
      const q = (performance.now() - q0) / 1000;
      engine.close();
      process.stdout.write(`| ${n} | ${files} | ${(bytes / 1048576).toFixed(1)} | ${median(walls).toFixed(2)} s | ${rss.toFixed(0)} MB | ${q.toFixed(2)} s |\n`);
      rmSync(ds, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (!existsSync('/usr/bin/time')) {
  process.stderr.write('needs /usr/bin/time (apt-get install time) for peak RSS\n');
  process.exit(0);
}

await main();

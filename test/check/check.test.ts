// `tlbtrace check`: regression against a baseline, and golden expectations of the fixture corpus.
// Runs the built CLI (npm test builds first) so exit codes and messages are what users see.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');
const BIN = join(ROOT, 'bin/tlbtrace');
const FIXTURE = join(ROOT, 'fixtures/native-6.18-2cpu/mt-mixed/ftrace.txt.gz');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * Duplicate `n` remote-shootdown transactions in place: each block from a `tlb_flush ... (4)` line
 * up to the next syscall line is repeated right after itself, its copy stamped with the block's
 * last timestamp (so time never goes backwards). The duration stays the same: rates go up.
 */
function duplicateShootdowns(text: string, n: number): { text: string; added: number; remoteCallbacks: number } {
  const lines = text.split('\n');
  const out: string[] = [];
  let added = 0;
  let remoteCallbacks = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (added < n && line.includes('reason:remote IPI send (4)')) {
      let j = i + 1;
      while (j < lines.length && !lines[j]!.includes(': sys_') && !lines[j]!.includes('(4)')) j++;
      const block = lines.slice(i, j);
      const lastTs = /\s(\d+\.\d{6}):/.exec(block[block.length - 1]!)![1]!;
      out.push(...block, ...block.map((l) => l.replace(/\s\d+\.\d{6}:/, ` ${lastTs}:`)));
      if (block.some((l) => l.includes('reason:remote shootdown (1)'))) added++;
      // flush callbacks run by IPI (non-NULL csd): what /proc/interrupts and the model count
      remoteCallbacks += block.filter((l) => l.includes('csd_function_entry: func=flush_tlb_func') && !l.includes('csd=0000000000000000')).length;
      i = j - 1;
      continue;
    }
    out.push(line);
  }
  return { text: out.join('\n'), added, remoteCallbacks };
}

describe('check against a baseline', () => {
  let dir: string;
  let altered: string;
  let duplicated = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tlbtrace-check-'));
    const original = gunzipSync(readFileSync(FIXTURE)).toString('latin1');
    const { text, added, remoteCallbacks } = duplicateShootdowns(original, 400);
    expect(added).toBe(400);
    duplicated = remoteCallbacks;
    altered = join(dir, 'altered.txt');
    writeFileSync(altered, text, 'latin1');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a trace against itself', () => {
    const r = run('check', FIXTURE, '--baseline', FIXTURE);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('no regression');
  });

  it('fails a trace with a duplicated burst of shootdowns, naming the metrics and the change', () => {
    const r = run('check', altered, '--baseline', FIXTURE);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/remoteShootdownsPerSec\s+\S+\s+\S+\s+\+13\.\d+%\s+\+5%\s+REGRESSED/);
    expect(r.out).toMatch(/ipisPerSec .* REGRESSED/);
    expect(r.out).toMatch(/\d+ metrics regressed/);
    // the exact totals: 2983 callbacks in the capture (truth.json: 2984) plus the duplicated ones
    const j = JSON.parse(run('check', altered, '--baseline', FIXTURE, '--json').out);
    const row = j.rows.find((x: { metric: string }) => x.metric === 'remoteShootdownsPerSec');
    expect(row.regressed).toBe(true);
    expect(row.current / row.baseline).toBeCloseTo((2983 + duplicated) / 2983, 4);
  });

  it('a generous threshold lets it pass; summaries work as baselines', () => {
    const summary = join(dir, 'base.json');
    expect(run('analyze', FIXTURE, '--json', '-o', summary, '--policy', 'observed').code).toBe(0);
    const r = run('check', altered, '--baseline', summary, '--max-increase', 'remoteShootdownsPerSec=20%,ipisPerSec=20%');
    expect(r.code).toBe(0);
  });

  it('rejects bad thresholds with a message naming the key', () => {
    const cfg = join(dir, 'thresholds.json');
    writeFileSync(cfg, JSON.stringify({ maxIncrease: { ipisPerSecond: '5%' } }));
    const r = run('check', FIXTURE, '--baseline', FIXTURE, '--thresholds', cfg);
    expect(r.code).toBe(2);
    expect(r.err).toContain('maxIncrease.ipisPerSecond');
    const r2 = run('check', FIXTURE, '--baseline', FIXTURE, '--max-increase', 'ipis=five');
    expect(r2.code).toBe(2);
    expect(r2.err).toContain("bad limit 'five' for ipis");
  });

  it('rejects a foreign or corrupt baseline, never a false pass', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ schema: 'tlbtrace.summary/0', observed: {} }));
    const r = run('check', FIXTURE, '--baseline', bad);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unsupported summary schema');
    writeFileSync(bad, '{"schema": "tlbtrace.summary/1", "observed": ');
    expect(run('check', FIXTURE, '--baseline', bad).code).toBe(2);
  });
});

describe('golden expectations of fixtures/', () => {
  it('every fixture trace matches its expected.json', () => {
    const r = run('check', join(ROOT, 'fixtures'));
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^ok: \d+ trace files in \d+ captures match/m);
    expect(r.code).toBe(0);
  });

  it('a changed number fails with a readable diff; --update rewrites and reports it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-golden-'));
    try {
      const cap = join(dir, 'cap');
      cpSync(join(ROOT, 'fixtures/qemu-6.1-8cpu/mt-munmap'), cap, { recursive: true, filter: (src) => !src.endsWith('trace.dat') });
      const exp = JSON.parse(readFileSync(join(cap, 'expected.json'), 'utf8'));
      delete exp.files['trace.dat'];
      exp.files['ftrace.txt.gz']['remoteShootdowns'] += 5;
      writeFileSync(join(cap, 'expected.json'), JSON.stringify(exp));
      const r = run('check', dir);
      expect(r.code).toBe(1);
      expect(r.out).toContain('cap/ftrace.txt.gz: 1 metric differs');
      expect(r.out).toMatch(/remoteShootdowns: expected \d+, got \d+ \(-5\)/);
      const u = run('check', dir, '--update');
      expect(u.code).toBe(0);
      expect(u.out).toMatch(/cap\/ftrace.txt.gz: remoteShootdowns \d+ -> \d+/);
      expect(run('check', dir).code).toBe(0);
      writeFileSync(join(cap, 'expected.json'), '{"schema": "something else"}');
      const c = run('check', dir);
      expect(c.code).toBe(2);
      expect(c.err).toContain('regenerate it with');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The report and compare commands through commander, as main() wires them (main() itself also
// loads `analyze`, whose pipeline is tested elsewhere).
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { register as registerReport } from '../../src/cli/commands/report.js';
import { register as registerCompare, resolveSummary, defaultLabels } from '../../src/cli/commands/compare.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { UsageError } from '../../src/cli/errors.js';
import { InputError } from '../../src/errors.js';
import { CHART_NAMES } from '../../src/report/charts.js';
import { sampleSummary } from './sample-summary.js';

let dir: string;
let summaryPath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tlbtrace-cli-'));
  summaryPath = join(dir, 'run.json');
  await writeFile(summaryPath, JSON.stringify(sampleSummary()));
});

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command().exitOverride();
  let code = 0;
  registerReport(program, (c) => (code = Math.max(code, c)));
  registerCompare(program, (c) => (code = Math.max(code, c)));
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    await program.parseAsync(['node', 'tlbtrace', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { code, stdout, stderr };
}

afterEach(() => vi.restoreAllMocks());

describe('tlbtrace report', () => {
  it('is registered', async () => {
    const program = new Command();
    for (const r of COMMANDS) r(program, () => undefined);
    expect(program.commands.map((c) => c.name())).toEqual(expect.arrayContaining(['report', 'compare']));
  });

  it('writes DIR/report.html and with --vega DIR/vega/*.vl.json', async () => {
    const out = join(dir, 'out');
    const r = await run('report', summaryPath, '-o', out, '--vega');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/wrote .*report\.html \(\d+ KB\)/);
    expect((await readdir(out)).sort()).toEqual(['report.html', 'vega']);
    expect((await readdir(join(out, 'vega'))).sort()).toEqual(CHART_NAMES.map((n) => `${n}.vl.json`).sort());
    expect(await readFile(join(out, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('rejects a bad summary with an InputError naming the file', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ schema: 'tlbtrace.summary/9' }));
    await expect(run('report', bad, '-o', join(dir, 'never'))).rejects.toThrow(InputError);
    await expect(run('report', bad, '-o', join(dir, 'never'))).rejects.toThrow(/bad\.json: unsupported summary schema/);
  });

  it('refuses -o pointing at a file', async () => {
    await expect(run('report', summaryPath, '-o', summaryPath)).rejects.toThrow(UsageError);
  });
});

describe('tlbtrace compare', () => {
  it('prints the A/B table, markdown and JSON, and writes HTML', async () => {
    const b = sampleSummary();
    b.input.durationSec = 25;
    const bPath = join(dir, 'patched.json');
    await writeFile(bPath, JSON.stringify(b));
    const text = await run('compare', summaryPath, bPath);
    expect(text.stdout).toMatch(/^metric +run +patched +change$/m);
    expect(text.stdout).toMatch(/interrupts \(IPIs\)\/s +344 +172 +-50\.0%/);
    const md = await run('compare', summaryPath, bPath, '--markdown', '--labels', 'vanilla,patched');
    expect(md.stdout).toContain('| metric | vanilla | patched | change |');
    const json = await run('compare', summaryPath, bPath, '--json');
    expect(JSON.parse(json.stdout).schema).toBe('tlbtrace.compare/1');
    const html = join(dir, 'cmp.html');
    await run('compare', summaryPath, bPath, '--html', html);
    expect(await readFile(html, 'utf8')).toContain('<table id="compare">');
  });

  it('refuses to overwrite an input with --html, and --json with --markdown', async () => {
    await expect(run('compare', summaryPath, summaryPath, '--html', summaryPath)).rejects.toThrow(/refusing to overwrite input/);
    await expect(run('compare', summaryPath, summaryPath, '--json', '--markdown')).rejects.toThrow(UsageError);
  });

  it('resolveSummary: a trace is analyzed, a summary loaded', async () => {
    const trace = join(dir, 'ftrace.txt');
    await writeFile(trace, '# tracer: nop\n            bash-5965    (   5965) [000] ...1.   223.619319: tlb_flush: pages:-1 reason:remote IPI send (4)\n');
    const fromTrace = await resolveSummary(trace);
    expect(fromTrace.observed.tlbFlush.byReason['4']).toBe(1);
    await expect(resolveSummary(join(dir, 'missing.json'))).rejects.toThrow(InputError);
    expect((await resolveSummary(summaryPath)).schema).toBe('tlbtrace.summary/1');
  });

  it('labels default to the file names', () => {
    expect(defaultLabels('/x/vanilla.json', 'patched.json')).toEqual({ a: 'vanilla', b: 'patched' });
    expect(defaultLabels('a/run.json', 'b/run.json')).toEqual({ a: 'A', b: 'B' });
  });
});

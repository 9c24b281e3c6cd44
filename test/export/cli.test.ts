// The export commands from the command line: usage errors exit 2 and leave nothing behind.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTraceEvents } from '../../src/export/perfetto-check.js';
import { FIXTURES } from './helpers.js';

const bin = join(import.meta.dirname, '../../bin/tlbtrace');
const trace = join(FIXTURES, 'qemu-6.12-16cpu/mt-munmap/trace.dat');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args, '--no-progress'], { encoding: 'utf8', input: '' });

describe('tlbtrace export', () => {
  it('writes a valid timeline and says what it wrote', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-cli-'));
    const out = join(dir, 't.json');
    const r = run('export', trace, '--perfetto', out, '--slowest', '3');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/the 3 slowest requests/);
    expect(checkTraceEvents(readFileSync(out, 'utf8')).errors).toEqual([]);
    expect(readdirSync(dir)).toEqual(['t.json']);
  });

  it('refuses what it cannot do, before writing anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-cli-'));
    const out = join(dir, 't.json');
    expect(run('export', trace).stderr).toMatch(/nothing to export/);
    const bad = run('export', trace, '--perfetto', out, '--ingest-thread', 'bogus');
    expect(bad.status).toBe(2);
    expect(run('export', '-', '--perfetto', out, '--slowest', '3').stderr).toMatch(/reads the input twice/);
    expect(run('export', trace, '--parquet', dir, '--from', '10').stderr).toMatch(/select what goes into --perfetto/);
    expect(run('export', trace, '--perfetto', trace).stderr).toMatch(/refusing to overwrite input/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('analyze --parquet adds a capture once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlbtrace-cli-'));
    expect(run('analyze', trace, '--parquet', dir, '--host', 'h', '--json').status).toBe(0);
    const again = run('analyze', trace, '--parquet', dir, '--host', 'h');
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already in/);
    expect(readdirSync(dir).sort()).toEqual(['callbacks', 'policies', 'requests', 'series', 'summary', 'switches']);
  });
});

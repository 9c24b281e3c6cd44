// The Perfetto export: strictly valid Trace Event Format on real captures, one flow per paired
// request -> target (counted independently from the summary), filters, and escaping.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTraceEvents } from '../../src/export/perfetto-check.js';
import { PerfettoSink, usText } from '../../src/export/perfetto.js';
import { SlowestRequests, type Window } from '../../src/export/windows.js';
import { analyzeWith, captures, FIXTURES, pairedTargets, SHARED, traceOf } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'tlbtrace-perfetto-'));

async function exportOne(path: string, windows?: Window[]) {
  const out = join(tmp, `${Math.random().toString(36).slice(2)}.json`);
  const sink = new PerfettoSink({ path: out, windows });
  const summary = await analyzeWith(path, [sink]);
  const json = readFileSync(out, 'utf8');
  return { summary, sink, json, check: checkTraceEvents(json) };
}

describe('usText', () => {
  it('writes integer nanoseconds as exact microseconds', () => {
    expect(usText(1354137805000)).toBe('1354137805');
    expect(usText(1354137805123)).toBe('1354137805.123');
    expect(usText(1354137805120)).toBe('1354137805.12');
    expect(usText(7)).toBe('0.007');
    // 2^53-ish trace clocks stay exact: no float division
    expect(usText(9007199254740991)).toBe('9007199254740.991');
  });
});

describe('perfetto export of the fixtures', () => {
  for (const cap of captures(FIXTURES)) {
    it(`${cap}: strict Trace Event Format, one flow per paired request -> target`, async () => {
      const { summary, sink, check } = await exportOne(traceOf(join(FIXTURES, cap)));
      expect(check.errors).toEqual([]);
      expect(check.flows).toBe(pairedTargets(summary));
      expect(sink.stats.flows).toBe(check.flows);
      // every request is a slice: requests + table syncs
      expect(sink.stats.requests).toBeGreaterThanOrEqual(summary.observed.requests);
    });
  }

  it('mt-mixed: the numbers, counted by hand from the raw ftrace', async () => {
    // zcat fixtures/native-6.18-2cpu/mt-mixed/ftrace.txt.gz | grep -c 'csd_function_entry: func=flush_tlb_func, csd=[^0]'  -> 2983
    const { check } = await exportOne(join(FIXTURES, 'native-6.18-2cpu/mt-mixed/ftrace.txt.gz'));
    const text = gunzipSync(readFileSync(join(FIXTURES, 'native-6.18-2cpu/mt-mixed/ftrace.txt.gz'))).toString('latin1');
    const remote = text.split('\n').filter((l) => /csd_function_entry: func=flush_tlb_func, csd=(?!0{16})/.test(l)).length;
    expect(remote).toBe(2983);
    expect(check.flows).toBe(remote);
    expect(check.byPhase.s).toBe(remote);
    expect(check.byPhase.f).toBe(remote);
  });
});

describe('perfetto export of shared captures', () => {
  const shared = captures(SHARED).filter((c) => ['qemu-6.12-8cpu/collapse', 'qemu-6.1-8cpu/reclaim-mmap', 'qemu-6.12-16cpu/reclaim-mmap', 'pvm-6.18-2cpu/collapse'].includes(c));
  it.skipIf(shared.length === 0)('strictly valid, flows = paired request -> target', async () => {
    for (const cap of shared) {
      const { summary, check } = await exportOne(traceOf(join(SHARED, cap)));
      expect(check.errors, cap).toEqual([]);
      expect(check.flows, cap).toBe(pairedTargets(summary));
    }
  }, 180_000);
});

describe('filters', () => {
  it('--slowest: the N slowest requests and their neighbourhood, still valid', async () => {
    const path = join(FIXTURES, 'qemu-6.12-8cpu/mt-munmap/trace.dat');
    const finder = new SlowestRequests(5);
    await analyzeWith(path, [finder]);
    const slow = finder.slowest();
    expect(slow).toHaveLength(5);
    expect(slow[0]!.latency).toBeGreaterThanOrEqual(slow[4]!.latency);
    const windows = finder.windows(1_000_000);
    const full = await exportOne(path);
    const part = await exportOne(path, windows);
    expect(part.check.errors).toEqual([]);
    expect(part.sink.stats.requests).toBeLessThan(full.sink.stats.requests);
    const events = (JSON.parse(part.json) as { traceEvents: Array<{ ph: string; ts: number; dur?: number; args?: { request?: number } }> }).traceEvents;
    const ids = new Set(events.filter((e) => e.ph === 'X' && e.args?.request !== undefined).map((e) => e.args!.request));
    for (const r of slow) expect(ids.has(r.id)).toBe(true);
    // every request slice overlaps a window
    for (const e of events.filter((x) => x.ph === 'X' && x.args?.request !== undefined && x.dur !== undefined && x.dur > 0 && x.args && 'targets' in x.args)) {
      const a = e.ts * 1000;
      const b = a + e.dur! * 1000;
      expect(windows.some(([s, t]) => a <= t + 1 && b >= s - 1)).toBe(true);
    }
  });
});

describe('escaping', () => {
  it('a hostile comm survives as JSON text', async () => {
    // the fixture's own lines, with one task renamed the way a process may name itself
    const src = gunzipSync(readFileSync(join(FIXTURES, 'native-6.18-2cpu/mt-mixed/ftrace.txt.gz'))).toString('utf8');
    const hostile = 'x"y\\z</script>\u2028q';
    const renamed = src.replaceAll(/^(\s*)bash-5045 /gm, (_m, sp: string) => `${sp}${hostile}-5045 `);
    expect(renamed).not.toBe(src);
    const path = join(tmp, 'hostile.txt');
    writeFileSync(path, renamed);
    const { check, json } = await exportOne(path);
    expect(check.errors).toEqual([]);
    const events = (JSON.parse(json) as { traceEvents: Array<{ args?: { comm?: string } }> }).traceEvents;
    expect(events.some((e) => e.args?.comm === hostile)).toBe(true);
  });
});

describe('the checker', () => {
  const bad = (events: unknown[]) => checkTraceEvents(JSON.stringify({ traceEvents: events })).errors;
  it('finds what a viewer would drop', () => {
    expect(bad([{ ph: 'X', name: 'a', pid: 1, tid: 1, ts: 0 }])[0]).toMatch(/dur/);
    expect(bad([{ ph: 'X', name: 'a', pid: 1, tid: 1, ts: 0, dur: 10 }, { ph: 'X', name: 'b', pid: 1, tid: 1, ts: 5, dur: 10 }])[0]).toMatch(/overlaps/);
    expect(bad([{ ph: 's', name: 'f', cat: 'c', id: 1, pid: 1, tid: 1, ts: 0 }]).join()).toMatch(/inside no slice|without an end/);
    expect(bad([{ ph: 'C', name: 'c', pid: 1, ts: 0, args: { v: 'x' } }])[0]).toMatch(/finite number/);
    expect(bad([{ ph: 'Q', name: 'a', pid: 1, tid: 1, ts: 0 }])[0]).toMatch(/phase/);
    expect(bad([{ ph: 'X', name: 'a', pid: 1, tid: 1, ts: -1, dur: 1 }]).join()).toMatch(/ts must be/);
    expect(bad([{ ph: 'X', name: 'a', pid: 1, tid: 1, ts: 0, dur: 10 }, { ph: 'X', name: 'b', pid: 1, tid: 1, ts: 2, dur: 3 }])).toEqual([]);
  });
});

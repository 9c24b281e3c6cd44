// per-event.ts: issue #18's figures from the bench rows, checked against hand-computed values.

import { describe, expect, it } from 'vitest';
import { issue18Lines, perEventFigures, perEventLine } from './per-event.js';
import type { Sample } from './measure.js';

const sample = (maxRss: number): Sample => ({ wallS: 1, exitCode: 0, stdout: '', stderr: '', maxRss }) as Sample;
const row = (what: string, cpuS: number, mainCpuS: number, rss: number[] = [100e6]) => ({ what, cpuS, mainCpuS, samples: rss.map(sample) });

const capture = {
  capture: 'native-6.18-2cpu/sng-madvise',
  events: 1_000_000,
  copies: { copies: 5 },
  measurements: {
    tracecmdCopies: row('trace-cmd report 5x.dat > /dev/null (reference)', 20, 20, []),
    textCopies: row('tlbtrace analyze 5x.txt (text)', 5, 3.5, [150e6, 201e6, 160e6]),
    datCopies: row('tlbtrace analyze 5x.dat (ingest: main)', 4, 3),
    textIngestCopies: row('floor: ingest 5x.txt (typed events, no model)', 2.2, 1.7),
    datIngestCopies: row('floor: ingest 5x.dat (typed events, no model)', 2, 1.75),
    datReadCopies: row('floor: read 5x.dat (decompress + record walk)', 1.6, 1.2),
  },
};
const startup = row('start-up', 0.3, 0.2);

describe('issue #18 figures', () => {
  const f = perEventFigures(capture, startup)!;

  it('divides the main-thread differences by N x the events', () => {
    // 5 M events: (1.7 - 0.2) s = 300 ns each; (3.5 - 1.7) s = 360 ns; (3 - 1.75) s = 250 ns
    expect(f.events).toBe(5_000_000);
    expect(f.textIngestNs).toBeCloseTo(300, 6);
    expect(f.textModelNs).toBeCloseTo(360, 6);
    expect(f.datModelNs).toBeCloseTo(250, 6);
    // cpu: 20 / 5 = 4x, 20 / 4 = 5x, 4 / 1.6 = 2.5x
    expect(f.textVsTraceCmd).toBeCloseTo(4, 9);
    expect(f.datVsTraceCmd).toBeCloseTo(5, 9);
    expect(f.datVsReadFloor).toBeCloseTo(2.5, 9);
    expect(perEventLine(f)).toContain('text ingest 300 ns');
  });

  it('judges each target, and peak RSS over every single run', () => {
    const lines = issue18Lines([f], [capture]);
    expect(lines[0]).toMatch(/^PASS {2}text analysis >= 4x/);
    expect(lines[1]).toMatch(/^FAIL {2}trace.dat analysis >= 6x.*sng-madvise 5.00x/);
    expect(lines[2]).toMatch(/^FAIL {2}trace.dat analysis within 2x of its read floor/);
    expect(lines[3]).toMatch(/^FAIL {2}model \+ all policies <= 200 ns per event, text/);
    expect(lines[5]).toMatch(/^PASS {2}text ingest <= 300 ns/);
    // the median of the text runs is 160 MB, one run reached 201 MB
    expect(lines[6]).toMatch(/^FAIL {2}peak RSS <= 200 MB in every single run.*max 201.0 MB \(sng-madvise, tlbtrace analyze 5x.txt/);
  });

  it('says N/A without N-copy rows', () => {
    expect(perEventFigures({ ...capture, copies: undefined }, startup)).toBeNull();
    expect(issue18Lines([], [])[0]).toMatch(/^N\/A/);
  });
});

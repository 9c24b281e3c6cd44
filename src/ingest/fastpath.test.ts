// The ASCII byte fast path (formats/fastpath.ts, the byte payload parsers in events/payloads.ts)
// must produce exactly what the string grammars produce. A chunk holding one non-ASCII byte takes
// the string path for all of its lines, so the same text is read twice: as is (ASCII: fast path)
// and with a last line holding `é` that every grammar skips silently (string path); events and
// warnings must be identical. Lines are real ones from the fixtures, edge cases, and mutations.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { Diagnostics } from './diagnostics.js';
import { FastLines } from './formats/fastpath.js';
import { readAll } from './testutil.js';
import type { TraceFormat } from './source.js';

const MT_MIXED = fileURLToPath(new URL('../../fixtures/native-6.18-2cpu/mt-mixed/', import.meta.url));

function fixtureLines(file: string, n: number): string[] {
  return gunzipSync(readFileSync(MT_MIXED + file)).toString('utf8').split('\n').slice(0, n);
}

type TextFormatName = Exclude<TraceFormat, 'trace-dat'>;

// crafted: edge cases, most sharing one task and event names so that they reach the fast path
const POOLS: Record<TextFormatName, { fixture: string[]; crafted: string[]; skipped: string }> = {
  ftrace: {
    fixture: fixtureLines('ftrace.txt.gz', 400),
    crafted: [
      '            bash-5045    (   5045) [000] ...1.  1354.137805: tlb_flush: pages:-1 reason:remote IPI send (4)',
      '           tlbw-5050    (   5050) [001] .....  1354.138718: sys_mprotect(start: 0x7f4628615000, len: 0x4000, prot: 1)',
      '           tlbw-5050    (   5050) [001] .....  1354.138719: sys_mprotect(start: 7f4628615000, len: 4000, prot: 1)  ',
      '           tlbw-5050    (   5050) [001] .....  1354.138720: sys_munmap(addr: 0x7f4628615000, len: 0x4000)',
      '           tlbw-5050    (   5050) [001] .....  1354.138721: sys_madvise(start: 0x7f4628615000, len_in: 0x4000, behavior: 0x4)',
      '           tlbw-5050    (   5050) [001] .....  1354.138722: sys_madvise(start: 0x7f4628615000, len_in: 0x4000)',
      '           tlbw-5050    (   5050) [001] .....  1354.138723: sys_munmap(addr: 0xFFFFFFFFFFFFFFFFFF, len: 0x)',
      '           tlbw-5050    (   5050) [001] d.h1.  1354.138724: tlb_flush: pages:1 reason:x (3) ',
      '           tlbw-5050    (   5050) [001] d.H1.  1354.138725: tlb_flush: pages:1 reason:x (99999999999999999999)',
      '           tlbw-5050    (   5050) [001] .....  1354.13872: tlb_flush: pages=0 reason:(x) (2)',
      '           tlbw-5050    (   5050) [009] .....  1354.138726: tlb_flush: pages:0 reason:y (0)',
      '  [1] 2.0: x: y-77    (     77) [001] .....  1354.138727: tlb_flush: pages:0 reason:y (0)',
      '  a [1] b-78    (     78) [001] .....  1354.138728: tlb_flush: pages:0 reason:y (0)',
      '           tlbw-5050    (-------) [001] .....  1354.138729: sys_munmap(addr: 0x1000, len: 0x1000)',
      '           tlbw-5050    (   5050) [001] .....  1354.138730: sys_munmap(addr: 0x1000, len: 0x1000) x)',
      '           tlbw-5050    (   5050) [001] .....  1354.138731: sys_exit_munmap -> 0x0',
      '           tlbw-5050    (   5050) [001] .....  1354.138732: sys_newthing(a: 1, b: zz)',
      '           tlbw-5050    (   5050) [001] .....  99999999999999999999.0: tlb_flush: pages:0 reason:y (0)',
      'CPU:1 [LOST 12 EVENTS]',
      '# entries-in-buffer/entries-written: 5/9   #P:2',
      '',
    ],
    skipped: '# é',
  },
  'trace-cmd': {
    fixture: fixtureLines('trace-cmd-report.txt.gz', 400),
    crafted: [
      '     stress-ng-madvi-8155  [001]   241.875922: sys_enter_madvise:    start: 0x7f3b8e1fe000, len_in: 0x00001000, behavior: 0x00000004',
      '     stress-ng-madvi-8155  [001]   241.875923: sys_enter_madvise:    start: 0x7f3b8e1fe000, len_in: 0x00001000, behavior: 0x00000004, x: 0x1',
      '     stress-ng-madvi-8155  [001]   241.875924: sys_enter_madvise:    start: 0x7f3b8e1fe000, len_in: 0x00001000, behaviour: 0x00000004',
      '     stress-ng-madvi-8155  [001]   241.875925: sys_enter_madvise:    start:0x7f3b8e1fe000, len_in: 0x00001000, behavior: 0x00000004',
      '     stress-ng-madvi-8155  [001]   241.875926: sys_enter_munmap:     addr: 0x7f5d59df3000, len: 0x00001000',
      '     stress-ng-madvi-8155  [001]   241.875927: sys_enter_munmap:     addr: 0x7f5d59df3000, len: 0x0000100g',
      '     stress-ng-madvi-8155  [001]   241.875928: tlb_flush:            pages=-1 reason= (4)',
      '     stress-ng-madvi-8155  [001]   241.875929: tlb_flush:            pages=1 reason=local mm shootdown (3)',
      '     stress-ng-madvi-8155  [001]   241.875930: tlb_flush:            pages= reason= (4)',
      '     stress-ng-madvi-8155  [001]   241.875931: tlb_flush:            pages=1 (reason=local mm shootdown (3',
      '     stress-ng-madvi-8155  [007]   241.875932: tlb_flush:            pages=1 reason= (4)',
      '     stress-ng-madvi-8155  [001] d.h1.  241.875933: tlb_flush:            pages=1 reason= (4)',
      '     stress-ng-madvi-8155  [001]   241.8759: tlb_flush:            pages=1 reason= (4)',
      '     stress-ng-madvi-8155  [001]   41.875935: tlb_flush:            pages=1 reason= (4)',
      '     stress-ng-madvi-8155  [001]   241.875936: tlb_flush:',
      '     stress-ng-madvi-8155  [001]   241.875937: other_event:          a=1',
      'CPU:0 [97270 EVENTS DROPPED]',
      'CPU:1 [EVENTS DROPPED]',
      'cpus=2',
      '',
    ],
    skipped: 'x = é',
  },
  'perf-script': {
    fixture: fixtureLines('perf-script.txt.gz', 400),
    crafted: [
      '     stress-ng-madvi  8155 [001]   241.875922:   syscalls:sys_enter_madvise: start: 0x7f3b8e1fe000, len_in: 0x00001000, behavior: 0x00000004',
      '     stress-ng-madvi 81/55 [001]   241.875923:   syscalls:sys_enter_madvise: start: 0x7f3b8e1fe000, len_in: 0x00001000, behavior: 0x00000004',
      '                 :-1    -1 [001]   241.875924:                tlb:tlb_flush: pages:0 reason:flush on task switch (0)',
      '     stress-ng-madvi  8155 [001] d.h.  241.875925:                tlb:tlb_flush: pages:0 reason:flush on task switch (0)',
      '     stress-ng-madvi  8155 [001]   241.875926:                tlb_flush: pages:0 reason:flush on task switch (0)',
      '\t    ffffffff8108e1a4 native_flush_tlb_multi+0x54 ([kernel.kallsyms])',
      '',
    ],
    skipped: '# é',
  },
};

/** a line changed at one place: a separator, digit or letter written over, inserted or deleted */
const mutated = (pool: string[]) =>
  fc
    .tuple(fc.constantFrom(...pool), fc.nat(), fc.constantFrom(' ', '[', ']', ':', '(', ')', ',', '-', '.', '0', '9', 'x', 'h', 'Z', '\r', ''), fc.integer({ min: 0, max: 2 }))
    .map(([l, at, ch, how]) => {
      const i = l.length === 0 ? 0 : at % l.length;
      return how === 0 ? l.slice(0, i) + ch + l.slice(i + 1) : how === 1 ? l.slice(0, i) + ch + l.slice(i) : l.slice(0, i) + l.slice(i + 1);
    });

async function read(format: TextFormatName, text: string, maxLineLength?: number) {
  const diag = new Diagnostics({ examplesPerCode: 1000 });
  const r = await readAll(['-'], { format, stdin: Buffer.from(text), maxLineLength }, diag);
  return { events: r.events, counts: diag.byCode(), examples: diag.examples };
}

describe('ASCII fast path: the same events and warnings as the string grammars', () => {
  for (const format of Object.keys(POOLS) as TextFormatName[]) {
    const { fixture, crafted, skipped } = POOLS[format];
    const lines = [...fixture, ...crafted];
    it(`${format} (property)`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              { weight: 2, arbitrary: fc.constantFrom(...fixture) },
              { weight: 3, arbitrary: fc.constantFrom(...crafted) },
              { weight: 2, arbitrary: mutated(lines) },
            ),
            { minLength: 1, maxLength: 150 },
          ),
          fc.constantFrom(undefined, 100, 140),
          async (body, max) => {
            const text = body.join('\n') + '\n';
            const fast = await read(format, text, max);
            const slow = await read(format, text + skipped + '\n', max);
            expect(fast).toStrictEqual(slow);
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it('real lines do take the fast path (the comparisons above are not vacuous)', async () => {
    const spy = vi.spyOn(FastLines.prototype, 'parseHeader');
    try {
      for (const format of Object.keys(POOLS) as TextFormatName[]) {
        spy.mockClear();
        const r = await read(format, POOLS[format].fixture.join('\n') + '\n');
        const hits = spy.mock.results.filter((x) => x.value === true).length;
        expect(hits, format).toBeGreaterThan(r.events.length / 2);
      }
    } finally {
      spy.mockRestore();
    }
  });
});

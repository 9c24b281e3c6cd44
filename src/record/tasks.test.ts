// Merging the kernel's pid -> comm / tgid caches read during a recording: the latest reading of a
// pid wins (a reused pid names its newest task), `<...>` (a slot the cache lost) never replaces a name.
import { describe, expect, it } from 'vitest';
import { parseSavedTgids, TaskNames } from './tasks.js';

describe('TaskNames', () => {
  it('merges readings, the latest winning', () => {
    const t = new TaskNames();
    t.mergeCmdlines('26307 node\n26322 stress-ng\n');
    t.mergeCmdlines('26322 stress-ng-tlb-s\n26400 <...>\n');
    expect(t.cmdlinesText()).toBe('26307 node\n26322 stress-ng-tlb-s\n');
    t.mergeTgids('26334 26334\n26335 26334\n');
    t.mergeTgids('26335 26335\n');
    expect(t.tgidsText()).toBe('26334 26334\n26335 26335\n');
  });

  it('keeps comms with spaces and skips malformed tgid lines', () => {
    const t = new TaskNames();
    t.mergeCmdlines('77 npm view @types\n');
    expect(t.comms.get(77)).toBe('npm view @types');
    expect([...parseSavedTgids('5 5\nx y\n6 5\n')]).toEqual([
      [5, 5],
      [6, 5],
    ]);
  });
});

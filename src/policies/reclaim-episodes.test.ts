// ReclaimEpisodes: the pages each reclaim batch flush stands for, worked out by hand.
import { describe, expect, it } from 'vitest';
import { ReclaimEpisodes } from './reclaim-episodes.js';

function make(maxHeld?: number) {
  const out: Array<[string, number]> = [];
  const e = new ReclaimEpisodes<string>(32, 32, (b, pages) => out.push([b, pages]), maxHeld);
  return { e, out };
}

describe('ReclaimEpisodes', () => {
  it('spreads an episode\'s nr_reclaimed over its batches, 1 to 32 each, at its end', () => {
    const { e, out } = make();
    e.begin(7);
    e.add(7, 'a', false);
    e.add(7, 'b', false);
    e.add(7, 'c', false);
    expect(out).toEqual([]); // waiting for nr_reclaimed
    e.end(7, 50); // 50 / 3: 17, 17, 16
    expect(out).toEqual([['a', 17], ['b', 17], ['c', 16]]);
    e.begin(7);
    e.add(7, 'd', false);
    e.add(7, 'e', false);
    e.end(7, 1); // a batch flush is at least one page
    e.begin(8);
    e.add(8, 'f', false);
    e.end(8, 100); // a pass holds at most SWAP_CLUSTER_MAX
    expect(out.slice(3)).toEqual([['d', 1], ['e', 1], ['f', 32]]);
    expect(e.sizing).toEqual({ episodes: 3, fromEpisodes: 6, byAverage: 0, byFallback: 0 });
    expect(e.average).toBe((50 + 2 + 32) / 6);
  });

  it('gives kswapd the episodes\' average (fractions carried), others and early batches the fallback', () => {
    const { e, out } = make();
    e.add(1, 'k0', true); // no episode ended yet
    e.add(2, 'pageout', false);
    e.begin(7);
    e.add(7, 'a', false);
    e.add(7, 'b', false);
    e.end(7, 25); // 13 + 12: average 12.5
    e.add(1, 'k1', true);
    e.add(1, 'k2', true);
    expect(out).toEqual([['k0', 32], ['pageout', 32], ['a', 13], ['b', 12], ['k1', 13], ['k2', 12]]);
    expect(e.sizing).toEqual({ episodes: 1, fromEpisodes: 2, byAverage: 2, byFallback: 2 });
  });

  it('does not wait past its bound, for a begin without an end, or past the end of the trace', () => {
    const { e, out } = make(2);
    e.begin(7);
    e.add(7, 'a', false);
    e.end(7, 10); // average 10
    e.begin(8);
    e.add(8, 'b', false);
    e.add(8, 'c', false);
    e.add(8, 'd', false); // 3 held > 2: episode 8 is released at the average, and sizes later batches at once
    expect(out).toEqual([['a', 10], ['b', 10], ['c', 10], ['d', 10]]);
    e.add(8, 'e', false);
    e.end(8, 1000); // nothing left to size
    e.begin(9);
    e.add(9, 'f', false);
    e.begin(9); // the end of the first was not traced
    e.add(9, 'g', false);
    e.finish();
    expect(out.slice(4)).toEqual([['e', 10], ['f', 10], ['g', 10]]);
    expect(e.sizing).toEqual({ episodes: 1, fromEpisodes: 1, byAverage: 6, byFallback: 0 });
  });
});

// ReclaimBatches: the pages each reclaim batch flush stands for, worked out by hand.
import { describe, expect, it } from 'vitest';
import { ReclaimBatches } from './reclaim-batches.js';

function make(maxHeld?: number) {
  const out: Array<[string, number]> = [];
  const e = new ReclaimBatches<string>(32, 32, (b, pages) => out.push([b, pages]), maxHeld);
  return { e, out };
}

describe('ReclaimBatches', () => {
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
    expect(e.sizing).toEqual({ passes: 0, fromPasses: 0, episodes: 3, fromEpisodes: 6, byAverage: 0, byFallback: 0 });
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
    expect(e.sizing).toEqual({ passes: 0, fromPasses: 0, episodes: 1, fromEpisodes: 2, byAverage: 2, byFallback: 2 });
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
    expect(e.sizing).toEqual({ passes: 0, fromPasses: 0, episodes: 1, fromEpisodes: 1, byAverage: 6, byFallback: 0 });
  });

  it('sizes each batch from its pass when the trace shows the passes, kswapd\'s too', () => {
    const { e, out } = make();
    e.add(1, 'k0', true); // no pass seen yet: kswapd's batch cannot wait for one
    e.pass(1, 9); // the first pass event: from now on kswapd's batches wait for theirs
    e.add(1, 'k1', true);
    expect(out).toEqual([['k0', 32]]);
    e.pass(1, 5);
    e.pass(1, 7); // a pass that flushed nothing (no mapped folio) sizes nothing
    e.begin(7);
    e.add(7, 'a', false);
    e.add(7, 'b', false); // a pass that freed more than 31 folios flushes twice: at the 31st freed, and at its end
    e.pass(7, 32);
    e.pass(7, 3); // freed, but nothing mapped: no batch
    e.add(7, 'c', false); // a batch no pass event followed: its share of what the passes did not free
    e.end(7, 32 + 3 + 4);
    e.add(2, 'pageout', false); // MADV_PAGEOUT and compaction emit no pass event: the fallback
    expect(out.slice(1)).toEqual([['k1', 5], ['a', 31], ['b', 1], ['c', 4], ['pageout', 32]]);
    expect(e.sizing).toEqual({ passes: 2, fromPasses: 3, episodes: 1, fromEpisodes: 1, byAverage: 0, byFallback: 2 });
    expect(e.average).toBe((5 + 31 + 1 + 4) / 4);
    e.add(1, 'd', true);
    e.add(1, 'e', true); // two flushes in a pass that freed fewer (pageout() of a dirty folio): an even share
    e.pass(1, 9);
    expect(out.slice(6)).toEqual([['d', 5], ['e', 4]]);
  });
});

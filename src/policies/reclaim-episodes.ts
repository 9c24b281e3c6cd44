// How many pages a reclaim batch flush stood for, from the direct-reclaim episode it was made in.
//
// 6.12 mm/vmscan.c: try_to_free_pages() is one direct-reclaim episode of a task, between
// mm_vmscan_direct_reclaim_begin and mm_vmscan_direct_reclaim_end(nr_reclaimed). Inside it,
// shrink_lruvec() runs shrink_folio_list() passes of min(nr[lru], SWAP_CLUSTER_MAX) isolated
// folios, nr[lru] = lru_size >> priority (get_scan_count(); DEF_PRIORITY = 12: 12 pages of a
// 50,000-page list); a pass unmaps its mapped folios into the task's batch (try_to_unmap(...,
// TTU_BATCH_FLUSH)) and flushes it (try_to_unmap_flush() -> arch_tlbbatch_flush()) every 31 freed
// folios and at its end, so the episode's freed pages are the pages of its passes, and every
// batch flush of the episode falls between its begin and its end. A batch flush of an episode
// therefore stands for its share of the episode's nr_reclaimed: nr_reclaimed / batch flushes,
// at least 1 (a flush means a page) and at most SWAP_CLUSTER_MAX (a pass holds no more).
// The share is an estimate of the pass's mapped pages: freed pages nobody mapped (page cache
// read by read(2), slab) need no flush, and folios unmapped but kept (dirty file folios in direct
// reclaim) are in a batch and not freed.
//
// kswapd's passes are the same shrink_lruvec() passes over the same lruvecs (balance_pgdat()
// starts at DEF_PRIORITY too), so its batches take the pages per batch of the episodes seen so far;
// with none yet, or for other batches (MADV_PAGEOUT's reclaim_pages(): a whole page table's folios,
// flushed every 31 freed; compaction: COMPACT_CLUSTER_MAX = 32 isolated pages), the fallback.
//
// nr_reclaimed is known only at the episode's end: an episode's batches wait for it. Bounded: past
// `maxHeld` waiting batches, or when a task begins again without an end, or at the end of the trace,
// an episode's batches take the average (or the fallback).

export interface EpisodeSizing {
  /** episodes that ended with an nr_reclaimed and had batch flushes */
  episodes: number;
  /** batches sized from their own episode */
  fromEpisodes: number;
  /** batches sized by the episodes' average pages per batch (kswapd, unended episodes) */
  byAverage: number;
  /** batches sized by the fallback (no episode seen yet, other reclaimers) */
  byFallback: number;
}

interface Episode<T> {
  batches: T[];
  /** its batches could not wait (the bound): they are sized when they come */
  released: boolean;
}

export class ReclaimEpisodes<T> {
  private readonly open = new Map<number, Episode<T>>();
  private held = 0;
  /** pages given to batches sized from their episode, and those batches */
  private episodePages = 0;
  private episodeBatches = 0;
  /** the fractional pages of average-sized batches not yet given out (the total stays exact) */
  private carry = 0;
  readonly sizing: EpisodeSizing = { episodes: 0, fromEpisodes: 0, byAverage: 0, byFallback: 0 };

  /**
   * @param cap      most pages a batch holds (SWAP_CLUSTER_MAX)
   * @param fallback pages of a batch nothing sizes
   * @param release  hands a batch on with the pages it stands for
   */
  constructor(
    private readonly cap: number,
    private readonly fallback: number,
    private readonly release: (batch: T, pages: number) => void,
    private readonly maxHeld = 4096,
  ) {}

  /** pages per batch of the episodes ended so far, null before the first */
  get average(): number | null {
    return this.episodeBatches > 0 ? this.episodePages / this.episodeBatches : null;
  }

  begin(pid: number): void {
    const old = this.open.get(pid);
    if (old !== undefined) this.releaseUnsized(pid, old); // the end was not traced
    this.open.set(pid, { batches: [], released: false });
  }

  /**
   * A reclaim batch flush of task `pid`: held until its episode ends when it is in one, else
   * released now. `kswapdLike`: its passes are shrink_lruvec()'s (the episodes' average applies).
   */
  add(pid: number, batch: T, kswapdLike: boolean): void {
    const ep = this.open.get(pid);
    if (ep === undefined) {
      this.release(batch, kswapdLike ? this.averaged() : this.fallen());
      return;
    }
    if (ep.released) {
      this.release(batch, this.averaged());
      return;
    }
    ep.batches.push(batch);
    if (++this.held > this.maxHeld) {
      // the oldest episode waits no longer
      const [oldPid, oldest] = this.open.entries().next().value!;
      this.releaseUnsized(oldPid, oldest);
      oldest.released = true;
      this.open.set(oldPid, oldest);
    }
  }

  /** mm_vmscan_direct_reclaim_end: the episode's batches share its nr_reclaimed (-1: not traced). */
  end(pid: number, nrReclaimed: number): void {
    const ep = this.open.get(pid);
    if (ep === undefined) return;
    this.open.delete(pid);
    const b = ep.batches;
    if (b.length === 0) return;
    if (nrReclaimed < 0 || ep.released) {
      this.releaseUnsized(pid, ep);
      return;
    }
    this.held -= b.length;
    this.sizing.episodes++;
    const q = Math.floor(nrReclaimed / b.length);
    const r = nrReclaimed - q * b.length;
    for (let i = 0; i < b.length; i++) {
      const pages = Math.min(this.cap, Math.max(1, q + (i < r ? 1 : 0)));
      this.episodePages += pages;
      this.episodeBatches++;
      this.sizing.fromEpisodes++;
      this.release(b[i]!, pages);
    }
  }

  /** End of the trace: episodes still open size their batches by the average. */
  finish(): void {
    for (const [pid, ep] of this.open) this.releaseUnsized(pid, ep);
    this.open.clear();
  }

  private releaseUnsized(pid: number, ep: Episode<T>): void {
    this.open.delete(pid);
    this.held -= ep.batches.length;
    for (const b of ep.batches) this.release(b, this.averaged());
    ep.batches = [];
  }

  /** the episodes' average pages per batch, handed out in whole pages (fractions carried); else the fallback */
  private averaged(): number {
    const avg = this.average;
    if (avg === null) return this.fallen();
    this.sizing.byAverage++;
    const want = avg + this.carry;
    const pages = Math.min(this.cap, Math.max(1, Math.round(want)));
    this.carry = want - pages;
    return pages;
  }

  private fallen(): number {
    this.sizing.byFallback++;
    return this.fallback;
  }
}

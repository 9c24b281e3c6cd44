// How many pages a reclaim batch flush stood for: from its reclaim pass when the trace shows the
// passes, else from the direct-reclaim episode it was made in.
//
// 6.12 mm/vmscan.c: shrink_lruvec() runs shrink_inactive_list() passes of min(nr[lru],
// SWAP_CLUSTER_MAX) isolated folios, nr[lru] = lru_size >> priority (get_scan_count(); DEF_PRIORITY
// = 12: 12 pages of a 50,000-page list). A pass's shrink_folio_list() unmaps its mapped folios into
// the task's batch (try_to_unmap(..., TTU_BATCH_FLUSH)) and flushes it (try_to_unmap_flush() ->
// arch_tlbbatch_flush()) every 31 freed folios and at its end; then shrink_inactive_list() emits
// mm_vmscan_lru_shrink_inactive(nr_reclaimed). So when the trace has that event, each batch flush
// of a task is followed by its pass's event, and stands for its share of the pass's nr_reclaimed
// (one share: a pass has one batch flush unless it freed more than 31 folios; then its folios are
// freed 31 at a time, each batch of them after a flush, so the flushes before the last stand for 31
// pages each and the last for the rest). This holds for kswapd and direct reclaimers alike.
//
// Without it: try_to_free_pages() is one direct-reclaim episode of a task, between
// mm_vmscan_direct_reclaim_begin and mm_vmscan_direct_reclaim_end(nr_reclaimed), and the episode's
// freed pages are the pages of its passes, so a batch flush of the episode stands for its share of
// the episode's nr_reclaimed (less what passes already sized claimed). kswapd's passes are the same
// shrink_lruvec() passes over the same lruvecs (balance_pgdat() starts at DEF_PRIORITY too), so its
// batches take the pages per batch sized so far; with none yet, or for other batches
// (MADV_PAGEOUT's reclaim_pages(): a whole page table's folios, flushed every 31 freed; compaction:
// COMPACT_CLUSTER_MAX = 32 isolated pages; neither emits the pass event), the fallback.
//
// Every share is at least 1 (a flush means a page) and at most SWAP_CLUSTER_MAX (a pass holds no
// more). It estimates the pass's mapped pages: freed pages nobody mapped (page cache read by read(2),
// slab) need no flush, and folios unmapped but kept (dirty file folios in direct reclaim) are in a
// batch and not freed.
//
// nr_reclaimed is known only after the flushes: batches wait for it. Bounded: past `maxHeld` waiting
// batches, or when a task begins an episode again without an end, or at the end of the trace, the
// waiting batches take the average (or the fallback).

/** PAGEVEC_SIZE: shrink_folio_list() frees its folios (flushing its batch first) 31 at a time */
const FREE_BATCH = 31;

export interface BatchSizing {
  /** passes (mm_vmscan_lru_shrink_inactive with nr_reclaimed) that sized batch flushes */
  passes: number;
  /** batches sized from their own pass */
  fromPasses: number;
  /** episodes that ended with an nr_reclaimed and sized batch flushes */
  episodes: number;
  /** batches sized from their own episode */
  fromEpisodes: number;
  /** batches sized by the average pages per batch (kswapd without pass events, unended episodes) */
  byAverage: number;
  /** batches sized by the fallback (nothing sized yet, other reclaimers) */
  byFallback: number;
}

interface TaskBatches<T> {
  held: T[];
  inEpisode: boolean;
  /** its episode's batches could not wait (the bound): they are sized when they come */
  released: boolean;
  /** pages the passes of its episode freed (an episode's share excludes them) */
  passPages: number;
}

export class ReclaimBatches<T> {
  private readonly tasks = new Map<number, TaskBatches<T>>();
  private held = 0;
  /** a pass event has been seen: kswapd's batches wait for theirs */
  private passesTraced = false;
  /** pages given to batches sized from their pass or episode, and those batches */
  private sizedPages = 0;
  private sizedBatches = 0;
  /** the fractional pages of average-sized batches not yet given out (the total stays exact) */
  private carry = 0;
  readonly sizing: BatchSizing = { passes: 0, fromPasses: 0, episodes: 0, fromEpisodes: 0, byAverage: 0, byFallback: 0 };

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

  /** pages per batch of the passes and episodes sized so far, null before the first */
  get average(): number | null {
    return this.sizedBatches > 0 ? this.sizedPages / this.sizedBatches : null;
  }

  /** mm_vmscan_direct_reclaim_begin */
  begin(pid: number): void {
    const t = this.task(pid);
    if (t.held.length > 0) this.releaseUnsized(t); // the end (or the pass) was not traced
    t.inEpisode = true;
    t.released = false;
    t.passPages = 0;
  }

  /**
   * A reclaim batch flush of task `pid`: held until its pass or episode ends when one will size it,
   * else released now. `kswapdLike`: its passes are shrink_lruvec()'s (the average applies).
   */
  add(pid: number, batch: T, kswapdLike: boolean): void {
    const t = this.tasks.get(pid);
    const inEpisode = t !== undefined && t.inEpisode;
    if (inEpisode && t.released) {
      this.release(batch, this.averaged());
      return;
    }
    if (!inEpisode && !(kswapdLike && this.passesTraced)) {
      this.release(batch, kswapdLike ? this.averaged() : this.fallen());
      return;
    }
    const w = t ?? this.task(pid);
    w.held.push(batch);
    if (++this.held > this.maxHeld) {
      // the task waiting longest waits no longer
      for (const o of this.tasks.values()) {
        if (o.held.length === 0) continue;
        this.releaseUnsized(o);
        if (o.inEpisode) o.released = true;
        break;
      }
    }
  }

  /** mm_vmscan_lru_shrink_inactive: the task's batches since its last pass share the pass's nr_reclaimed. */
  pass(pid: number, nrReclaimed: number): void {
    this.passesTraced = true;
    const t = this.tasks.get(pid);
    if (t === undefined) return;
    if (t.inEpisode && nrReclaimed > 0) t.passPages += nrReclaimed;
    if (t.held.length === 0) return;
    if (nrReclaimed < 0) {
      this.releaseUnsized(t);
      return;
    }
    this.sizing.passes++;
    this.sizing.fromPasses += t.held.length;
    const b = this.take(t);
    if (b.length >= 2 && nrReclaimed > FREE_BATCH) {
      // shrink_folio_list() flushed at each 31st freed folio: the last flush has what came after
      const before = Math.min(nrReclaimed - 1, FREE_BATCH * (b.length - 1));
      this.share(b.slice(0, -1), before);
      this.share(b.slice(-1), nrReclaimed - before);
    } else this.share(b, nrReclaimed);
  }

  /** mm_vmscan_direct_reclaim_end: the episode's batches no pass sized share its nr_reclaimed (-1: not traced). */
  end(pid: number, nrReclaimed: number): void {
    const t = this.tasks.get(pid);
    if (t === undefined || !t.inEpisode) return;
    t.inEpisode = false;
    if (t.held.length === 0) return;
    if (nrReclaimed < 0 || t.released) {
      this.releaseUnsized(t);
      return;
    }
    this.sizing.episodes++;
    this.sizing.fromEpisodes += t.held.length;
    this.share(this.take(t), Math.max(0, nrReclaimed - t.passPages));
  }

  /** End of the trace: batches still waiting are sized by the average. */
  finish(): void {
    for (const t of this.tasks.values()) if (t.held.length > 0) this.releaseUnsized(t);
  }

  private task(pid: number): TaskBatches<T> {
    let t = this.tasks.get(pid);
    if (t === undefined) {
      t = { held: [], inEpisode: false, released: false, passPages: 0 };
      this.tasks.set(pid, t);
    }
    return t;
  }

  /** the task's held batches, no longer held */
  private take(t: TaskBatches<T>): T[] {
    const b = t.held;
    t.held = [];
    this.held -= b.length;
    return b;
  }

  /** `pages` spread over batches `b`, 1 to `cap` each */
  private share(b: T[], pages: number): void {
    const q = Math.floor(pages / b.length);
    const r = pages - q * b.length;
    for (let i = 0; i < b.length; i++) {
      const p = Math.min(this.cap, Math.max(1, q + (i < r ? 1 : 0)));
      this.sizedPages += p;
      this.sizedBatches++;
      this.release(b[i]!, p);
    }
  }

  private releaseUnsized(t: TaskBatches<T>): void {
    for (const x of this.take(t)) this.release(x, this.averaged());
  }

  /** the average pages per sized batch, handed out in whole pages (fractions carried); else the fallback */
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

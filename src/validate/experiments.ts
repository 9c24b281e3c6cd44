// The natural experiments that check a policy estimate against a kernel that really does what the
// policy emulates (../shared/traces/README.md, ../shared/capture/counterfactual/README.md). Each
// pairs a baseline capture, on which the policy is replayed, with a capture of the same workload on
// a kernel that implements the policy's rule; the two are compared per unit of work (units.ts),
// since a slower kernel gets through less work in the same time.
//
// Capture paths are relative to a traces directory (`tlbtrace validate --traces DIR`).

export interface Experiment {
  /** `<policy>: <baseline kernel> -> <real kernel> <workload>`, unique */
  id: string;
  policy: string;
  /** the capture the policy is replayed on */
  baseline: string;
  /** the capture of a kernel that does what the policy emulates */
  real: string;
  workload: string;
  /** what the real kernel does differently from the baseline's */
  change: string;
  /** policy parameters for the replay, when the kernel implements only part of the rule */
  params?: Readonly<Record<string, string | number>>;
  /**
   * Shown, but not counted in the policy's verdict, because the real kernel is not what the policy
   * emulates (why, in one sentence).
   */
  reference?: string;
}

const CF = 'counterfactual-6.12-8cpu';

/** one-line descriptions of the counterfactual patches (../shared/capture/counterfactual/*.patch) */
const NOBATCH = 'should_defer_flush() returns false: try_to_unmap_one()/try_to_migrate_one() flush each page with ptep_clear_flush()';
const STOCK_BATCH = 'stock 6.12: reclaim and migration batch their unmap flushes (arch_tlbbatch_flush() per shrink_folio_list() pass / migrate_pages_batch() chunk)';
const NOLAZY = 'native_flush_tlb_multi() IPIs every CPU of mm_cpumask, lazy ones too (no should_flush_tlb() filter)';
const TARGETED = 'native_flush_tlb_multi() filters with should_flush_tlb() even when page tables were freed';
const PROMOTION = 'change_pte_range() does not flush when the only change is _PAGE_RW being set';

function cf(policy: string, from: string, to: string, workload: string, change: string, params?: Record<string, string | number>): Experiment {
  return { id: `${policy}: ${from} -> ${to} ${workload}`, policy, baseline: `${CF}/${from}/${workload}`, real: `${CF}/${to}/${workload}`, workload, change, ...(params ? { params } : {}) };
}

/** the `targeted` kernel changes the freed-tables clause only; Yang's table-sync targeting is not in it */
const FLUSH_CLAUSE_ONLY = { 'targeted.tableSync': 'kernel' };

/**
 * Why the nobatch kernel's migration is not the pre-6.4 migration ladder-per-page emulates: 6.4
 * brought the batching and migrate_pages_batch()'s structure together, and nobatch keeps the
 * structure (docs/validation.md).
 */
const NOBATCH_MIGRATION = 'the nobatch kernel keeps migrate_pages_batch() (6.4+): it unmaps a whole chunk of up to 512 pages, flushing each page, before moving any, so the threads touching the region fault on the chunk\'s migration entries and sleep early; no released kernel migrated that way (before 6.4 unmap_and_move() unmapped, flushed and moved one page at a time: the 6.1 experiment)';

export const EXPERIMENTS: readonly Experiment[] = [
  { ...cf('ladder-per-page', 'stock', 'nobatch', 'migrate', NOBATCH), reference: NOBATCH_MIGRATION },
  cf('ladder-per-page', 'stock', 'nobatch', 'reclaim-mmap', NOBATCH),
  {
    id: 'ladder-per-page: 6.12 -> 6.1 migrate',
    policy: 'ladder-per-page',
    baseline: 'qemu-6.12-8cpu/migrate',
    real: 'qemu-6.1-8cpu/migrate',
    workload: 'migrate',
    change: 'Debian 6.1 migrates page by page (unmap_and_move(): unmap, flush, move one page at a time), the pre-6.4 migration the policy names',
  },
  cf('batched', 'nobatch', 'stock', 'migrate', STOCK_BATCH),
  cf('batched', 'nobatch', 'stock', 'reclaim-mmap', STOCK_BATCH),
  {
    id: 'batched: 6.1 -> 6.12 migrate',
    policy: 'batched',
    baseline: 'qemu-6.1-8cpu/migrate',
    real: 'qemu-6.12-8cpu/migrate',
    workload: 'migrate',
    change: 'Debian 6.1 migrates page by page (unmap_and_move(), one ptep_clear_flush() per page); 6.12 batches (migrate_pages_batch(), 6.4+)',
  },
  cf('ladder-no-lazy-filter', 'stock', 'nolazy', 'lazy-idle', NOLAZY),
  cf('ladder-no-lazy-filter', 'stock', 'nolazy', 'mt-munmap', NOLAZY),
  cf('targeted', 'stock', 'targeted', 'lazy-idle', TARGETED, FLUSH_CLAUSE_ONLY),
  cf('targeted', 'stock', 'targeted', 'mt-munmap', TARGETED, FLUSH_CLAUSE_ONLY),
  cf('targeted', 'stock', 'targeted', 'collapse', TARGETED, FLUSH_CLAUSE_ONLY),
  cf('promotion', 'stock', 'promotion', 'mt-mprotect', PROMOTION),
];

/**
 * Policies whose rule no kernel implements, so no capture can check them: what the report says
 * instead of an error.
 */
export const NO_KERNEL: Readonly<Record<string, string>> = {
  generation: 'no kernel implements it: Nadav Amit\'s generation tracking (RFC 2021) was not merged',
  'deferred-a': 'no kernel implements it: deferring flushes of CPUs not running the mm to their next switch-in is a proposal (LATR-like), not merged',
  'deferred-b': 'no kernel implements it: deferring flushes of running CPUs to their next context switch (LATR-like) is a proposal, not merged',
};

/** What a policy's checks leave out: the part of its rule no kernel implements. */
export const UNCHECKED_PART: Readonly<Record<string, string>> = {
  targeted: 'its table-sync clause (sync IPIs only to CPUs that may walk the mm, none right after a flush of it: Lance Yang\'s series) is in no kernel; the experiments replay the flush clause alone (tableSync=kernel)',
  'ladder-per-page': 'only direct reclaim\'s batches are sized by what they freed (their episode\'s nr_reclaimed); kswapd\'s take the episodes\' average, MADV_PAGEOUT\'s and compaction\'s pagesPerBatch (SWAP_CLUSTER_MAX, the most a pass holds)',
};

/** The baseline itself: what the traced kernel did, checked against /proc/interrupts (truth.json). */
export const OBSERVED_CHECK = 'observed';

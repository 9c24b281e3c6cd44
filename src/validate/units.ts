// The unit of work each workload is compared in. Two kernels run a workload for the same time, but
// a slower one (per-page flushes under emulation cost milliseconds each) gets through less work,
// so counts are divided by the workload's own count of what it did: `workloadResult` in the
// capture's truth.json, the JSON line the workload printed (../shared/capture/qemu/workloads/).
//
// Each workload is compared in two views:
//   - every flush of the capture, per unit of work (what a user of the tool sees);
//   - only the flushes of the calls that do the work (the request causes below), per unit of that
//     work: a run's fixed costs (threads exiting: madvise(MADV_DONTNEED) of their stacks, munmap at
//     the end) do not scale with the work, and weigh most on the kernel that got through least of it.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface WorkUnit {
  /** what one unit is, for tables: "1000 pages moved" */
  label: string;
  /** why this unit: what the flushes of this workload scale with */
  why: string;
  /** units of work in one capture, from its workloadResult */
  count(result: Record<string, unknown>): number;
}

export interface WorkView {
  /** 'all flushes', or the causes the view keeps */
  name: string;
  /** request causes (observed.byCause, policies.<name>.byCause) kept; null: every flush */
  causes: readonly string[] | null;
  label: string;
  why: string;
  /** units of work in a capture directory */
  count(dir: string, result: Record<string, unknown>): Promise<number>;
  /** left out (not shown as skipped) where a capture does not have what it counts */
  optional?: boolean;
  /** shown, not counted in a policy's verdict: why the unit does not compare the kernels */
  reference?: string;
  /** the view is of each run up to this trace-clock time (seconds; null: the whole run) */
  until?(dir: string): Promise<number | null>;
}

const num = (r: Record<string, unknown>, key: string): number => {
  const v = r[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`workloadResult has no number '${key}'`);
  return v;
};

/** 4 KiB pages per MiB */
const PAGES_PER_MIB = 256;

export const UNITS: Readonly<Record<string, WorkUnit>> = {
  migrate: {
    label: '1000 pages moved',
    why: 'every iteration moves the whole region (region_mb MiB) to the other node, by move_pages() or mbind(MPOL_MF_MOVE); each moved page is unmapped once, and batching is per page moved (NR_MAX_BATCHED_MIGRATION pages per migrate_pages_batch())',
    count: (r) => (num(r, 'iterations') * num(r, 'region_mb') * PAGES_PER_MIB) / 1000,
  },
  'reclaim-mmap': {
    label: '1000 pages read',
    why: 'the readers read one byte per page of a device larger than RAM: once the page cache is full, reclaim (and the unmap flushes it makes) keeps pace with the pages read',
    count: (r) => num(r, 'pages_read') / 1000,
  },
  'lazy-idle': {
    label: 'munmap call',
    why: 'one iteration is one munmap() (3 of 4 of 64 KiB, 1 of 4 of 4 MiB that frees page tables), the only flushing call of the workload',
    count: (r) => num(r, 'iterations'),
  },
  'mt-munmap': {
    label: 'munmap call',
    why: 'one iteration is one munmap() of a region the helper threads keep touching',
    count: (r) => num(r, 'munmap_calls'),
  },
  'mt-mprotect': {
    label: 'iteration (2 mprotect calls)',
    why: 'one iteration is one mprotect() RW -> RO and one RO -> RW of a region the helpers keep touching; the promotion flush is the second of the pair',
    count: (r) => num(r, 'iterations'),
  },
  collapse: {
    label: 'collapse',
    why: 'one iteration is one successful MADV_COLLAPSE (workloadResult.collapsed), which frees one page table and broadcasts one table sync',
    count: (r) => num(r, 'collapsed'),
  },
};

/** The calls that do each workload's work: the second view's causes. */
const WORK_CAUSES: Readonly<Record<string, readonly string[]>> = {
  migrate: ['move_pages', 'mbind', 'migrate_pages'],
  'lazy-idle': ['munmap'],
  'mt-munmap': ['munmap'],
  'mt-mprotect': ['mprotect'],
  collapse: ['madvise', 'khugepaged'],
};

export function unitOf(workload: string): WorkUnit {
  const u = UNITS[workload];
  if (u === undefined) throw new Error(`no unit of work defined for workload '${workload}'`);
  return u;
}

/** The views a workload is compared in: every flush, and the work's own calls. */
export function viewsOf(workload: string): WorkView[] {
  const u = unitOf(workload);
  const all: WorkView = { name: 'all flushes', causes: null, label: u.label, why: u.why, count: async (_dir, r) => u.count(r) };
  if (workload === 'reclaim-mmap') return [{ ...all, reference: PAGES_READ_BIAS }, DIRECT_RECLAIM, RECLAIMED];
  const causes = WORK_CAUSES[workload];
  if (causes === undefined) return [all];
  return [all, { name: `${causes.join(', ')} flushes`, causes, label: u.label, why: `${u.why}; only the flushes those calls make`, count: async (_dir, r) => u.count(r) }];
}

/**
 * Why pages read do not compare two kernels on reclaim-mmap: reclaim starts only when the page cache
 * is full, and then runs at whatever pace the kernel's flushing allows (the nobatch kernel, flushing
 * page by page under emulation, read 73,480 pages in 30 s and reclaimed 5,642 of them; stock read
 * 183,552 and reclaimed 116,779): the flushes scale with the pages reclaimed, not read.
 */
const PAGES_READ_BIAS = 'per page read the kernels differ in how much of the run was reclaim (reclaim starts when the page cache is full and runs at the pace its flushing allows): the reclaim views compare them';

/**
 * reclaim-mmap, direct reclaim only: its flushes (cause `reclaim`, between
 * mm_vmscan_direct_reclaim_begin and _end) per page direct reclaim freed (`nr_reclaimed` of
 * mm_vmscan_direct_reclaim_end). Pages read is a biased unit for this workload in an 8-second run:
 * reclaim starts only when the page cache is full (about 2.3 s into both counterfactual runs), so
 * a kernel that read 20% fewer pages reclaimed several times fewer. kswapd reports no count.
 */
const DIRECT_RECLAIM: WorkView = {
  name: 'direct reclaim flushes',
  causes: ['reclaim'],
  label: '1000 pages direct reclaim freed',
  why: 'the flushes reclaim makes scale with the pages it reclaims, which the traces count for direct reclaim (nr_reclaimed of mm_vmscan_direct_reclaim_end) but not for kswapd',
  count: async (dir) => (await directReclaimPages(dir)) / 1000,
};

/**
 * reclaim-mmap while the readers ran: every reclaim flush (kswapd's and direct reclaim's) per page
 * reclaim freed, both up to the first reader's exit. The pages are the nr_reclaimed of every reclaim
 * pass (mm_vmscan_lru_shrink_inactive: over a whole recording they sum to /proc/vmstat's
 * pgsteal_kswapd + pgsteal_direct, truth.json vmstatDelta; units.test.ts), which kswapd's reclaim
 * otherwise leaves uncounted. Once the readers exit, their pages are unmapped and reclaiming them
 * needs no flush: in counterfactual-6.12-8cpu-passes/nobatch that tail is 1,451 of 5,642 pages
 * reclaimed in its last 0.3 s (stock: none), so a whole-run count mixes the workload with its
 * teardown. Captures without the pass events leave the view out.
 */
const RECLAIMED: WorkView = {
  name: 'kswapd and direct reclaim flushes while the readers ran',
  causes: ['kswapd', 'reclaim'],
  label: '1000 pages reclaimed',
  why: 'the flushes reclaim makes scale with the pages it reclaims: nr_reclaimed of the reclaim passes (mm_vmscan_lru_shrink_inactive, which sum to /proc/vmstat pgsteal), up to the first reader\'s exit (after it, reclaimed pages are unmapped and need no flush)',
  optional: true,
  count: async (dir) => (await reclaimTimeline(dir)).pagesWhileRunning / 1000,
  until: async (dir) => (await reclaimTimeline(dir)).firstExit,
};

export interface ReclaimTimeline {
  /** Σ nr_reclaimed of every mm_vmscan_lru_shrink_inactive */
  pages: number;
  /** the same up to firstExit */
  pagesWhileRunning: number;
  /** trace-clock seconds of the first `sched_process_exit: comm=reclaim-mmap`, null if none */
  firstExit: number | null;
}

const PASS = /\s(\d+\.\d+): mm_vmscan_lru_shrink_inactive: .*?\bnr_reclaimed=(\d+)/;
const READER_EXIT = /\s(\d+\.\d+): sched_process_exit: comm=reclaim-mmap\b/;
const timelines = new Map<string, Promise<ReclaimTimeline>>();

/** The reclaim passes and the readers' first exit of a reclaim-mmap capture's raw ftrace (one recording for all its formats). */
export function reclaimTimeline(dir: string): Promise<ReclaimTimeline> {
  let t = timelines.get(dir);
  if (t === undefined) {
    t = (async () => {
      const text = gunzipSync(await readFile(join(dir, 'ftrace.txt.gz'))).toString('latin1');
      const passes: Array<[number, number]> = [];
      let firstExit: number | null = null;
      for (const line of text.split('\n')) {
        if (!line.includes('mm_vmscan_lru_shrink_inactive') && !line.includes('sched_process_exit')) continue;
        const p = PASS.exec(line);
        if (p !== null) passes.push([Number(p[1]), Number(p[2])]);
        else if (firstExit === null) {
          const x = READER_EXIT.exec(line);
          if (x !== null) firstExit = Number(x[1]);
        }
      }
      let pages = 0;
      let pagesWhileRunning = 0;
      for (const [ts, n] of passes) {
        pages += n;
        if (firstExit === null || ts <= firstExit) pagesWhileRunning += n;
      }
      return { pages, pagesWhileRunning, firstExit };
    })();
    timelines.set(dir, t);
  }
  return t;
}

const NR_RECLAIMED = /mm_vmscan_direct_reclaim_end: nr_reclaimed=(\d+)/g;

/** Σ nr_reclaimed of mm_vmscan_direct_reclaim_end in a capture's raw ftrace (one recording for all its formats). */
export async function directReclaimPages(dir: string): Promise<number> {
  const text = gunzipSync(await readFile(join(dir, 'ftrace.txt.gz'))).toString('latin1');
  let n = 0;
  for (const m of text.matchAll(NR_RECLAIMED)) n += Number(m[1]);
  return n;
}

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
  if (workload === 'reclaim-mmap') return [all, DIRECT_RECLAIM];
  const causes = WORK_CAUSES[workload];
  if (causes === undefined) return [all];
  return [all, { name: `${causes.join(', ')} flushes`, causes, label: u.label, why: `${u.why}; only the flushes those calls make`, count: async (_dir, r) => u.count(r) }];
}

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

const NR_RECLAIMED = /mm_vmscan_direct_reclaim_end: nr_reclaimed=(\d+)/g;

/** Σ nr_reclaimed of mm_vmscan_direct_reclaim_end in a capture's raw ftrace (one recording for all its formats). */
export async function directReclaimPages(dir: string): Promise<number> {
  const text = gunzipSync(await readFile(join(dir, 'ftrace.txt.gz'))).toString('latin1');
  let n = 0;
  for (const m of text.matchAll(NR_RECLAIMED)) n += Number(m[1]);
  return n;
}

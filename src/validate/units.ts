// The unit of work each workload is compared in. Two kernels run a workload for the same time, but
// a slower one (per-page flushes under emulation cost milliseconds each) gets through less work,
// so counts are divided by the workload's own count of what it did: `workloadResult` in the
// capture's truth.json, the JSON line the workload printed (../shared/capture/qemu/workloads/).

export interface WorkUnit {
  /** what one unit is, for tables: "1000 pages moved" */
  label: string;
  /** why this unit: what the flushes of this workload scale with */
  why: string;
  /** units of work in one capture, from its workloadResult */
  count(result: Record<string, unknown>): number;
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
    why: 'the readers read one byte per page of a device larger than RAM: reclaim, and the unmap flushes it makes, scale with the pages read (pages_read), not with time',
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

export function unitOf(workload: string): WorkUnit {
  const u = UNITS[workload];
  if (u === undefined) throw new Error(`no unit of work defined for workload '${workload}'`);
  return u;
}

// A kernel thread's flush of one mm, told from a batch. khugepaged's collapse flush
// (pmdp_collapse_flush() -> flush_tlb_range(), freed_tables = true in 6.12) is sent from a kernel
// thread and names no mm (tlb_flush 4 with pages -1, the shape of arch_tlbbatch_flush()), so it is
// first taken for a batch. A batch never queues a lazy CPU (arch_tlbbatch_flush() always filters
// with should_flush_tlb(), the initiator included); a flush of one mm with freed page tables goes
// to every CPU of its mm_cpumask, lazy ones too, and each lazy one answers by switching to init_mm
// (tlb_flush 0). That is the evidence: a CPU lazy when it was queued, with the mm loaded, took it.
// (A CPU that went lazy after it was queued, its IPI slow to arrive, switches to init_mm on a batch
// too: the targets decide, below.)

import type { OpenRequest } from './shootdowns.js';
import { INIT_MM } from './tasks.js';
import type { CpuSnapshot, FlushRequest } from './types.js';

/**
 * A CPU lazy when the request was queued, with `mm` loaded, took it and switched to init_mm: on a
 * target (callbacks.ts) or on the initiator itself (shootdowns.ts).
 */
export function lazyTookMm(open: OpenRequest, mm: number): void {
  if (open.req.kind !== 'batched' || mm === INIT_MM || mm === 0) return;
  open.lazyTookMm ??= mm;
}

/**
 * The CPU was switching to a kernel thread when the request saw it (lazy after, not before:
 * CpuTlb.enteringLazy), so should_flush_tlb() may have found it running the mm: taking the flush
 * is no evidence.
 */
export function enteringLazy(s: CpuSnapshot, cpu: number): boolean {
  if (s.midSwitch === undefined) return false;
  for (const m of s.midSwitch) if (m.cpu === cpu) return !m.lazy && s.lazy[cpu] === 1;
  return false;
}

/**
 * At close, with the targets known (csd_queue_cpu, 6.5+, names every CPU queued), the evidence of
 * lazyTookMm() decides if the targets are what an unfiltered flush of that mm reaches: every other
 * CPU the request saw with the mm loaded, lazy or not, and only those (a batch flush that a CPU
 * took lazily because its IPI came late, or that the model wrongly thought lazy, reaches only some
 * of them, or CPUs running other mms). Then it is that mm's flush, with freed tables.
 */
export function settleKthreadMm(open: OpenRequest): void {
  const req = open.req;
  const mm = open.lazyTookMm;
  if (mm === undefined || req.kind !== 'batched' || open.batchLocal) return;
  const s = req.snapshot;
  const hit = new Set<number>();
  for (const t of req.targets) {
    // a target the model saw in init_mm contradicts both readings: no evidence either way
    if (s.loadedMm[t.cpu] !== mm && s.loadedMm[t.cpu] !== INIT_MM) return;
    hit.add(t.cpu);
  }
  for (let i = 0; i < s.loadedMm.length; i++) if (i !== req.cpu && s.loadedMm[i] === mm && !hit.has(i)) return;
  req.kind = 'remote';
  req.mm = mm;
  req.freedTables = true;
  open.mmFromTargets = true;
  maskFromTargets(req);
}

/** mm_cpumask of a request whose mm came from its targets: on_each_cpu_mask() reached all of it. */
function maskFromTargets(req: FlushRequest): void {
  const s = req.snapshot;
  if (s.lazyMask.length === 0) return;
  for (const t of req.targets) {
    if (t.cpu >= s.lazyMask.length) continue;
    s.lazyMask[t.cpu] = 1;
    s.preciseMask[t.cpu] = 1;
  }
  if (s.loadedMm[req.cpu] === req.mm) {
    s.lazyMask[req.cpu] = 1;
    s.preciseMask[req.cpu] = 1;
  }
}

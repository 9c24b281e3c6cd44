// The cost model turning avoided shootdowns/IPIs and added full flushes into CPU time. Every number
// is a user parameter (`--cost key=value`); the defaults and their sources are printed in every summary.

import type { CostModel } from '../summary/schema.js';

export const DEFAULT_COST: CostModel = {
  // Sending an IPI and waiting for the target's acknowledgement; bare-metal x86 figures are a few
  // microseconds, virtualised guests (VM exits) are slower. Set it from your own measurements.
  ipiRoundTripNs: 2000,
  // arch/x86/mm/tlb.c: "Each single flush is about 100 ns" (tlb_single_page_flush_ceiling comment).
  perEntryInvalidationNs: 100,
  // Refilling the TLB after a full flush: page walks for the working set. Depends on the workload.
  fullFlushRefillNs: 5000,
  sources: {
    ipiRoundTripNs: 'user parameter; default 2 us, a typical bare-metal x86 IPI round trip (much higher under emulation)',
    perEntryInvalidationNs: 'arch/x86/mm/tlb.c, tlb_single_page_flush_ceiling comment: each single-page flush ~100 ns',
    fullFlushRefillNs: 'user parameter; default 5 us of page walks to refill the TLB after a full flush',
  },
};

export function parseCostOverrides(pairs: string[]): Partial<CostModel> {
  const out: Record<string, number> = {};
  for (const p of pairs) {
    const [k, v] = p.split('=');
    if (k === undefined || v === undefined || !(k in DEFAULT_COST) || k === 'sources' || !Number.isFinite(Number(v)) || Number(v) < 0) {
      throw new Error(`bad --cost '${p}': expected one of ipiRoundTripNs, perEntryInvalidationNs, fullFlushRefillNs = a non-negative number of ns`);
    }
    out[k] = Number(v);
  }
  return out as Partial<CostModel>;
}

// P0 observed (DOMAIN.md §5): the kernel that produced the trace, replayed through the same
// accounting as every other policy. It must reproduce the observed section exactly:
//   shootdowns = remote flush_tlb_func callbacks that ran (csd_function_entry with a non-NULL csd,
//                or a remote tlb_flush 1/5/0 on kernels without csd events) = observed.remoteShootdowns.total;
//   ipis       = TLB IPIs (ipi_send_cpu / popcount of ipi_send_cpumask for flush_tlb_func and
//                tlb_remove_table_smp_sync callbacks) = observed.ipis.tlb.
// Its figures are the baseline every "avoided" column is measured against, and its extra fields
// break the waste down: callbacks that did nothing, and tlb_flush 4 with no target at all.

import type { FlushRequest } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { Tally } from './replay.js';

export const observed: PolicyDefinition = {
  name: 'observed',
  title: 'P0 observed (the traced kernel)',
  rule: 'What the traced kernel did: flush_tlb_mm_range() -> native_flush_tlb_multi() -> on_each_cpu_cond_mask(should_flush_tlb) (or the unfiltered mask when page tables were freed), arch_tlbbatch_flush() for reclaim, tlb_remove_table_sync_one() for table frees.',
  source: 'arch/x86/mm/tlb.c of the traced kernel',
  risk: 'safe',
  riskReason: 'it is what the kernel did',
  params: [],
  create(ctx) {
    const tally = new Tally(ctx);
    // wasted callbacks by kind (the same classes as observed.wasted, from the requests' targets)
    const wasted = { remoteWrongCpu: 0, remoteZeroPages: 0, emptyCallback: 0, lazySwitchToInitMm: 0, tableSync: 0 };
    let phantom = 0;
    let tableSyncRequests = 0;

    function onRequest(req: FlushRequest): void {
      tally.observe(req);
      tally.keepAsObserved(req);
      if (req.kind === 'tableSync') tableSyncRequests++;
      if (req.kind === 'remote' && req.targets.length === 0) phantom++; // every CPU filtered by should_flush_tlb()
      for (const t of req.targets) {
        if (t.outcome === 'wrongCpu') wasted.remoteWrongCpu++;
        else if (t.outcome === 'zero') wasted.remoteZeroPages++;
        else if (t.outcome === 'empty') wasted.emptyCallback++;
        else if (t.outcome === 'switchToInitMm') wasted.lazySwitchToInitMm++;
        else if (t.outcome === 'tableSync') wasted.tableSync++;
      }
    }

    return {
      reads: ['request'],
      onEvent(e) {
        if (e.type === 'request') onRequest(e.req);
      },
      finish() {
        Object.assign(tally.extra, {
          wastedRemoteWrongCpu: wasted.remoteWrongCpu,
          wastedRemoteZeroPages: wasted.remoteZeroPages,
          wastedEmptyCallback: wasted.emptyCallback,
          wastedLazySwitchToInitMm: wasted.lazySwitchToInitMm,
          wastedTableSync: wasted.tableSync,
          phantomRequests: phantom,
          tableSyncRequests,
        });
        return tally.outcome(false);
      },
    };
  },
};

// vmscan:mm_vmscan_* markers: which task is reclaiming (cause attribution of batched flushes), how
// many pages a direct-reclaim episode freed, and where each reclaim pass ends and what it freed
// (reclaim batch boundaries and sizes: src/policies/batched.ts, src/policies/reclaim-batches.ts).

import type { VmscanEvent } from '../types.js';
import type { PayloadParser } from './context.js';
import { expect, readInt } from './scan.js';

// ---------------------------------------------------------------------------------------------
// vmscan: markers (`nid=0 order=0`, `order=0 gfp_flags=..`), any payload accepted. The
// `nr_reclaimed=36` of mm_vmscan_direct_reclaim_end (its whole payload) and of
// mm_vmscan_lru_shrink_inactive (`nid=0 nr_scanned=32 nr_reclaimed=30 nr_dirty=0 ... priority=12
// flags=RECLAIM_WB_FILE|RECLAIM_WB_ASYNC`, include/trace/events/vmscan.h) is read when it is there
// (every tool prints it so), else -1.

export function vmscan(kind: VmscanEvent['kind']): PayloadParser {
  const end = kind === 'mm_vmscan_direct_reclaim_end';
  const pass = kind === 'mm_vmscan_lru_shrink_inactive';
  return (s, p, h) => {
    let nrReclaimed = -1;
    // the end's payload is `nr_reclaimed=N`; a pass's has it after `nid=.. nr_scanned=..`
    let q = -1;
    if (end) q = expect(s, p, 'nr_reclaimed=');
    else if (pass) {
      const at = s.indexOf(' nr_reclaimed=', p);
      if (at >= 0) q = at + ' nr_reclaimed='.length;
    }
    if (q >= 0) {
      const v = readInt(s, q);
      if (v === v && v >= 0) nrReclaimed = v;
    }
    return { kind, ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line, nrReclaimed };
  };
}

// vmscan:mm_vmscan_* markers: which task is reclaiming (cause attribution of batched flushes), and
// how many pages a direct-reclaim episode freed (reclaim batch sizes: src/policies/reclaim-episodes.ts).

import type { VmscanEvent } from '../types.js';
import type { PayloadParser } from './context.js';
import { expect, readInt } from './scan.js';

// ---------------------------------------------------------------------------------------------
// vmscan: markers (`nid=0 order=0`, `order=0 gfp_flags=..`), any payload accepted; of
// mm_vmscan_direct_reclaim_end the `nr_reclaimed=36` (pages the episode freed) is read when it is
// there (every tool prints it so), else -1.

export function vmscan(kind: VmscanEvent['kind']): PayloadParser {
  const end = kind === 'mm_vmscan_direct_reclaim_end';
  return (s, p, h) => {
    let nrReclaimed = -1;
    if (end) {
      const q = expect(s, p, 'nr_reclaimed=');
      const v = q < 0 ? NaN : readInt(s, q);
      if (v === v && v >= 0) nrReclaimed = v;
    }
    return { kind, ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line, nrReclaimed };
  };
}

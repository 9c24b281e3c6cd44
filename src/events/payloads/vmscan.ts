// vmscan:mm_vmscan_* markers: which task is reclaiming (cause attribution of batched flushes).

import type { VmscanEvent } from '../types.js';
import type { PayloadParser } from './context.js';

// ---------------------------------------------------------------------------------------------
// vmscan: markers only (`nid=0 order=0`, `order=0 gfp_flags=..`, `nr_reclaimed=36`); the payload
// is not needed, so any payload is accepted.

export function vmscan(kind: VmscanEvent['kind']): PayloadParser {
  return (_s, _p, h) => ({ kind, ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line });
}

// P4 deferred to next switch, variant B (DOMAIN.md §5): variant A (deferred-a.ts) plus CPUs that RUN
// the mm, for the flush classes that allow it, flushed at that CPU's next context switch (LATR
// defers to the next switch or tick):
//   - writeProtect (mprotect, fork's copy-on-write write-protect): a stale TLB entry of a CLEAN page
//     still faults on x86 when the CPU needs to set the dirty bit and re-walks the PTE, so the write is
//     caught; a dirty entry keeps writing. Arch-dependent, and the trace cannot tell clean from dirty.
//   - unmap (munmap, madvise, mremap, reclaim, migration, exit ...): the running CPU keeps reading and
//     writing a page that may already be freed and reused. Unsafe.
// The classes are chosen with the `classes` parameter; requests that freed page tables are never
// deferred on running or lazy CPUs. The cost is the same as A: a full flush at the deferred CPU's next
// switch, and an unbounded delay.

import type { FlushRequest } from '../model/types.js';
import type { PolicyDefinition } from './policy.js';
import { flushClass, replayDeferred } from './deferred-a.js';

export const deferredB: PolicyDefinition = {
  name: 'deferred-b',
  title: 'P4b deferred to next switch, running CPUs too (LATR-like)',
  rule: 'Variant A, and CPUs running the mm are not interrupted either for write-protect and unmap flushes: they flush fully at their next context switch.',
  source: 'LATR (Kumar et al., ASPLOS 2018); DOMAIN.md §5 P4',
  risk: 'unsafe',
  riskReason: 'a running CPU keeps using stale translations until its next switch: for unmaps it can touch freed pages (unsafe); for write-protect only clean entries are caught by the hardware (arch-dependent)',
  params: [
    { key: 'classes', default: 'writeProtect,unmap', description: 'flush classes whose running CPUs are deferred: writeProtect (arch-dependent), unmap (unsafe)' },
  ],
  create(ctx) {
    const classes = new Set(String(ctx.params.classes).split(',').map((s) => s.trim()));
    return replayDeferred(ctx, (req: FlushRequest) => {
      const cls = flushClass(req.cause);
      return cls !== 'unknown' && classes.has(cls);
    });
  },
};

// V8 settings of the CLI process, set before any analysis code has run (main.ts imports this
// module first). They apply to the whole process, worker threads included.
//
// Allocation-site pretenuring off: V8 watches which allocation sites' objects survive young-
// generation collections and allocates the objects of sites that look long-lived straight in old
// space. A trace's event and request objects mostly die within a batch, but the decision is made
// on samples, and on some runs old space then fills with garbage: ~8 MB more heap after each
// scavenge (7-8 ms each instead of ~1), 100-130 MB of old space between full collections that
// leave 20-30 MB live, a peak RSS of 205-292 MB instead of ~175 MB. Measured on 5 copies of
// sng-munmap trace.dat, alternating runs on a 2-vCPU VM: over 200 MB in 8 of 53 runs with V8's
// default, in 1 of 55 without (209 MB; the others at most 199 MB), the same CPU time. It changes
// where objects are allocated, never what is computed.
//
// Heap growing factor 2: after each full collection V8 lets old space grow to a multiple of what
// survived before the next one, and with collections as cheap as ours (a trace's live state is
// 20-30 MB; mutator utilisation 0.99) it picks its largest factor, about 4: old space filled to
// 110 MB of dead objects between collections that kept 28-32 MB, a peak RSS of 221-246 MB on 5
// copies of sng-munmap trace.dat (Node 20, 2026-12-06). With the factor fixed at 2 (100% growth)
// the same runs peak at 180-186 MB, with 12 full collections instead of 5 and no measurable change
// in CPU time; 10 copies of its text on stdin 147 MB instead of 180-190 MB. Unlike the sizes of
// the heap's spaces, V8 reads this flag at every collection, so setting it here takes effect.
// (Node 26's young generation is twice Node 20's and can only be sized at start-up: it peaks
// about 60 MB higher on the same input.)

import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-allocation-site-pretenuring');
setFlagsFromString('--heap-growing-percent=100');

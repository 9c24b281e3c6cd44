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

import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-allocation-site-pretenuring');

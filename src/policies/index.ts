// The policy registry: adding a policy is one file in this folder plus one line here.
// Order is the order reports list them: the baseline, the proposals (P1-P5), then the ladder of
// older kernels.
import { batched } from './batched.js';
import { deferredA } from './deferred-a.js';
import { deferredB } from './deferred-b.js';
import { generation } from './generation.js';
import { ladderNoLazyFilter } from './ladder-no-lazy-filter.js';
import { ladderPerPage } from './ladder-per-page.js';
import { observed } from './observed.js';
import type { PolicyDefinition } from './policy.js';
import { promotion } from './promotion.js';
import { targeted } from './targeted.js';

export const POLICIES: PolicyDefinition[] = [
  observed,
  generation,
  targeted,
  batched,
  deferredA,
  deferredB,
  promotion,
  ladderPerPage,
  ladderNoLazyFilter,
];

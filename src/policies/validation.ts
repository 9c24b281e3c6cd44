// What each policy's summary entry says about whether its rule was checked against a kernel that
// really does what it emulates. The verdicts are written by the validation harness (`tlbtrace
// validate --write`, src/validate/) into validation.generated.ts; nothing here is typed in by hand.

import type { PolicyValidation } from '../summary/schema.js';
import { VALIDATION } from './validation.generated.js';

const NOT_CHECKED: PolicyValidation = { status: 'not-checked', text: 'not checked against a real kernel', experiments: [] };

/** The validation of a registered policy (a policy added since the table was written: not checked). */
export function validationOf(policy: string): PolicyValidation {
  return VALIDATION[policy] ?? NOT_CHECKED;
}

// The one interface every flush policy implements. A policy is replayed in the same single pass as
// the observed model: it receives the model's time-ordered stream (complete flush requests with the
// CPU state at request time, context switches, syscalls, mm exits) and counts what the kernel would
// have done under its rule. See ../shared/DOMAIN.md §5 for each rule and its caveats.

import type { CostModel, PolicyResult } from '../summary/schema.js';
import type { ModelContext, ModelEvent } from '../model/types.js';
import type { DistributionBuilder } from '../model/distribution.js';

export type Risk = PolicyResult['risk'];
export type ParamValue = number | string | boolean;

export interface ParamSpec {
  key: string;
  default: ParamValue;
  description: string;
}

/** Static description: shown by `tlbtrace policies`. */
export interface PolicyDefinition {
  /** CLI name: observed, generation, targeted, batched, deferred-a, deferred-b, promotion, ladder-per-page, ladder-no-lazy-filter */
  name: string;
  title: string;
  /** the rule in one or two sentences, in the kernel's words */
  rule: string;
  /** where the idea comes from (commit, RFC, thread) */
  source: string;
  risk: Risk;
  riskReason: string;
  params: ParamSpec[];
  create(ctx: PolicyContext): PolicyRun;
}

export interface PolicyContext {
  /** model facts (CPU count grows while reading: read it when needed, not once) */
  model: ModelContext;
  /** this policy's parameters, defaults merged with `--param key=value` */
  params: Record<string, ParamValue>;
  cost: CostModel;
  /** per-time-bucket counters for the report's "policy vs observed over time" chart */
  series: { add(key: 'shootdowns' | 'ipis', ts: number, n?: number): void };
}

/** What the policy fills in; the runner adds name/title/risk/params and the avoided figures. */
export interface PolicyOutcome {
  requests: number;
  shootdowns: number;
  ipis: number;
  /** what `ipis` counts: hardware IPIs by their sender (ipi_send_*, 6.4+) or where they arrived
   * (call_function vectors, before 6.4), nothing, or none exist (hypercall flushing) */
  unit: 'ipi' | 'vectors' | 'none' | 'hypercall';
  /** requests that flushed at least one other CPU and the CPUs they flushed (IPI or hypercall), under the policy and as traced */
  remote: { requests: number; cpus: number; baseRequests: number; baseCpus: number };
  rangedToFull: number;
  fullFlushesAdded: number;
  /** deferral delays in microseconds (request -> actual flush on that CPU); null if the policy defers nothing */
  deferralDelayUs: DistributionBuilder | null;
  /** estimated CPU time saved against observed, microseconds (negative = costs more) */
  cpuTimeSavedUs: number;
  extra: Record<string, number | string | boolean | null>;
  notes: string[];
  /** shootdowns and IPIs by the cause of the requests they were sent for (Tally.send's `cause`), when the policy says */
  byCause?: Array<{ cause: string; shootdowns: number; ipis: number }>;
}

export interface PolicyRun {
  /**
   * The event types onEvent() does anything with; absent means all. The pipeline routes only
   * these: a madvise storm is a million syscall events that most policies never look at.
   */
  readonly reads?: ReadonlyArray<ModelEvent['type']>;
  /**
   * Syscalls whose every entry this policy must see (promotion: mprotect, munmap, ...); only this
   * policy and others naming them get them one by one. Entries of other syscalls (and, for policies
   * that do not name them, of these too) are coalesced per task: of a run of one task's entries
   * with no other model event in between, only the last one arrives. A policy may keep of those
   * only per-task "last entry" state (its time, its advice), which the last entry of the run decides.
   */
  readonly everySyscall?: ReadonlyArray<string>;
  /** One model event. A syscall event object may be reused for the next entry: keep its fields, not it. */
  onEvent(e: ModelEvent): void;
  finish(): PolicyOutcome;
}

// The JSON summary contract, `tlbtrace.summary/1`: what `tlbtrace analyze --json` prints, what
// reports are re-rendered from and what `tlbtrace check` compares. Named fields are stable: later
// work adds fields, never renames them (renaming is a breaking change and a new schema version).
//
// Counts keyed by CPU or reason use string keys ("0", "1", ...) because JSON object keys are strings.

import { z } from 'zod';

export const SUMMARY_SCHEMA = 'tlbtrace.summary/1';

const countByKey = z.record(z.string(), z.number());

/** A distribution of a duration (microseconds) or a count, small enough to keep in JSON. */
export const Distribution = z.object({
  count: z.number(),
  min: z.number().nullable(),
  p50: z.number().nullable(),
  p90: z.number().nullable(),
  p99: z.number().nullable(),
  max: z.number().nullable(),
  mean: z.number().nullable(),
  /** histogram buckets: count of values <= le (exclusive of the previous bucket); le = null is +inf */
  histogram: z.array(z.object({ le: z.number().nullable(), count: z.number() })),
});
export type Distribution = z.infer<typeof Distribution>;

const WarningExample = z.object({ file: z.string(), line: z.number(), code: z.string(), message: z.string() });

export const CpuHistory = z.object({
  cpu: z.number(),
  events: z.number(),
  /** `[LOST N EVENTS]` markers / lost-events flags seen on this CPU (sum of N; -1 in a marker counts 0) */
  lostEvents: z.number(),
  lostMarkers: z.number(),
  /** seconds: first event of this CPU; with a lossy ring buffer the history before it is unknown */
  firstTs: z.number().nullable(),
  lastTs: z.number().nullable(),
  /** true when this CPU's oldest events were overwritten (its history starts later than the trace) */
  historyCut: z.boolean(),
});

export const InputSection = z.object({
  files: z.array(z.string()),
  format: z.enum(['ftrace', 'trace-cmd', 'perf-script', 'trace-dat']),
  events: z.number(),
  eventsByType: countByKey,
  eventsByCpu: countByKey,
  cpus: z.number(),
  /** CPU count the trace header declared (`#P:2`, `cpus=8`), null if none */
  declaredCpus: z.number().nullable(),
  firstTs: z.number().nullable(),
  lastTs: z.number().nullable(),
  durationSec: z.number(),
  /** whether a TGID column told us each task's process; if not, mms are inferred from pids */
  tgidKnown: z.boolean(),
  /** which event families the kernel emitted: decides the pairing method and exactness */
  vocabulary: z.object({ csd: z.boolean(), ipi: z.boolean(), reason5: z.boolean(), callFunctionVectors: z.boolean() }),
  lost: z.object({
    any: z.boolean(),
    entriesInBuffer: z.number().nullable(),
    entriesWritten: z.number().nullable(),
    perCpu: z.array(CpuHistory),
    note: z.string().nullable(),
  }),
  truncated: z.boolean(),
  warnings: z.object({ total: z.number(), byCode: countByKey, examples: z.array(WarningExample) }),
  /**
   * TLB events (`system:event`, src/events/catalogue.ts TLB_FAMILIES) of which the trace has none.
   * `tlb:tlb_flush` among them means the trace was recorded without the TLB events: every count is
   * zero for want of events (blindSpots says so, with the command that records them). Absent in
   * older summaries.
   */
  tlbEventsMissing: z.array(z.string()).optional(),
  /**
   * The time window analyzed (`analyze --from/--to`, seconds of the trace clock; null: that end
   * open). Absent when the whole trace was: every count above and below is of the window only.
   */
  window: z.object({ from: z.number().nullable(), to: z.number().nullable() }).optional(),
});

export const WastedKinds = z.object({
  /** remote `tlb_flush 5`: IPI'd a CPU that no longer had the mm loaded */
  remoteWrongCpu: z.number(),
  /** remote `tlb_flush 1 pages=0`: already caught up */
  remoteZeroPages: z.number(),
  /** csd_function_entry/exit of flush_tlb_func with nothing between */
  emptyCallback: z.number(),
  /** a lazy CPU switching to init_mm on the IPI (`tlb_flush 0` inside the handler) */
  lazySwitchToInitMm: z.number(),
  /** `tlb_remove_table_smp_sync` callbacks: IPIs to every CPU for page-table-free sync */
  tableSync: z.number(),
});

export const MmRow = z.object({
  mm: z.string(),
  comm: z.string(),
  tgid: z.number(),
  requests: z.number(),
  shootdowns: z.number(),
  ipis: z.number(),
  wasted: z.number(),
});

export const CauseRow = z.object({ cause: z.string(), requests: z.number(), shootdowns: z.number(), ipis: z.number(), wasted: z.number() });

/** How remote flushes reached other CPUs (src/model/delivery.ts). */
export const Mechanism = z.object({
  /**
   * 'ipi': flush callbacks ran on other CPUs by IPI; 'hypercall': requests needed other CPUs and
   * none ever got a callback (a hypervisor flushed them: PVM, Hyper-V, Xen); 'none': no request
   * needed another CPU; 'unknown': no csd events (before 6.5), so the trace cannot tell
   */
  kind: z.enum(['ipi', 'hypercall', 'none', 'unknown']),
  /** remote mm requests by how they reached the CPUs should_flush_tlb() picks: all by IPI, part of them, none, none needed, state unknown */
  requests: z.object({ ipi: z.number(), partial: z.number(), noIpi: z.number(), filtered: z.number(), unknown: z.number() }),
  /** requests that flushed at least one other CPU, whatever the mechanism */
  remoteFlushRequests: z.number(),
  /** other CPUs those requests flushed (for a hypercall: the CPUs should_flush_tlb() picks) */
  cpusFlushed: z.number(),
  note: z.string(),
});
export type Mechanism = z.infer<typeof Mechanism>;

export const ObservedSection = z.object({
  tlbFlush: z.object({
    total: z.number(),
    /** keys "0".."5" always present */
    byReason: countByKey,
    /** per reason: full (-1), ranged (N > 0), zero (0) */
    byReasonPages: z.record(z.string(), z.object({ full: z.number(), ranged: z.number(), zero: z.number() })),
  }),
  /** flush requests: `tlb_flush 4` plus direct local `tlb_flush 3` outside a callback */
  requests: z.number(),
  requestsByKind: z.object({ remote: z.number(), localOnly: z.number(), batched: z.number() }),
  /** `tlb_flush 4` with no target queued: every CPU was filtered by should_flush_tlb */
  phantomRequests: z.number(),
  remoteShootdowns: z.object({
    total: z.number(),
    /** flush callbacks delivered by IPI and run on that CPU, wasted ones included (= /proc/interrupts TLB) */
    byCpu: countByKey,
    /** false when the kernel's vocabulary only allows a lower bound (no csd events) */
    exact: z.boolean(),
    pairing: z.enum(['csd', 'vector', 'window']),
    /** handlers we could not match to a request, and queued targets whose handler we never saw */
    unpairedHandlers: z.number(),
    unansweredTargets: z.number(),
    /** flush outcomes on the target: keys 'ranged', 'full', 'zero', 'wrongCpu', 'switchToInitMm', 'empty' */
    byOutcome: countByKey,
  }),
  ipis: z.object({
    /** hardware IPIs: 1 per ipi_send_cpu, popcount per ipi_send_cpumask; without ipi_send_* (before
     * 6.4), the call_function vectors the CPUs entered */
    total: z.number(),
    /** IPIs whose queued callbacks include TLB work (flush_tlb_func, table sync, kernel flushes);
     * without ipi_send_*, the vectors that ran a flush callback */
    tlb: z.number(),
    byCpu: countByKey,
    /** call_function[_single] vectors each CPU entered (IPIs received, of every kind), when traced:
     * what /proc/interrupts "Function call interrupts" counts (crossCheck.ipis) */
    vectorsByCpu: countByKey.optional(),
    /** callbacks run on remote CPUs, by class: flush_tlb_func, tlb_remove_table_smp_sync, do_flush_tlb_all, do_kernel_range_flush, other */
    callbacksByClass: countByKey,
  }),
  wasted: z.object({ total: z.number(), byKind: WastedKinds }),
  /** targets per remote request (observed csd_queue_cpu targets) */
  fanout: z.array(z.object({ targets: z.number(), requests: z.number() })),
  /** request (initiator's reason 4) -> target handler entry, microseconds */
  latencyUs: Distribution,
  topMms: z.array(MmRow),
  byCause: z.array(CauseRow),
  /** how remote flushes reached other CPUs; absent in older summaries */
  mechanism: Mechanism.optional(),
});

export const ModelSection = z.object({
  fidelity: z.object({
    /** share of remote requests whose predicted target set equals the observed csd_queue_cpu set (0..1), null if none compared */
    targets: z.number().nullable(),
    targetsCompared: z.number(),
    targetMismatches: countByKey,
    /** share of switch-ins whose predicted flush (full vs none) matched reason 0's pages */
    switchFlush: z.number().nullable(),
    switchCompared: z.number(),
    note: z.string().nullable(),
    /** switch-in predictions that missed, by `predicted X, observed Y` */
    switchMismatches: countByKey.optional(),
    /** requests not compared, by reason (e.g. a CPU whose loaded mm was not known yet) */
    targetsSkipped: countByKey.optional(),
  }),
  mms: z.number(),
  /** the generation counts are lower bounds of the kernel's tlb_gen (increments without events exist) */
  generationsAreEstimates: z.boolean(),
  attribution: z.enum(['tgid', 'inferred-from-pid']),
  /** forks that handed out a pid the trace had already shown (pid_max wrapped); absent in older summaries */
  pidsReused: z.number().optional(),
  /** with attribution 'inferred-from-pid': forks whose child was put in its parent's mm at the fork
   * (a CLONE_VM clone, a vfork, or a clone3 that did not flush the parent: src/model/tasks.ts); absent in older summaries */
  forksSharingMm: z.number().optional(),
});

/**
 * Whether a policy's rule was checked against a kernel that really does what it emulates
 * (`tlbtrace validate`, docs/validation.md): the policy replayed on a baseline capture, compared per
 * unit of work with a capture of the same workload on that kernel.
 */
export const PolicyValidation = z.object({
  /** 'checked': compared with a real kernel; 'no-kernel': no kernel implements the rule; 'not-checked': none of its experiments could be run */
  status: z.enum(['checked', 'no-kernel', 'not-checked']),
  /** one line for tables, e.g. "checked on 2 experiments: shootdowns 0.91-1.05x, IPIs 0.88-1.10x of the real kernel" */
  text: z.string(),
  experiments: z.array(
    z.object({
      id: z.string(),
      /** capture the policy was replayed on, and the capture of the kernel that implements it */
      baseline: z.string(),
      real: z.string(),
      unit: z.string(),
      /** estimate / real per unit of work, keyed by the format the captures were read from (null: the real count is 0 or unknown) */
      shootdownsError: z.record(z.string(), z.number().nullable()),
      ipisError: z.record(z.string(), z.number().nullable()),
    }),
  ),
});
export type PolicyValidation = z.infer<typeof PolicyValidation>;

export const PolicyResult = z.object({
  name: z.string(),
  title: z.string(),
  risk: z.enum(['safe', 'arch-dependent', 'unsafe']),
  riskReason: z.string(),
  requests: z.number(),
  shootdowns: z.number(),
  ipis: z.number(),
  avoidedShootdowns: z.number(),
  avoidedIpis: z.number(),
  /** % of observed; negative when the policy costs more than what happened */
  avoidedShootdownsPct: z.number().nullable(),
  avoidedIpisPct: z.number().nullable(),
  rangedToFull: z.number(),
  fullFlushesAdded: z.number(),
  deferralDelayUs: Distribution.nullable(),
  /** estimated CPU time saved (negative: cost) from the cost model, microseconds */
  cpuTimeSavedUs: z.number(),
  /**
   * what `ipis` counts: hardware IPIs counted by their sender ('ipi': ipi_send_*, 6.4+) or where
   * they arrived ('vectors': call_function vectors that ran a flush callback, before 6.4), nothing
   * countable ('none'), or nothing that exists ('hypercall': the machine flushes other CPUs by
   * hypercall; shootdowns and IPIs are 0 and the estimate is in remoteFlushes); absent in older
   * summaries. 'callbacks' (one per remote callback before 6.4) is what older summaries said
   * instead of 'vectors'.
   */
  ipiUnit: z.enum(['ipi', 'vectors', 'callbacks', 'none', 'hypercall']).optional(),
  /** requests that flush at least one other CPU under the policy, the CPUs they flush (IPI or hypercall), and how many fewer than as traced */
  remoteFlushes: z.object({ requests: z.number(), cpus: z.number(), avoidedRequests: z.number(), avoidedCpus: z.number() }).optional(),
  /** policy-specific figures (bounds, undecidable counts, ...) */
  extra: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  notes: z.array(z.string()),
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  /** checked against a real kernel? (absent in summaries before it was added) */
  validation: PolicyValidation.optional(),
  /**
   * shootdowns and IPIs by the cause of the requests they were sent for (munmap, move_pages,
   * kswapd, ...), like observed.byCause; callbacks of no visible request are not in it (absent in
   * older summaries)
   */
  byCause: z.array(z.object({ cause: z.string(), shootdowns: z.number(), ipis: z.number() })).optional(),
});
export type PolicyResult = z.infer<typeof PolicyResult>;

export const SeriesSection = z.object({
  bucketSec: z.number(),
  /** observed per time bucket; t = bucket start in seconds since the first event */
  observed: z.array(z.object({ t: z.number(), requests: z.number(), shootdowns: z.number(), ipis: z.number(), wasted: z.number() })),
  perCpu: z.array(z.object({ t: z.number(), cpu: z.number(), shootdowns: z.number() })),
  policies: z.array(z.object({ t: z.number(), policy: z.string(), shootdowns: z.number(), ipis: z.number() })),
});

export const CostModel = z.object({
  ipiRoundTripNs: z.number(),
  perEntryInvalidationNs: z.number(),
  fullFlushRefillNs: z.number(),
  sources: z.record(z.string(), z.string()),
});

/**
 * The model's remote flush callbacks per CPU against the kernel's own count, the `TLB:` line of
 * /proc/interrupts read around the recording (capture.json of `tlbtrace record`, or truth.json of
 * ../shared/traces). Present when the input was such a capture directory.
 */
export const CrossCheck = z.object({
  /** the file the counters come from */
  file: z.string(),
  source: z.enum(['capture.json', 'truth.json']),
  /**
   * agree: within tolerance on every CPU; lower-bound: the model may count less (no csd events)
   * and does not count more; disagree: some CPU is off; no-counter: the kernel has no TLB line
   */
  verdict: z.enum(['agree', 'lower-bound', 'disagree', 'no-counter']),
  /** both sides zero on every CPU: the agreement says nothing by itself, `reason` says why */
  trivial: z.boolean(),
  /** why the verdict is what it is, when more than "the numbers match": lost events, a hypercall-flushing VM, ... */
  reason: z.string().nullable(),
  /** how remote TLB flushes reached other CPUs, as far as this check can tell */
  flushBy: z.enum(['ipi', 'hypercall', 'unknown']),
  /** allowed difference per CPU (the counters are read just outside the tracing window) */
  tolerance: z.string(),
  perCpu: z.array(z.object({ cpu: z.number(), model: z.number(), counter: z.number(), diff: z.number(), ok: z.boolean() })),
  model: z.number(),
  counter: z.number().nullable(),
  /** remote flush requests in the trace (tlb_flush reason 4) */
  remoteRequests: z.number(),
  /** per-CPU "Function call interrupts" delta, when known (IPIs of every kind, TLB ones included) */
  calIrqDeltaPerCpu: z.array(z.number()).nullable(),
  /**
   * The call_function vectors the trace shows each CPU entering against that counter: are the IPIs
   * the trace shows all the CPUs received? agree: within `tolerance` on every CPU; disagree: some
   * CPU is off; not-traced: no irq_vectors:call_function* events; no-counter: no CAL delta.
   */
  ipis: z
    .object({
      verdict: z.enum(['agree', 'disagree', 'not-traced', 'no-counter']),
      model: z.number(),
      counter: z.number().nullable(),
      perCpu: z.array(z.object({ cpu: z.number(), model: z.number(), counter: z.number(), diff: z.number(), ok: z.boolean() })),
      tolerance: z.string(),
      reason: z.string().nullable(),
    })
    .optional(),
});
export type CrossCheck = z.infer<typeof CrossCheck>;

export const Summary = z.object({
  schema: z.literal(SUMMARY_SCHEMA),
  tool: z.object({ name: z.literal('tlbtrace'), version: z.string() }),
  input: InputSection,
  observed: ObservedSection,
  model: ModelSection,
  policies: z.record(z.string(), PolicyResult),
  costModel: CostModel,
  series: SeriesSection,
  blindSpots: z.array(z.string()),
  /** the model against the kernel's counters; present when the input was a capture directory */
  crossCheck: CrossCheck.optional(),
});
export type Summary = z.infer<typeof Summary>;
export type InputSection = z.infer<typeof InputSection>;
export type ObservedSection = z.infer<typeof ObservedSection>;
export type ModelSection = z.infer<typeof ModelSection>;
export type SeriesSection = z.infer<typeof SeriesSection>;
export type CostModel = z.infer<typeof CostModel>;

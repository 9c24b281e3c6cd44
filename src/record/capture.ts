// capture.json, the record of how a capture directory was made (`tlbtrace.capture/1`), and the
// kernel counters `analyze DIR` cross-checks the model against. Its `recording` section has the
// shape of ../shared/traces' truth.json (files, tlbIrqDeltaPerCpu, calIrqDeltaPerCpu,
// overrunPerCpu, lost, eventsEnabled), so one reader serves both; capture.json adds what only
// tlbtrace record knows (missing events, buffer size, dropped events, the command's exit code).
// Like the summary, it is a contract: later versions add fields, never rename them.

import { z } from 'zod';

export const CAPTURE_SCHEMA = 'tlbtrace.capture/1';
export const CAPTURE_FILE = 'capture.json';
export const TRUTH_FILE = 'truth.json';
export const TGIDS_FILE = 'saved_tgids';

const perCpu = z.array(z.number());

export const CaptureFile = z.object({
  schema: z.literal(CAPTURE_SCHEMA),
  tool: z.object({ name: z.literal('tlbtrace'), version: z.string() }),
  /** uname -r */
  kernel: z.string(),
  /** online CPUs */
  cpus: z.number(),
  machine: z.string(),
  /** the hypervisor's name if the machine is a guest (null: none detected) */
  hypervisor: z.string().nullable(),
  /** the command as one shell-quoted line; null when recording for a duration or until Ctrl-C */
  command: z.string().nullable(),
  argv: z.array(z.string()).nullable(),
  /** the command's exit code (128 + N when killed by signal N); null without a command */
  exitCode: z.number().nullable(),
  stoppedBy: z.enum(['command-exit', 'duration', 'SIGINT', 'SIGTERM', 'SIGHUP']),
  /** ISO time when tracing was switched on */
  startedAt: z.string(),
  /** seconds between tracing on and off */
  durationSec: z.number(),
  recording: z.object({
    files: z.array(z.string()),
    /** how the trace was taken (streaming from per-CPU trace_pipe_raw into a trace.dat v6) */
    method: z.string(),
    tracefs: z.object({ root: z.string(), instance: z.string(), mountedByRecord: z.boolean(), traceClock: z.string(), pageSize: z.number() }),
    bufferSizeKbPerCpu: z.number(),
    eventsEnabled: z.array(z.string()),
    eventsMissing: z.array(z.object({ event: z.string(), cost: z.string() })),
    /** the in-kernel filter of raw_syscalls:sys_enter when it stands in for the per-syscall events */
    syscallFilter: z.string().nullable(),
    /** per-CPU delta of /proc/interrupts "TLB shootdowns"; null when the kernel has no such line */
    tlbIrqDeltaPerCpu: perCpu.nullable(),
    /** per-CPU delta of /proc/interrupts "Function call interrupts" */
    calIrqDeltaPerCpu: perCpu.nullable(),
    /** deltas of /proc/vmstat nr_tlb_* (empty without CONFIG_DEBUG_TLBFLUSH) */
    vmstatTlbDelta: z.record(z.string(), z.number()),
    /** per CPU, from per_cpu/cpuN/stats after tracing stopped */
    eventsPerCpu: perCpu,
    overrunPerCpu: perCpu,
    commitOverrunPerCpu: perCpu,
    droppedPerCpu: perCpu,
    /** any event lost on any CPU */
    lost: z.boolean(),
    /** CPU seconds tlbtrace itself used while tracing was on (reading the ring buffers: `system` is the kernel's copying) */
    recorderCpuSec: z.object({ user: z.number(), system: z.number() }),
  }),
  note: z.string(),
});
export type CaptureFile = z.infer<typeof CaptureFile>;

/** The part of ../shared/traces truth.json the cross-check reads (the rest is passed over). */
const TruthFile = z.object({
  kernel: z.string(),
  machine: z.string().optional(),
  flushMechanism: z.string().optional(),
  recording: z.object({
    files: z.array(z.string()),
    tlbIrqDeltaPerCpu: perCpu,
    calIrqDeltaPerCpu: perCpu.optional(),
    overrunPerCpu: perCpu.optional(),
    lost: z.boolean(),
  }),
});

/** What the cross-check needs, from either file. */
export interface KernelCounters {
  /** the file the numbers come from */
  file: string;
  kind: 'capture.json' | 'truth.json';
  /** trace files of the recording, in order of preference */
  traceFiles: string[];
  tlbIrqDeltaPerCpu: number[] | null;
  calIrqDeltaPerCpu: number[] | null;
  overrunPerCpu: number[] | null;
  /** events lost per CPU (overrun + commit overrun + dropped), when known */
  lostPerCpu: number[] | null;
  lost: boolean;
  hypervisor: string | null;
  /** truth.json's own words on how the machine flushes remote TLBs, if it says */
  flushMechanismNote: string | null;
}

/** Parse capture.json or truth.json text; throws a message naming the first problem. */
export function readCounters(text: string, file: string, kind: KernelCounters['kind']): KernelCounters {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  if (kind === 'capture.json') {
    const r = CaptureFile.safeParse(value);
    if (!r.success) throw new Error(`not a ${CAPTURE_SCHEMA} file (${issue(r.error)})`);
    const c = r.data.recording;
    return {
      file,
      kind,
      traceFiles: c.files.filter((f) => f !== TGIDS_FILE),
      tlbIrqDeltaPerCpu: c.tlbIrqDeltaPerCpu,
      calIrqDeltaPerCpu: c.calIrqDeltaPerCpu,
      overrunPerCpu: c.overrunPerCpu,
      lostPerCpu: c.overrunPerCpu.map((o, i) => o + (c.commitOverrunPerCpu[i] ?? 0) + (c.droppedPerCpu[i] ?? 0)),
      lost: c.lost,
      hypervisor: r.data.hypervisor,
      flushMechanismNote: null,
    };
  }
  const r = TruthFile.safeParse(value);
  if (!r.success) throw new Error(`not a truth.json of ../shared/traces (${issue(r.error)})`);
  const t = r.data;
  return {
    file,
    kind,
    traceFiles: t.recording.files,
    tlbIrqDeltaPerCpu: t.recording.tlbIrqDeltaPerCpu,
    calIrqDeltaPerCpu: t.recording.calIrqDeltaPerCpu ?? null,
    overrunPerCpu: t.recording.overrunPerCpu ?? null,
    lostPerCpu: t.recording.overrunPerCpu ?? null,
    lost: t.recording.lost,
    hypervisor: t.machine !== undefined ? (/Hypervisor detected: (\w+)/.exec(t.machine)?.[1] ?? null) : null,
    flushMechanismNote: t.flushMechanism ?? null,
  };
}

function issue(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.length ? i.path.join('.') : 'top level'}: ${i.message}`;
}

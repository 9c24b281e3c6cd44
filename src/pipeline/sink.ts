// Extra consumers of the model's event stream, beside the policies: the exporters (src/export/)
// read the same time-ordered `ModelEvent`s the policies replay, after every policy has handled
// each one, so a request row can carry what each policy did with that request.

import type { TraceMeta } from '../ingest/source.js';
import type { MmIdentity } from '../model/tasks.js';
import type { ModelContext, ModelEvent } from '../model/types.js';
import type { Summary } from '../summary/schema.js';

export interface SinkContext extends ModelContext {
  /** the input's metadata (format, files, kernel release of a trace.dat); final at finish() */
  readonly meta: TraceMeta;
  /** names of the policies replayed, in the order of `requestVerdicts` */
  readonly policies: readonly string[];
  /**
   * For the request event being delivered: the remote flush callbacks each policy queued while it
   * handled that request (Tally.send() -> the policy's 'shootdowns' series). A policy that holds
   * requests back (batched) charges a batch to the request that closed it, so per request this is
   * "what the policy sent at this point", and the sum over requests plus what it sent at switches
   * and at the end is its total.
   */
  readonly requestVerdicts: Int32Array;
  /** the command name of a task, if the model has seen it */
  taskComm(pid: number): string | undefined;
  mmIdentity(mm: number): MmIdentity | undefined;
}

export interface EventSink {
  /** called once, before the first event */
  start(ctx: SinkContext): void;
  /** every model event in stream order; a syscall event object may be reused: keep fields, never it */
  onEvent(ev: ModelEvent): void;
  /** end of the trace, with the finished summary; outputs are committed here */
  finish(summary: Summary): Promise<void>;
  /** the analysis failed: remove whatever was written */
  abort?(): Promise<void>;
}

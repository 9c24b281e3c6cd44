// Pairing a target's callback run with the request that queued it (DOMAIN.md §3), 6.5+ kernels:
// the initiator's csd_queue_cpu and the target's csd_function_entry name the same (target cpu,
// func, csd), and a CPU runs its queue in order (flush_smp_call_function_queue()), so a FIFO per
// key pairs them exactly. Entries whose handler the trace lost (ring-buffer overwrite, a lost-
// events marker, a timeout) are given up on and stay 'unanswered'; the FIFOs stay bounded.

import type { TargetRecord } from './types.js';

/** A queued callback: the request it belongs to (null: not a TLB request) and its target record. */
export interface QueuedCallback<R> {
  open: R | null;
  target: TargetRecord | null;
}

/** A queued target stays this long waiting for its handler (trace time), then is given up on. */
export const TRANSACTION_TIMEOUT_NS = 2_000_000_000;

/** Most entries one FIFO holds (bounded memory on hostile input). */
const MAX_PER_KEY = 4096;

export class CsdPairing<R> {
  /** FIFOs keyed by `${target}|${func}|${csd}` */
  private readonly queues = new Map<string, Array<QueuedCallback<R>>>();
  /** queued targets given up on (handler lost or never came) */
  private abandoned = 0;

  /** `onAbandon`: a target of request `open` will never answer (its request may close now). */
  constructor(private readonly onAbandon: (open: R, ts: number) => void) {}

  /** csd_queue_cpu: the callback waits for its run on `target`. */
  queue(target: number, func: string, csd: string | null, entry: QueuedCallback<R>, ts: number): void {
    const key = `${target}|${func}|${csd}`;
    let q = this.queues.get(key);
    if (q === undefined) {
      q = [];
      this.queues.set(key, q);
    } else if (csd !== null) {
      // csd_lock(): a csd is queued again only after its callback ran, so an older unmatched entry
      // lost its handler's events (ring-buffer overwrite): close it as unanswered, keep pairing exact.
      for (const old of q.splice(0)) this.abandon(old, ts);
    }
    q.push(entry);
    if (q.length > MAX_PER_KEY) this.abandon(q.shift()!, ts);
  }

  /** csd_function_entry on `cpu` with a non-NULL csd: the oldest callback queued there with that key. */
  take(cpu: number, func: string, csd: string | null): QueuedCallback<R> | null {
    const key = `${cpu}|${func}|${csd}`;
    const q = this.queues.get(key);
    const entry = q !== undefined && q.length > 0 ? q.shift()! : null;
    if (q !== undefined && q.length === 0) this.queues.delete(key);
    return entry;
  }

  /** A queued target whose handler the trace lost: it stays 'unanswered'; its request may close. */
  private abandon(entry: QueuedCallback<R>, ts: number): void {
    if (entry.target === null || entry.target.handlerTs !== null) return;
    this.abandoned++;
    if (entry.open === null) return;
    this.onAbandon(entry.open, ts);
  }

  /** Give up on queued targets older than the transaction timeout (bounded memory on hostile input). */
  sweep(now: number): void {
    for (const [key, q] of this.queues) {
      while (q.length > 0 && q[0]!.target !== null && now - q[0]!.target.queuedTs > TRANSACTION_TIMEOUT_NS) this.abandon(q.shift()!, now);
      if (q.length === 0) this.queues.delete(key);
    }
  }

  /** A lost-events marker on `cpu`: targets still waiting there will never show their handler. */
  abandonOn(cpu: number, ts: number): void {
    const prefix = `${cpu}|`;
    for (const [key, q] of this.queues) {
      if (!key.startsWith(prefix)) continue;
      for (const entry of q) this.abandon(entry, ts);
      this.queues.delete(key);
    }
  }

  /** Targets queued but never answered: those given up on and those still waiting. */
  unanswered(): number {
    let n = this.abandoned;
    for (const q of this.queues.values()) for (const x of q) if (x.target !== null && x.target.outcome === 'unanswered') n++;
    return n;
  }

  /** entries waiting in all FIFOs (tests look at this to check the bound) */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }
}

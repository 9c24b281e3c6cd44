// Small helpers the exporters share: naming address spaces without building a string per event,
// and what a policy did with one request compared with what happened.

import type { TargetOutcome } from '../model/types.js';
import type { SinkContext } from '../pipeline/sink.js';

/** Callback outcomes that flushed nothing (the summary's `observed.wasted`, src/model/observed.ts). */
export const WASTED_OUTCOMES: ReadonlySet<TargetOutcome> = new Set<TargetOutcome>(['wrongCpu', 'zero', 'empty', 'switchToInitMm', 'tableSync']);

/**
 * An mm's name as the model gives it (`comm[tgid]`, `init_mm`, `mm#N`), rebuilt only when its
 * identity changed (exec, a thread merged): switches name two mms each.
 */
export class MmNames {
  private cache = new Map<number, { comm: string; tgid: number; frozen: boolean | undefined; name: string }>();

  constructor(private readonly ctx: Pick<SinkContext, 'mmName' | 'mmIdentity'>) {}

  name(mm: number): string {
    const id = this.ctx.mmIdentity(mm);
    if (id === undefined) return this.ctx.mmName(mm);
    const c = this.cache.get(mm);
    if (c !== undefined && c.comm === id.comm && c.tgid === id.tgid && c.frozen === id.frozen) return c.name;
    const name = this.ctx.mmName(mm);
    if (this.cache.size >= 4096) this.cache.clear(); // bounded: fork storms make many mms
    this.cache.set(mm, { comm: id.comm, tgid: id.tgid, frozen: id.frozen, name });
    return name;
  }
}

/** A policy's callbacks for one request against the remote flush callbacks that ran. */
export function verdict(observed: number, policy: number): 'same' | 'fewer' | 'none' | 'more' {
  if (policy === observed) return 'same';
  if (policy === 0) return 'none';
  return policy < observed ? 'fewer' : 'more';
}

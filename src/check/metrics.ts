// The key numbers of a summary, flattened to `name -> value`, for regression checks and golden
// expectations. Totals and per-second rates both: two traces of one workload rarely last equally long.

import type { Summary } from '../summary/schema.js';

export type Metrics = Record<string, number>;

/** Rates per second of trace time (null-safe: a trace shorter than 1 us has no rate). */
function perSec(n: number, s: Summary): number {
  const d = s.input.durationSec;
  return d > 0 ? round(n / d) : 0;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Metrics compared against a baseline (`tlbtrace check --baseline`). */
export function rateMetrics(s: Summary): Metrics {
  const o = s.observed;
  const m: Metrics = {
    requests: o.requests,
    remoteShootdowns: o.remoteShootdowns.total,
    ipis: o.ipis.total,
    tlbIpis: o.ipis.tlb,
    wasted: o.wasted.total,
    phantomRequests: o.phantomRequests,
    requestsPerSec: perSec(o.requests, s),
    remoteShootdownsPerSec: perSec(o.remoteShootdowns.total, s),
    ipisPerSec: perSec(o.ipis.total, s),
    tlbIpisPerSec: perSec(o.ipis.tlb, s),
    wastedPerSec: perSec(o.wasted.total, s),
  };
  return m;
}

/** Every number a golden expectation pins: exact on a given trace and tool version. */
export function goldenMetrics(s: Summary): Metrics {
  const o = s.observed;
  const m: Metrics = { events: s.input.events, cpus: s.input.cpus, ...rateMetrics(s) };
  for (const [r, n] of Object.entries(o.tlbFlush.byReason)) m[`tlbFlush.reason${r}`] = n;
  for (const [k, n] of Object.entries(o.requestsByKind)) m[`requests.${k}`] = n;
  for (const [c, n] of Object.entries(o.remoteShootdowns.byCpu)) m[`remoteShootdowns.cpu${c}`] = n;
  for (const [k, n] of Object.entries(o.remoteShootdowns.byOutcome)) m[`remoteShootdowns.${k}`] = n;
  for (const [k, n] of Object.entries(o.wasted.byKind)) m[`wasted.${k}`] = n;
  m['unpairedHandlers'] = o.remoteShootdowns.unpairedHandlers;
  if (s.model.fidelity.targets !== null) m['fidelity.targets'] = s.model.fidelity.targets;
  if (s.model.fidelity.switchFlush !== null) m['fidelity.switchFlush'] = s.model.fidelity.switchFlush;
  const mech = o.mechanism;
  if (mech !== undefined) {
    m['mechanism.hypercall'] = mech.kind === 'hypercall' ? 1 : 0;
    m['mechanism.remoteFlushRequests'] = mech.remoteFlushRequests;
    m['mechanism.cpusFlushed'] = mech.cpusFlushed;
    for (const [k, n] of Object.entries(mech.requests)) m[`mechanism.requests.${k}`] = n;
  }
  for (const p of Object.values(s.policies)) {
    m[`policy.${p.name}.shootdowns`] = p.shootdowns;
    m[`policy.${p.name}.ipis`] = p.ipis;
    m[`policy.${p.name}.fullFlushesAdded`] = p.fullFlushesAdded;
    if (p.remoteFlushes !== undefined) {
      m[`policy.${p.name}.remoteFlushRequests`] = p.remoteFlushes.requests;
      m[`policy.${p.name}.remoteCpusFlushed`] = p.remoteFlushes.cpus;
    }
  }
  return m;
}

// The SMP-call family: a flush request's IPIs (ipi:ipi_send_cpu[mask], 6.4+), its queued callbacks
// and their runs (csd:csd_queue_cpu, csd_function_entry/exit, 6.5+), and the receiving vector
// (irq_vectors:call_function[_single]_{entry,exit}).

import type { CallFunctionVectorEvent, CsdFunctionEvent } from '../types.js';
import { cpumaskOutOfRange, parseCpumask } from '../cpumask.js';
import { cpuOutOfRange, pointer, symbol, type PayloadParser } from './context.js';
import { expect, readEnd, readInt, valueEnd } from './scan.js';

// ---------------------------------------------------------------------------------------------
// ipi:ipi_send_cpu / ipi:ipi_send_cpumask (6.4+)
//   raw ftrace  cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 callback=generic_smp_call_function_single_interrupt+0x0/0x10
//   trace-cmd   cpu=1 callsite=on_each_cpu_cond_mask+0x20 callback=generic_smp_call_function_single_interrupt+0x0
//   raw ftrace  cpumask=00000000,000056be callsite=on_each_cpu_cond_mask+0x24/0x40 callback=...
//   trace-cmd   cpumask=1-5,7,9-10,12,14 callsite=on_each_cpu_cond_mask+0x24 callback=...
//   both        ... callsite=wakeup_preempt+0x37 callback=0x0

const CALLSITE = ' callsite=';
const CALLBACK = ' callback=';

export const ipiSendCpu: PayloadParser = (s, p, h, ctx) => {
  let q = expect(s, p, 'cpu=');
  if (q < 0) return 'ipi_send_cpu: expected `cpu=N callsite=.. callback=..`';
  const target = readInt(s, q);
  if (target !== target || !s.startsWith(CALLSITE, readEnd)) return 'ipi_send_cpu: expected `cpu=N callsite=.. callback=..`';
  const bad = cpuOutOfRange('ipi_send_cpu', target, ctx);
  if (bad !== undefined) return bad;
  q = readEnd + CALLSITE.length;
  const cb = s.indexOf(CALLBACK, q);
  if (cb < 0) return 'ipi_send_cpu: expected `callback=`';
  const callsite = symbol(ctx, s, q, cb);
  const callback = symbol(ctx, s, cb + CALLBACK.length, s.length);
  return {
    kind: 'ipi_send_cpu', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    target, callsite, callback,
  };
};

export const ipiSendCpumask: PayloadParser = (s, p, h, ctx) => {
  const q = expect(s, p, 'cpumask=');
  if (q < 0) return 'ipi_send_cpumask: expected `cpumask=.. callsite=.. callback=..`';
  const cs = s.indexOf(CALLSITE, q);
  if (cs < 0) return 'ipi_send_cpumask: expected `callsite=`';
  const targets = parseCpumask(s, q, cs, ctx.cpumaskStyle, ctx.maxCpu);
  if (targets === null) {
    return cpumaskOutOfRange >= 0
      ? cpuOutOfRange('ipi_send_cpumask: cpumask', cpumaskOutOfRange, ctx)!
      : 'ipi_send_cpumask: expected a cpumask (hex words or CPU list)';
  }
  const cb = s.indexOf(CALLBACK, cs + CALLSITE.length);
  if (cb < 0) return 'ipi_send_cpumask: expected `callback=`';
  const callsite = symbol(ctx, s, cs + CALLSITE.length, cb);
  const callback = symbol(ctx, s, cb + CALLBACK.length, s.length);
  return {
    kind: 'ipi_send_cpumask', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    targets, callsite, callback,
  };
};

// ---------------------------------------------------------------------------------------------
// csd:csd_queue_cpu, csd:csd_function_entry/exit (6.5+)
//   raw ftrace  cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 func=flush_tlb_func csd=0000000069199808
//   trace-cmd   cpu=1 callsite=on_each_cpu_cond_mask+0x20 func=flush_tlb_func csd=0xffff888627d2e420
//   raw ftrace  func=flush_tlb_func, csd=0000000000000000        (NULL: the initiator runs it itself)
//   trace-cmd   func=flush_tlb_func, csd=(nil)

const FUNC = ' func=';
const CSD = ' csd=';

export const csdQueueCpu: PayloadParser = (s, p, h, ctx) => {
  let q = expect(s, p, 'cpu=');
  if (q < 0) return 'csd_queue_cpu: expected `cpu=N callsite=.. func=.. csd=..`';
  const target = readInt(s, q);
  if (target !== target || !s.startsWith(CALLSITE, readEnd)) return 'csd_queue_cpu: expected `cpu=N callsite=.. func=.. csd=..`';
  const bad = cpuOutOfRange('csd_queue_cpu', target, ctx);
  if (bad !== undefined) return bad;
  q = readEnd + CALLSITE.length;
  const f = s.indexOf(FUNC, q);
  if (f < 0) return 'csd_queue_cpu: expected `func=`';
  const c = s.indexOf(CSD, f + FUNC.length);
  if (c < 0) return 'csd_queue_cpu: expected `csd=`';
  const csd = pointer(ctx, s, c + CSD.length, valueEnd(s, c + CSD.length));
  if (csd === undefined) return 'csd_queue_cpu: expected a hex pointer or (nil) after `csd=`';
  return {
    kind: 'csd_queue_cpu', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    target, callsite: symbol(ctx, s, q, f), func: symbol(ctx, s, f + FUNC.length, c), csd,
  };
};

export function csdFunction(kind: CsdFunctionEvent['kind']): PayloadParser {
  return (s, p, h, ctx) => {
    const q = expect(s, p, 'func=');
    if (q < 0) return `${kind}: expected \`func=.., csd=..\``;
    let c = s.indexOf(CSD, q);
    if (c < 0) return `${kind}: expected \`csd=\``;
    const fe = s.charCodeAt(c - 1) === 44 /* , */ ? c - 1 : c;
    c += CSD.length;
    const csd = pointer(ctx, s, c, valueEnd(s, c));
    if (csd === undefined) return `${kind}: expected a hex pointer or (nil) after \`csd=\``;
    return {
      kind, ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
      func: symbol(ctx, s, q, fe), csd,
    };
  };
}

// ---------------------------------------------------------------------------------------------
// irq_vectors:call_function[_single]_{entry,exit}     vector=251

export function callFunction(kind: CallFunctionVectorEvent['kind']): PayloadParser {
  return (s, p, h) => {
    const q = expect(s, p, 'vector=');
    const vector = q < 0 ? NaN : readInt(s, q);
    if (vector !== vector) return `${kind}: expected \`vector=N\``;
    return { kind, ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line, vector };
  };
}

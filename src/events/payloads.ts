// Per-event payload parsers, registered by event name and shared by the three text grammars
// (raw ftrace, trace-cmd report, perf script). A grammar finds the line header (task, CPU, time,
// event name) and where the payload starts; `parsePayload()` turns the payload into a typed event
// (src/events/types.ts) applying the normalisations documented there.
//
// Every parser works on (line, payloadStart) with indexOf/charCodeAt — no regex, no split, no
// closure per line — because this is the hot path (millions of lines per second).
//
// Return convention: a TraceEvent, or a string saying what was expected (the caller turns it into
// a `malformed-payload` warning and skips the line). Unknown event names never fail: they become
// `{kind: 'other', name}`.
//
// The parsers live in payloads/, one file per event family (tlb, smp, sched, vmscan, syscalls);
// this is their registry by event name.

import type { TraceEvent } from './types.js';
import { intern, type BytePayloadParser, type ParsedHeader, type PayloadContext, type PayloadParser } from './payloads/context.js';
import { callFunction, csdFunction, csdQueueCpu, ipiSendCpu, ipiSendCpumask } from './payloads/smp.js';
import { schedMigrateTask, schedProcessExec, schedProcessExit, schedProcessFork, schedSwitch, schedWakeIdleWithoutIpi } from './payloads/sched.js';
import { namedSyscall, namedSyscallBytes, rawSysEnter, SYSCALL_BY_NAME } from './payloads/syscalls.js';
import { tlbFlush, tlbFlushBytes } from './payloads/tlb.js';
import { vmscan } from './payloads/vmscan.js';

export { internString, newPayloadContext, type BytePayloadParser, type ParsedHeader, type PayloadContext, type PayloadParser } from './payloads/context.js';
export { ByteText, readHex, readInt } from './payloads/scan.js';
export { X86_64_SYSCALLS, type SyscallInfo } from './payloads/syscalls.js';

// ---------------------------------------------------------------------------------------------
// Registry

const PARSERS = new Map<string, PayloadParser>([
  ['tlb_flush', tlbFlush],
  ['ipi_send_cpu', ipiSendCpu],
  ['ipi_send_cpumask', ipiSendCpumask],
  ['csd_queue_cpu', csdQueueCpu],
  ['csd_function_entry', csdFunction('csd_function_entry')],
  ['csd_function_exit', csdFunction('csd_function_exit')],
  ['call_function_entry', callFunction('call_function_entry')],
  ['call_function_exit', callFunction('call_function_exit')],
  ['call_function_single_entry', callFunction('call_function_single_entry')],
  ['call_function_single_exit', callFunction('call_function_single_exit')],
  ['sched_switch', schedSwitch],
  ['sched_process_fork', schedProcessFork],
  ['sched_process_exec', schedProcessExec],
  ['sched_process_exit', schedProcessExit],
  ['sched_migrate_task', schedMigrateTask],
  ['sched_wake_idle_without_ipi', schedWakeIdleWithoutIpi],
  ['mm_vmscan_kswapd_wake', vmscan('mm_vmscan_kswapd_wake')],
  ['mm_vmscan_kswapd_sleep', vmscan('mm_vmscan_kswapd_sleep')],
  ['mm_vmscan_direct_reclaim_begin', vmscan('mm_vmscan_direct_reclaim_begin')],
  ['mm_vmscan_direct_reclaim_end', vmscan('mm_vmscan_direct_reclaim_end')],
  ['mm_vmscan_lru_shrink_inactive', vmscan('mm_vmscan_lru_shrink_inactive')],
  ['sys_enter', rawSysEnter],
]);

/** Event names with a typed parser (everything else becomes `other`). */
export function knownEventNames(): string[] {
  return [...PARSERS.keys(), 'sys_enter_*'];
}

const syscallParsers = new Map<string, PayloadParser>();

/**
 * The typed parser for event `name` (without the system prefix): a registered one or a
 * syscalls:sys_enter_X one (made once per X); undefined for events that become `other`. Callers
 * cache the result per event name, so the hot path does no name lookup at all.
 */
export function payloadParserFor(name: string): PayloadParser | undefined {
  const parser = PARSERS.get(name);
  if (parser !== undefined) return parser;
  if (!name.startsWith('sys_enter_')) return undefined;
  let sp = syscallParsers.get(name);
  if (sp === undefined) {
    const sys = name.slice(10);
    const info = SYSCALL_BY_NAME.get(sys);
    sp = (s, p, h) => namedSyscall(sys, s, p, h, info);
    if (syscallParsers.size < 4096) syscallParsers.set(name, sp);
  }
  return sp;
}

/**
 * Parse the payload of event `name` (without the system prefix) starting at s[p]. Returns the
 * event, or a message saying what was expected when a known event's payload does not parse.
 */
export function parsePayload(name: string, s: string, p: number, h: ParsedHeader, ctx: PayloadContext): TraceEvent | string {
  const parser = PARSERS.get(name);
  if (parser !== undefined) return parser(s, p, h, ctx);
  if (name.startsWith('sys_enter_')) return namedSyscall(name.slice(10), s, p, h);
  return {
    kind: 'other', ts: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, hardirq: h.hardirq, line: h.line,
    name: intern(ctx, name),
  };
}

const byteSyscallParsers = new Map<string, BytePayloadParser>();

/** The byte parser for event `name`, or null when the event has none (decode and use the string one). */
export function bytePayloadParserFor(name: string): BytePayloadParser | null {
  if (name === 'tlb_flush') return tlbFlushBytes;
  if (!name.startsWith('sys_enter_')) return null;
  const info = SYSCALL_BY_NAME.get(name.slice(10));
  if (info === undefined) return null;
  let bp = byteSyscallParsers.get(info.name);
  if (bp === undefined) byteSyscallParsers.set(info.name, (bp = namedSyscallBytes(info)));
  return bp;
}

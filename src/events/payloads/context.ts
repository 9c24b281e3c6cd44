// What every payload parser shares: the header fields a line grammar found (ParsedHeader), the
// per-input settings (PayloadContext), the two parser signatures, and the string helpers that
// apply the normalisations of src/events/types.ts (interned strings, symbols, pointers).

import type { TraceEvent } from '../types.js';
import { MAX_CPUS, type CpumaskStyle } from '../cpumask.js';
import type { EventBatch } from '../batch.js';

/** What a line grammar found in the header; the payload parsers copy it into the event. */
export interface ParsedHeader {
  ts: number;
  cpu: number;
  pid: number;
  tgid: number;
  comm: string;
  hardirq: boolean | undefined;
  line: number;
  /**
   * How raw ftrace printed a syscall event: 0 ordinary `name: payload`, 1 the call form
   * `sys_mprotect(start: ..)` (payload starts at the `(`).
   */
  payloadStyle: number;
}

/** Per-input settings for the payload parsers. */
export interface PayloadContext {
  /** how this tool prints cpumasks (raw ftrace: hex words, trace-cmd: CPU list, perf: auto) */
  cpumaskStyle: CpumaskStyle;
  /** string cache, see `intern()` */
  strings: Map<string, string>;
  /**
   * CPU numbers in payloads (IPI and csd targets, cpumasks, wake/migrate CPUs) must be below
   * this: the CPU count the trace header declares, else MAX_CPUS. A larger one is corruption.
   */
  maxCpu: number;
}

export function newPayloadContext(cpumaskStyle: CpumaskStyle, maxCpu = MAX_CPUS): PayloadContext {
  return { cpumaskStyle, strings: new Map(), maxCpu };
}

/** the message for a payload CPU number that is negative or not below ctx.maxCpu, or undefined */
export function cpuOutOfRange(what: string, cpu: number, ctx: PayloadContext): string | undefined {
  if (cpu >= 0 && cpu < ctx.maxCpu) return undefined;
  return `${what}: CPU ${cpu} is out of range (${cpu < 0 ? 'negative' : ctx.maxCpu < MAX_CPUS ? `the header declares ${ctx.maxCpu} CPUs` : `NR_CPUS is at most ${MAX_CPUS}`})`;
}

export type PayloadParser = (s: string, p: number, h: ParsedHeader, ctx: PayloadContext) => TraceEvent | string;

/**
 * A payload parser on input bytes (the ASCII fast path): the payload b[p..e) of the line whose
 * header is `h`, written as row i of `out` (its payload columns and kind; the caller writes the
 * header columns). False, with nothing decided, when it does not fit exactly: the caller then
 * runs the string parser on the decoded line.
 */
export type BytePayloadParser = (b: Uint8Array, dv: DataView, p: number, e: number, h: ParsedHeader, out: EventBatch, i: number) => boolean;

/**
 * Keep one copy of a repeated string. Slices of 13+ characters are V8 "sliced strings" that keep
 * the whole decoded chunk (64 KiB) alive; a consumer that stores a comm or symbol would otherwise
 * pin every chunk it came from. Short strings are copied by V8 anyway and are returned as is.
 */
export function intern(ctx: PayloadContext, s: string): string {
  if (s.length < 13) return s;
  const m = ctx.strings;
  const v = m.get(s);
  if (v !== undefined) return v;
  if (m.size > 50_000) m.clear(); // bounded however many distinct values an input has
  const copy = Buffer.from(s, 'utf8').toString('utf8'); // a flat string that owns its characters
  m.set(copy, copy);
  return copy;
}

export function internString(ctx: PayloadContext, s: string): string {
  return intern(ctx, s);
}

/**
 * Symbol normalisation (types.ts): keep `name+0xoff`, drop ftrace's `/0xsize` and a trailing
 * ` [module]`, so raw ftrace `on_each_cpu_cond_mask+0x20/0x60` equals trace-cmd's
 * `on_each_cpu_cond_mask+0x20`. Unresolved addresses stay as printed (`0x0`).
 */
export function symbol(ctx: PayloadContext, s: string, a: number, b: number): string {
  const slash = s.indexOf('/', a);
  if (slash >= 0 && slash < b) b = slash;
  else {
    const sp = s.indexOf(' ', a);
    if (sp >= 0 && sp < b) b = sp;
  }
  return intern(ctx, s.slice(a, b));
}

/**
 * Pointer normalisation (types.ts): lower-case hex without `0x` and leading zeros; NULL
 * (`0000000000000000`, `(nil)`, `0x0`) -> null. Returns undefined when it is not hex.
 */
export function pointer(ctx: PayloadContext, s: string, a: number, b: number): string | null | undefined {
  if (s.charCodeAt(a) === 40 /* ( */) return s.startsWith('(nil)', a) && a + 5 === b ? null : undefined;
  if (s.charCodeAt(a) === 48 && s.charCodeAt(a + 1) === 120) a += 2;
  while (a < b && s.charCodeAt(a) === 48) a++;
  if (a === b) return null;
  let upper = false;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 70) upper = true;
    else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return undefined;
  }
  const v = s.slice(a, b);
  return intern(ctx, upper ? v.toLowerCase() : v);
}

// Ingest entry point: paths -> TraceSource (src/ingest/source.ts).
//
//   openTrace(['trace.txt.gz'], opts, diag)        one file (plain, gzip or zstd; sniffed by magic)
//   openTrace(['-'], opts, diag)                   stdin (or opts.stdin: bytes in memory, a stream)
//   openTrace(['part1.txt', 'part2.txt'], ...)     several files read one after another as ONE
//                                                  stream: same format required (each is sniffed),
//                                                  line numbers restart per file (warnings say
//                                                  file:line), per-CPU timestamp order is checked
//                                                  across the boundary, meta.lines is the total.
//
// Format: `opts.format` when given, else sniffed from the first lines (raw ftrace, trace-cmd
// report, perf script; see formats/). A binary trace-cmd `trace.dat` (magic `\x17\x08\x44tracing`)
// is handed to src/ingest/tracedat/ (loaded on demand) — it must be a single, uncompressed file.
//
// Text pipeline per chunk: decompress (input.ts) -> lines (lines.ts) -> header grammar
// (formats/*.ts) -> payload parser by event name (events/payloads.ts) -> batches of ~4096 events.
// Lines of ASCII chunks arrive as bytes and most are parsed from the bytes by the fast path
// (formats/fastpath.ts, byte payload parsers in payloads.ts); every line it does not handle is
// decoded and parsed by the string grammars, which define the behaviour (fastpath.test.ts).
//
// InputError (nothing can be read): unreadable/missing file, empty input, not a trace (the message
// quotes the first line), inputs of different formats, trace.dat compressed / on stdin / combined.
// Warnings (Diagnostics codes; the line is skipped unless said otherwise):
//   malformed-line     no header grammar of the format fits the line, or it holds a NUL byte
//   malformed-payload  a known event whose payload does not parse (message: what was expected),
//                      including a CPU number in it out of range (IPI/csd target, cpumask)
//   line-too-long      longer than opts.maxLineLength (default 1 MiB)
//   cpu-out-of-range   the line's CPU is >= the count the header declares (`#P:N`, `cpus=N`), or
//                      >= MAX_CPUS (8192) without a header: per-CPU state is sized from CPU numbers
//   malformed-header   the header declares an impossible CPU count (ignored; nothing skipped)
//   ts-backwards       a CPU's own timestamp went down (the event IS delivered, in input order)
//   ts-reordered       an event of another CPU printed up to MERGE_WINDOW_NS (10 ms) after a later
//                      one (raw trace_pipe reads interleave CPUs): merged back into time order
//   ts-out-of-order    such an event older than events already handed out: delivered late
//   truncated-input / corrupt-input   gzip/zstd stream ended early / bad data: meta.truncated,
//                      events decoded so far are delivered, a cut last line is dropped
// Invalid UTF-8 bytes reach the grammars as the text `\xNN` (lines.ts).
// Lost events: `CPU:N [LOST M EVENTS]` / `CPU:N [M EVENTS DROPPED]` lines become `lost_events`
// events on CPU N; raw ftrace's `entries-in-buffer/entries-written: A/B` goes to meta (the `trace`
// file does not say which CPU overran). Unknown events are `{kind: 'other', name}`, not warnings.

import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TraceEvent } from '../events/types.js';
import { EventBatch } from '../events/batch.js';
import { MAX_CPUS } from '../events/cpumask.js';
import { newPayloadContext, parsePayload, payloadParserFor, type PayloadContext } from '../events/payloads.js';
import { Diagnostics, quoteTraceText } from './diagnostics.js';
import { InputError } from '../errors.js';
import type { IngestOptions, TraceMeta, TraceSource } from './source.js';
import { InputStream, TRACE_DAT_MAGIC, displayName, sniffCompression } from './input.js';
import { DEFAULT_MAX_LINE_LENGTH, decodeUtf8Escaped, LineSplitter, type LineSink } from './lines.js';
import { LINE_EVENT, LINE_LOST, LINE_MALFORMED, LineHeader, type LineKind, type TextFormat } from './formats/common.js';
import { FastLines } from './formats/fastpath.js';
import { ftraceFormat } from './formats/ftrace.js';
import { traceCmdFormat } from './formats/tracecmd.js';
import { perfScriptFormat } from './formats/perfscript.js';

export type { IngestOptions, TraceFormat, TraceMeta, TraceSource } from './source.js';

/** Events per batch handed out by `events()`. */
export const BATCH_SIZE = 4096;
/** a batch's first size: a chunk's events are added to it before it is handed on */
const BATCH_CAPACITY = 2 * BATCH_SIZE;
/**
 * An event printed up to this much trace time after a later event of another CPU (raw
 * `trace_pipe` reads interleave the per-CPU buffers) is merged back into time order.
 */
export const MERGE_WINDOW_NS = 10_000_000;
/** Decompressed bytes looked at to sniff the format. */
const SNIFF_BYTES = 64 * 1024;
const SNIFF_LINES = 64;

/** The text grammars, in sniffing order. */
export const TEXT_FORMATS: readonly TextFormat[] = [ftraceFormat, traceCmdFormat, perfScriptFormat];

const EXPECTED =
  'not a trace: expected raw ftrace, trace-cmd report or perf script text';

const LINE_GRAMMAR: Record<TextFormat['name'], string> = {
  ftrace: '`comm-PID (TGID) [CPU] flags SECONDS.US: event: payload`',
  'trace-cmd': '`comm-PID [CPU] SECONDS.US: event: payload`',
  'perf-script': '`comm TID [CPU] SECONDS.US: system:event: payload`',
};

/** The interface src/ingest/tracedat/index.ts provides. */
interface TraceDatModule {
  isTraceDat(head: Buffer): boolean;
  openTraceDat(path: string, opts: IngestOptions, diag: Diagnostics): Promise<TraceSource>;
}

// A variable specifier keeps tsc from resolving the module at compile time: the trace.dat reader
// is optional and loaded only when a trace.dat is given.
const TRACE_DAT_MODULE = './tracedat/index.js';

async function loadTraceDat(): Promise<TraceDatModule | undefined> {
  const js = fileURLToPath(new URL(TRACE_DAT_MODULE, import.meta.url));
  if (!existsSync(js) && !existsSync(js.replace(/\.js$/, '.ts'))) return undefined;
  return (await import(TRACE_DAT_MODULE)) as TraceDatModule;
}

function isTraceDatMagic(head: Buffer): boolean {
  return head.length >= TRACE_DAT_MAGIC.length && head.subarray(0, TRACE_DAT_MAGIC.length).equals(TRACE_DAT_MAGIC);
}

/** The first line of a head, printable and short, for error messages. */
function firstLinePreview(head: Buffer): string {
  let s = decodeUtf8Escaped(head, 0, Math.min(head.length, 200));
  const nl = s.indexOf('\n');
  if (nl >= 0) s = s.slice(0, nl);
  return quoteTraceText(s, 60);
}

function headLines(head: Buffer): string[] {
  const lines = head.toString('utf8').split('\n', SNIFF_LINES + 1);
  if (lines.length > SNIFF_LINES) lines.length = SNIFF_LINES;
  // the last piece may be a cut line when the head was cut mid-line
  else if (head.length >= SNIFF_BYTES && lines.length > 1) lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Which text grammar the head of an input is, or undefined. */
export function sniffTextFormat(firstLines: string[]): TextFormat | undefined {
  for (const f of TEXT_FORMATS) if (f.sniff(firstLines)) return f;
  return undefined;
}

async function sniffInput(input: InputStream): Promise<TextFormat> {
  const head = await input.peek(SNIFF_BYTES);
  if (head.length === 0) {
    if (input.failure !== undefined) throw new InputError(input.name, 0, `${input.failure.message}; nothing could be read`);
    throw new InputError(input.name, 0, `${EXPECTED} (the input is empty)`);
  }
  if (isTraceDatMagic(head)) {
    throw new InputError(input.name, 0, 'a compressed trace.dat: decompress it first (trace.dat is read from an uncompressed file)');
  }
  const f = sniffTextFormat(headLines(head));
  if (f === undefined) throw new InputError(input.name, 1, `${EXPECTED} (first line: ${firstLinePreview(head)})`);
  return f;
}

/**
 * Open one or more trace files (or `-` for stdin) as one TraceSource. Throws InputError when an
 * input cannot be read or is not a trace; everything else (bad lines, truncation) is a warning.
 */
export async function openTrace(paths: string[], opts: IngestOptions, diag: Diagnostics): Promise<TraceSource> {
  if (paths.length === 0) throw new InputError('<none>', 0, 'no input given');
  if (paths.filter((p) => p === '-').length > 1) throw new InputError('<stdin>', 0, 'stdin (-) can be read only once');

  // sizes first, so progress reports know the total from the first chunk on
  const sizes = paths.map((p) => {
    if (p === '-') return undefined;
    try {
      return statSync(p).size;
    } catch (err) {
      throw new InputError(displayName(p), 0, `cannot read: ${(err as Error).message}`);
    }
  });
  const totalBytes = sizes.every((s) => s !== undefined) ? sizes.reduce<number>((a, b) => a + b!, 0) : undefined;
  let bytesRead = 0;
  const onRaw = opts.onProgress
    ? (n: number) => {
        bytesRead += n;
        opts.onProgress!(bytesRead, totalBytes);
      }
    : undefined;

  const inputs: InputStream[] = [];
  try {
    for (const p of paths) {
      inputs.push(await InputStream.open(p, onRaw, opts.stdin));
    }

    // trace.dat: binary, handed to its own reader
    const datIdx = inputs.findIndex((i) => i.compression === 'none' && isTraceDatMagic(i.rawHead));
    if (opts.format === 'trace-dat' || datIdx >= 0) {
      const input = inputs[datIdx >= 0 ? datIdx : 0]!;
      if (inputs.length > 1) throw new InputError(input.name, 0, 'a trace.dat cannot be combined with other inputs: give it alone');
      if (input.path === '-') throw new InputError(input.name, 0, 'trace.dat must be given as a file path, not on stdin');
      input.close();
      const mod = await loadTraceDat();
      if (mod === undefined) throw new InputError(input.name, 0, 'trace.dat input is not supported by this build');
      if (!mod.isTraceDat(input.rawHead)) throw new InputError(input.name, 0, 'not a trace.dat (bad magic)');
      return await mod.openTraceDat(input.path, opts, diag);
    }

    let format: TextFormat | undefined = opts.format ? TEXT_FORMATS.find((f) => f.name === opts.format) : undefined;
    if (opts.format && format === undefined) throw new InputError(displayName(paths[0]!), 0, `unknown format ${opts.format}`);
    if (format === undefined) {
      for (const input of inputs) {
        const f = await sniffInput(input);
        if (format === undefined) format = f;
        else if (f !== format) {
          throw new InputError(input.name, 1, `is ${f.name} text but ${inputs[0]!.name} is ${format.name}: all inputs must have one format`);
        }
      }
    }
    return new TextTraceSource(inputs, format!, opts, diag);
  } catch (err) {
    for (const i of inputs) i.close();
    throw err;
  }
}

/**
 * Converts lines to events, as rows of an EventBatch (src/events/batch.ts): the fast path's
 * syscall entries and tlb_flush events are columns only, every other event an object row. A
 * LineSink, so LineSplitter calls it directly.
 */
class TextParser implements LineSink {
  /** the batch being filled */
  batch = new EventBatch(BATCH_CAPACITY);
  /** the batch handed on before this one: refilled once its consumer asked for the next (take()) */
  private spare = new EventBatch(BATCH_CAPACITY);
  file = '';
  private readonly h = new LineHeader();
  private lastTs = new Float64Array(64).fill(-Infinity);
  /** timestamp of the newest event in input order (not lowered by merged late events) */
  private lastTsAny = 0;
  /** a late event was merged: batches now hold back the last MERGE_WINDOW_NS for more of them */
  private merging = false;
  /** timestamp of the newest event handed on: nothing can be merged before it any more */
  private releasedTs = -Infinity;
  /** CPU numbers must be below this: the count the header declares, else MAX_CPUS */
  private maxCpu = MAX_CPUS;
  /** the meta.declaredCpus maxCpu was derived from */
  private declaredSeen: number | undefined = undefined;

  /** the ASCII fast path (formats/fastpath.ts) */
  private readonly fast: FastLines;

  constructor(
    private readonly format: TextFormat,
    private readonly meta: TraceMeta,
    private readonly diag: Diagnostics,
    private readonly ctx: PayloadContext,
  ) {
    this.fast = new FastLines(format.flagsColumn);
  }

  /**
   * The events to hand on. Once late events have been merged, the events of the last
   * MERGE_WINDOW_NS stay behind (at most half a batch of them) so that another late event can
   * still be put before them; `final` hands on everything. The batch returned is valid until the
   * next call: its storage is reused for the batch after it.
   */
  take(final = false): EventBatch {
    const b = this.batch;
    let cut = b.length;
    if (this.merging && !final) {
      cut = b.upperBoundTs(this.lastTsAny - MERGE_WINDOW_NS);
      cut = Math.max(cut, b.length - (BATCH_SIZE >> 1));
    }
    const next = this.spare;
    next.clear();
    if (cut < b.length) next.appendRows(b, cut, b.length - cut);
    b.length = cut;
    this.spare = b;
    this.batch = next;
    if (cut > 0) this.releasedTs = Math.max(this.releasedTs, Math.min(b.ts[cut - 1]!, this.lastTsAny));
    return b;
  }

  onLine(s: string, lineNo: number): void {
    this.textLine(s, lineNo);
  }

  /**
   * A line of an ASCII chunk as bytes: the fast path parses the header and, for the events that
   * have one, the payload from the bytes into a row; whatever it does not handle is decoded and
   * takes the string path (which produces the same events and warnings for any line).
   */
  onLineBytes(buf: Buffer, a: number, e: number, lineNo: number): void {
    const h = this.h;
    const fast = this.fast;
    if (!fast.parseHeader(buf, a, e, h) || h.cpu >= this.maxCpu) {
      if (this.textLine(buf.toString('latin1', a, e), lineNo) === LINE_EVENT) fast.learn(buf, a, h);
      return;
    }
    h.line = lineNo;
    const parse = fast.name!.parse;
    const batch = this.batch;
    const i = batch.length;
    if (i === batch.capacity) this.grow();
    if (parse !== null && parse(buf, fast.dataView, h.payloadStart, e, h, this.batch, i)) {
      this.header(i);
      this.accept(i, lineNo);
    } else this.acceptObject(this.payload(buf.toString('latin1', a, e), h.payloadStart - a), lineNo);
  }

  /** the payload of the line in h, from the string; the parser is resolved once per event name */
  private payload(s: string, p: number): TraceEvent | string {
    const h = this.h;
    const entry = h.entry;
    if (entry !== undefined) {
      let parser = entry.parser;
      if (parser === undefined) parser = entry.parser = payloadParserFor(entry.name) ?? null;
      return parser !== null ? parser(s, p, h, this.ctx) : parsePayload(h.name, s, p, h, this.ctx);
    }
    return parsePayload(h.name, s, p, h, this.ctx);
  }

  /** one line through the string grammar; returns what kind of line it was */
  private textLine(s: string, lineNo: number): LineKind {
    const h = this.h;
    const kind = this.format.parseLine(s, h, this.meta, this.ctx);
    if (kind === LINE_EVENT) {
      const cpu = h.cpu;
      if (cpu >= this.maxCpu) {
        this.cpuOutOfRange(cpu, lineNo);
        return kind;
      }
      h.line = lineNo;
      this.acceptObject(this.payload(s, h.payloadStart), lineNo);
    } else if (kind === LINE_LOST) {
      if (h.cpu >= this.maxCpu) {
        this.cpuOutOfRange(h.cpu, lineNo);
        return kind;
      }
      this.pushObject({
        kind: 'lost_events', ts: this.lastTsAny, cpu: h.cpu, pid: -1, tgid: -1, comm: '', hardirq: undefined, line: lineNo,
        count: h.lostCount,
      });
    } else if (kind === LINE_MALFORMED) {
      const preview = quoteTraceText(s, 50);
      this.diag.warn('malformed-line', this.file, lineNo, `expected a ${this.format.name} line ${LINE_GRAMMAR[this.format.name]}, got ${preview}`);
    } else if (this.meta.declaredCpus !== this.declaredSeen) {
      this.onDeclaredCpus(lineNo);
    }
    return kind;
  }

  /** the header columns of row i, from the line header in h */
  private header(i: number): void {
    const h = this.h;
    const b = this.batch;
    b.length = i + 1;
    b.ts[i] = h.ts;
    b.cpu[i] = h.cpu;
    b.pid[i] = h.pid;
    b.tgid[i] = h.tgid;
    b.line[i] = h.line;
    b.hardirq[i] = h.hardirq === undefined ? -1 : h.hardirq ? 1 : 0;
    b.comm[i] = h.comm;
  }

  /** an event row appended as it is, in no time order (a lost-events marker) */
  private pushObject(e: TraceEvent): void {
    if (this.batch.length === this.batch.capacity) this.grow();
    this.batch.pushObject(e);
  }

  /** the parsed event of the line in h (or what its payload lacked): ordered into the batch */
  private acceptObject(ev: TraceEvent | string, lineNo: number): void {
    if (typeof ev === 'string') {
      this.diag.warn('malformed-payload', this.file, lineNo, ev);
      return;
    }
    this.pushObject(ev);
    this.accept(this.batch.length - 1, lineNo);
  }

  /** row i, the event of the line in h, just appended: ordered into the batch */
  private accept(i: number, lineNo: number): void {
    const h = this.h;
    if (h.tgidColumn) this.meta.tgidKnown = true;
    const cpu = h.cpu;
    if (cpu >= this.lastTs.length) this.growCpus(cpu);
    const ts = h.ts;
    const last = this.lastTs[cpu]!;
    this.lastTs[cpu] = ts;
    if (ts < last) {
      // one CPU's clock went back (corruption, a reset, concatenated captures): flagged, kept in input order
      this.diag.warn('ts-backwards', this.file, lineNo, `timestamp ${ts} ns on CPU ${cpu} is earlier than the previous event's ${last} ns`);
    } else if (ts < this.lastTsAny && this.lastTsAny - ts <= MERGE_WINDOW_NS) {
      this.mergeLate(i, ts, cpu, lineNo);
      return;
    }
    this.lastTsAny = ts;
  }

  /**
   * Row i, an event older than the one before it, from another CPU, within MERGE_WINDOW_NS: put
   * it back in time order among the events not yet handed on (each CPU's own order is kept: its
   * timestamps did not go back). Counted as `ts-reordered`; one older than events already handed
   * on cannot be, and is `ts-out-of-order`, delivered before everything still pending.
   */
  private mergeLate(i: number, ts: number, cpu: number, lineNo: number): void {
    this.merging = true;
    const b = this.batch;
    if (ts < this.releasedTs) {
      this.diag.warn('ts-out-of-order', this.file, lineNo, `timestamp ${ts} ns on CPU ${cpu} is earlier than events already analyzed (${this.releasedTs} ns): delivered late`);
      b.moveBack(i, 0);
      return;
    }
    this.diag.warn('ts-reordered', this.file, lineNo, `timestamp ${ts} ns on CPU ${cpu} is ${this.lastTsAny - ts} ns earlier than the event before it (another CPU's): merged back into time order`);
    b.length = i;
    const to = b.upperBoundTs(ts);
    b.length = i + 1;
    b.moveBack(i, to);
  }

  /** A header line declared the CPU count (`#P:N`, `cpus=N`): CPUs at or beyond it are corrupt. */
  private onDeclaredCpus(lineNo: number): void {
    const n = this.meta.declaredCpus;
    if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= MAX_CPUS)) {
      this.diag.warn('malformed-header', this.file, lineNo, `the header declares ${n} CPUs (expected 1 to ${MAX_CPUS}); ignored`);
      this.meta.declaredCpus = this.declaredSeen;
      return;
    }
    this.declaredSeen = n;
    this.maxCpu = n ?? MAX_CPUS;
    this.ctx.maxCpu = this.maxCpu;
  }

  private cpuOutOfRange(cpu: number, lineNo: number): void {
    const why =
      this.maxCpu < MAX_CPUS
        ? `the header declares ${this.maxCpu} CPUs (${this.format.name === 'ftrace' ? '#P:' : 'cpus='}${this.maxCpu})`
        : `NR_CPUS is at most ${MAX_CPUS}`;
    const shown = Number.isSafeInteger(cpu) ? String(cpu) : 'with more digits than any CPU number';
    this.diag.warn('cpu-out-of-range', this.file, lineNo, `CPU ${shown} is out of range: ${why}; line skipped`);
  }

  onLongLine(lineNo: number, length: number): void {
    this.diag.warn('line-too-long', this.file, lineNo, `line of ${length} characters skipped (limit --max-line-length)`);
  }

  onBinaryLine(lineNo: number, column: number): void {
    this.diag.warn('malformed-line', this.file, lineNo, `NUL byte at column ${column} (binary data or a zero-filled hole, not trace text); line skipped`);
  }

  /** the batch is full: a chunk of many short lines (the batch is handed on between chunks) */
  private grow(): void {
    const b = new EventBatch(this.batch.capacity * 2);
    b.appendRows(this.batch, 0, this.batch.length);
    this.batch = b;
  }

  private growCpus(cpu: number): void {
    let n = this.lastTs.length;
    while (n <= cpu) n *= 2;
    const a = new Float64Array(n).fill(-Infinity);
    a.set(this.lastTs);
    this.lastTs = a;
  }
}

class TextTraceSource implements TraceSource {
  readonly meta: TraceMeta;
  private started = false;

  constructor(
    private readonly inputs: InputStream[],
    private readonly format: TextFormat,
    private readonly opts: IngestOptions,
    private readonly diag: Diagnostics,
  ) {
    this.meta = {
      files: inputs.map((i) => i.name),
      format: format.name,
      tgidKnown: false,
      truncated: false,
      lines: 0,
    };
  }

  batches(): AsyncIterable<EventBatch> {
    if (this.started) throw new Error('TraceSource.events() can be iterated only once');
    this.started = true;
    return this.run();
  }

  events(): AsyncIterable<TraceEvent[]> {
    const batches = this.batches();
    return (async function* () {
      for await (const b of batches) yield b.toEvents();
    })();
  }

  private async *run(): AsyncGenerator<EventBatch> {
    const meta = this.meta;
    const parser = new TextParser(this.format, meta, this.diag, newPayloadContext(this.format.cpumaskStyle));
    const maxLen = this.opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    let linesBefore = 0;
    try {
      for (const input of this.inputs) {
        parser.file = input.name;
        const splitter = new LineSplitter(maxLen);
        for (;;) {
          const chunk = await input.next();
          if (chunk === undefined) break;
          splitter.push(chunk, parser);
          if (parser.batch.length >= BATCH_SIZE) {
            meta.lines = linesBefore + splitter.lineNo;
            yield parser.take();
          }
        }
        const failure = input.failure;
        const dropped = splitter.end(parser, failure !== undefined);
        linesBefore += splitter.lineNo;
        meta.lines = linesBefore;
        if (failure !== undefined) {
          meta.truncated = true;
          const msg = dropped > 0 ? `${failure.message}; the last, incomplete line was dropped` : failure.message;
          this.diag.warn(failure.code, input.name, dropped > 0 ? dropped : splitter.lineNo, msg);
        }
      }
      if (parser.batch.length > 0) yield parser.take(true);
    } finally {
      // also when the consumer stops early: release the files / stdin
      for (const input of this.inputs) input.close();
    }
  }
}

export { sniffCompression };

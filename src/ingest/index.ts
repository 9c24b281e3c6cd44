// Ingest entry point: paths -> TraceSource (src/ingest/source.ts).
//
//   openTrace(['trace.txt.gz'], opts, diag)        one file (plain, gzip or zstd; sniffed by magic)
//   openTrace(['-'], opts, diag)                   stdin
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
//
// InputError (nothing can be read): unreadable/missing file, empty input, not a trace (the message
// quotes the first line), inputs of different formats, trace.dat compressed / on stdin / combined.
// Warnings (Diagnostics codes; the line is skipped unless said otherwise):
//   malformed-line     no header grammar of the format fits the line
//   malformed-payload  a known event whose payload does not parse (message: what was expected)
//   line-too-long      longer than opts.maxLineLength (default 1 MiB)
//   ts-backwards       a CPU's timestamp went down (the event IS delivered)
//   truncated-input / corrupt-input   gzip/zstd stream ended early / bad data: meta.truncated,
//                      events decoded so far are delivered, a cut last line is dropped
// Lost events: `CPU:N [LOST M EVENTS]` / `CPU:N [M EVENTS DROPPED]` lines become `lost_events`
// events on CPU N; raw ftrace's `entries-in-buffer/entries-written: A/B` goes to meta (the `trace`
// file does not say which CPU overran). Unknown events are `{kind: 'other', name}`, not warnings.

import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TraceEvent } from '../events/types.js';
import { newPayloadContext, parsePayload, payloadParserFor, type PayloadContext } from '../events/payloads.js';
import { Diagnostics, InputError } from './diagnostics.js';
import type { IngestOptions, TraceMeta, TraceSource } from './source.js';
import { InputStream, TRACE_DAT_MAGIC, displayName, sniffCompression } from './input.js';
import { DEFAULT_MAX_LINE_LENGTH, LineSplitter, type LineSink } from './lines.js';
import { LINE_EVENT, LINE_LOST, LINE_MALFORMED, LineHeader, type TextFormat } from './formats/common.js';
import { ftraceFormat } from './formats/ftrace.js';
import { traceCmdFormat } from './formats/tracecmd.js';
import { perfScriptFormat } from './formats/perfscript.js';

export { InputError } from './diagnostics.js';
export type { IngestOptions, TraceFormat, TraceMeta, TraceSource } from './source.js';

/** Events per batch handed out by `events()`. */
export const BATCH_SIZE = 4096;
/** Decompressed bytes looked at to sniff the format. */
const SNIFF_BYTES = 64 * 1024;
const SNIFF_LINES = 64;
/** CPU numbers beyond this are rejected as malformed (NR_CPUS tops out at 8192). */
const MAX_CPU = 1 << 16;

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
  let s = head.subarray(0, 200).toString('utf8');
  const nl = s.indexOf('\n');
  if (nl >= 0) s = s.slice(0, nl);
  if (s.length > 60) s = s.slice(0, 60) + '...';
  return JSON.stringify(s);
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
      inputs.push(await InputStream.open(p, onRaw));
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

/** Converts lines to events; a LineSink so LineSplitter calls it directly. */
class TextParser implements LineSink {
  batch: TraceEvent[] = [];
  file = '';
  private readonly h = new LineHeader();
  private lastTs = new Float64Array(64).fill(-Infinity);
  private lastTsAny = 0;

  constructor(
    private readonly format: TextFormat,
    private readonly meta: TraceMeta,
    private readonly diag: Diagnostics,
    private readonly ctx: PayloadContext,
  ) {}

  take(): TraceEvent[] {
    const b = this.batch;
    this.batch = [];
    return b;
  }

  onLine(s: string, lineNo: number): void {
    const h = this.h;
    const kind = this.format.parseLine(s, h, this.meta, this.ctx);
    if (kind === LINE_EVENT) {
      const cpu = h.cpu;
      if (cpu >= MAX_CPU) {
        this.diag.warn('malformed-line', this.file, lineNo, `CPU number ${cpu} out of range`);
        return;
      }
      h.line = lineNo;
      // the payload parser is resolved once per event name and kept in the name table
      const entry = h.entry;
      let ev: TraceEvent | string;
      if (entry !== undefined) {
        let parser = entry.parser;
        if (parser === undefined) parser = entry.parser = payloadParserFor(entry.name) ?? null;
        ev = parser !== null ? parser(s, h.payloadStart, h, this.ctx) : parsePayload(h.name, s, h.payloadStart, h, this.ctx);
      } else ev = parsePayload(h.name, s, h.payloadStart, h, this.ctx);
      if (typeof ev === 'string') {
        this.diag.warn('malformed-payload', this.file, lineNo, ev);
        return;
      }
      if (h.tgidColumn) this.meta.tgidKnown = true;
      if (cpu >= this.lastTs.length) this.growCpus(cpu);
      const last = this.lastTs[cpu]!;
      if (h.ts < last) {
        this.diag.warn('ts-backwards', this.file, lineNo, `timestamp ${h.ts} ns on CPU ${cpu} is earlier than the previous event's ${last} ns`);
      }
      this.lastTs[cpu] = h.ts;
      this.lastTsAny = h.ts;
      this.batch.push(ev);
    } else if (kind === LINE_LOST) {
      this.batch.push({
        kind: 'lost_events', ts: this.lastTsAny, cpu: h.cpu, pid: -1, tgid: -1, comm: '', hardirq: undefined, line: lineNo,
        count: h.lostCount,
      });
    } else if (kind === LINE_MALFORMED) {
      const preview = s.length > 50 ? JSON.stringify(s.slice(0, 50)) + '...' : JSON.stringify(s);
      this.diag.warn('malformed-line', this.file, lineNo, `expected a ${this.format.name} line ${LINE_GRAMMAR[this.format.name]}, got ${preview}`);
    }
  }

  onLongLine(lineNo: number, length: number): void {
    this.diag.warn('line-too-long', this.file, lineNo, `line of ${length} characters skipped (limit --max-line-length)`);
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

  events(): AsyncIterable<TraceEvent[]> {
    if (this.started) throw new Error('TraceSource.events() can be iterated only once');
    this.started = true;
    return this.run();
  }

  private async *run(): AsyncGenerator<TraceEvent[]> {
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
      if (parser.batch.length > 0) yield parser.take();
    } finally {
      // also when the consumer stops early: release the files / stdin
      for (const input of this.inputs) input.close();
    }
  }
}

export { sniffCompression };

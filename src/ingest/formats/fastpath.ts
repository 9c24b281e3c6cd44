// The ASCII fast path: the header of an event line parsed straight from the input bytes, for all
// three text grammars (their event lines share the layout `TASK [CPU] [flags] ts: name: payload`).
//
// Why: decoding every line into a string and scanning it with charCodeAt cost ~2.3 us per event on
// the 169 MB sng-madvise trace-cmd text; bytes in a Uint8Array are read about twice as fast as
// string characters, and most of a line is text that was seen before:
//   - the text up to the spaces after `[CPU]` (`   stress-ng-madvi-8155  [001]   `, with raw
//     ftrace's TGID column `... (   8155) [000] `) repeats for every event of a task on a CPU.
//     The header fields in it are a pure function of that text, so a few recently seen ones are
//     kept as bytes with the cpu, pid, tgid and comm the string grammar derived from them: one
//     comparison, eight bytes at a time, replaces parsing all of them. (The flags column varies
//     from event to event of one task: `d..1.`, `.....`; it is read per line.)
//   - the event name is matched against the keys of the grammar's name table (common.ts
//     NameTable), also kept as bytes, most recently used first.
// Everything else — a new task, a new event name, comments, lost-event markers, a CPU out of
// range, any line that does not fit exactly — returns false and the caller runs the string
// grammar on the decoded line, then calls `learn` so the next line of that task/event is fast.
// The fast path therefore never decides anything the string grammar would decide differently:
//   - a remembered text has no `[` before its `[CPU]`, so that bracket is the first one in the
//     line, the candidate findCpuBracket tries first; it ends with the spaces scanAfterCpu skips
//     (the next character must not be one), and the flags and timestamp after it are checked
//     as scanAfterCpu checks them;
//   - no line that starts with a remembered text is a comment or a marker: those lines never
//     parse as events, so no remembered text starts with `#`, and `CPU:N [`/`cpus=N` cannot be
//     the text before a first `[` that also holds `-PID` (ftrace, trace-cmd); perf has no markers.

import { ByteText, bytePayloadParserFor, type BytePayloadParser } from '../../events/payloads.js';
import { MAX_TS_NS, MAX_TS_SEC, POW10, type LineHeader, type NameEntry } from './common.js';

/** line starts and names remembered: enough for the tasks of a few CPUs taking turns */
const MAX_STARTS = 16;
const MAX_NAMES = 32;

/** The text of a line up to the spaces after `[CPU]` and the header fields it determines. */
interface LineStart {
  /** `   stress-ng-madvi-8155  [001]   ` (trace-cmd), `  ... (   8155) [000] ` (ftrace) */
  text: ByteText;
  cpu: number;
  pid: number;
  tgid: number;
  comm: string;
  tgidColumn: boolean;
}

export interface FastName {
  /** the name-table key (`sys_enter_madvise`, `sys_madvise(start`, `syscalls:sys_enter_madvise`) */
  key: ByteText;
  entry: NameEntry;
  /** the byte payload parser of the event, null when it has none (the string one is used) */
  parse: BytePayloadParser | null;
}

export class FastLines {
  /** most recently used first */
  private readonly starts: LineStart[] = [];
  private readonly names: FastName[] = [];
  /** the event name of the line parseHeader accepted */
  name: FastName | undefined = undefined;
  /** the line start parseHeader matched, undefined when none did */
  private start: LineStart | undefined = undefined;

  /** the chunk of the last line and a DataView of it */
  private buf: Buffer | undefined = undefined;
  private dv: DataView = new DataView(new ArrayBuffer(0));

  /** whether the grammar has a flags column after `[CPU]` (perf script has none) */
  constructor(private readonly flagsColumn: boolean) {}

  /** a DataView of the chunk of the line parseHeader accepted, for the byte payload parsers */
  get dataView(): DataView {
    return this.dv;
  }

  /**
   * The header of the event line b[a..e) into h (ts, cpu, task fields, hardirq, name, entry,
   * payloadStyle, payloadStart as an index into b), as the string grammar would set them. False
   * when the line is not one the fast path knows: the string grammar must parse it.
   */
  parseHeader(b: Buffer, a: number, e: number, h: LineHeader): boolean {
    if (b !== this.buf) {
      this.buf = b;
      this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    const dv = this.dv;
    // a remembered line start, then what follows the spaces after `[CPU]`
    const starts = this.starts;
    let t: LineStart | undefined;
    let k = 0;
    for (let n = 0; n < starts.length; n++) {
      const x = starts[n]!;
      k = a + x.text.length;
      if (k < e && b[k] !== 32 && x.text.at(b, dv, a)) {
        t = x;
        if (n > 0) {
          starts[n] = starts[n - 1]!;
          starts[n - 1] = x;
        }
        break;
      }
    }
    this.start = t;
    if (t === undefined) return false;
    // scanAfterCpu: not a digit, so the flags column (`d.h1.`), up to the next space
    let hardirq: boolean | undefined = undefined;
    let c = b[k]!;
    if (c < 48 || c > 57) {
      if (!this.flagsColumn) return false;
      let j = k;
      while (j < e && b[j] !== 32) j++;
      if (j >= e || j - k > 8) return false;
      const f = b[k + 2];
      hardirq = f === 104 /* h */ || f === 72 /* H */;
      while (b[j] === 32) j++;
      k = j;
    }
    // parseTsColon. The first 9 digits of each part are summed as int32s (`| 0` is exact below
    // 10^9): the doubles of parseTsColon make every digit wait for a multiply-add of the one
    // before it. More seconds digits continue in doubles from that exact value, as there.
    const t0 = k;
    let sec = 0;
    c = b[k]!;
    while (c >= 48 && c <= 57 && k - t0 < 9) {
      sec = (sec * 10 + (c - 48)) | 0;
      c = b[++k]!;
    }
    while (c >= 48 && c <= 57) {
      sec = sec * 10 + (c - 48);
      c = b[++k]!;
    }
    if (k === t0 || sec >= MAX_TS_NS) return false;
    let ts = sec;
    if (c !== 58 /* : */) {
      if (c !== 46 /* . */ || sec >= MAX_TS_SEC) return false;
      let frac = 0;
      let nd = 0;
      c = b[++k]!;
      while (c >= 48 && c <= 57) {
        if (nd < 9) {
          frac = (frac * 10 + (c - 48)) | 0;
          nd++;
        }
        c = b[++k]!;
      }
      if (nd === 0 || c !== 58) return false;
      ts = sec * 1e9 + frac * POW10[9 - nd]!;
    }
    if (b[++k] !== 32) return false;
    while (b[k] === 32) k++;
    // the event name: a key of the name table followed by the line's first `: ` (keys hold no `: `)
    const names = this.names;
    let fn: FastName | undefined;
    for (let n = 0; n < names.length; n++) {
      const x = names[n]!;
      const end = k + x.key.length;
      if (end + 1 < e && b[end] === 58 && b[end + 1] === 32 && x.key.at(b, dv, k)) {
        fn = x;
        if (n > 0) {
          names[n] = names[n - 1]!;
          names[n - 1] = x;
        }
        break;
      }
    }
    if (fn === undefined) return false;
    const entry = fn.entry;
    let p = k + entry.payloadOffset;
    if (entry.payloadStyle === 0) while (b[p] === 32) p++;
    this.name = fn;
    h.ts = ts;
    h.cpu = t.cpu;
    h.pid = t.pid;
    h.tgid = t.tgid;
    h.comm = t.comm;
    h.tgidColumn = t.tgidColumn;
    h.hardirq = hardirq;
    h.entry = entry;
    h.name = entry.name;
    h.payloadStyle = entry.payloadStyle;
    h.payloadStart = p;
    return true;
  }

  /**
   * The string grammar parsed b[a..) as an event line into h: remember its task prefix and its
   * event name, when they are not known yet and fit the rules above.
   */
  learn(b: Buffer, a: number, h: LineHeader): void {
    const bracket = h.bracket;
    if (this.start === undefined && bracket > 0 && b.indexOf(91, a) === a + bracket) {
      // up to `[CPU]` and the spaces after it (scanAfterCpu found them in this line)
      let k = a + bracket + 1;
      while (b[k] !== 93) k++;
      k++;
      while (b[k] === 32) k++;
      const starts = this.starts;
      if (starts.length >= MAX_STARTS) starts.pop();
      // (ByteText copies the bytes: a subarray would keep the whole chunk alive)
      starts.unshift({ text: new ByteText(b.subarray(a, k)), cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, tgidColumn: h.tgidColumn });
    }
    const entry = h.entry;
    if (entry === undefined || !/^[\x20-\x7e]+$/.test(entry.key)) return;
    const names = this.names;
    for (const x of names) if (x.entry === entry) return;
    if (names.length >= MAX_NAMES) names.pop();
    names.unshift({ key: new ByteText(entry.key), entry, parse: bytePayloadParserFor(entry.name) });
  }
}

// The hot-path line scanner: decompressed byte chunks -> lines with 1-based line numbers.
//
// Measured on the 170 MB sng-madvise ftrace text (1.35M lines, already in memory):
//   StringDecoder('utf8') per 64 KiB chunk + String#indexOf('\n') + slice   ~1.4 GB/s
//   the same with 1 MiB chunks                                              ~0.6 GB/s
//   Buffer#indexOf(10) + per-line Buffer#toString                           ~0.45 GB/s
// (split2 and readline measured ~0.2 GB/s in an earlier run.) So: decode each chunk once, split
// the string, and glue only the one partial line at a chunk boundary (never `rest + chunk`, which
// copies the whole chunk again). utf8 rather than latin1: comms and file names may be UTF-8.
// Each chunk is decoded with Buffer#toString (what StringDecoder does inside); the bytes of a UTF-8
// character cut by the chunk's end are carried to the next chunk here (no difference measurable
// on an 80 MB raw ftrace text).
//
// Byte fast path (sinks with `onLineBytes`): a chunk that is pure ASCII without NUL bytes (one
// native isAscii + indexOf(0) per chunk, ~0.3 ms per MiB) is not decoded at all. Its complete lines
// are handed over as byte ranges, so the grammar can parse the common event lines from the bytes
// and decode only what it has to; only the line that straddles a chunk boundary and the partial
// tail go through the string path below (whose state they share). For ASCII, a line's length in
// bytes equals its decoded length, so the limits and line numbers are the same as in the string
// path. Any other chunk (UTF-8, invalid bytes, NUL, a UTF-8 character cut at the previous
// chunk's end) takes the string path, so all the cases below keep one implementation.
//
// Robustness:
//   - invalid UTF-8: each byte that is not part of a valid UTF-8 sequence becomes the four
//     characters `\xNN` (the notation the report uses for control characters), so a comm of
//     Latin-1 bytes shows as `caf\xe9` in the terminal, JSON and HTML, never as U+FFFD or raw
//     bytes. Only chunks whose fast decoding produced U+FFFD take this slower path;
//   - a line holding a NUL byte is skipped through `onBinaryLine` (text traces never contain NUL:
//     it is a zero-filled hole left by a crash, or binary data); one indexOf per chunk finds them;
//   - `\r\n` line ends lose the `\r`;
//   - a line longer than `maxLineLength` (counted in UTF-16 units after decoding, which equals
//     bytes for ASCII) is dropped without being kept in memory: once the partial line passes the
//     limit the scanner only counts characters until the next `\n`, then reports the line number
//     and length through `onLongLine`.

import { isAscii } from 'node:buffer';

export const DEFAULT_MAX_LINE_LENGTH = 1 << 20;

/** Receives lines. A class instance, not a closure, so the per-line call stays monomorphic. */
export interface LineSink {
  onLine(line: string, lineNo: number): void;
  /** a line longer than the limit was skipped */
  onLongLine(lineNo: number, length: number): void;
  /** a line holding a NUL byte was skipped; `column` is the 1-based position of the first NUL */
  onBinaryLine(lineNo: number, column: number): void;
  /**
   * Optional: a complete line of an ASCII chunk as the bytes buf[start..end) (`\r` of `\r\n`
   * already cut off, no NUL, not longer than the limit). A sink without it gets every line as
   * a string through onLine.
   */
  onLineBytes?(buf: Buffer, start: number, end: number, lineNo: number): void;
}

/**
 * Where an incomplete UTF-8 sequence at the end of buf starts (buf.length if none): those bytes
 * wait for the next chunk. Looks at the last three bytes only.
 */
function incompleteTail(buf: Buffer): number {
  const n = buf.length;
  for (let i = n - 1; i >= 0 && i >= n - 3; i--) {
    const c = buf[i]!;
    if (c < 0x80) return n;
    if (c >= 0xc0) return n - i < (c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2) ? i : n;
  }
  return n;
}

/** length of the valid UTF-8 sequence at buf[i] (a non-ASCII lead byte), 0 if invalid (RFC 3629) */
function validSequence(buf: Buffer, i: number, end: number): number {
  const c = buf[i]!;
  const c1 = i + 1 < end ? buf[i + 1]! : 0;
  if (c >= 0xc2 && c <= 0xdf) return (c1 & 0xc0) === 0x80 ? 2 : 0;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xe0 && c <= 0xef) {
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f; // no UTF-16 surrogates
    const c2 = i + 2 < end ? buf[i + 2]! : 0;
    return c1 >= lo && c1 <= hi && (c2 & 0xc0) === 0x80 ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f; // nothing above U+10FFFF
    const c2 = i + 2 < end ? buf[i + 2]! : 0;
    const c3 = i + 3 < end ? buf[i + 3]! : 0;
    return c1 >= lo && c1 <= hi && (c2 & 0xc0) === 0x80 && (c3 & 0xc0) === 0x80 ? 4 : 0;
  }
  return 0;
}

/** UTF-8 -> string, every byte outside a valid sequence written as `\xNN` (lower-case hex). */
export function decodeUtf8Escaped(buf: Buffer, start = 0, end = buf.length): string {
  const parts: string[] = [];
  let run = start;
  let i = start;
  while (i < end) {
    const c = buf[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = validSequence(buf, i, end);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > run) parts.push(buf.toString('utf8', run, i));
    parts.push(`\\x${c.toString(16)}`); // c >= 0x80: two hex digits
    run = ++i;
  }
  if (end > run) parts.push(buf.toString('utf8', run, end));
  return parts.join('');
}

export class LineSplitter {
  /** bytes of a UTF-8 character cut by the end of the previous chunk (copied, at most 3) */
  private pending: Buffer | null = null;
  /** the partial line carried over from the previous chunk */
  private rest = '';
  /** inside an over-long line: discarding until the next newline */
  private skipping = false;
  private skipped = 0;
  /** lines completed so far (the last line number handed out) */
  lineNo = 0;

  constructor(private readonly maxLineLength: number = DEFAULT_MAX_LINE_LENGTH) {}

  push(chunk: Buffer, sink: LineSink): void {
    if (this.pending === null && sink.onLineBytes !== undefined && isAscii(chunk) && chunk.indexOf(0) < 0) {
      this.pushAscii(chunk, sink);
      return;
    }
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const cut = incompleteTail(buf);
    if (cut < buf.length) this.pending = Buffer.from(buf.subarray(cut));
    let s = buf.toString('utf8', 0, cut);
    // U+FFFD: invalid bytes (or a literal U+FFFD). O(1) on the usual one-byte (Latin-1) strings.
    if (s.indexOf('\ufffd') >= 0) s = decodeUtf8Escaped(buf, 0, cut);
    this.pushString(s, sink);
  }

  /**
   * An ASCII chunk without NUL for a sink with onLineBytes: the same lines, numbers and limits as
   * pushString(chunk decoded), but the lines inside the chunk are handed over as bytes.
   */
  private pushAscii(buf: Buffer, sink: LineSink): void {
    const first = buf.indexOf(10);
    // no line ends here, or the first line continues one carried over: the string path's state
    if (first < 0 || this.rest.length > 0 || this.skipping) {
      const head = first < 0 ? buf.length : first + 1;
      this.pushString(buf.toString('latin1', 0, head), sink);
      if (first < 0) return;
      this.asciiLines(buf, head, sink);
      return;
    }
    this.asciiLines(buf, 0, sink);
  }

  /** the lines of buf starting at p (a line start), then the partial tail into `rest` */
  private asciiLines(buf: Buffer, p: number, sink: LineSink): void {
    const max = this.maxLineLength;
    let i: number;
    while ((i = buf.indexOf(10, p)) >= 0) {
      if (i - p > max) sink.onLongLine(++this.lineNo, i - p);
      else sink.onLineBytes!(buf, p, i > p && buf[i - 1] === 13 ? i - 1 : i, ++this.lineNo);
      p = i + 1;
    }
    if (p < buf.length) this.carry(buf.toString('latin1', p));
  }

  /** For inputs that are already strings (tests). */
  pushString(s: string, sink: LineSink): void {
    const max = this.maxLineLength;
    let i = s.indexOf('\n');
    if (i < 0) {
      this.carry(s);
      return;
    }
    // the first NUL in this chunk, kept ahead of p: lines before it are checked with one compare
    let nul = s.indexOf('\0');
    // the line that straddles the previous chunk boundary
    if (this.skipping) {
      this.skipping = false;
      sink.onLongLine(++this.lineNo, this.skipped + i);
    } else {
      const line = this.rest.length > 0 ? this.rest + s.slice(0, i) : s.slice(0, i);
      this.rest = '';
      this.emit(line, sink);
    }
    let p = i + 1;
    while ((i = s.indexOf('\n', p)) >= 0) {
      if (nul >= 0 && nul < p) nul = s.indexOf('\0', p);
      if (i - p > max) sink.onLongLine(++this.lineNo, i - p);
      else if (nul >= 0 && nul < i) sink.onBinaryLine(++this.lineNo, nul - p + 1);
      else {
        const e = i > p && s.charCodeAt(i - 1) === 13 ? i - 1 : i;
        sink.onLine(s.slice(p, e), ++this.lineNo);
      }
      p = i + 1;
    }
    if (p < s.length) this.carry(p === 0 ? s : s.slice(p));
  }

  private carry(s: string): void {
    if (this.skipping) {
      this.skipped += s.length;
      return;
    }
    if (this.rest.length + s.length > this.maxLineLength) {
      this.skipping = true;
      this.skipped = this.rest.length + s.length;
      this.rest = '';
      return;
    }
    this.rest = this.rest.length > 0 ? this.rest + s : s;
  }

  private emit(line: string, sink: LineSink): void {
    if (line.length > this.maxLineLength) {
      sink.onLongLine(++this.lineNo, line.length);
      return;
    }
    const nul = line.indexOf('\0');
    if (nul >= 0) {
      sink.onBinaryLine(++this.lineNo, nul + 1);
      return;
    }
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    sink.onLine(line, ++this.lineNo);
  }

  /**
   * End of input. A last line without `\n` is delivered, unless `dropPartial` (the input was
   * truncated, so that line is cut); it then returns the dropped line's number (0 if none).
   */
  end(sink: LineSink, dropPartial = false): number {
    if (this.pending !== null) {
      // a UTF-8 sequence the input never finished: its bytes are invalid
      this.carry(decodeUtf8Escaped(this.pending));
      this.pending = null;
    }
    if (this.skipping) {
      this.skipping = false;
      sink.onLongLine(++this.lineNo, this.skipped);
      return 0;
    }
    if (this.rest.length === 0) return 0;
    const line = this.rest;
    this.rest = '';
    if (dropPartial) return ++this.lineNo;
    this.emit(line, sink);
    return 0;
  }
}

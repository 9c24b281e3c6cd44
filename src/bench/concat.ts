// N copies of a text trace as one stream, each copy's timestamps shifted past the previous copy's
// end, written chunk by chunk (the N-times stream never exists as a whole, on disk or in memory).
//
// Works on `trace-cmd report` and raw ftrace text: a timestamped line is
//     <anything> [CPU] [flags] SECONDS.FRACTION: ...
// The shift is a whole number of seconds S > (last - first), so only the integer part of each
// timestamp is rewritten (fraction digits are kept byte for byte) and every CPU stays in order.
// Lines before the first timestamped line (`cpus=2`, the raw ftrace `#` header) are written once;
// later untimed lines (`CPU:0 [97270 EVENTS DROPPED]`) are copied as they are.

export interface TextIndex {
  readonly buf: Buffer;
  /** offset of the first timestamped line; [0, headerEnd) is written by the first copy only */
  readonly headerEnd: number;
  /** timestamped lines */
  readonly count: number;
  /** per timestamped line: offset of the first digit of the seconds, and of the '.' after them */
  readonly secStart: Float64Array;
  readonly dot: Float64Array;
  /** per timestamped line: the integer seconds */
  readonly sec: Float64Array;
  readonly firstSec: number;
  readonly lastSec: number;
  /** whole seconds added per copy */
  readonly shiftSec: number;
}

const NL = 10;
const SP = 32;
const DOT = 46;
const COLON = 58;
const LBR = 91;
const RBR = 93;

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 48 && c <= 57;

/**
 * Where the integer seconds of the timestamp of the line buf[a..b) start, or -1. Looks for the
 * first `[digits]` followed by a space, skips an optional flags column, then wants
 * `digits.digits:`. Sets `dotOut[0]` to the offset of the '.'.
 */
export function findTimestamp(buf: Buffer, a: number, b: number, dotOut: Float64Array): number {
  let p = a;
  for (;;) {
    const lb = buf.indexOf(LBR, p);
    if (lb < 0 || lb >= b) return -1;
    let i = lb + 1;
    while (i < b && isDigit(buf[i])) i++;
    if (i === lb + 1 || i >= b || buf[i] !== RBR || buf[i + 1] !== SP) {
      p = lb + 1;
      continue;
    }
    i++;
    // up to two tokens after the bracket: [flags] then the timestamp
    for (let tok = 0; tok < 2; tok++) {
      while (i < b && buf[i] === SP) i++;
      const s = i;
      while (i < b && isDigit(buf[i])) i++;
      if (i > s && buf[i] === DOT) {
        const d = i;
        i++;
        const f = i;
        while (i < b && isDigit(buf[i])) i++;
        if (i > f && buf[i] === COLON) {
          dotOut[0] = d;
          return s;
        }
      }
      // not a timestamp: skip this token (the flags column) and try the next one
      i = s;
      while (i < b && buf[i] !== SP) i++;
    }
    p = lb + 1;
  }
}

/** Index the timestamps of a whole text trace held in memory. Throws if it has none. */
export function indexText(buf: Buffer): TextIndex {
  let cap = 1 << 16;
  let secStart = new Float64Array(cap);
  let dot = new Float64Array(cap);
  let sec = new Float64Array(cap);
  let n = 0;
  let headerEnd = -1;
  const dotOut = new Float64Array(1);
  let a = 0;
  const len = buf.length;
  while (a < len) {
    let e = buf.indexOf(NL, a);
    if (e < 0) e = len;
    const s = findTimestamp(buf, a, e, dotOut);
    if (s >= 0) {
      if (headerEnd < 0) headerEnd = a;
      if (n === cap) {
        cap *= 2;
        const grow = (x: Float64Array) => {
          const y = new Float64Array(cap);
          y.set(x);
          return y;
        };
        secStart = grow(secStart);
        dot = grow(dot);
        sec = grow(sec);
      }
      const d = dotOut[0]!;
      let v = 0;
      for (let i = s; i < d; i++) v = v * 10 + (buf[i]! - 48);
      secStart[n] = s;
      dot[n] = d;
      sec[n] = v;
      n++;
    }
    a = e + 1;
  }
  if (n === 0) throw new Error('no timestamped line found (expected trace-cmd report or raw ftrace text)');
  let firstSec = Infinity;
  let lastSec = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = sec[i]!;
    if (v < firstSec) firstSec = v;
    if (v > lastSec) lastSec = v;
  }
  return {
    buf,
    headerEnd,
    count: n,
    secStart: secStart.subarray(0, n),
    dot: dot.subarray(0, n),
    sec: sec.subarray(0, n),
    firstSec,
    lastSec,
    // first + S > last + (1 second of fraction) for every event of the previous copy
    shiftSec: lastSec - firstSec + 1,
  };
}

/** Receives each finished chunk; may return a promise to apply back-pressure. */
export type ChunkSink = (chunk: Buffer) => void | Promise<void>;

/**
 * Write `copies` copies of the indexed text to `sink`, copy k with every timestamp + k * shiftSec
 * seconds, in chunks of about `chunkSize` bytes. Each chunk is a fresh buffer (the sink may keep it).
 */
export async function writeCopies(idx: TextIndex, copies: number, sink: ChunkSink, chunkSize = 1 << 20): Promise<void> {
  const { buf, secStart, dot, sec, count, headerEnd, shiftSec } = idx;
  let out = Buffer.allocUnsafe(chunkSize);
  let o = 0;
  const flush = async (): Promise<void> => {
    if (o === 0) return;
    const chunk = out.subarray(0, o);
    out = Buffer.allocUnsafe(chunkSize);
    o = 0;
    await sink(chunk);
  };
  /** copy buf[a..b) into the output, flushing as needed */
  const put = async (a: number, b: number): Promise<void> => {
    while (a < b) {
      const n = Math.min(b - a, chunkSize - o);
      buf.copy(out, o, a, a + n);
      o += n;
      a += n;
      if (o === chunkSize) await flush();
    }
  };
  const digits = new Uint8Array(24);
  const endsWithNl = buf.length > 0 && buf[buf.length - 1] === NL;

  for (let k = 0; k < copies; k++) {
    const add = k * shiftSec;
    let pos = k === 0 ? 0 : headerEnd;
    for (let i = 0; i < count; i++) {
      const s = secStart[i]!;
      const d = dot[i]!;
      // the new integer part, right to left
      let v = sec[i]! + add;
      let nd = 0;
      do {
        digits[nd++] = 48 + (v % 10);
        v = Math.floor(v / 10);
      } while (v > 0);
      // keep the column: eat padding spaces the longer number needs (leave one)
      let cut = s;
      let extra = nd - (d - s);
      while (extra > 0 && cut - 2 >= pos && buf[cut - 1] === SP && buf[cut - 2] === SP) {
        cut--;
        extra--;
      }
      if (chunkSize - o < (cut - pos) + nd) {
        await put(pos, cut);
      } else {
        buf.copy(out, o, pos, cut);
        o += cut - pos;
      }
      if (chunkSize - o < nd) await flush();
      for (let j = nd - 1; j >= 0; j--) out[o++] = digits[j]!;
      pos = d;
    }
    await put(pos, buf.length);
    if (!endsWithNl && buf.length > 0) {
      if (o === chunkSize) await flush();
      out[o++] = NL;
    }
  }
  await flush();
}

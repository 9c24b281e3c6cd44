// Scanners over a payload, as strings (the string parsers) and as bytes (the byte parsers of the
// ASCII fast path). `readEnd` is where the last readInt/readHex/readIntBytes/readHexBytes stopped
// (module state: single-threaded hot path, avoids returning a pair); the parsers of every family
// read it from here.

export let readEnd = 0;

/** Signed decimal at s[p..]; NaN when there is no digit. Sets readEnd. */
export function readInt(s: string, p: number): number {
  let neg = false;
  let c = s.charCodeAt(p);
  if (c === 45 /* - */) {
    neg = true;
    c = s.charCodeAt(++p);
  }
  let v = 0;
  const start = p;
  while (c >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    c = s.charCodeAt(++p);
  }
  readEnd = p;
  // no digit, or more digits than a double holds exactly (a corrupt or hostile field)
  if (p === start || v > Number.MAX_SAFE_INTEGER) return NaN;
  return neg ? -v : v;
}

/**
 * Unsigned hex (with or without `0x`) at s[p..] as a number; NaN when there is no hex digit.
 * Exact below 2^53, and for page-aligned values (addresses, lengths) below 2^65; other values of
 * more than 53 significant bits are rounded to the nearest double (see SyscallEnterEvent.args).
 * Sets readEnd.
 */
export function readHex(s: string, p: number): number {
  if (s.charCodeAt(p) === 48 && s.charCodeAt(p + 1) === 120) p += 2;
  const start = p;
  let v = 0;
  let c = s.charCodeAt(p);
  for (;;) {
    if (c >= 48 && c <= 57) v = v * 16 + (c - 48);
    else if (c >= 97 && c <= 102) v = v * 16 + (c - 87);
    else if (c >= 65 && c <= 70) v = v * 16 + (c - 55);
    else break;
    c = s.charCodeAt(++p);
  }
  readEnd = p;
  return p === start ? NaN : v;
}

/** end of the value that starts at p: the next space, or the end of the line */
export function valueEnd(s: string, p: number): number {
  const e = s.indexOf(' ', p);
  return e < 0 ? s.length : e;
}

/** index just after `key` when the payload has `key` at p, else -1 */
export function expect(s: string, p: number, key: string): number {
  return s.startsWith(key, p) ? p + key.length : -1;
}

// ---------------------------------------------------------------------------------------------
// Byte parsers: the ASCII fast path (src/ingest/formats/fastpath.ts) parses the payloads that
// dominate real captures (named syscall entries, tlb_flush: 95% of a madvise or munmap storm)
// straight from the input bytes b[p..e), e being the line end. They accept exactly what the string
// parsers above accept on their fast path and build the same objects; anything else (a malformed
// payload, an unusual spelling) returns null and the caller runs the string parser on the decoded
// line, so messages and the general paths have one implementation. Bytes past e are the line's
// `\r`/`\n`, which no scanner accepts, like the end of a string.
//
// Fixed text (argument names, the task prefix, event names) is compared eight bytes at a time
// through a DataView of the chunk: byte by byte, these compares cost as much as all the parsing.

/**
 * A fixed ASCII text compared against input bytes eight at a time, each 8-byte group read as a
 * float64 through a DataView: for ASCII bytes (the fast path only sees ASCII chunks) the exponent
 * can never be all ones (that needs a byte >= 0xf0) and the sign bit is clear, so no group is a
 * NaN or -0, and float equality is exactly byte equality. Shorter texts: 32-bit words, or bytes.
 */
export class ByteText {
  readonly bytes: Uint8Array;
  readonly length: number;
  /** the groups at 0, 8, 16, ... and a last one ending at `length` (it may overlap) */
  private readonly words: Float64Array;
  /** for texts of 4 to 7 bytes: the 32-bit words at 0 and ending at `length` */
  private readonly head: number;
  private readonly tail: number;

  constructor(text: string | Uint8Array) {
    this.bytes = typeof text === 'string' ? new Uint8Array(Buffer.from(text, 'latin1')) : new Uint8Array(text);
    const n = this.bytes.length;
    this.length = n;
    const dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, n);
    const w: number[] = [];
    if (n >= 8) {
      for (let k = 0; k + 8 < n; k += 8) w.push(dv.getFloat64(k, true));
      w.push(dv.getFloat64(n - 8, true));
    }
    this.words = new Float64Array(w);
    this.head = n >= 4 ? dv.getInt32(0, true) : 0;
    this.tail = n >= 4 ? dv.getInt32(n - 4, true) : 0;
  }

  /**
   * Whether b[p..p+length) holds the text (the caller guarantees p + length <= b.length). The
   * last group first: remembered line starts differ mostly in the pid and CPU near their end.
   */
  at(b: Uint8Array, dv: DataView, p: number): boolean {
    const n = this.length;
    if (n < 8) {
      // 4 to 7 bytes: two overlapping 32-bit words (`start:`, `len:`)
      if (n >= 4) return dv.getInt32(p, true) === this.head && dv.getInt32(p + n - 4, true) === this.tail;
      for (let k = 0; k < n; k++) if (b[p + k] !== this.bytes[k]) return false;
      return true;
    }
    const w = this.words;
    const last = w.length - 1;
    if (dv.getFloat64(p + n - 8, true) !== w[last]) return false;
    for (let k = 0; k < last; k++) if (dv.getFloat64(p + 8 * k, true) !== w[k]) return false;
    return true;
  }
}

/** hex digit values by byte, -1 for anything else */
const HEX_DIGIT = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX_DIGIT[48 + c] = c;
for (let c = 0; c < 6; c++) HEX_DIGIT[97 + c] = HEX_DIGIT[65 + c] = 10 + c;

/**
 * readHex on bytes, giving the same double. readHex's `v = v * 16 + d` in doubles is a chain of
 * dependent multiply-adds (~8 cycles a digit; the hex digits of a madvise payload are a third of
 * its time), so the first digits are gathered in int32s with shifts instead: up to 7 digits in
 * one, up to 6 more in a second, combined exactly (13 digits are at most 52 bits, and readHex is
 * exact below 2^53, so both give the same value). Digits beyond the 13th continue with readHex's
 * own arithmetic from that exact value, so its roundings are reproduced. Sets readEnd.
 */
export function readHexBytes(b: Uint8Array, p: number): number {
  if (b[p] === 48 && b[p + 1] === 120) p += 2;
  const start = p;
  let hi = 0;
  let d: number;
  while ((d = HEX_DIGIT[b[p]!]!) >= 0) {
    hi = (hi << 4) | d;
    if (++p - start === 7) break;
  }
  if (p - start < 7) {
    readEnd = p;
    return p === start ? NaN : hi;
  }
  const mid = p;
  let lo = 0;
  while ((d = HEX_DIGIT[b[p]!]!) >= 0) {
    lo = (lo << 4) | d;
    if (++p - mid === 6) break;
  }
  let v = hi * HEX_SCALE[p - mid]! + lo;
  if (p - mid === 6) {
    while ((d = HEX_DIGIT[b[p]!]!) >= 0) {
      v = v * 16 + d;
      p++;
    }
  }
  readEnd = p;
  return v;
}
/** 16 ** n */
const HEX_SCALE = [1, 16, 256, 4096, 65536, 1048576, 16777216];

/** readInt on bytes. Sets readEnd. */
export function readIntBytes(b: Uint8Array, p: number): number {
  let neg = false;
  let c = b[p]!;
  if (c === 45 /* - */) {
    neg = true;
    c = b[++p]!;
  }
  let v = 0;
  const start = p;
  while (c >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    c = b[++p]!;
  }
  readEnd = p;
  if (p === start || v > Number.MAX_SAFE_INTEGER) return NaN;
  return neg ? -v : v;
}

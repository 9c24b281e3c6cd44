// Endian-aware reads on DataViews. trace.dat numbers are in the file's endianness (byte 0 of the
// header after the version string: 0 little, 1 big; trace-cmd.dat.v7(5) "INITIAL FORMAT").
// 64-bit values come back as JS numbers (exact below 2^53, which covers nanosecond timestamps for
// 104 days of uptime and every length/offset in a file, and page-aligned syscall arguments).

import { decodeUtf8Escaped } from '../lines.js';

export const TWO32 = 4294967296;

export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** unsigned 64-bit as a number (loses precision above 2^53) */
export function u64(dv: DataView, p: number, le: boolean): number {
  return le
    ? dv.getUint32(p + 4, true) * TWO32 + dv.getUint32(p, true)
    : dv.getUint32(p, false) * TWO32 + dv.getUint32(p + 4, false);
}

/** signed 64-bit as a number */
export function s64(dv: DataView, p: number, le: boolean): number {
  return le
    ? dv.getInt32(p + 4, true) * TWO32 + dv.getUint32(p, true)
    : dv.getInt32(p, false) * TWO32 + dv.getUint32(p + 4, false);
}

/** high 32 bits of a 64-bit word */
export function hi32(dv: DataView, p: number, le: boolean): number {
  return dv.getUint32(le ? p + 4 : p, le);
}

/** low 32 bits of a 64-bit word */
export function lo32(dv: DataView, p: number, le: boolean): number {
  return dv.getUint32(le ? p : p + 4, le);
}

/** An unsigned field of 1, 2, 4 or 8 bytes as a number. */
export function readUnsigned(dv: DataView, p: number, size: number, le: boolean): number {
  switch (size) {
    case 1:
      return dv.getUint8(p);
    case 2:
      return dv.getUint16(p, le);
    case 4:
      return dv.getUint32(p, le);
    case 8:
      return u64(dv, p, le);
    default:
      return 0;
  }
}

/** A signed field of 1, 2, 4 or 8 bytes as a number. */
export function readSigned(dv: DataView, p: number, size: number, le: boolean): number {
  switch (size) {
    case 1:
      return dv.getInt8(p);
    case 2:
      return dv.getInt16(p, le);
    case 4:
      return dv.getInt32(p, le);
    case 8:
      return s64(dv, p, le);
    default:
      return 0;
  }
}

/** hex of a 64-bit value without `0x` and without leading zeros ("0" for zero) */
export function hexOf(hi: number, lo: number): string {
  return hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0');
}

/**
 * Bytes up to the first NUL (or `end`) as UTF-8: `char comm[16]` and `__data_loc char[]` fields.
 * Bytes that are not valid UTF-8 become the text `\xNN`, as in the text formats (lines.ts), so a
 * Latin-1 comm reads the same from trace.dat as from its `trace-cmd report` text.
 */
export function fixedString(buf: Buffer, p: number, end: number): string {
  let q = p;
  while (q < end && buf[q] !== 0) q++;
  // ASCII fast path: most task names and file names
  let ascii = true;
  for (let i = p; i < q; i++) {
    if (buf[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  return ascii ? buf.toString('latin1', p, q) : decodeUtf8Escaped(buf, p, q);
}


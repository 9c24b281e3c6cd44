// Kernel addresses -> `name+0xoff`, exactly as trace-cmd report prints `%pS` (and `name` for `%ps`).
// Mirrors libtraceevent src/event-parse.c:
//   tep_parse_kallsyms(): sscanf("%16llx %c %n%*s%n..."), skipping names starting with '$' and
//     absolute symbols (type 'A'/'a'); tep_register_function() prepends, so the list is in
//     reverse file order;
//   func_map_init(): qsort by address (glibc's qsort is a stable merge sort for arrays this size),
//     so equal addresses keep reverse file order;
//   __find_func(): bsearch with func_bcmp(), which matches an exact address or one strictly inside
//     [addr, next addr); the last symbol only matches exactly (its successor is a sentinel at 0);
//   print_function(): "%s" (+ "+0x%llx" for %pS/%pF) when found, else "0x%llx".
// The bsearch probe sequence is reproduced (glibc's midpoint search) so that aliases at one
// address resolve to the same name trace-cmd picked.

export class Kallsyms {
  private hi: Uint32Array = new Uint32Array(0);
  private lo: Uint32Array = new Uint32Array(0);
  /**
   * name of entry i: from src[nameStart[i]] to the next blank or line end, found and made into a
   * string only when printed (a few dozen of ~100k names are: scanning them all doubled the parse)
   */
  private nameStart: Uint32Array = new Uint32Array(0);
  private src: Buffer = Buffer.alloc(0);
  private n = 0;
  private loaded = false;
  /** hi word -> lo word -> [name, offset] */
  private readonly cache = new Map<number, Map<number, [string, number] | null>>();

  /** `load` returns the kallsyms text (decompressed on demand: it is megabytes and often unused) */
  constructor(private load: (() => Buffer | null) | null) {}

  get count(): number {
    this.ensure();
    return this.n;
  }

  private ensure(): void {
    if (this.loaded) return;
    this.loaded = true;
    const src = this.load?.() ?? null;
    this.load = null;
    if (!src) return;
    this.src = src;
    const n = src.length;
    // one pass over megabytes of text, run once: table lookups instead of per-character tests
    let cap = Math.max(16, n >>> 5); // ~40 bytes a line; grown if needed
    let fHi = new Uint32Array(cap);
    let fLo = new Uint32Array(cap);
    let fStart = new Uint32Array(cap);
    let count = 0;
    let pos = 0;
    while (pos < n) {
      let eol = src.indexOf(0x0a, pos);
      if (eol < 0) eol = n;
      if (eol === pos) {
        pos++; // strtok_r skips empty lines
        continue;
      }
      // sscanf("%16llx %c %n%*s%n"): address (at most 16 hex digits), one type char, the name
      let p = pos;
      while (p < eol && BLANK[src[p]!] === 1) p++;
      let hi = 0;
      let lo = 0;
      const digitsEnd = Math.min(eol, p + 16);
      const digitsStart = p;
      for (; p < digitsEnd; p++) {
        const d = HEX[src[p]!]!;
        if (d < 0) break;
        hi = ((hi << 4) | (lo >>> 28)) >>> 0;
        lo = ((lo << 4) | d) >>> 0;
      }
      const digits = p - digitsStart;
      while (p < eol && BLANK[src[p]!] === 1) p++;
      const type = p < eol ? src[p]! : -1;
      p++;
      while (p < eol && BLANK[src[p]!] === 1) p++;
      // no name: p is at the line end (the blanks before a name are skipped above)
      if (digits === 0 || type < 0 || p >= eol) break; // libtraceevent stops at the first malformed line
      pos = eol + 1;
      // skip '$' names (arm mapping symbols) and absolute symbols ('A'/'a', x86-64 per-cpu offsets)
      if (src[p] === 0x24 || type === 0x41 || type === 0x61) continue;
      if (count === cap) {
        cap *= 2;
        fHi = grow(fHi, cap);
        fLo = grow(fLo, cap);
        fStart = grow(fStart, cap);
      }
      fHi[count] = hi;
      fLo[count] = lo;
      fStart[count] = p;
      count++;
    }
    // Order: tep_register_function() prepends (reverse file order), then a stable sort by address:
    // by address, and among equal addresses the later line first.
    const order = new Int32Array(count);
    let sorted = true;
    for (let i = 1; i < count && sorted; i++) {
      if (fHi[i]! < fHi[i - 1]! || (fHi[i] === fHi[i - 1] && fLo[i]! < fLo[i - 1]!)) sorted = false;
    }
    if (sorted) {
      // file already in address order (the usual /proc/kallsyms): reverse each run of equal addresses
      let k = 0;
      for (let i = 0; i < count; ) {
        let j = i + 1;
        while (j < count && fHi[j] === fHi[i] && fLo[j] === fLo[i]) j++;
        for (let x = j - 1; x >= i; x--) order[k++] = x;
        i = j;
      }
    } else {
      for (let i = 0; i < count; i++) order[i] = i;
      order.sort((a, b) => fHi[a]! - fHi[b]! || fLo[a]! - fLo[b]! || b - a);
    }
    this.n = count;
    this.hi = new Uint32Array(count);
    this.lo = new Uint32Array(count);
    this.nameStart = new Uint32Array(count);
    for (let k = 0; k < count; k++) {
      const i = order[k]!;
      this.hi[k] = fHi[i]!;
      this.lo[k] = fLo[i]!;
      this.nameStart[k] = fStart[i]!;
    }
  }

  /** sscanf's `%*s`: the name runs to the first blank or the end of its line */
  private name(i: number): string {
    const src = this.src;
    const start = this.nameStart[i]!;
    let end = start;
    while (end < src.length && src[end] !== 0x0a && BLANK[src[end]!] !== 1) end++;
    return src.toString('latin1', start, end);
  }

  /** compare key (khi, klo) with entry i: -1, 0, 1 */
  private cmp(khi: number, klo: number, i: number): number {
    const h = this.hi[i]!;
    if (khi !== h) return khi < h ? -1 : 1;
    const l = this.lo[i]!;
    return klo === l ? 0 : klo < l ? -1 : 1;
  }

  /** func_bcmp(key, map[i]) */
  private bcmp(khi: number, klo: number, i: number): number {
    const c = this.cmp(khi, klo, i);
    if (c === 0) return 0;
    if (c > 0) {
      // key > map[i]: a match when key < map[i+1]; the sentinel after the last entry is address 0
      if (i + 1 < this.n && this.cmp(khi, klo, i + 1) < 0) return 0;
      return 1;
    }
    return -1;
  }

  /** [name, offset from the symbol] or null when trace-cmd would print the raw address */
  lookup(hi: number, lo: number): [string, number] | null {
    let byLo = this.cache.get(hi);
    if (!byLo) {
      byLo = new Map();
      this.cache.set(hi, byLo);
    }
    const hit = byLo.get(lo);
    if (hit !== undefined) return hit;
    this.ensure();
    let res: [string, number] | null = null;
    let l = 0;
    let u = this.n;
    while (l < u) {
      const i = (l + u) >>> 1;
      const c = this.bcmp(hi, lo, i);
      if (c < 0) u = i;
      else if (c > 0) l = i + 1;
      else {
        const off = (hi - this.hi[i]!) * 4294967296 + (lo - this.lo[i]!);
        res = [this.name(i), off];
        break;
      }
    }
    byLo.set(lo, res);
    return res;
  }

  // direct-mapped cache of printed names, per mode (%ps, %pS): the same few call sites repeat
  private readonly cacheHi = [new Float64Array(1024).fill(-1), new Float64Array(1024).fill(-1)];
  private readonly cacheLo = [new Float64Array(1024).fill(-1), new Float64Array(1024).fill(-1)];
  private readonly cacheStr: string[][] = [new Array<string>(1024).fill(''), new Array<string>(1024).fill('')];

  /** `%pS`: `name+0xoff`; `%ps`: `name`; unresolved: `0x<hex>` (libtraceevent print_function()) */
  format(hi: number, lo: number, withOffset: boolean): string {
    const m = withOffset ? 1 : 0;
    const slot = ((lo >>> 2) ^ (lo >>> 12)) & 1023;
    const ch = this.cacheHi[m]!;
    const cl = this.cacheLo[m]!;
    if (ch[slot] === hi && cl[slot] === lo) return this.cacheStr[m]![slot]!;
    const r = this.lookup(hi, lo);
    let s: string;
    if (!r) s = '0x' + (hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0'));
    else s = withOffset ? `${r[0]}+0x${r[1].toString(16)}` : r[0];
    ch[slot] = hi;
    cl[slot] = lo;
    this.cacheStr[m]![slot] = s;
    return s;
  }
}

/** isspace() of sscanf's whitespace: 1 for ' ', \t, \r, \v, \f */
const BLANK = new Uint8Array(256);
for (const ch of [0x20, 0x09, 0x0d, 0x0b, 0x0c]) BLANK[ch] = 1;

/** hex digit value, -1 for anything else */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX[0x61 + i] = HEX[0x41 + i] = 10 + i;

function grow(a: Uint32Array<ArrayBuffer>, cap: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(cap);
  b.set(a);
  return b;
}

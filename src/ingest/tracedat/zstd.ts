// A Zstandard frame decoder (RFC 8878), written for trace-cmd's compressed chunks: one frame per
// chunk of 10 ring-buffer pages, no dictionary. The pure-JS `fzstd` package decodes these at about
// 60 MB/s here, which made decompression most of the time spent reading a trace.dat; this one
// keeps its tables in typed arrays and its hot loops on local variables, reads bits with one
// DataView load from a zero-padded copy of the input, and copies matches with copyWithin() when
// they do not overlap. Anything it does not implement (dictionaries) throws ZstdUnsupported, and
// the caller falls back to fzstd.
//
// Section numbers below are RFC 8878's.

export class ZstdError extends Error {}
export class ZstdUnsupported extends Error {}

function fail(msg: string): never {
  throw new ZstdError(`zstd: ${msg}`);
}

// ---------------------------------------------------------------------------------------------
// Tables (3.1.1.3.2.1.1, 3.1.1.3.2.2)

const LL_BASE = new Int32Array([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048,
  4096, 8192, 16384, 32768, 65536,
]);
const LL_BITS = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
const ML_BASE = new Int32Array([
  3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
  37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539,
]);
const ML_BITS = new Uint8Array([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5,
  7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
]);
const LL_DEFAULT = [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1];
const ML_DEFAULT = [
  1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, -1, -1, -1, -1, -1, -1, -1,
];
const OF_DEFAULT = [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1];

/** An FSE decoding table: per state the symbol, the bits to read and the base of the next state. */
interface FseTable {
  log: number;
  sym: Uint8Array;
  nb: Uint8Array;
  base: Uint16Array;
}

function highBit(v: number): number {
  return 31 - Math.clz32(v);
}

/** FSE_buildDTable (4.1.1): spread symbols, then derive bits/next-state base per state. */
function buildFse(norm: ArrayLike<number>, nSym: number, log: number): FseTable {
  const size = 1 << log;
  const sym = new Uint8Array(size);
  const nb = new Uint8Array(size);
  const base = new Uint16Array(size);
  const next = new Uint16Array(nSym);
  let high = size - 1;
  for (let s = 0; s < nSym; s++) {
    const n = norm[s]!;
    if (n === -1) {
      sym[high--] = s;
      next[s] = 1;
    } else next[s] = n;
  }
  const mask = size - 1;
  const step = (size >>> 1) + (size >>> 3) + 3;
  let pos = 0;
  for (let s = 0; s < nSym; s++) {
    const n = norm[s]!;
    for (let i = 0; i < n; i++) {
      sym[pos] = s;
      do pos = (pos + step) & mask;
      while (pos > high);
    }
  }
  if (pos !== 0) fail('bad FSE distribution');
  for (let u = 0; u < size; u++) {
    const s = sym[u]!;
    const ns = next[s]!++;
    const bits = log - highBit(ns);
    nb[u] = bits;
    base[u] = (ns << bits) - size;
  }
  return { log, sym, nb, base };
}

function rleFse(symbol: number): FseTable {
  return { log: 0, sym: new Uint8Array([symbol]), nb: new Uint8Array(1), base: new Uint16Array(1) };
}

const LL_PREDEF = buildFse(LL_DEFAULT, LL_DEFAULT.length, 6);
const ML_PREDEF = buildFse(ML_DEFAULT, ML_DEFAULT.length, 6);
const OF_PREDEF = buildFse(OF_DEFAULT, OF_DEFAULT.length, 5);

// ---------------------------------------------------------------------------------------------

/** Per-frame state: repeat offsets, previous tables (Repeat_Mode, Treeless literals). */
class FrameState {
  rep0 = 1;
  rep1 = 4;
  rep2 = 8;
  ll: FseTable | null = null;
  ml: FseTable | null = null;
  of: FseTable | null = null;
  hufLog = 0;
  hufSym: Uint8Array | null = null;
  hufNb: Uint8Array | null = null;
}

/**
 * The decoder keeps its scratch buffers between calls (one instance per CPU stream is fine; it is
 * not re-entrant).
 */
export class ZstdDecoder {
  private src = new Uint8Array(0);
  private dv = new DataView(this.src.buffer);
  private readonly lits = new Uint8Array((1 << 17) + 64);
  private readonly litsDv = new DataView(this.lits.buffer);
  private readonly norm = new Int16Array(256);
  private readonly weights = new Uint8Array(256);
  private readonly fseCache = new Map<string, FseTable>();
  private readonly hufCache = new Map<string, { log: number; sym: Uint8Array; nb: Uint8Array; next: number }>();

  /** Decompress all frames in `input`; `sizeHint` (when known) sizes the output once. */
  decompress(input: Uint8Array, sizeHint = 0): Uint8Array {
    // zero-padded copy: bit reads may look up to 4 bytes past a stream's end
    if (this.src.length < input.length + 16) {
      this.src = new Uint8Array(Math.max(input.length + 16, this.src.length * 2));
      this.dv = new DataView(this.src.buffer);
    }
    this.src.set(input);
    this.src.fill(0, input.length, input.length + 16);
    let out: Uint8Array = new Uint8Array(Math.max(Math.min(sizeHint, MAX_OUTPUT), 64) + WILD);
    let op = 0;
    let ip = 0;
    const end = input.length;
    while (ip < end) {
      if (ip + 4 > end) fail('truncated frame header');
      const magic = this.dv.getUint32(ip, true);
      if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
        // skippable frame (3.1.2)
        if (ip + 8 > end) fail('truncated skippable frame');
        ip += 8 + this.dv.getUint32(ip + 4, true);
        continue;
      }
      if (magic !== 0xfd2fb528) fail('bad magic number');
      ip += 4;
      const fhd = this.src[ip++]!;
      const fcsFlag = fhd >>> 6;
      const single = (fhd >>> 5) & 1;
      const checksum = (fhd >>> 2) & 1;
      const dictFlag = fhd & 3;
      if (fhd & 8) fail('reserved frame header bit set');
      if (!single) ip++; // window descriptor: the whole frame is kept, so its size does not matter
      const dictBytes = dictFlag === 3 ? 4 : dictFlag;
      let dictId = 0;
      for (let i = 0; i < dictBytes; i++) dictId += this.src[ip + i]! * 2 ** (8 * i);
      ip += dictBytes;
      if (dictId !== 0) throw new ZstdUnsupported('zstd: dictionaries are not supported');
      const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
      let fcs = -1;
      if (fcsBytes) {
        fcs = 0;
        for (let i = 0; i < fcsBytes; i++) fcs += this.src[ip + i]! * 2 ** (8 * i);
        if (fcsBytes === 2) fcs += 256;
        ip += fcsBytes;
      }
      if (ip > end) fail('truncated frame header');
      if (fcs >= 0 && op + fcs + WILD > out.length) out = grow(out, op + fcs + WILD);
      const st = new FrameState();
      const frameStart = op;
      for (;;) {
        if (ip + 3 > end) fail('truncated block header');
        const bh = this.src[ip]! | (this.src[ip + 1]! << 8) | (this.src[ip + 2]! << 16);
        ip += 3;
        const last = bh & 1;
        const type = (bh >>> 1) & 3;
        const size = bh >>> 3;
        if (type === 0) {
          if (ip + size > end) fail('truncated raw block');
          if (op + size > out.length) out = grow(out, op + size);
          out.set(input.subarray(ip, ip + size), op);
          op += size;
          ip += size;
        } else if (type === 1) {
          if (ip + 1 > end) fail('truncated RLE block');
          if (op + size > out.length) out = grow(out, op + size);
          out.fill(this.src[ip]!, op, op + size);
          op += size;
          ip += 1;
        } else if (type === 2) {
          if (ip + size > end) fail('truncated compressed block');
          const r = this.block(ip, ip + size, out, op, frameStart, st);
          out = r.out;
          op = r.op;
          ip += size;
        } else fail('reserved block type');
        if (last) break;
      }
      if (checksum) ip += 4; // XXH64 of the content: not verified (trace data is checked by its own structure)
      if (fcs >= 0 && op - frameStart !== fcs) fail('frame content size mismatch');
    }
    return out.subarray(0, op);
  }

  // -------------------------------------------------------------------------------------------
  // Compressed block (3.1.1.3): literals section, sequences section, execution.

  private block(ip: number, end: number, out: Uint8Array, op: number, frameStart: number, st: FrameState): { out: Uint8Array; op: number } {
    const src = this.src;
    // Literals section header (3.1.1.3.1.1)
    const b0 = src[ip]!;
    const ltype = b0 & 3;
    const sf = (b0 >>> 2) & 3;
    let regen: number;
    let csize = 0;
    let streams = 1;
    if (ltype < 2) {
      if ((sf & 1) === 0) {
        regen = b0 >>> 3;
        ip += 1;
      } else if (sf === 1) {
        regen = (b0 >>> 4) | (src[ip + 1]! << 4);
        ip += 2;
      } else {
        regen = (b0 >>> 4) | (src[ip + 1]! << 4) | (src[ip + 2]! << 12);
        ip += 3;
      }
    } else {
      const b1 = src[ip + 1]!;
      const b2 = src[ip + 2]!;
      if (sf < 2) {
        streams = sf === 0 ? 1 : 4;
        regen = (b0 >>> 4) | ((b1 & 0x3f) << 4);
        csize = (b1 >>> 6) | (b2 << 2);
        ip += 3;
      } else if (sf === 2) {
        streams = 4;
        const b3 = src[ip + 3]!;
        regen = (b0 >>> 4) | (b1 << 4) | ((b2 & 3) << 12);
        csize = (b2 >>> 2) | (b3 << 6);
        ip += 4;
      } else {
        streams = 4;
        const b3 = src[ip + 3]!;
        const b4 = src[ip + 4]!;
        regen = (b0 >>> 4) | (b1 << 4) | ((b2 & 0x3f) << 12);
        csize = (b2 >>> 6) | (b3 << 2) | (b4 << 10);
        ip += 5;
      }
    }
    if (regen > 1 << 17) fail('literals larger than a block');
    const lits = this.lits;
    if (ltype === 0) {
      if (ip + regen > end) fail('truncated raw literals');
      lits.set(src.subarray(ip, ip + regen));
      ip += regen;
    } else if (ltype === 1) {
      if (ip >= end) fail('truncated RLE literals');
      lits.fill(src[ip]!, 0, regen);
      ip += 1;
    } else {
      const lend = ip + csize;
      if (lend > end) fail('truncated compressed literals');
      if (ltype === 2) ip = this.readHuffman(ip, lend, st);
      else if (!st.hufSym) fail('treeless literals without a previous Huffman table');
      this.decodeLiterals(ip, lend, regen, streams, st);
      ip = lend;
    }

    // Sequences section header (3.1.1.3.2.1)
    if (ip >= end) fail('missing sequences section');
    let nbSeq = src[ip++]!;
    if (nbSeq >= 128) {
      if (nbSeq < 255) nbSeq = ((nbSeq - 128) << 8) + src[ip++]!;
      else {
        nbSeq = src[ip]! + (src[ip + 1]! << 8) + 0x7f00;
        ip += 2;
      }
    }
    if (nbSeq === 0) {
      if (op + regen > out.length) out = grow(out, op + regen);
      out.set(lits.subarray(0, regen), op);
      return { out, op: op + regen };
    }
    const modes = src[ip++]!;
    if (modes & 3) fail('reserved bits in symbol compression modes');
    const llMode = modes >>> 6;
    const ofMode = (modes >>> 4) & 3;
    const mlMode = (modes >>> 2) & 3;
    let t: FseTable;
    [t, ip] = this.seqTable(llMode, ip, end, LL_PREDEF, st.ll, 35, 9);
    st.ll = t;
    [t, ip] = this.seqTable(ofMode, ip, end, OF_PREDEF, st.of, 31, 8);
    st.of = t;
    [t, ip] = this.seqTable(mlMode, ip, end, ML_PREDEF, st.ml, 52, 9);
    st.ml = t;
    return this.sequences(ip, end, nbSeq, regen, out, op, frameStart, st);
  }

  /** Table for one of LL/OF/ML by its compression mode (3.1.1.3.2.1). */
  private seqTable(mode: number, ip: number, end: number, predef: FseTable, prev: FseTable | null, maxSym: number, maxLog: number): [FseTable, number] {
    switch (mode) {
      case 0:
        return [predef, ip];
      case 1:
        if (ip >= end) fail('truncated RLE table');
        return [rleFse(this.src[ip]!), ip + 1];
      case 2: {
        const [nSym, log, next] = this.readNCount(ip, end, maxSym, maxLog);
        // chunks of one trace tend to carry the same few table descriptions: build each once
        const key = maxLog + ':' + latin1(this.src, ip, next);
        let t = this.fseCache.get(key);
        if (!t) {
          t = buildFse(this.norm, nSym, log);
          if (this.fseCache.size > 256) this.fseCache.clear();
          this.fseCache.set(key, t);
        }
        return [t, next];
      }
      default:
        if (!prev) fail('repeat mode without a previous table');
        return [prev, ip];
    }
  }

  /** FSE_readNCount (4.1.1): normalized counts into this.norm; returns [symbols, accuracy log, next byte]. */
  private readNCount(ip: number, end: number, maxSym: number, maxLog: number): [number, number, number] {
    const dv = this.dv;
    const start = ip * 8;
    let pos = start;
    const read = (n: number): number => ((dv.getUint32(pos >>> 3, true) >>> (pos & 7)) & ((1 << n) - 1)) >>> 0;
    const log = read(4) + 5;
    pos += 4;
    if (log > maxLog) fail('FSE accuracy log too large');
    let remaining = (1 << log) + 1;
    let threshold = 1 << log;
    let nbBits = log + 1;
    let s = 0;
    let prev0 = false;
    const norm = this.norm;
    while (remaining > 1 && s <= maxSym) {
      if (prev0) {
        let n0 = s;
        for (;;) {
          const r = read(2);
          pos += 2;
          n0 += r;
          if (r !== 3) break;
        }
        if (n0 > maxSym + 1) fail('bad FSE repeat count');
        while (s < n0) norm[s++] = 0;
        if (s > maxSym) break;
      }
      const max = 2 * threshold - 1 - remaining;
      let count: number;
      const low = read(nbBits - 1);
      if (low < max) {
        count = low;
        pos += nbBits - 1;
      } else {
        count = read(nbBits);
        if (count >= threshold) count -= max;
        pos += nbBits;
      }
      count--;
      remaining -= count < 0 ? -count : count;
      norm[s++] = count;
      prev0 = count === 0;
      while (remaining < threshold) {
        nbBits--;
        threshold >>>= 1;
      }
    }
    if (remaining !== 1 || s > maxSym + 1) fail('bad FSE normalized counts');
    const next = (pos + 7) >>> 3;
    if (next > end) fail('truncated FSE table description');
    return [s, log, next];
  }

  /** Huffman tree description (4.2.1) -> decoding table in st (cached by description); returns the next byte. */
  private readHuffman(ip: number, end: number, st: FrameState): number {
    const hb = this.src[ip]!;
    const descEnd = Math.min(end, ip + 1 + (hb >= 128 ? ((hb - 127 + 1) >>> 1) : hb));
    const key = latin1(this.src, ip, descEnd);
    const hit = this.hufCache.get(key);
    if (hit) {
      st.hufLog = hit.log;
      st.hufSym = hit.sym;
      st.hufNb = hit.nb;
      return ip + hit.next;
    }
    const next = this.buildHuffman(ip, end, st);
    if (this.hufCache.size > 256) this.hufCache.clear();
    this.hufCache.set(key, { log: st.hufLog, sym: st.hufSym!, nb: st.hufNb!, next: next - ip });
    return next;
  }

  private buildHuffman(ip: number, end: number, st: FrameState): number {
    const src = this.src;
    const hb = src[ip++]!;
    const w = this.weights;
    let nw: number;
    if (hb >= 128) {
      nw = hb - 127;
      const bytes = (nw + 1) >>> 1;
      if (ip + bytes > end) fail('truncated Huffman weights');
      for (let i = 0; i < nw; i += 2) {
        const b = src[ip + (i >>> 1)]!;
        w[i] = b >>> 4;
        w[i + 1] = b & 15;
      }
      ip += bytes;
    } else {
      // FSE-compressed weights: two interleaved states over a backward bitstream (4.2.1.2)
      const cend = ip + hb;
      if (cend > end) fail('truncated Huffman weights');
      const [nSym, log, dataStart] = this.readNCount(ip, cend, 255, 6);
      const t = buildFse(this.norm, nSym, log);
      const dv = this.dv;
      const lastByte = src[cend - 1]!;
      if (!lastByte) fail('bad Huffman weight stream');
      let pos = (cend - 1 - dataStart) * 8 + highBit(lastByte);
      const base = dataStart;
      const readZ = (n: number): number => {
        pos -= n;
        if (n === 0) return 0;
        if (pos >= 0) return (dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << n) - 1);
        const have = n + pos; // bits that exist below the old position
        if (have <= 0) return 0;
        return ((dv.getUint32(base, true) & ((1 << have) - 1)) << -pos) >>> 0;
      };
      let s1 = readZ(log);
      let s2 = readZ(log);
      nw = 0;
      for (;;) {
        if (nw > 253) fail('too many Huffman weights');
        w[nw++] = t.sym[s1]!;
        s1 = t.base[s1]! + readZ(t.nb[s1]!);
        if (pos < 0) {
          w[nw++] = t.sym[s2]!;
          break;
        }
        w[nw++] = t.sym[s2]!;
        s2 = t.base[s2]! + readZ(t.nb[s2]!);
        if (pos < 0) {
          w[nw++] = t.sym[s1]!;
          break;
        }
      }
      ip = cend;
    }
    // the last weight completes the total to a power of two
    let total = 0;
    for (let i = 0; i < nw; i++) {
      if (w[i]! > 11) fail('Huffman weight too large');
      if (w[i]) total += 1 << (w[i]! - 1);
    }
    if (total === 0) fail('empty Huffman table');
    const maxBits = highBit(total) + 1;
    const rest = (1 << maxBits) - total;
    if (rest & (rest - 1)) fail('bad Huffman weights');
    w[nw++] = highBit(rest) + 1;
    if (maxBits > 11) fail('Huffman table too deep');
    // HUF_readDTableX1: weight-1 symbols first, each weight w taking 2^(w-1) entries
    const size = 1 << maxBits;
    const sym = new Uint8Array(size);
    const nb = new Uint8Array(size);
    const rankStart = new Int32Array(maxBits + 2);
    for (let i = 0; i < nw; i++) if (w[i]) rankStart[w[i]!]! += 1 << (w[i]! - 1);
    let acc = 0;
    for (let r = 1; r <= maxBits; r++) {
      const c = rankStart[r]!;
      rankStart[r] = acc;
      acc += c;
    }
    for (let i = 0; i < nw; i++) {
      const wt = w[i]!;
      if (!wt) continue;
      const len = 1 << (wt - 1);
      const at = rankStart[wt]!;
      sym.fill(i, at, at + len);
      nb.fill(maxBits + 1 - wt, at, at + len);
      rankStart[wt] = at + len;
    }
    st.hufLog = maxBits;
    st.hufSym = sym;
    st.hufNb = nb;
    return ip;
  }

  /** Huffman-coded literals, 1 or 4 streams (3.1.1.3.1.6), into this.lits. */
  private decodeLiterals(ip: number, end: number, regen: number, streams: number, st: FrameState): void {
    if (streams === 1) {
      this.huffStream(ip, end, 0, regen, st);
      return;
    }
    if (ip + 6 > end) fail('truncated jump table');
    const s1 = this.src[ip]! | (this.src[ip + 1]! << 8);
    const s2 = this.src[ip + 2]! | (this.src[ip + 3]! << 8);
    const s3 = this.src[ip + 4]! | (this.src[ip + 5]! << 8);
    let p = ip + 6;
    const seg = (regen + 3) >>> 2;
    if (p + s1 + s2 + s3 > end || 3 * seg > regen) fail('bad jump table');
    this.huffStream(p, p + s1, 0, seg, st);
    p += s1;
    this.huffStream(p, p + s2, seg, 2 * seg, st);
    p += s2;
    this.huffStream(p, p + s3, 2 * seg, 3 * seg, st);
    p += s3;
    this.huffStream(p, end, 3 * seg, regen, st);
  }

  private huffStream(start: number, end: number, from: number, to: number, st: FrameState): void {
    if (end <= start) fail('empty Huffman stream');
    const lastByte = this.src[end - 1]!;
    if (!lastByte) fail('bad Huffman stream end');
    const dv = this.dv;
    const lits = this.lits;
    const sym = st.hufSym!;
    const nb = st.hufNb!;
    const log = st.hufLog;
    const mask = (1 << log) - 1;
    let pos = (end - 1 - start) * 8 + highBit(lastByte);
    let o = from;
    // fast path: a full `log`-bit window is available
    while (o < to && pos >= log) {
      const idx = (dv.getUint32(start + ((pos - log) >>> 3), true) >>> ((pos - log) & 7)) & mask;
      lits[o++] = sym[idx]!;
      pos -= nb[idx]!;
    }
    // tail: fewer than `log` bits left; missing low bits are zeros
    while (o < to) {
      if (pos < 0) fail('Huffman stream overrun');
      const have = pos;
      const idx = ((dv.getUint32(start, true) & ((1 << have) - 1)) << (log - have)) & mask;
      lits[o++] = sym[idx]!;
      pos -= nb[idx]!;
    }
    if (pos !== 0) fail('Huffman stream not fully consumed');
  }

  /**
   * Decode and execute the sequences (3.1.1.3.2.2 - 3.1.1.4). The hot loop of the decoder: bit
   * fields that follow each other in the stream are read with one load (the three extra-bit
   * fields, then the three state updates), and bytes are copied four at a time ("wild copy": the
   * output keeps WILD bytes of slack, so a copy may run past its end into bytes written later).
   */
  private sequences(ip: number, end: number, nbSeq: number, nLits: number, out: Uint8Array, op: number, frameStart: number, st: FrameState): { out: Uint8Array; op: number } {
    const dv = this.dv;
    const lits = this.lits;
    const litsDv = this.litsDv;
    const lastByte = this.src[end - 1]!;
    if (!lastByte) fail('bad sequence stream end');
    const base = ip;
    let pos = (end - 1 - ip) * 8 + highBit(lastByte);
    const ll = st.ll!;
    const ml = st.ml!;
    const of = st.of!;
    const llSym = ll.sym, llNb = ll.nb, llBase = ll.base;
    const mlSym = ml.sym, mlNb = ml.nb, mlBase = ml.base;
    const ofSym = of.sym, ofNb = of.nb, ofBase = of.base;
    const mlBaseV = ML_BASE, mlBitsV = ML_BITS, llBaseV = LL_BASE, llBitsV = LL_BITS;
    const initBits = ll.log + of.log + ml.log;
    if (pos < initBits) fail('truncated sequence stream');
    // initial states: LL, OF, ML (each read at most 9 bits: one load for all three when it fits)
    pos -= ll.log;
    let llState = (dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << ll.log) - 1);
    pos -= of.log;
    let ofState = (dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << of.log) - 1);
    pos -= ml.log;
    let mlState = (dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << ml.log) - 1);
    let rep0 = st.rep0;
    let rep1 = st.rep1;
    let rep2 = st.rep2;
    let lp = 0; // next literal
    let odv = this.outView(out);
    for (let n = nbSeq; n > 0; n--) {
      const ofCode = ofSym[ofState]!;
      const mlCode = mlSym[mlState]!;
      const llCode = llSym[llState]!;
      const mlb = mlBitsV[mlCode]!;
      const llb = llBitsV[llCode]!;
      let offVal: number;
      let mlen: number;
      let llen: number;
      const total = ofCode + mlb + llb;
      if (total <= 25) {
        // offset extra bits, then match length, then literal length: consecutive, highest first
        pos -= total;
        const v = total === 0 ? 0 : (dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << total) - 1);
        offVal = (1 << ofCode) + (v >>> (mlb + llb));
        mlen = mlBaseV[mlCode]! + ((v >>> llb) & ((1 << mlb) - 1));
        llen = llBaseV[llCode]! + (v & ((1 << llb) - 1));
      } else {
        pos -= ofCode;
        offVal =
          ofCode <= 25
            ? (1 << ofCode) + ((dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << ofCode) - 1))
            : 2 ** ofCode + this.readLong(base, pos, ofCode);
        pos -= mlb;
        mlen = mlBaseV[mlCode]! + (mlb === 0 ? 0 : (dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << mlb) - 1));
        pos -= llb;
        llen = llBaseV[llCode]! + (llb === 0 ? 0 : (dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << llb) - 1));
      }
      if (pos < 0) fail('sequence stream overrun');
      let offset: number;
      if (offVal > 3) {
        offset = offVal - 3;
        rep2 = rep1;
        rep1 = rep0;
        rep0 = offset;
      } else {
        const idx = offVal - 1 + (llen === 0 ? 1 : 0);
        if (idx === 0) offset = rep0;
        else if (idx === 1) {
          offset = rep1;
          rep1 = rep0;
          rep0 = offset;
        } else if (idx === 2) {
          offset = rep2;
          rep2 = rep1;
          rep1 = rep0;
          rep0 = offset;
        } else {
          offset = rep0 - 1;
          if (offset === 0) fail('zero offset');
          rep2 = rep1;
          rep1 = rep0;
          rep0 = offset;
        }
      }
      if (n > 1) {
        // state updates: LL, ML, OF (consecutive, LL highest)
        const lb = llNb[llState]!;
        const mb = mlNb[mlState]!;
        const ob = ofNb[ofState]!;
        const sum = lb + mb + ob;
        if (sum <= 25) {
          pos -= sum;
          const v = sum === 0 ? 0 : (dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << sum) - 1);
          llState = llBase[llState]! + (v >>> (mb + ob));
          mlState = mlBase[mlState]! + ((v >>> ob) & ((1 << mb) - 1));
          ofState = ofBase[ofState]! + (v & ((1 << ob) - 1));
        } else {
          pos -= lb;
          llState = llBase[llState]! + ((dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << lb) - 1));
          pos -= mb;
          mlState = mlBase[mlState]! + ((dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << mb) - 1));
          pos -= ob;
          ofState = ofBase[ofState]! + ((dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << ob) - 1));
        }
      }
      // execute: literals, then the match
      if (lp + llen > nLits) fail('literal length beyond the literals');
      const need = op + llen + mlen + WILD;
      if (need > out.length) {
        out = grow(out, need);
        odv = this.outView(out);
      }
      if (llen > 0) {
        if (llen <= 32) {
          for (let i = 0; i < llen; i += 4) odv.setUint32(op + i, litsDv.getUint32(lp + i, true), true);
        } else out.set(lits.subarray(lp, lp + llen), op);
        op += llen;
        lp += llen;
      }
      const from = op - offset;
      if (from < frameStart) fail('match offset beyond the frame');
      if (offset >= 4) {
        if (mlen <= 64 || offset < mlen) {
          for (let i = 0; i < mlen; i += 4) odv.setUint32(op + i, odv.getUint32(from + i, true), true);
        } else out.copyWithin(op, from, from + mlen);
      } else {
        for (let i = 0; i < mlen; i++) out[op + i] = out[from + i]!;
      }
      op += mlen;
    }
    if (pos !== 0) fail('sequence stream not fully consumed');
    st.rep0 = rep0;
    st.rep1 = rep1;
    st.rep2 = rep2;
    const rest = nLits - lp;
    if (rest > 0) {
      if (op + rest + WILD > out.length) out = grow(out, op + rest + WILD);
      out.set(lits.subarray(lp, nLits), op);
      op += rest;
    }
    return { out, op };
  }

  /** `n` (> 25) bits at bit position `pos` of the stream starting at byte `base`, as a number */
  private readLong(base: number, pos: number, n: number): number {
    const lowN = 25;
    const lo = (this.dv.getUint32(base + (pos >>> 3), true) >>> (pos & 7)) & ((1 << lowN) - 1);
    const hpos = pos + lowN;
    const hiN = n - lowN;
    const hi = (this.dv.getUint32(base + (hpos >>> 3), true) >>> (hpos & 7)) & ((1 << hiN) - 1);
    return hi * 2 ** lowN + lo;
  }

  private outDv: DataView | null = null;
  private outDvOf: Uint8Array | null = null;
  private outView(out: Uint8Array): DataView {
    if (this.outDvOf !== out) {
      this.outDv = new DataView(out.buffer, out.byteOffset, out.byteLength);
      this.outDvOf = out;
    }
    return this.outDv!;
  }
}

/** slack kept after the output and the literals for four-byte wild copies */
const WILD = 32;

function latin1(a: Uint8Array, from: number, to: number): string {
  return String.fromCharCode.apply(null, a.subarray(from, to) as unknown as number[]);
}

/** largest output accepted (a corrupt frame must not allocate gigabytes) */
const MAX_OUTPUT = 1 << 28;

function grow(a: Uint8Array, need: number): Uint8Array {
  if (need > MAX_OUTPUT + WILD) fail(`output larger than ${MAX_OUTPUT} bytes`);
  const b = new Uint8Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

// Mutations of a trace excerpt, as plain data so fast-check can generate and shrink them, and a
// deterministic `applyMutations()` that turns an excerpt plus a list of them into input bytes and
// says what the mutations could have changed:
//
//   drop / dup / swap lines, cut a line short, flip a byte, splice lines of another capture (often
//   another format), move timestamps backwards or swap them, put a CPU number beyond the declared
//   count, 1 MB and other over-long lines, NUL bytes, invalid UTF-8 and hostile text in a comm,
//   CRLF line ends, a line of random bytes, cut the whole input short (`head -c`, a full disk),
//   and gzip the result (optionally truncating the compressed stream).
//
// `touchedKinds` is the set of event names (as summary.input.eventsByType names them) whose count
// a mutation may change: the names of every line removed, altered or inserted, before and after.
// Reordering, timestamps and line ends change no count.

import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { POLICIES } from '../policies/index.js';
import type { Excerpt } from './corpus.js';

export type Mutation =
  | { t: 'drop'; at: number; n: number }
  | { t: 'dup'; at: number; n: number; to: number }
  | { t: 'swap'; a: number; b: number }
  | { t: 'cutLine'; at: number; keep: number }
  | { t: 'flip'; at: number; pos: number; xor: number }
  | { t: 'splice'; at: number; from: number; start: number; n: number }
  | { t: 'tsBack'; at: number; backUs: number }
  | { t: 'tsSwap'; a: number; b: number }
  | { t: 'cpu'; at: number; cpu: string }
  | { t: 'long'; at: number; len: number; event: boolean }
  | { t: 'nul'; at: number; pos: number; n: number }
  | { t: 'badUtf8'; at: number; bytes: number[] }
  | { t: 'comm'; at: number; comm: string }
  | { t: 'crlf'; all: boolean; at: number }
  | { t: 'garbage'; at: number; bytes: number[] }
  | { t: 'cutInput'; permille: number };

export interface FuzzCase {
  excerpt: number;
  mutations: Mutation[];
  /** gzip the bytes; `cutGzip` > 0 truncates the compressed stream to that permille of its size */
  gzip: boolean;
  cutGzip: number;
  /** --max-line-length for this case */
  maxLineLength: number;
  /** the one policy replayed (null: all); one at a time keeps a case fast, all are covered across cases */
  policy: string | null;
}

export interface Mutated {
  bytes: Buffer;
  /** event names whose counts the mutations may have changed */
  touchedKinds: Set<string>;
  /** any line removed, altered or inserted */
  anyTouched: boolean;
  /** a header line (`# ...`, `cpus=N`) was removed, altered, moved or duplicated */
  headerTouched: boolean;
  /** the bytes were gzipped and the compressed stream cut: an unknown tail is lost */
  gzipCut: boolean;
  /** hostile comms inserted (for the HTML / terminal escaping checks) */
  comms: string[];
}

interface Rec {
  text: Buffer;
  header: boolean;
  crlf: boolean;
}

/** Event name of a trace line as summary.input.eventsByType names it, or undefined. */
export function lineEventName(line: string): string | undefined {
  const m = /\] +(?:\S{4,6} +)?\d+(?:\.\d+)?: +(?:[A-Za-z0-9_]+:)?([A-Za-z0-9_]+)(: |:$|\(| -> )/.exec(line);
  if (m === null) return undefined;
  const name = m[1]!;
  if (m[2] === '(' && name.startsWith('sys_')) return `sys_enter_${name.slice(4)}`;
  if (m[2] === ' -> ' && name.startsWith('sys_')) return `sys_exit_${name.slice(4)}`;
  return name;
}

const HOSTILE_COMMS = [
  '<img src=x onerror=alert(1)>',
  '<script>alert(1)</script>',
  '\u001b[31mred\u001b[0m',
  '\u001b]0;pwned\u0007',
  'a\u202eb',
  'x" onmouseover="y',
  '</script><b>',
  'npm view @types',
  'a [001] b',
  'ev: tlb_flush:',
  '\u2028\u2029',
  '&amp;&lt;',
  '😀 emoji',
];

const CPU_NUMBERS = ['2', '3', '8', '9', '16', '17', '255', '4095', '4096', '8191', '8192', '65535', '65536', '1000000', '99999999999999999999999'];

/** fast-check arbitrary of one mutation; positions are taken modulo the current line count */
export function mutationArb(excerpts: number): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: 1 << 20 });
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ t: fc.constant('drop' as const), at, n: fc.integer({ min: 1, max: 8 }) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('dup' as const), at, n: fc.integer({ min: 1, max: 8 }), to: at }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('swap' as const), a: at, b: at }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('cutLine' as const), at, keep: fc.nat({ max: 200 }) }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('flip' as const), at, pos: fc.nat({ max: 300 }), xor: fc.integer({ min: 1, max: 255 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('splice' as const), at, from: fc.nat({ max: Math.max(0, excerpts - 1) }), start: at, n: fc.integer({ min: 1, max: 20 }) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('tsBack' as const),
        at,
        backUs: fc.oneof(
          { weight: 5, arbitrary: fc.integer({ min: 1, max: 20_000 }) },
          { weight: 3, arbitrary: fc.integer({ min: 1, max: 5_000_000 }) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 2_000_000_000 }) },
        ),
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('tsSwap' as const), a: at, b: at }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('cpu' as const), at, cpu: fc.constantFrom(...CPU_NUMBERS) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('long' as const), at, len: fc.oneof(fc.integer({ min: 200, max: 10_000 }), fc.constant(1 << 20), fc.constant((1 << 20) + 1)), event: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('nul' as const), at, pos: fc.nat({ max: 200 }), n: fc.integer({ min: 1, max: 64 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('badUtf8' as const), at, bytes: fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 4 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('comm' as const), at, comm: fc.oneof(fc.constantFrom(...HOSTILE_COMMS), fc.string({ unit: 'binary', maxLength: 16 })) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('crlf' as const), all: fc.boolean(), at }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('garbage' as const), at, bytes: fc.array(fc.nat({ max: 255 }), { maxLength: 300 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('cutInput' as const), permille: fc.integer({ min: 0, max: 1000 }) }) },
  );
}

export function caseArb(excerpts: number): fc.Arbitrary<FuzzCase> {
  return fc.record({
    excerpt: fc.nat({ max: excerpts - 1 }),
    mutations: fc.array(mutationArb(excerpts), { minLength: 1, maxLength: 6 }),
    gzip: fc.integer({ min: 0, max: 9 }).map((x) => x < 2),
    cutGzip: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 999 }) }),
    maxLineLength: fc.oneof({ weight: 3, arbitrary: fc.constant(4096) }, { weight: 1, arbitrary: fc.constant(1 << 20) }, { weight: 1, arbitrary: fc.integer({ min: 256, max: 2000 }) }),
    policy: fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 9, arbitrary: fc.constantFrom(...POLICIES.map((p) => p.name)) },
    ),
  });
}

function latin1(b: Buffer): string {
  return b.toString('latin1');
}

/** the `[CPU]` bracket: first `[digits]` followed by a space (what the grammars look for) */
function cpuBracket(s: string): { a: number; b: number } | undefined {
  const m = /\[(\d+)\] /.exec(s);
  return m === null ? undefined : { a: m.index + 1, b: m.index + 1 + m[1]!.length };
}

/** the timestamp `SECONDS.FRACTION:` after the CPU bracket */
function timestamp(s: string): { a: number; b: number; sec: bigint; frac: string } | undefined {
  const m = /\] +(?:\S{4,6} +)?(\d+)\.(\d+):/.exec(s);
  if (m === null) return undefined;
  const a = m.index + m[0].length - 1 - m[2]!.length - 1 - m[1]!.length;
  return { a, b: m.index + m[0].length - 1, sec: BigInt(m[1]!), frac: m[2]! };
}

/** where the comm of an event line ends (before `-PID` or the perf TID column), or -1 */
function commEnd(s: string): number {
  const br = cpuBracket(s);
  if (br === undefined) return -1;
  let e = br.a - 1;
  while (e > 0 && s.charCodeAt(e - 1) === 32) e--;
  if (s.charCodeAt(e - 1) === 41 /* ) tgid */) {
    e = s.lastIndexOf('(', e);
    while (e > 0 && s.charCodeAt(e - 1) === 32) e--;
  }
  // `comm-PID` or `comm  TID`
  let k = e;
  while (k > 0 && /[0-9/-]/.test(s[k - 1]!)) k--;
  if (s[k] === '-' && k > 0) return k;
  if (s[k - 1] === '-') return k - 1;
  while (k > 0 && s.charCodeAt(k - 1) === 32) k--;
  return k;
}

/**
 * Apply `c.mutations` to excerpt `ex` (`all` gives splice sources). Deterministic: the same case
 * gives the same bytes.
 */
export function applyMutations(ex: Excerpt, all: readonly Excerpt[], c: FuzzCase): Mutated {
  const recs: Rec[] = [
    ...ex.header.map((l) => ({ text: Buffer.from(l, 'utf8'), header: true, crlf: false })),
    ...ex.body.map((l) => ({ text: Buffer.from(l, 'utf8'), header: false, crlf: false })),
  ];
  const touched = new Set<string>();
  let anyTouched = false;
  let headerTouched = false;
  const comms: string[] = [];
  const touch = (r: Rec | undefined) => {
    if (r === undefined) return;
    anyTouched = true;
    if (r.header) headerTouched = true;
    // a flipped byte or an inserted comm may hold a newline: every piece is a line of its own
    for (const piece of latin1(r.text).split('\n')) {
      const k = lineEventName(piece);
      if (k !== undefined) touched.add(k);
    }
  };
  const idx = (n: number) => (recs.length === 0 ? 0 : n % recs.length);

  // cutting the input short comes last, whatever its place in the list
  const ordered = [...c.mutations.filter((m) => m.t !== 'cutInput'), ...c.mutations.filter((m) => m.t === 'cutInput')];
  let last: Rec | undefined;
  for (const m of ordered) {
    if (recs.length === 0 && m.t !== 'garbage' && m.t !== 'splice') continue;
    switch (m.t) {
      case 'drop': {
        const i = idx(m.at);
        for (const r of recs.splice(i, m.n)) touch(r);
        break;
      }
      case 'dup': {
        const i = idx(m.at);
        const copies = recs.slice(i, i + m.n).map((r) => ({ ...r, text: Buffer.from(r.text) }));
        for (const r of copies) touch(r);
        recs.splice(idx(m.to), 0, ...copies);
        break;
      }
      case 'swap': {
        const a = idx(m.a);
        const b = idx(m.b);
        if (recs[a]!.header || recs[b]!.header) headerTouched = true;
        [recs[a], recs[b]] = [recs[b]!, recs[a]!];
        break;
      }
      case 'cutLine': {
        const r = recs[idx(m.at)]!;
        touch(r);
        r.text = r.text.subarray(0, Math.min(m.keep, r.text.length));
        touch(r);
        break;
      }
      case 'flip': {
        const r = recs[idx(m.at)]!;
        if (r.text.length === 0) break;
        touch(r);
        r.text = Buffer.from(r.text);
        r.text[m.pos % r.text.length] ^= m.xor;
        touch(r);
        break;
      }
      case 'splice': {
        const src = all[m.from % all.length]!;
        const lines = src.body.slice(m.start % Math.max(1, src.body.length), (m.start % Math.max(1, src.body.length)) + m.n);
        const ins = lines.map((l) => ({ text: Buffer.from(l, 'utf8'), header: false, crlf: false }));
        for (const r of ins) touch(r);
        recs.splice(idx(m.at), 0, ...ins);
        break;
      }
      case 'tsBack': {
        const r = recs[idx(m.at)]!;
        const s = latin1(r.text);
        const ts = timestamp(s);
        if (ts === undefined) break;
        const scale = 10n ** BigInt(ts.frac.length);
        const us = ts.sec * scale + BigInt(ts.frac) - (BigInt(m.backUs) * scale) / 1_000_000n;
        const v = us < 0n ? 0n : us;
        const text = `${v / scale}.${(v % scale).toString().padStart(ts.frac.length, '0')}`;
        r.text = Buffer.concat([r.text.subarray(0, ts.a), Buffer.from(text), r.text.subarray(ts.b)]);
        break;
      }
      case 'tsSwap': {
        const ra = recs[idx(m.a)]!;
        const rb = recs[idx(m.b)]!;
        const ta = timestamp(latin1(ra.text));
        const tb = timestamp(latin1(rb.text));
        if (ta === undefined || tb === undefined || ra === rb) break;
        const va = ra.text.subarray(ta.a, ta.b);
        const vb = rb.text.subarray(tb.a, tb.b);
        ra.text = Buffer.concat([ra.text.subarray(0, ta.a), vb, ra.text.subarray(ta.b)]);
        rb.text = Buffer.concat([rb.text.subarray(0, tb.a), va, rb.text.subarray(tb.b)]);
        break;
      }
      case 'cpu': {
        const r = recs[idx(m.at)]!;
        const br = cpuBracket(latin1(r.text));
        if (br === undefined) break;
        touch(r);
        r.text = Buffer.concat([r.text.subarray(0, br.a), Buffer.from(m.cpu), r.text.subarray(br.b)]);
        break;
      }
      case 'long': {
        const i = idx(m.at);
        const base = recs[i]!;
        let text: Buffer;
        const e = m.event ? commEnd(latin1(base.text)) : -1;
        if (e > 0) {
          // an event line whose comm is padded to `len` characters: it parses if under the limit
          text = Buffer.concat([base.text.subarray(0, e), Buffer.alloc(m.len, 0x78), base.text.subarray(e)]);
        } else text = Buffer.alloc(m.len, 0x41);
        const r = { text, header: false, crlf: false };
        touch(r);
        recs.splice(i, 0, r);
        break;
      }
      case 'nul': {
        const r = recs[idx(m.at)]!;
        touch(r);
        const p = m.pos % (r.text.length + 1);
        r.text = Buffer.concat([r.text.subarray(0, p), Buffer.alloc(m.n), r.text.subarray(p)]);
        break;
      }
      case 'badUtf8': {
        const r = recs[idx(m.at)]!;
        const e = commEnd(latin1(r.text));
        if (e <= 0) break;
        touch(r);
        r.text = Buffer.concat([r.text.subarray(0, e), Buffer.from(m.bytes), r.text.subarray(e)]);
        touch(r);
        break;
      }
      case 'comm': {
        const r = recs[idx(m.at)]!;
        const s = latin1(r.text);
        const e = commEnd(s);
        if (e <= 0) break;
        let a = e;
        while (a > 0 && s.charCodeAt(a - 1) !== 32) a--;
        touch(r);
        r.text = Buffer.concat([r.text.subarray(0, a), Buffer.from(m.comm, 'utf8'), r.text.subarray(e)]);
        touch(r);
        comms.push(m.comm);
        break;
      }
      case 'crlf': {
        if (m.all) for (const r of recs) r.crlf = true;
        else recs[idx(m.at)]!.crlf = true;
        break;
      }
      case 'garbage': {
        const r = { text: Buffer.from(m.bytes.map((b) => (b === 10 ? 11 : b))), header: false, crlf: false };
        touch(r);
        recs.splice(idx(m.at), 0, r);
        break;
      }
      case 'cutInput': {
        // keep the first permille of the bytes; the cut line and everything after are touched
        const total = recs.reduce((n, r) => n + r.text.length + 1, 0);
        let keep = Math.floor((total * m.permille) / 1000);
        let i = 0;
        while (i < recs.length && keep >= recs[i]!.text.length + 1) keep -= recs[i++]!.text.length + 1;
        if (i >= recs.length) break;
        const cut = recs[i]!;
        touch(cut);
        for (const r of recs.splice(i + 1)) touch(r);
        cut.text = cut.text.subarray(0, keep);
        touch(cut);
        // the cut line has no newline: it is the last line of the input
        last = cut;
        break;
      }
    }
  }

  const parts: Buffer[] = [];
  const NL = Buffer.from('\n');
  const CRNL = Buffer.from('\r\n');
  for (const r of recs) {
    parts.push(r.text);
    if (r !== last) parts.push(r.crlf ? CRNL : NL);
  }
  let bytes = Buffer.concat(parts);
  let gzipCut = false;
  if (c.gzip) {
    bytes = gzipSync(bytes, { level: 1 });
    if (c.cutGzip > 0) {
      bytes = bytes.subarray(0, Math.floor((bytes.length * c.cutGzip) / 1000));
      gzipCut = true;
    }
  }
  return { bytes, touchedKinds: touched, anyTouched, headerTouched, gzipCut, comms };
}

// cpumask printings -> sorted arrays of CPU numbers.
//
// The kernel's `ipi_send_cpumask` prints its `__bitmask` with `%*pb`: 32-bit hex words, most
// significant first, comma separated, as many words as the bitmask has longs (so at least two on
// x86_64, whatever the CPU count):
//     raw ftrace  (qemu-6.12-16cpu/mt-munmap)  cpumask=00000000,000056be
// libtraceevent (trace-cmd report) prints the same mask as a CPU list:
//     trace-cmd   (qemu-6.12-16cpu/mt-munmap)  cpumask=1-5,7,9-10,12,14
// A 4096-CPU kernel prints 128 hex words; both parsers are linear in the printed length.

export type CpumaskStyle = 'hex' | 'list' | 'auto';

/**
 * CPU numbers are below this: NR_CPUS tops out at 8192 on x86 (CONFIG_MAXSMP). A larger number
 * in a trace is corruption, and accepting it would size every per-CPU array after it.
 */
export const MAX_CPUS = 8192;

/**
 * Set when the last parse returned null because a CPU number was >= its limit (not a syntax
 * error): the CPU it named. -1 otherwise. Module state, like the scanners' `readEnd`.
 */
export let cpumaskOutOfRange = -1;

/**
 * Hex words (`00000000,00000031`) -> [0, 4, 5]. Walks from the right: each hex digit is 4 bits, each
 * comma starts the next 32-bit word (so a short leading word such as `3,ffffffff` is placed right).
 * Returns null when a character is neither a hex digit nor a comma.
 */
export function parseCpumaskHex(s: string, start = 0, end = s.length, maxCpu = MAX_CPUS): number[] | null {
  cpumaskOutOfRange = -1;
  const cpus: number[] = [];
  let word = 0; // index of the 32-bit word, counted from the right
  let bit = 0; // bit offset of the current digit inside the word
  for (let i = end - 1; i >= start; i--) {
    const c = s.charCodeAt(i);
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 97 && c <= 102) v = c - 87;
    else if (c >= 65 && c <= 70) v = c - 55;
    else if (c === 44 /* , */) {
      word++;
      bit = 0;
      continue;
    } else if (c === 120 /* x */ && i === start + 1 && s.charCodeAt(start) === 48) {
      break; // a `0x` prefix (perf may print one) ends the number
    } else return null;
    if (v !== 0) {
      const base = word * 32 + bit;
      if (base + 3 >= maxCpu) {
        const top = v & 8 ? 3 : v & 4 ? 2 : v & 2 ? 1 : 0;
        if (base + top >= maxCpu) {
          cpumaskOutOfRange = base + top;
          return null;
        }
      }
      if (v & 1) cpus.push(base);
      if (v & 2) cpus.push(base + 1);
      if (v & 4) cpus.push(base + 2);
      if (v & 8) cpus.push(base + 3);
    }
    bit += 4;
    // a word longer than 8 digits (an unseparated hex number) simply keeps counting bits
    if (bit >= 32 && i > start && s.charCodeAt(i - 1) !== 44) {
      word++;
      bit = 0;
    }
  }
  return cpus; // built from the least significant bit upwards: already sorted
}

/**
 * CPU list (`0,4-5`, `1-3`, ``) -> [0, 4, 5]; sorted and de-duplicated. Null on a syntax error or
 * a CPU >= maxCpu (checked before a range is expanded: `0-4000000000` allocates nothing).
 */
export function parseCpuList(s: string, start = 0, end = s.length, maxCpu = MAX_CPUS): number[] | null {
  cpumaskOutOfRange = -1;
  const cpus: number[] = [];
  // once a range is not above the previous one, ranges are kept as [a, b] pairs and merged at the
  // end: a hostile `0-8191,0-8191,...` line costs O(ranges log ranges), not ranges * 8192
  let ranges: number[] | null = null;
  let i = start;
  while (i < end) {
    let a = 0;
    let n = 0;
    let c = s.charCodeAt(i);
    while (c >= 48 && c <= 57) {
      a = a * 10 + (c - 48);
      n++;
      c = s.charCodeAt(++i);
    }
    if (n === 0) return null;
    let b = a;
    if (i < end && c === 45 /* - */) {
      i++;
      b = 0;
      n = 0;
      c = s.charCodeAt(i);
      while (c >= 48 && c <= 57) {
        b = b * 10 + (c - 48);
        n++;
        c = s.charCodeAt(++i);
      }
      if (n === 0 || b < a) return null;
    }
    if (b >= maxCpu) {
      cpumaskOutOfRange = b;
      return null;
    }
    if (ranges === null && (cpus.length === 0 || a > cpus[cpus.length - 1]!)) {
      for (let k = a; k <= b; k++) cpus.push(k);
    } else (ranges ??= []).push(a, b);
    if (i < end) {
      if (c !== 44 /* , */) return null;
      i++;
      if (i === end) return null; // trailing comma
    }
  }
  return ranges === null ? cpus : mergeRanges(cpus, ranges);
}

/** sorted CPUs plus [a, b] pairs in any order -> the sorted, de-duplicated union */
function mergeRanges(cpus: number[], ranges: number[]): number[] {
  const pairs: Array<[number, number]> = [];
  for (const c of cpus) pairs.push([c, c]);
  for (let r = 0; r < ranges.length; r += 2) pairs.push([ranges[r]!, ranges[r + 1]!]);
  pairs.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  let next = 0; // the lowest CPU not yet in `out`
  for (const [a, b] of pairs) {
    for (let k = Math.max(a, next); k <= b; k++) out.push(k);
    if (b + 1 > next) next = b + 1;
  }
  return out;
}

/**
 * Guess the printing when the tool is not known to use one: a `-` means a CPU list; comma-separated
 * pieces of exactly 8 hex digits (or any hex letter) mean hex words; plain small decimals a list.
 */
export function detectCpumaskStyle(s: string, start = 0, end = s.length): 'hex' | 'list' {
  let pieceLen = 0;
  let all8 = true;
  let hexLetter = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 45) return 'list';
    if (c === 44) {
      if (pieceLen !== 8) all8 = false;
      pieceLen = 0;
      continue;
    }
    if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 120) hexLetter = true;
    pieceLen++;
  }
  if (pieceLen !== 8) all8 = false;
  return all8 || hexLetter ? 'hex' : 'list';
}

export function parseCpumask(s: string, start: number, end: number, style: CpumaskStyle, maxCpu = MAX_CPUS): number[] | null {
  const st = style === 'auto' ? detectCpumaskStyle(s, start, end) : style;
  return st === 'hex' ? parseCpumaskHex(s, start, end, maxCpu) : parseCpuList(s, start, end, maxCpu);
}

// The fuzzer's seed corpus: small excerpts (a few hundred lines) cut from the real captures in
// fixtures/, each with its format's header lines, so one mutated case is a few tens of KB and
// analyzes in a few milliseconds.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export type TextFormatName = 'ftrace' | 'trace-cmd' | 'perf-script';

export interface Excerpt {
  /** fixture path and line window, for failure reports */
  name: string;
  format: TextFormatName;
  /** leading header lines of the capture (`# tracer:` block, `cpus=N`; none for perf script) */
  header: string[];
  /** consecutive lines from the body */
  body: string[];
}

const FORMAT_BY_FILE: Record<string, TextFormatName> = {
  'ftrace.txt.gz': 'ftrace',
  'trace-cmd-report.txt.gz': 'trace-cmd',
  'perf-script.txt.gz': 'perf-script',
};

function findTextFixtures(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTextFixtures(p, out);
    else if (FORMAT_BY_FILE[name] !== undefined) out.push(p);
  }
  return out;
}

function isHeaderLine(format: TextFormatName, line: string): boolean {
  if (format === 'trace-cmd') return /^cpus=\d+$/.test(line) || /^version = /.test(line) || /^CPU \d+ is empty/.test(line);
  return line.startsWith('#');
}

export interface CorpusOptions {
  /** excerpts per fixture file */
  perFile?: number;
  /** lines per excerpt */
  lines?: number;
}

/** Excerpts of every text fixture under `fixturesDir`, at evenly spaced offsets (deterministic). */
export function loadCorpus(fixturesDir: string, opts: CorpusOptions = {}): Excerpt[] {
  const perFile = opts.perFile ?? 6;
  const n = opts.lines ?? 300;
  const out: Excerpt[] = [];
  for (const file of findTextFixtures(fixturesDir)) {
    const format = FORMAT_BY_FILE[file.split('/').pop()!]!;
    // only the windows are decoded: whole captures as JS strings would cost hundreds of MB
    const buf = gunzipSync(readFileSync(file));
    const starts = [0];
    for (let i = buf.indexOf(10); i >= 0 && i + 1 < buf.length; i = buf.indexOf(10, i + 1)) starts.push(i + 1);
    const line = (k: number): string => {
      const end = k + 1 < starts.length ? starts[k + 1]! - 1 : buf.length;
      return buf.toString('utf8', starts[k]!, buf[end - 1] === 10 ? end - 1 : end);
    };
    let h = 0;
    while (h < starts.length && isHeaderLine(format, line(h))) h++;
    const header = Array.from({ length: h }, (_, k) => line(k));
    const bodyLen = starts.length - h;
    for (let k = 0; k < perFile; k++) {
      const start = h + Math.max(0, Math.floor(((bodyLen - n) * k) / Math.max(1, perFile - 1)));
      const end = Math.min(starts.length, start + n);
      const body = Array.from({ length: end - start }, (_, j) => line(start + j));
      out.push({ name: `${file}:${start + 1}-${end}`, format, header, body });
    }
  }
  return out;
}
